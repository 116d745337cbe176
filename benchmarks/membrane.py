"""Label efficiency on real membrane images: surface vs interior cells of a C. elegans embryo.

Data: 2D z-slices of a real membrane-stained C. elegans embryo (embryo 170704plc1p2, timepoints
1, 11, ..., 91, z-slices 15, 19, ..., 55; 256 x 356 pixels) with instance labels from a classical
pipeline (Sato ridge filter, Otsu, distance-transform seeds, watershed). The labels are
PSEUDO-LABELS, not ground truth: they over-split some large 4-cell-stage cells, and every number
below is agreement with them. Images from Cao et al. 2019, "3DMMS: robust 3D Membrane
Morphological Segmentation of C. elegans embryo", BMC Bioinformatics 20:176
(doi:10.1186/s12859-019-2720-x), via the DevoLearn/DevoGraph repository; see SOURCE.md next to
the data file. The data file is read in place and never copied.

The concept, per cell, over the alphabet ("surface", "interior"): a cell is "surface" when it
lies on the outside of the embryo. Geometry, on the full-resolution labels of each slice:
  1. exterior: background pixels (label 0) 4-connected to the image border (numpy flood fill);
  2. the watershed also labels the thin perivitelline band between the cells and the eggshell
     as "cells" (rings and arcs hugging the embryo), often merged into one real cell's label.
     Each label is first opened (eroded and regrown within itself, city-block radius 6 px):
     parts thinner than about 12 px, bands and the band arms of merged labels, become
     background, while real cells (15-90 px across at these stages) keep their bodies. A label
     that still has more than half of its pixels within 8 px (city-block) of the exterior is a
     band too and is set to background. The exterior then grows through the bands. (Without
     the opening, a band merged into a cell's label stayed, lay between the exterior and the
     cells it hugs and made them "interior": over all 110 slices, 232 of 1,815 cells were
     called interior and 44 surface that are now the other way, in 82 slices.)
  3. a remaining cell is "surface" when it has a pixel within 2 px (city-block) of the
     exterior of step 2, "interior" otherwise.
The watershed leaves no background between cells (at most a few pixels per slice), so the
contact graph is `neurosym.symbolise.contact_graph` on the cleaned labels, as it is.

Model: the shipped pre-trained body `load_pretrained("membrane2d")` (a U-Net trained on rendered
membrane-stained embryos to read each cell's stain level and whether it is an outer or an inner
cell; `--weights` takes another) with a fresh two-kind head (`neurosym.encoder.with_kinds`);
the whole network is fine-tuned (Adam, learning rate 1e-3: 3e-3 overwrites the pre-trained
features within 40 steps). Before any fine-tuning, the pre-trained head itself (its "outer"
probability) is scored too: how far the simulation alone gets on real images, with no labels.
Images and labels are downsampled 2x (2x2 block mean for images, nearest for
labels; a cell that vanishes is dropped) to 128 x 178. Train and test slices come from different
timepoints: train on timepoints 1, 21, 41, 61, 81 and test on 11, 31, 51, 71, 91 (so both cover
the 4- to ~45-cell stages), at most `--train-slices` and `--test-slices` of each, spread evenly
over the timepoint-and-z order.

Conditions, each fine-tuned from the same initial model for the same number of full-batch steps:
  labels only     cross-entropy on N randomly chosen labelled training cells;
  labels + rules  the same, plus on ALL training cells (labelled or not) fuzzy-logic rules on
                  the contact graph (product semantics, `Constraint.loss`), where `outside` is an
                  observed crisp predicate: the cell touches the exterior in the segmentation.
                  `--rules one-way` (default):
                     Implies(outside, surface)          a cell touching the outside is surface;
                     Implies(surface, AtLeast(2, surface))  surface cells form a ring.
                  These use `outside` one way only: they never say a cell is interior
                  (predicting "surface" everywhere satisfies both), so interior cells are learnt
                  from the labels alone.
                  `--rules two-way` adds the converse, the inside-outside rule
                     Implies(Not(outside), interior)    a cell that does not touch the outside
                                                        is interior.
                  With it the rules fix every training cell's kind from the segmentation (the
                  truth is the same geometric fact), so this condition measures how well rules
                  stand in for labels as supervision of an image model (distant supervision):
                  the model still sees only images and label masks at test time.
                  `--rules inside-outside` keeps only the two rules that tie `outside` to the
                  kinds, Implies(outside, surface) and Implies(Not(outside), interior),
                  without the ring rule (which the truth breaks in some few-cell slices):
                  distant supervision alone.
  The loss with rules is (cross-entropy mean over the labelled cells) x w + rule weight x (rule
  loss mean over all cells), with w = 1 (`--balance terms`, the default) or w = the labelled
  share of the training cells (`--balance cells`: every cell weighs the same in both terms).
  `--validate-slices K` holds out K training slices; with rules, the step whose crisp rule
  satisfaction on them is highest is kept (checked every 5 steps), while labels only, which has
  no labels there, keeps its last step.
  Both conditions flip the training slices at random each step (`--no-augment` turns it off).
  The rule loss per cell is -log(satisfaction) (`--rule-reduction log`, the default), which keeps
  a gradient on confidently wrong cells; `--rule-reduction mean` uses 1 - satisfaction.

Reported for each N: concept accuracy (the fraction of test cells whose predicted kind is the
geometric truth; images and label masks only, `outside` is not an input) and rule satisfaction
(the fraction of test cells whose crisp predictions satisfy all the rules); they are reported
apart because "all surface" satisfies the one-way rules. Also the majority-class baseline and how often the
truth itself satisfies the rules. Label efficiency: for each accuracy reached by "labels only",
the fewest labels with which "labels + rules" reaches it, and the ratio.

Usage:
  python benchmarks/membrane.py            # ~5 min on an idle 2-core CPU (16 + 16 slices, 40 steps,
                                           # 6 budgets, one seed)
  python benchmarks/membrane.py --quick    # ~1 min (8 + 8 slices, 30 steps, 3 budgets)
  python benchmarks/membrane.py --rules two-way --balance cells --seeds 0,1,2 --budgets 4,16,64,228
                                           # ~11 min
  python benchmarks/membrane.py --rules inside-outside --balance cells --train-slices 55 \
      --seeds 0,1,2 --budgets 4,45,228     # every training slice, most of them unlabelled: ~50 min
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from common import label_efficiency, label_masks, print_label_tables, run_meta
from neurosym import encoder as enc
from neurosym.files import write_json
from neurosym.constraints import kind_probabilities, neighbour_index
from neurosym.encoder import EMBRYO_KINDS, outer_probability, with_kinds
from neurosym.symbolise import contact_graph
from rules.logic import Constraint

KINDS = ("surface", "interior")
SURFACE = KINDS.index("surface")
RULE_SETS = {
    "one-way": ("Implies(outside, surface)", "Implies(surface, AtLeast(2, surface))"),
    "two-way": ("Implies(outside, surface)", "Implies(surface, AtLeast(2, surface))",
                "Implies(Not(outside), interior)"),
    "inside-outside": ("Implies(outside, surface)", "Implies(Not(outside), interior)"),
}
DATA = Path("/work/shared/data/celegans_membrane_3dmms/pseudolabels_2d_slices.npz")
TRAIN_TIMEPOINTS = (1, 21, 41, 61, 81)
TEST_TIMEPOINTS = (11, 31, 51, 71, 91)
BAND_DISTANCE = 8      # px (full resolution): how close to the exterior a band's pixels lie
BAND_FRACTION = 0.5    # a label with more of its pixels that close is a band, not a cell
OPENING_RADIUS = 6     # px (full resolution): label parts thinner than about twice this are bands
TOUCH_DISTANCE = 2     # px (full resolution): a cell this close to the exterior is "surface"


# ------------------------------------------------------------------------------ geometry
def _face_neighbours(a: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each pixel's 4 face neighbours as shifted copies of `a`; beyond the frame, 0 (False)."""
    p = np.pad(a, 1)
    return p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]


def _dilate(mask: np.ndarray) -> np.ndarray:
    """One step of 4-connected dilation (a city-block ball of radius 1)."""
    out = mask.copy()
    for nb in _face_neighbours(mask):
        out |= nb
    return out


def _exterior(labels: np.ndarray) -> np.ndarray:
    """Background pixels 4-connected to the image border (flood fill by repeated dilation)."""
    background = labels == 0
    seeds = np.zeros_like(background)
    seeds[[0, -1], :] = True
    seeds[:, [0, -1]] = True
    region = seeds & background
    while True:
        grown = _dilate(region) & background
        if np.array_equal(grown, region):
            return region
        region = grown


def _near(mask: np.ndarray, distance: int) -> np.ndarray:
    for _ in range(distance):
        mask = _dilate(mask)
    return mask


def _opening(labels: np.ndarray, radius: int) -> np.ndarray:
    """Morphological opening of every label by a city-block ball: parts of a label thinner than
    about `2 * radius` px become 0 (background); the rest of each label is kept as it was.

    Erosion: a pixel stays while its 4 neighbours carry its label (the frame counts as another
    label), `radius` times. Dilation: a removed pixel of label l comes back when a neighbour
    holds a kept pixel of l, `radius` times, so a label only ever regrows into its own pixels.
    """
    core = labels.copy()
    for _ in range(radius):
        same = np.logical_and.reduce([nb == core for nb in _face_neighbours(core)])
        core = np.where(same, core, 0)
    for _ in range(radius):
        back = np.zeros_like(core)
        for nb in _face_neighbours(core):
            back = np.where((back == 0) & (nb == labels) & (labels > 0), nb, back)
        core = np.where(core > 0, core, back)
    return core


def annotate(labels: np.ndarray) -> dict:
    """Clean one full-resolution slice's labels and find its surface cells (see module docs).

    Returns a dict with the cleaned `labels` (bands set to 0), `cells` (ids), `outside` (bool per
    cell, the truth) and `bands` (ids set to 0).
    """
    labels = labels.astype(np.int64)
    size = labels.max() + 1
    ids = np.flatnonzero(np.bincount(labels.ravel(), minlength=size))
    labels = _opening(labels, OPENING_RADIUS)
    area = np.bincount(labels.ravel(), minlength=size)
    close = np.bincount(labels[_near(_exterior(labels), BAND_DISTANCE)].ravel(), minlength=size)
    ids = ids[ids > 0]
    bands = ids[(area[ids] == 0) | (close[ids] > BAND_FRACTION * area[ids])]
    labels = np.where(np.isin(labels, bands), 0, labels)
    cells = np.setdiff1d(ids, bands)
    touch = np.bincount(labels[_near(_exterior(labels), TOUCH_DISTANCE)].ravel(), minlength=size)
    return {"labels": labels, "cells": cells, "outside": touch[cells] > 0, "bands": bands}


def prepare(image: np.ndarray, labels: np.ndarray) -> dict:
    """One slice, downsampled 2x: image in [0, 1], labels 1..n, truth, contact graph."""
    a = annotate(labels)
    h, w = image.shape
    small = image[: h // 2 * 2, : w // 2 * 2].reshape(h // 2, 2, w // 2, 2).astype(np.float32).mean((1, 3)) / 255.0
    lab = a["labels"][: h // 2 * 2 : 2, : w // 2 * 2 : 2]
    kept = np.isin(a["cells"], np.unique(lab))  # cells that survive nearest-neighbour downsampling
    cells, outside = a["cells"][kept], a["outside"][kept]
    graph = contact_graph(a["labels"])  # full resolution: downsampling can break thin contacts
    graph = graph.subgraph(cells.tolist())
    relabel = np.zeros(a["labels"].max() + 1, np.int32)
    relabel[cells] = np.arange(1, len(cells) + 1)
    return {
        "image": small, "labels": relabel[lab], "outside": outside, "graph": graph, "cells": cells,
        "dropped": int((~kept).sum()), "bands": len(a["bands"]),
    }


def stack(slices: list[dict], num_labels: int) -> dict:
    """Pad per-slice cell arrays to `num_labels` rows (row 0 = background, never a cell)."""
    width = max(max((d for _, d in s["graph"].degree()), default=1) for s in slices)
    width = max(width, 1)
    b = len(slices)
    kinds = np.zeros((b, num_labels), np.int32)
    outside = np.zeros((b, num_labels), np.float32)
    present = np.zeros((b, num_labels), bool)
    neighbours = np.full((b, num_labels, width), -1, np.int32)
    for i, s in enumerate(slices):
        n = len(s["cells"])
        rows = np.arange(1, n + 1)
        present[i, rows] = True
        outside[i, rows] = s["outside"]
        kinds[i, rows] = np.where(s["outside"], SURFACE, 1 - SURFACE)
        nb = neighbour_index(s["graph"], s["cells"].tolist())  # rows 0..n-1 -> label rows 1..n
        neighbours[i, rows, : nb.shape[1]] = np.where(nb >= 0, nb + 1, -1)
    return {
        "image": jnp.asarray(np.stack([s["image"] for s in slices])),
        "labels": jnp.asarray(np.stack([s["labels"] for s in slices])),
        "kinds": jnp.asarray(kinds), "outside": jnp.asarray(outside),
        "present": jnp.asarray(present), "neighbours": jnp.asarray(neighbours),
    }


def spread(indices: np.ndarray, cap: int) -> np.ndarray:
    if len(indices) <= cap:
        return indices
    return indices[np.round(np.linspace(0, len(indices) - 1, cap)).astype(int)]


# ------------------------------------------------------------------------------ learning
def rule_loss(logits, data, rules, reduction="mean"):
    def one(l, outside, nbrs, present):
        truth = kind_probabilities(l, KINDS)
        truth["outside"] = outside
        losses = [c.loss(truth, neighbours=nbrs, mask=present, reduction=reduction) for c in rules]
        return sum(losses) / len(rules)

    return jnp.mean(jax.vmap(one)(logits, data["outside"], data["neighbours"], data["present"]))


def crisp_satisfaction(pred, data, rules) -> np.ndarray:
    """Per present cell: do its crisp predicted kinds satisfy every rule? (flattened over slices)

    The same `Constraint`s as the training loss, evaluated on one-hot kinds, where product
    semantics gives exactly 0 or 1.
    """
    onehot = jax.nn.one_hot(jnp.asarray(pred), len(KINDS))

    def one(p, outside, nbrs):
        truth = {k: p[..., i] for i, k in enumerate(KINDS)}
        truth["outside"] = outside
        ok = jnp.ones(outside.shape, bool)
        for c in rules:
            ok &= c(truth, neighbours=nbrs) > 0.5
        return ok

    ok = jax.vmap(one)(onehot, data["outside"], data["neighbours"])
    return np.asarray(ok)[np.asarray(data["present"])]


def evaluate(model, data, num_labels, rules):
    logits = model(data["image"], data["labels"], num_labels=num_labels)
    pred = np.asarray(jnp.argmax(logits, -1))
    present = np.asarray(data["present"])
    acc = float((pred == np.asarray(data["kinds"]))[present].mean())
    return acc, float(crisp_satisfaction(pred, data, rules).mean())


def flips(batch: dict, num_steps: int, seed: int) -> list[dict]:
    """One batch per step, each the slices flipped at random along none, one or both image axes
    (images and label images together; the cells and their kinds are unchanged)."""
    variants = []
    for axes in ((), (1,), (2,), (1, 2)):
        flip = (lambda a: jnp.flip(a, axes)) if axes else (lambda a: a)
        variants.append(dict(batch, image=flip(batch["image"]), labels=flip(batch["labels"])))
    pick = np.random.default_rng(seed).integers(0, len(variants), num_steps)
    return [variants[i] for i in pick]


def fit(init, data, labelled, *, rules, num_steps, key, rule_weight, num_labels, augment, seed,
        reduction, lr, label_weight=1.0, validate=None):
    # The data travel as the batch of every step, not as constants closed over: XLA would
    # otherwise spend minutes constant-folding the segment sums over fixed label images.
    batch = dict(data, labelled=labelled)
    with_rules = bool(rules)

    def loss_fn(model, batch, k):
        logits = model(batch["image"], batch["labels"], num_labels=num_labels)
        ce = enc.cell_cross_entropy(logits, batch["kinds"], batch["labelled"])
        aux = {"ce": ce}
        loss = ce * label_weight
        if with_rules:
            rl = rule_loss(logits, batch, rules, reduction)
            loss = loss + rule_weight * rl
            aux["rule"] = rl
        return loss, aux

    batches = flips(batch, num_steps, seed) if augment else [batch] * num_steps
    result = enc.train(init, loss_fn, batches, num_steps=num_steps, key=key, optimizer=optax.adam(lr),
                       validate=validate, validate_every=5)
    return result.encoder, result.best_step


def mean_over_seeds(runs: list[dict]) -> list[dict]:
    """One row per (labels, rules): mean and sd over seeds of accuracy and rule satisfaction."""
    out = []
    for key in sorted({(r["labels"], r["rules"]) for r in runs}):
        group = [r for r in runs if (r["labels"], r["rules"]) == key]
        acc = np.array([r["accuracy"] for r in group])
        sat = np.array([r["rule_satisfaction"] for r in group])
        out.append(dict(labels=key[0], rules=key[1], accuracy=float(acc.mean()), accuracy_sd=float(acc.std()),
                        rule_satisfaction=float(sat.mean()), seeds=len(group)))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DATA), help="the pseudolabels_2d_slices.npz file")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--train-slices", type=int, default=None)
    p.add_argument("--test-slices", type=int, default=None)
    p.add_argument("--budgets", type=str, default=None, help="comma-separated numbers of labelled cells")
    p.add_argument("--rule-weight", type=float, default=1.0)
    p.add_argument("--balance", choices=("terms", "cells"), default="terms",
                   help="with rules: 'terms' adds the labelled cells' mean cross-entropy and the rules' mean "
                        "loss over all cells as equals; 'cells' scales the cross-entropy by the labelled share "
                        "of the training cells, so that every cell weighs the same in both terms")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the fine-tuning")
    p.add_argument("--validate-slices", type=int, default=0,
                   help="hold out this many training slices; with rules, the step whose crisp rule "
                        "satisfaction on them is highest is kept (checked every 5 steps)")
    p.add_argument("--rules", choices=sorted(RULE_SETS), default="one-way",
                   help="the rules of the '+ rules' condition (see the module docs)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="flip the training slices at random each step (default: on)")
    p.add_argument("--rule-reduction", choices=("mean", "log"), default="log",
                   help="per-cell rule loss: 1 - satisfaction ('mean') or -log(satisfaction) ('log')")
    p.add_argument("--seeds", type=str, default="0",
                   help="comma-separated seeds (head initialisation, labelled cells, flips); the "
                        "tables average over them")
    p.add_argument("--weights", default="membrane2d",
                   help="the body: a shipped pre-trained name (default membrane2d) or a weights .npz file "
                        "(neurosym.encoder.save_weights)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    path = Path(args.data)
    if not path.is_file():
        raise SystemExit(
            f"No data file at {path}. This benchmark needs pseudolabels_2d_slices.npz (C. elegans "
            "membrane z-slices with watershed pseudo-labels, see SOURCE.md beside it); pass its "
            "location with --data PATH."
        )
    q = args.quick
    seeds = [int(x) for x in args.seeds.split(",")]
    steps = args.steps or (30 if q else 40)
    n_train = args.train_slices or (8 if q else 16)
    n_test = args.test_slices or (8 if q else 16)
    budgets = [int(b) for b in args.budgets.split(",")] if args.budgets else ([4, 16, 64] if q else [4, 8, 16, 32, 64, 128])
    t0 = time.perf_counter()
    with np.load(path) as f:
        missing = [k for k in ("image", "label", "timepoint", "z") if k not in f.files]
        if missing:
            raise SystemExit(f"{path} lacks the array(s) {', '.join(missing)}; is it pseudolabels_2d_slices.npz?")
        images, labels, timepoints, zs = f["image"], f["label"], f["timepoint"], f["z"]
    order = np.lexsort((zs, timepoints))
    train_idx = spread(order[np.isin(timepoints[order], TRAIN_TIMEPOINTS)], n_train)
    test_idx = spread(order[np.isin(timepoints[order], TEST_TIMEPOINTS)], n_test)
    held = set(spread(np.arange(len(train_idx)), args.validate_slices).tolist()) if args.validate_slices else set()
    val_idx = [i for j, i in enumerate(train_idx) if j in held]
    train_idx = [i for j, i in enumerate(train_idx) if j not in held]
    train_s = [prepare(images[i], labels[i]) for i in train_idx]
    test_s = [prepare(images[i], labels[i]) for i in test_idx]
    val_s = [prepare(images[i], labels[i]) for i in val_idx]
    num_labels = max(len(s["cells"]) for s in train_s + test_s + val_s) + 1
    train_data, test_data = stack(train_s, num_labels), stack(test_s, num_labels)
    val_data = stack(val_s, num_labels) if val_s else None
    present = np.asarray(train_data["present"])
    test_present = np.asarray(test_data["present"])
    test_kinds = np.asarray(test_data["kinds"])[test_present]
    surface_share = float((test_kinds == SURFACE).mean())
    majority = max(surface_share, 1 - surface_share)
    rules = [Constraint(r) for r in RULE_SETS[args.rules]]
    truth_sat_test = float(crisp_satisfaction(test_data["kinds"], test_data, rules).mean())
    truth_sat_train = float(crisp_satisfaction(train_data["kinds"], train_data, rules).mean())
    data_info = {
        "train_slices": [[int(timepoints[i]), int(zs[i])] for i in train_idx],
        "validation_slices": [[int(timepoints[i]), int(zs[i])] for i in val_idx],
        "test_slices": [[int(timepoints[i]), int(zs[i])] for i in test_idx],
        "train_cells": int(present.sum()), "test_cells": int(test_present.sum()),
        "train_surface_share": float((np.asarray(train_data["kinds"])[present] == SURFACE).mean()),
        "test_surface_share": surface_share,
        "bands_removed": int(sum(s["bands"] for s in train_s + test_s)),
        "cells_dropped_by_downsampling": int(sum(s["dropped"] for s in train_s + test_s)),
        "image_shape": list(train_s[0]["image"].shape), "num_labels": num_labels,
        "truth_rule_satisfaction_train": truth_sat_train, "truth_rule_satisfaction_test": truth_sat_test,
    }
    print(f"data: {len(train_s)} training slices ({data_info['train_cells']} cells, timepoints {TRAIN_TIMEPOINTS}), "
          f"{len(test_s)} test slices ({data_info['test_cells']} cells, timepoints {TEST_TIMEPOINTS}), "
          f"{data_info['image_shape'][0]}x{data_info['image_shape'][1]} px; {data_info['bands_removed']} band labels "
          f"removed, {data_info['cells_dropped_by_downsampling']} cells lost to downsampling; "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    print(f"test cells: {surface_share:.3f} surface; majority-class baseline accuracy {majority:.3f}; "
          f"the truth satisfies the rules on {truth_sat_test:.3f} of test cells ({truth_sat_train:.3f} of training cells)",
          flush=True)
    body = (enc.load_pretrained(args.weights) if args.weights in enc.pretrained_names()
            else enc.load_weights(args.weights))
    zero_shot = None
    if tuple(body.kinds) == EMBRYO_KINDS:
        # The pre-training head already reads position.
        outer = outer_probability(body(test_data["image"], test_data["labels"], num_labels=num_labels))
        pred = np.where(np.asarray(outer) > 0.5, SURFACE, 1 - SURFACE)
        zero_shot = float((pred == np.asarray(test_data["kinds"]))[test_present].mean())
        print(f"the pre-trained head alone (outer = surface, no fine-tuning, no labels): accuracy {zero_shot:.3f}",
              flush=True)
    runs, untrained = [], []
    for seed in seeds:
        # Each seed draws its own head initialisation, labelled cells and flips.
        init = with_kinds(body, KINDS, rngs=nnx.Rngs(seed))
        acc0, sat0 = evaluate(init, test_data, num_labels, rules)
        untrained.append({"seed": seed, "accuracy": acc0, "rule_satisfaction": sat0})
        print(f"seed {seed}: untrained head accuracy {acc0:.3f} (rules satisfied {sat0:.3f})", flush=True)
        perm = np.random.default_rng(seed).permutation(int(present.sum()))
        for n, mask in label_masks(present, perm, budgets):
            for with_rules in (False, True):
                t1 = time.perf_counter()
                # Only the rules can score the held-out slices without labels: their crisp rule
                # satisfaction picks the kept step. Labels only keeps the last step.
                validate = None
                if with_rules and val_data is not None:
                    validate = lambda m: evaluate(m, val_data, num_labels, rules)[1]  # noqa: E731
                label_weight = n / int(present.sum()) if with_rules and args.balance == "cells" else 1.0
                model, kept = fit(init, train_data, jnp.asarray(mask), rules=rules if with_rules else [],
                                  label_weight=label_weight,
                                  num_steps=steps, key=jax.random.key(seed), rule_weight=args.rule_weight,
                                  num_labels=num_labels, augment=args.augment, seed=seed,
                                  reduction=args.rule_reduction, lr=args.lr, validate=validate)
                acc, sat = evaluate(model, test_data, num_labels, rules)
                row = dict(seed=seed, labels=n, rules=with_rules, accuracy=acc, rule_satisfaction=sat, kept_step=kept,
                           labelled_surface=int((np.asarray(train_data["kinds"])[mask] == SURFACE).sum()),
                           seconds=time.perf_counter() - t1)
                runs.append(row)
                print(f"seed {seed} labels {n:4d} rules {'on ' if with_rules else 'off'}: accuracy {acc:.3f} "
                      f"(rules satisfied {sat:.3f}; step {kept} kept)  ({row['seconds']:.0f} s)", flush=True)
    rows = mean_over_seeds(runs)
    efficiency = label_efficiency(rows)
    if len(seeds) > 1:
        print(f"\nMeans over seeds {seeds} (sd over seeds in the JSON).")
    print(f"\nMajority-class baseline (test cells): {majority:.3f}; the truth satisfies the rules on {truth_sat_test:.3f} of test cells.")
    print_label_tables(rows, efficiency)
    print("\nGoal: the same per-cell kind accuracy with >= 5x fewer labelled cells when rules are on.")
    meta = {
        **run_meta(argv), "steps": steps, "budgets": budgets,
        "rule_weight": args.rule_weight, "balance": args.balance, "rules": list(RULE_SETS[args.rules]), "augment": args.augment,
        "rule_reduction": args.rule_reduction, "lr": args.lr,
        "validate_slices": args.validate_slices,
        "seeds": seeds, "data_file": str(path),
        "data": "C. elegans membrane z-slices (Cao et al. 2019, BMC Bioinformatics 20:176), watershed PSEUDO-LABELS",
        "pretrained": args.weights, "labels_are": "pseudo-labels (watershed), not ground truth",
        "majority_baseline_accuracy": majority, "untrained_head": untrained,
        "pretrained_head_accuracy": zero_shot,
        **data_info, "seconds": time.perf_counter() - t0,
    }
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / "membrane.json"
    write_json(out, {"meta": meta, "runs": runs, "means": rows, "efficiency": efficiency})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
