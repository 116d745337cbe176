"""Rendered -> real: the membrane encoder pre-trained on rendered embryos, tested on a real one.

Question: does `load_pretrained("membrane2d")`, trained only on rendered membrane-stained
embryos (`neurosym.encoder.pretrain(layout="embryo")`), tell a real embryo's outer cells from its
inner cells, as shipped and after an adaptation to the real images that uses no labels?

Data (shipped with the package): the embedded 3DMMS C. elegans embryo,
`neurosym.io.load_celegans_membrane()` (membrane images) and `load_celegans_segmentation()` (its
label volumes on the same 52 x 72 x 34 grid; 33 odd time points 1-65, 4 to 57 cells).

Slices: 2D slices along the last axis, every `--z-step` planes from z = 1, kept when the slice
holds >= 3 cells; every cell of a kept slice with >= `--min-pixels` pixels is a sample (smaller
fragments are left out of the label image, i.e. set to background for the model and never
scored). Truth, from the segmentation geometry only: a cell is "outer" when, in that slice, it
touches the background (label 0, face neighbours: `neurosym.render.outer_cells`; no real cell
touches the frame). The model sees the image and the slice's mask relabelled at random
(`neurosym.io.relabel_random`), never the truth.

Split by time point: validation = time points <= 31 (4-23 cells), test = time points > 31
(23-57 cells). Everything chosen is chosen on validation: the scale, the adaptation's learning
rate and number of steps. Validation is dominated by outer cells (early slices have few inner
cells), so choices use the balanced accuracy (mean of the outer and inner recalls) there.

Scale: membrane2d was rendered with 8 and 16 px sites (zoomed 0.8-1.25x: cells 6-20 px across);
real cells in a slice are ~7-10 px across (square root of the area) after t = 31, ~11-19 px before.
The slices are scored at 1x and 2x (labels nearest, image bilinear) zero-shot on validation and
the better scale is kept for everything. The zero-shot score at the other scale on the test
slices is recorded as a sensitivity check only ("sensitivity_scale_not_chosen"), never used.

Uncertainty: the seeds vary only the adaptation's batch order and the random encoder's weights,
and the data are one embryo, so the seed spread is small by construction. The JSON also gives
95% intervals of the gaps between arms when the 17 test time points are resampled with
replacement (2000 resamples).

Arms (per-cell accuracy on the test slices; seeds where something is random):
  majority            the larger class of the validation truth ("outer"), no model;
  centroid_radius     mask geometry, no learning: "outer" when the cell's centroid is farther from
                      the centroid of the slice's embryo mask than the median cell of the slice;
  zero_shot           membrane2d as shipped: "outer" when `outer_probability` > 0.5;
  tent                test-time entropy minimisation (Wang et al. 2021, TENT, arXiv:2006.10726):
                      only the GroupNorm scales and offsets of the body are trained, on the
                      unlabelled test slices (images and anonymous masks), minimising the mean
                      binary entropy of `outer_probability` per cell, Adam, minibatches of
                      `--batch` slices in a random order (the seed); learning rate and steps
                      chosen on validation (the same procedure run on the validation slices,
                      scored with their labels);
  tent_from_val       the same adaptation run on the validation slices only (the chosen steps),
                      applied to the test slices unchanged (inductive: test images never seen);
  random_init         an encoder of the same architecture, NOT pre-trained (random weights, the
                      seed), as is;
  random_init_tent    the same random encoder adapted by `tent` with the chosen settings.
The encoder standardises each image itself (mean, sd), so re-fitting the per-image
normalisation is already part of every arm.

Writes benchmarks/results/rendered_to_real-cpu.json and prints a table.
Run: PYTHONPATH=. python benchmarks/rendered_to_real.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.common import run_meta  # noqa: E402
from neurosym.encoder import (  # noqa: E402
    EMBRYO_KINDS, Encoder, load_pretrained, outer_probability, pretrained_path, read_metadata, reuse_compiled_steps,
    train,
)
from neurosym.io import load_celegans_membrane, load_celegans_segmentation, relabel_random  # noqa: E402
from neurosym.render import outer_cells  # noqa: E402

VALIDATION = tuple(range(1, 32, 2))
TEST = tuple(range(33, 66, 2))


def make_slices(times, *, scale, z_step, min_pixels, membrane, series, key):
    """Images (S, H, W) float32, relabelled masks (S, H, W) int32, truth (S, N) bool, present
    (S, N) bool, centroid-radius predictions (S, N) bool, slice (time, z) pairs."""
    images, masks, info = [], [], []
    for t in times:
        labels, volume = series.labels(t), membrane[t].astype(np.float32)
        for z in range(1, labels.shape[-1], z_step):
            lab = labels[..., z].copy()
            ids, counts = np.unique(lab[lab > 0], return_counts=True)
            lab[np.isin(lab, ids[counts < min_pixels])] = 0
            if len(ids[counts >= min_pixels]) < 3:
                continue
            lab, _ = relabel_random(lab, key=jax.random.fold_in(jax.random.fold_in(key, t), z))
            image = volume[..., z]
            if scale > 1:
                lab = np.kron(lab, np.ones((scale, scale), np.int32))
                image = np.asarray(jax.image.resize(image, (image.shape[0] * scale, image.shape[1] * scale), "linear"))
            images.append(image)
            masks.append(lab)
            info.append((t, z))
    images, masks = np.stack(images), np.stack(masks).astype(np.int32)
    n = int(masks.max()) + 1
    truth = np.asarray(jax.vmap(lambda m: outer_cells(m, n))(masks))
    present = np.stack([np.bincount(m.ravel(), minlength=n) > 0 for m in masks])
    present[:, 0] = False
    radius = np.zeros(present.shape, bool)
    for s, m in enumerate(masks):
        yy, xx = np.nonzero(m)
        cy, cx = yy.mean(), xx.mean()
        ids = np.nonzero(present[s])[0]
        d = np.array([np.hypot(*(np.argwhere(m == i).mean(0) - (cy, cx))) for i in ids])
        radius[s, ids] = d > np.median(d)
    return dict(images=images, masks=masks, truth=truth, present=present, radius=radius, slices=info, num_labels=n)


def scores(pred, data) -> dict:
    truth, present = data["truth"], data["present"]
    right = (pred == truth)[present]
    recall = [float((pred == truth)[present & (truth == c)].mean()) for c in (True, False)]
    return dict(accuracy=float(right.mean()), balanced_accuracy=float(np.mean(recall)),
                outer_recall=recall[0], inner_recall=recall[1], predicted_outer=float(pred[present].mean()))


_PREDICT, _LOSS, _OPT = {}, {}, {}


def predict(model, data, chunk=48):
    """`outer_probability > 0.5` per cell, (S, N) bool (one compiled function per label count)."""
    n = data["num_labels"]
    if n not in _PREDICT:
        _PREDICT[n] = nnx.jit(lambda m, x, l: outer_probability(m(x, l, num_labels=n)))
    fn = _PREDICT[n]
    out = [np.asarray(fn(model, data["images"][i:i + chunk], data["masks"][i:i + chunk]))
           for i in range(0, len(data["images"]), chunk)]
    return np.concatenate(out) > 0.5


def is_norm(path, value) -> bool:
    """The GroupNorm scales and offsets of the body (the head has none)."""
    return isinstance(value, nnx.Param) and any(str(p).startswith("norm") for p in path)


def entropy_loss(num_labels):
    def loss_fn(model, batch, key):
        images, masks = batch
        p = outer_probability(model(images, masks, num_labels=num_labels))
        p = jnp.clip(p, 1e-6, 1 - 1e-6)
        h = -(p * jnp.log(p) + (1 - p) * jnp.log(1 - p))
        present = jax.vmap(lambda m: jnp.bincount(m.ravel(), length=num_labels) > 0)(masks).at[:, 0].set(False)
        return jnp.sum(h * present) / jnp.maximum(present.sum(), 1), {}
    return loss_fn


def order_batches(num_slices, batch, steps, seed):
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(num_slices) for _ in range(steps * batch // num_slices + 1)])
    return [order[i * batch:(i + 1) * batch] for i in range(steps)]


def adapt(model, data, *, steps, lr, batch, seed, validate=None, validate_every=10):
    idx = order_batches(len(data["images"]), batch, steps, seed)
    batches = [(data["images"][i], data["masks"][i]) for i in idx]
    n = data["num_labels"]
    loss_fn = _LOSS.setdefault(n, entropy_loss(n))
    optimizer = _OPT.setdefault(lr, optax.adam(lr))
    return train(model, loss_fn, batches, num_steps=steps, key=jax.random.key(seed), optimizer=optimizer,
                 params_filter=is_norm, validate=validate, validate_every=validate_every, label="tent")


def mean_sd(values):
    return dict(mean=float(np.mean(values)), sd=float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                values=[float(v) for v in values])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--z-step", type=int, default=4)
    p.add_argument("--min-pixels", type=int, default=10, help="at 1x; smaller cell fragments are dropped")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--max-steps", type=int, default=40, help="longest adaptation tried on validation")
    p.add_argument("--every", type=int, default=5, help="steps between validation scores")
    p.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2])
    p.add_argument("--val-seeds", type=int, default=2)
    p.add_argument("--bootstrap", type=int, default=2000, help="resamples of the test time points")
    p.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "rendered_to_real-cpu.json"))
    args = p.parse_args(argv)
    with reuse_compiled_steps():
        return run(args, argv)


def run(args, argv) -> int:
    start = time.time()
    meta = run_meta(argv)
    membrane, series = load_celegans_membrane(), load_celegans_segmentation()
    key = jax.random.key(0)
    encoder = load_pretrained("membrane2d")
    common = dict(z_step=args.z_step, min_pixels=args.min_pixels, membrane=membrane, series=series, key=key)

    # 1. Scale, on validation, zero-shot.
    scale_scores = {}
    for scale in (1, 2):
        val = make_slices(VALIDATION, scale=scale, **common)
        scale_scores[scale] = scores(predict(encoder, val), val)
        print(f"scale {scale}x validation zero-shot: {scale_scores[scale]}", flush=True)
    scale = max(scale_scores, key=lambda s: scale_scores[s]["balanced_accuracy"])
    val = make_slices(VALIDATION, scale=scale, **common)
    test = make_slices(TEST, scale=scale, **common)
    sizes = {name: float(np.median(np.sqrt(np.concatenate(
        [np.bincount(m.ravel())[1:][np.bincount(m.ravel())[1:] > 0] for m in d["masks"]]))))
        for name, d in (("validation", val), ("test", test))}
    print(f"scale {scale}x; median cell size (sqrt area, px): {sizes}; slices val {len(val['images'])}, "
          f"test {len(test['images'])}; cells val {int(val['present'].sum())}, test {int(test['present'].sum())}; "
          f"outer fraction val {val['truth'][val['present']].mean():.3f}, "
          f"test {test['truth'][test['present']].mean():.3f}",
          flush=True)

    # 2. Adaptation settings, on validation (transductive there, as on test).
    curves = {}
    for lr in args.lrs:
        for s in range(args.val_seeds):
            res = adapt(encoder, val, steps=args.max_steps, lr=lr, batch=args.batch, seed=1000 + s,
                        validate=lambda m: scores(predict(m, val), val)["balanced_accuracy"],
                        validate_every=args.every)
            curves[(lr, s)] = dict(res.validation)
            print(f"validation lr {lr} seed {s}: {res.validation}", flush=True)
    zero_val = scale_scores[scale]["balanced_accuracy"]
    grid = {(lr, n): float(np.mean([curves[(lr, s)][n] for s in range(args.val_seeds)]))
            for lr in args.lrs for n in curves[(args.lrs[0], 0)]}
    grid.update({(lr, 0): zero_val for lr in args.lrs})
    lr, steps = max(sorted(grid), key=lambda k: (grid[k], -k[1]))
    print(f"chosen on validation: lr {lr}, steps {steps} (balanced accuracy {grid[(lr, steps)]:.3f}; "
          f"zero-shot {zero_val:.3f})", flush=True)

    # 3. Test arms. `preds[arm]` holds one (S, N) prediction per seed (one for unseeded arms).
    majority = bool(val["truth"][val["present"]].mean() >= 0.5)
    preds = {"majority": [np.full(test["truth"].shape, majority)], "centroid_radius": [test["radius"]],
             "zero_shot": [predict(encoder, test)]}
    # Sensitivity only, never used to choose: zero-shot on the test slices at the scale NOT chosen.
    other = 3 - scale
    other_test = make_slices(TEST, scale=other, **common)
    not_chosen = dict(scale=other, zero_shot=scores(predict(encoder, other_test), other_test))
    print("zero_shot at the scale not chosen", not_chosen, flush=True)
    for name in ("tent", "tent_from_val", "random_init", "random_init_tent"):
        preds[name] = []
    for s in range(args.seeds):
        if steps:
            preds["tent"].append(
                predict(adapt(encoder, test, steps=steps, lr=lr, batch=args.batch, seed=s).model, test))
            preds["tent_from_val"].append(
                predict(adapt(encoder, val, steps=steps, lr=lr, batch=args.batch, seed=s).model, test))
        fresh = Encoder(EMBRYO_KINDS, **{k: v for k, v in encoder.config.items() if k != "kinds"}, rngs=nnx.Rngs(s))
        preds["random_init"].append(predict(fresh, test))
        if steps:
            preds["random_init_tent"].append(
                predict(adapt(fresh, test, steps=steps, lr=lr, batch=args.batch, seed=s).model, test))
        print(f"seed {s}: " + ", ".join(f"{k} {scores(v[-1], test)['accuracy']:.3f}"
                                         for k, v in preds.items() if len(v) > s), flush=True)
    results = {}
    for name, runs in preds.items():
        if not runs:
            continue
        each = [scores(pr, test) for pr in runs]
        results[name] = each[0] if len(each) == 1 else {m: mean_sd([r[m] for r in each]) for m in each[0]}
    # The seeds vary only the adaptation order and the initial weights; the data are one embryo.
    # Resampling the test time points (with replacement) shows how much the gaps depend on them.
    times = np.array([t for t, _ in test["slices"]])
    uniq = np.unique(times)
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(uniq), size=(args.bootstrap, len(uniq)))

    def per_time(mask):  # (T,) cell counts, and (seeds, T) correct counts per arm, among `mask`
        n = np.array([mask[times == t].sum() for t in uniq])
        return n, {name: np.array([[((pr == test["truth"]) & mask)[times == t].sum() for t in uniq] for pr in runs])
                   for name, runs in preds.items() if runs}

    cells, correct = per_time(test["present"])
    n_out, c_out = per_time(test["present"] & test["truth"])
    n_in, c_in = per_time(test["present"] & ~test["truth"])
    boot = {"accuracy": {k: (c[:, draws].sum(-1) / cells[draws].sum(-1)).mean(0) for k, c in correct.items()},
            "balanced_accuracy": {k: (0.5 * (c_out[k][:, draws].sum(-1) / n_out[draws].sum(-1)
                                             + c_in[k][:, draws].sum(-1) / np.maximum(n_in[draws].sum(-1), 1))).mean(0)
                                  for k in correct}}
    gaps = {}
    for metric, b in boot.items():
        for name in ("tent", "tent_from_val", "zero_shot", "centroid_radius"):
            for ref in ("majority", "zero_shot", "centroid_radius"):
                if name in b and name != ref and not (name == "centroid_radius" and ref != "majority"):
                    d = b[name] - b[ref]
                    gaps[f"{metric}: {name} - {ref}"] = dict(
                        interval_95=[round(float(np.quantile(d, 0.025)), 4), round(float(np.quantile(d, 0.975)), 4)],
                        fraction_above_0=float((d > 0).mean()))
    print("gaps, 95% interval over resampled test time points:")
    for k, v in gaps.items():
        print(f"  {k}: [{v['interval_95'][0]:+.3f}, {v['interval_95'][1]:+.3f}]", flush=True)

    # 4. Table and JSON.
    print("\n| arm | test accuracy | balanced accuracy | outer recall | inner recall | predicted outer |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        cell = lambda m: (f"{r[m]['mean']:.3f} ± {r[m]['sd']:.3f}" if isinstance(r[m], dict) else f"{r[m]:.3f}")
        print(f"| {name} | {cell('accuracy')} | {cell('balanced_accuracy')} | {cell('outer_recall')} | "
              f"{cell('inner_recall')} | {cell('predicted_outer')} |")
    weights = read_metadata(pretrained_path("membrane2d"))
    out = dict(
        benchmark="rendered_to_real", device=meta, weights=dict(name="membrane2d", note=weights.get("note")),
        data="embedded 3DMMS C. elegans embryo (neurosym.io.load_celegans_membrane / load_celegans_segmentation)",
        split=dict(validation_times=list(VALIDATION), test_times=list(TEST)),
        settings=dict(z_step=args.z_step, min_pixels=args.min_pixels, batch=args.batch, max_steps=args.max_steps,
                      every=args.every, lrs=args.lrs, bootstrap=args.bootstrap, val_seeds=args.val_seeds,
                      seeds=args.seeds,
                      majority_class="outer" if majority else "inner",
                      adapted_params="GroupNorm scale and bias of the body"),
        data_summary=dict(
            scale=scale, median_cell_size_px=sizes,
            slices=dict(validation=len(val["images"]), test=len(test["images"])),
            cells=dict(validation=int(val["present"].sum()), test=int(test["present"].sum())),
            outer_fraction=dict(validation=float(val["truth"][val["present"]].mean()),
                                test=float(test["truth"][test["present"]].mean()))),
        validation=dict(scale_zero_shot={str(k): v for k, v in scale_scores.items()},
                        balanced_accuracy_by_lr_steps={f"lr={k[0]},steps={k[1]}": v for k, v in sorted(grid.items())},
                        chosen=dict(learning_rate=lr, steps=steps)),
        results=results, gaps_bootstrap_over_test_times=dict(resamples=args.bootstrap, gaps=gaps),
        sensitivity_scale_not_chosen=not_chosen, seconds=round(time.time() - start, 1),
    )
    out["device"]["load_average_at_end"] = list(os.getloadavg())
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.out} ({out['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
