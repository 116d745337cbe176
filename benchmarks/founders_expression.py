"""Founder lineage from nuclei features and a reporter: does an EPIC expression prior help?

For each test embryo (the embedded PHA-4::GFP embryo and EPIC's three raw CD files: pha-4,
tbx-11 and the 5a_bright control) every (cell, time) row is a sample whose class is its founder
(`neurosym.founders.FOUNDERS`; EMS rows are left out). Rows are split by time: the training part
is the early recording (number of cells at the time point <= the count that holds about 2/3 of
the rows), the test part the rest. 5% of the training rows are labelled at random (per seed).

Arms (one small MLP, the same steps and optimiser for every trained arm):
  majority            the most frequent labelled founder
  nearest_centroid    nearest labelled founder centroid on the standardised nuclei features
  labels              MLP on nuclei features, cross-entropy on the labelled rows
  labels+reporter     the same with the cell's reporter level as one more input
  labels+prior        MLP on nuclei features, cross-entropy + w * prior_loss on all rows
                      (unlabelled included), per-stage prior; w and the prior's target
                      ("prior"/"posterior") chosen on a validation split of the TRAINING time
                      range (fit on labelled rows of its early 2/3, scored on the rest)
  prior_alone         naive Bayes: prior log-likelihood of the reporter level (per stage bins)
                      + log frequencies of the labelled founders; no model, no features
  prior_alone_global  the same with one prior for all stages (for the stage question)

The prior is `neurosym.founders.reporter_prior` from EPIC's cell x embryo mean blot over the
OTHER embryos carrying the same reporter (the test embryo is excluded). The 5a_bright control
is the only embryo tagged "5a", so its prior comes from the no-RFP control embryos ("norfp")
instead, marked in the JSON. A row's reporter value is the mean blot of its track (the cell)
over its rows, turned into a level (normal score of its rank among the embryo's cells) as in the prior.

Writes benchmarks/results/founders_expression-cpu.json and prints a table.
Run: PYTHONPATH=. python benchmarks/founders_expression.py [--seeds 5] [--steps 300]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import pathlib
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from benchmarks.common import run_meta  # noqa: E402
from neurosym.constraints import prior_loss  # noqa: E402
from neurosym.founders.classes import FOUNDERS, founder_of  # noqa: E402
from neurosym.founders.expression import (  # noqa: E402
    nuclei_features, reporter_levels, reporter_prior, stage_expression,
)
from neurosym.io.cd import read_cd  # noqa: E402
from neurosym.io.datasets import describe_celegans, load_celegans  # noqa: E402

EPIC = pathlib.Path("/work/shared/data/celegans_epic_expression")
BLOT_EMBRYO = "20250419_JIM767_pha4GFP_25_L4"
# test embryo -> (reporter of the prior, EPIC name of the embryo or None)
CASES = {
    BLOT_EMBRYO: ("pha-4", None),
    "CD20060629_pha4_b2": ("pha-4", "CD20060629_pha4_b2"),
    "CD20071119_tbx-11_10": ("tbx-11", "CD20071119_tbx-11_10"),
    "CD011605_5a_bright": ("norfp", "CD011605_5a_bright"),
}
STAGE_EDGES = (50.0, 100.0, 200.0)
TRAIN_FRACTION = 2 / 3
LABEL_FRACTION = 0.05
GRID = [(w, target, True) for w in (0.3, 3.0) for target in ("prior", "posterior")]
K = len(FOUNDERS)


# ---------------------------------------------------------------------------------------- data
def read_epic():
    with gzip.open(EPIC / "epic_cell_by_embryo_mean_blot.csv.gz", "rt") as f:
        reader = csv.reader(f)
        head = next(reader)
        table = {e: {} for e in head[1:]}
        for row in reader:
            for e, v in zip(head[1:], row[1:]):
                if v:
                    table[e][row[0]] = float(v)
    with open(EPIC / "epic_embryos.csv") as f:
        embryos = {r["embryo"]: r["reporter_guess"] for r in csv.DictReader(f)}
    with gzip.open(EPIC / "epic_cell_lifetimes_frames.csv.gz", "rt") as f:
        life = [(r["embryo"], r["cell"], int(r["first_frame"]), int(r["last_frame"])) for r in csv.DictReader(f)]
    return table, embryos, life


def cell_stages(life, exclude):
    """Median over embryos (not `exclude`) of the number of cells alive at each cell's mid-life."""
    by_embryo = {}
    for e, c, a, b in life:
        if e not in exclude:
            by_embryo.setdefault(e, []).append((c, a, b))
    mids = {}
    for rows in by_embryo.values():
        first = np.array([a for _, a, _ in rows])
        last = np.array([b for _, _, b in rows])
        alive = np.zeros(last.max() + 2, int)
        np.add.at(alive, first, 1)
        np.add.at(alive, last + 1, -1)
        alive = np.cumsum(alive)
        for (c, a, b) in rows:
            mids.setdefault(c, []).append(alive[(a + b) // 2])
    return {c: float(np.median(v)) for c, v in mids.items()}


def load_embryo(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lineage reports of the tracking, not this benchmark's concern
        if name == BLOT_EMBRYO:
            t = load_celegans(name)
            z_scale, z_source = float(describe_celegans(name)["auxinfo"]["zpixres"]), "AuxInfo zpixres"
        else:
            t = read_cd(EPIC / "raw_examples" / f"{name}.csv.gz", minutes_per_frame=1.0)
            z_scale, z_source = None, "std(y) / std(z) at the fullest time point"
    frames, counts = np.unique(t.frame, return_counts=True)
    if z_scale is None:  # no AuxInfo: the embryo's two short axes taken as equal
        full = t.frame == frames[np.argmax(counts)]
        z_scale = float(np.std(t.y[full]) / np.std(t.z[full]))
    feats = nuclei_features(t.frame, np.stack([t.x, t.y, t.z], 1), t.size, z_scale=z_scale)
    num_cells = counts[np.searchsorted(frames, t.frame)].astype(float)
    blot = np.asarray(t.extra["blot"], float)
    cells, inv = np.unique(t.cell, return_inverse=True)
    track_mean = np.bincount(inv, blot) / np.bincount(inv)
    level = reporter_levels(track_mean)[inv]
    founder = np.array([FOUNDERS.index(f) if (f := founder_of(c)) else -1 for c in t.cell])
    keep = founder >= 0
    return dict(features=feats[keep], level=level[keep], num_cells=num_cells[keep], y=founder[keep],
                frame=np.asarray(t.frame)[keep], z_scale=z_scale, z_source=z_source)


def split_at(num_cells, fraction):
    """The smallest cell count c with at least `fraction` of the rows at counts <= c."""
    s = np.sort(num_cells)
    return float(s[min(int(np.ceil(fraction * len(s))) - 1, len(s) - 1)])


# ---------------------------------------------------------------------------------------- model
class MLP(nnx.Module):
    def __init__(self, num_in, rngs):
        self.l1 = nnx.Linear(num_in, 64, rngs=rngs)
        self.l2 = nnx.Linear(64, 64, rngs=rngs)
        self.out = nnx.Linear(64, K, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.relu(self.l2(nnx.relu(self.l1(x)))))


def make_trainer(steps, lr):
    tx = optax.adamw(lr, weight_decay=1e-4)

    def train(params, graphdef, x, y, labelled, prior, expr, weight, target):
        def loss_fn(p):
            logits = nnx.merge(graphdef, p)(x)
            ce = optax.softmax_cross_entropy_with_integer_labels(logits, jnp.maximum(y, 0))
            loss = jnp.sum(ce * labelled) / jnp.maximum(labelled.sum(), 1)
            if prior is not None:
                loss = loss + weight * prior_loss(prior, logits, expr, FOUNDERS, target=target)
            return loss

        def step(carry, _):
            p, s = carry
            g = jax.grad(loss_fn)(p)
            u, s = tx.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        (params, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
        return jnp.argmax(nnx.merge(graphdef, params)(x), -1)

    return jax.jit(train, static_argnames=("graphdef", "target"))


def fit_predict(train, seed, x, y, labelled, prior=None, expr=None, weight=0.0, target="prior"):
    graphdef, params = nnx.split(MLP(x.shape[1], nnx.Rngs(seed)))
    return np.asarray(train(params, graphdef, jnp.asarray(x, jnp.float32), jnp.asarray(y), jnp.asarray(labelled, jnp.float32),
                            prior, None if expr is None else jnp.asarray(expr, jnp.float32), weight, target))


def naive_bayes(prior, expr, y, labelled):
    freq = np.bincount(y[labelled], minlength=K) + 1.0
    logp = np.asarray(prior.log_prob(expr)) + np.log(freq / freq.sum())
    return logp.argmax(-1)


def nearest_centroid(x, y, labelled):
    present = np.unique(y[labelled])
    cents = np.stack([x[labelled & (y == k)].mean(0) for k in present])
    return present[np.argmin(((x[:, None, :] - cents[None]) ** 2).sum(-1), 1)]


# ---------------------------------------------------------------------------------------- run
def run_case(name, reporter, epic_name, table, embryos, life, train, seeds):
    d = load_embryo(name)
    exclude = (epic_name,) if epic_name else ()
    stages = cell_stages(life, set(exclude))
    priors = {False: reporter_prior(table, embryos, reporter, exclude=exclude),
              True: reporter_prior(table, embryos, reporter, exclude=exclude, stages=stages, stage_edges=STAGE_EDGES)}
    exprs = {False: stage_expression(d["level"], d["num_cells"]),
             True: stage_expression(d["level"], d["num_cells"], STAGE_EDGES)}
    n_prior_embryos = sum(1 for e, r in embryos.items() if r == reporter and e not in exclude)
    y, nc = d["y"], d["num_cells"]
    cut = split_at(nc, TRAIN_FRACTION)
    is_train, is_test = nc <= cut, nc > cut
    inner_cut = split_at(nc[is_train], TRAIN_FRACTION)
    mu, sd = d["features"].mean(0), d["features"].std(0) + 1e-6
    x_nuc = (d["features"] - mu) / sd
    x_rep = np.concatenate([x_nuc, d["level"][:, None]], 1)
    acc = {a: [] for a in ("majority", "nearest_centroid", "labels", "labels+reporter", "labels+prior",
                           "prior_alone", "prior_alone_global")}
    chosen = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        tr = np.flatnonzero(is_train)
        lab = np.zeros(len(y), bool)
        lab[rng.choice(tr, int(round(LABEL_FRACTION * len(tr))), replace=False)] = True
        score = lambda pred: float(np.mean(pred[is_test] == y[is_test]))  # noqa: E731
        acc["majority"].append(score(np.full(len(y), np.bincount(y[lab], minlength=K).argmax())))
        acc["nearest_centroid"].append(score(nearest_centroid(x_nuc, y, lab)))
        acc["labels"].append(score(fit_predict(train, seed, x_nuc, y, lab)))
        acc["labels+reporter"].append(score(fit_predict(train, seed, x_rep, y, lab)))
        acc["prior_alone"].append(score(naive_bayes(priors[True], exprs[True], y, lab)))
        acc["prior_alone_global"].append(score(naive_bayes(priors[False], exprs[False], y, lab)))
        # Validation inside the training time range: fit on labelled rows of its early part,
        # score on labelled rows of its later part.
        fit_lab, val_lab = lab & (nc <= inner_cut), lab & (nc > inner_cut)
        val = []
        for w, target, staged in GRID:
            pred = fit_predict(train, seed, x_nuc, y, fit_lab, priors[staged], exprs[staged], w, target)
            val.append(float(np.mean(pred[val_lab] == y[val_lab])))
        w, target, staged = GRID[int(np.argmax(val))]
        chosen.append(dict(seed=seed, weight=w, target=target, per_stage=staged, validation_accuracy=max(val),
                           validation_rows=int(val_lab.sum())))
        acc["labels+prior"].append(score(fit_predict(train, seed, x_nuc, y, lab, priors[staged], exprs[staged], w, target)))
        print(f"  seed {seed}: " + ", ".join(f"{a} {v[-1]:.3f}" for a, v in acc.items()), flush=True)
    arms = {a: dict(mean=float(np.mean(v)), sd=float(np.std(v)), per_seed=v, n_test=int(is_test.sum()))
            for a, v in acc.items()}
    # How much founder information the reporter level carries on the test rows (label-free check).
    info = {FOUNDERS[k]: float(np.nanmean(d["level"][is_test & (y == k)])) if (is_test & (y == k)).any() else None
            for k in range(K)}
    return dict(arms=arms, prior_reporter=reporter, prior_embryos=n_prior_embryos, excluded=list(exclude),
                train_max_cells=cut, inner_max_cells=inner_cut, n_rows=len(y), n_train=int(is_train.sum()),
                n_labelled=int(round(LABEL_FRACTION * is_train.sum())), z_scale=d["z_scale"], z_source=d["z_source"],
                test_founder_counts={FOUNDERS[k]: int((is_test & (y == k)).sum()) for k in range(K)},
                mean_test_level_by_founder=info, labels_plus_prior_choices=chosen)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--out", default=str(pathlib.Path(__file__).parent / "results" / "founders_expression-cpu.json"))
    args = ap.parse_args(argv)
    meta = run_meta(argv)
    start = time.time()
    table, embryos, life = read_epic()
    train = make_trainer(args.steps, args.lr)
    results = {}
    for name in args.cases.split(","):
        reporter, epic_name = CASES[name]
        t0 = time.time()
        results[name] = run_case(name, reporter, epic_name, table, embryos, life, train, args.seeds)
        print(f"{name}: {time.time() - t0:.0f} s", flush=True)
    meta["load_average_at_end"] = list(os.getloadavg())
    out = dict(meta=meta, settings=dict(seeds=args.seeds, steps=args.steps, lr=args.lr, hidden=(64, 64),
                                        optimiser="adamw(weight_decay=1e-4), full batch",
                                        train_fraction=TRAIN_FRACTION, label_fraction=LABEL_FRACTION,
                                        stage_edges=STAGE_EDGES, grid=GRID, seconds=time.time() - start),
               embryos=results)
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    arms = list(next(iter(results.values()))["arms"])
    print("\n| arm | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for a in arms:
        print(f"| {a} | " + " | ".join(f"{r['arms'][a]['mean']:.3f} ± {r['arms'][a]['sd']:.3f}" for r in results.values()) + " |")
    print("| n test rows | " + " | ".join(str(r["arms"][arms[0]]["n_test"]) for r in results.values()) + " |")
    print(f"\nwrote {args.out} ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
