"""The tissue model on a real embryo: fit the CPM to named segmentations, predict later contacts.

Data: /work/shared/data/celegans_3dmms_named (3DMMS, Cao et al. 2019; one C. elegans embryo, time
points 1-65, 4 to 59 cells, label volumes (205, 285, 134) with 0 = outside and the one-voxel
membrane; names from AceTree lineage tracing). Not available in CI: without it the script prints
why and exits.

What is measured:

1. **Fit** (`neurosym.tissue.fit_potts`): each training time point is coarsened to a lattice of
   `--factor`^3-voxel sites (`potts_state`, membrane filled), the cell ids shuffled at random
   (so that ids carry no order of the names), and the cells given their founder kind from their
   names. Contact energies between kinds and the medium and the volume stiffness are fitted by
   pseudo-likelihood, once with Adam and once with a (1+1)-ES at the same number of loss
   evaluations. Reported: loss at start and end, the loss on held-out (later) time points, and
   the same for the fitted J with differential adhesion removed (`uniform_adhesion`).
2. **Division axes**: from consecutive training time points, every division whose two daughters
   are seen gives an axis; their means give the body frame (`body_frame`) and a von
   Mises-Fisher distribution per founder kind (`fit_division_axes`).
3. **Prediction** (`predict_contacts`) from each test time point t to t + k: the coarse lattice
   at t, the cells the data says divide by t + k divided along sampled axes and named from
   them, then `--mcs-per-time` x k Monte Carlo steps of the CPM. Scored against the observed
   full-resolution contact graph at t + k (`contact_areas(labels, gap=2)`, named) with
   `score_contacts`: F1 of named contact pairs and area-weighted overlap. Arms:
   fitted (the Adam fit and fitted axes), fitted, long (the same with `--long-mcs-per-time`),
   uniform adhesion, random axes (the fitted CPM),
   divide only (fitted axes, no CPM steps), fitted, timed (as fitted, but which cells divide
   comes from the timing of other embryos: `neurosym.tissue.timing`, each cell's mean cycle in
   the embedded tracked wild types, converted to time points by the series' own pace
   calibrated on t <= `--train-until`; every other arm reads it from the names at t + k, an
   oracle), persistence (each daughter inherits its mother's
   full-resolution contacts at t, sisters touch), and coarse observed (the observed coarse
   lattice at t + k: what the lattice resolution alone loses; not a prediction). Stochastic
   arms run `--seeds` seeds (mean and sd over all test pairs and seeds); `naming` is the
   share of predicted daughter names that are among the names at t + k.

Caveats: one embryo; training (t <= `--train-until`) and test time points are of the same
embryo, so this tests extrapolation to later stages, not to new embryos. Boundaries come from
the 3DMMS algorithm. D and P4 first appear after the training time points, so their kind
parameters stay at the starting values. Label numbers are used only to look up names.

Usage:
  python benchmarks/tissue.py                   # the full run (about 12 minutes on 2 CPU cores)
  python benchmarks/tissue.py --quick           # a smoke run
Writes benchmarks/results/tissue-<platform>.json (or --out). Benchmarks never pass or fail.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import run_meta  # noqa: E402

DEFAULT_DATA = pathlib.Path("/work/shared/data/celegans_3dmms_named")


def _ints(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        if ":" in part:
            a, b, s = (int(v) for v in part.split(":"))
            out += list(range(a, b + 1, s))
        elif part:
            out.append(int(part))
    return out


def _parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--factor", type=int, default=4, help="voxels per lattice site along each axis")
    ap.add_argument("--fit-times", default="1:39:2", help="training time points (a:b:step or a list)")
    ap.add_argument("--train-until", type=int, default=40, help="last time point the axes are read from")
    ap.add_argument("--test-times", default="41:57:4", help="test time points t")
    ap.add_argument("--ks", default="2,4", help="horizons k (time points ahead)")
    ap.add_argument("--steps", type=int, default=150, help="loss evaluations - 1 for each strategy")
    ap.add_argument("--learning-rate", type=float, default=0.05)
    ap.add_argument("--sigma", type=float, default=0.3, help="(1+1)-ES starting step size")
    ap.add_argument("--mcs-per-time", type=int, default=10)
    ap.add_argument("--long-mcs-per-time", type=int, default=40, help="the 'fitted, long' arm's MCS per time point")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--neighbourhood", default="von_neumann")
    ap.add_argument("--quick", action="store_true", help="a smoke run: few time points, steps and seeds")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.fit_times, args.test_times, args.ks = "19,39", "41", "2"
        args.steps, args.seeds, args.mcs_per_time, args.long_mcs_per_time = 10, 1, 2, 4
    return args


class Frames:
    """Each time point read once: the coarse lattice (ids shuffled) with names, and the named
    full-resolution contact graph."""

    def __init__(self, series, factor: int, rng):
        self.series, self.factor, self.rng = series, factor, rng
        self._coarse, self._graph = {}, {}

    def coarse(self, t: int):
        if t not in self._coarse:
            from neurosym.symbolise import potts_state

            sites, ids = potts_state(self.series.labels(t), self.factor, fill_gap=True, gap=self.series.gap)
            perm = np.concatenate([[0], 1 + self.rng.permutation(ids.size - 1)])
            shuffled = perm[sites].astype(np.int32)
            names = [None] * (ids.size - 1)
            for old in range(1, ids.size):
                names[perm[old] - 1] = self.series.names[int(ids[old])]
            self._coarse[t] = (shuffled, names)
        return self._coarse[t]

    def graph(self, t: int):
        if t not in self._graph:
            from neurosym.io import contact_areas

            self._graph[t] = contact_areas(self.series.labels(t), gap=self.series.gap).graph(self.series.names)
        return self._graph[t]


def _summary(values) -> dict:
    v = np.asarray(values, float)
    return {"mean": round(float(v.mean()), 4), "sd": round(float(v.std(ddof=1)) if v.size > 1 else 0.0, 4), "n": int(v.size)}


def main(argv=None) -> None:
    args = _parse(argv)
    if not pathlib.Path(args.data).is_dir():
        print(f"skipping: the 3DMMS data folder {args.data} is not here (it lives in /work/shared/data, "
              "which CI does not have).")
        return
    import jax
    import jax.numpy as jnp
    import optax

    import neurosym.io as nio
    from neurosym.files import write_json
    from neurosym.tissue import (
        KIND_NAMES, EvolutionStrategy, body_frame, cell_centroids, fit_division_axes, fit_loss, fit_potts,
        kinds_of, observed_divisions, persistence_contacts, predict_contacts, score_contacts, uniform_adhesion)
    from neurosym.tissue.predict import division_schedule
    from neurosym.tissue.timing import calibrate_minutes, cycle_times, first_seen, timed_names

    t_start = time.perf_counter()
    meta = run_meta(argv)
    series = nio.read_segmentation(args.data, gap=2, axes="YXZ")
    frames = Frames(series, args.factor, np.random.default_rng(0))
    fit_times = _ints(args.fit_times)
    test_times, ks = _ints(args.test_times), _ints(args.ks)

    # ------------------------------------------------------------------ fit
    obs = [(frames.coarse(t)[0], kinds_of(frames.coarse(t)[1])) for t in fit_times]
    held = sorted({t for t in test_times} | {t + k for t in test_times for k in ks})
    held = [t for t in held if t in series.times]
    held_obs = [(frames.coarse(t)[0], kinds_of(frames.coarse(t)[1])) for t in held]
    print(f"lattice {obs[0][0].shape} (factor {args.factor}); fit on t = {fit_times}; read in "
          f"{time.perf_counter() - t_start:.0f} s")
    fits = {}
    for name, strategy, key in (("adam", optax.adam(args.learning_rate), None),
                                ("es", EvolutionStrategy(args.sigma), jax.random.key(0))):
        t0 = time.perf_counter()
        fit = fit_potts(obs, KIND_NAMES, strategy=strategy, num_steps=args.steps, key=key,
                        neighbourhood=args.neighbourhood)
        seconds = time.perf_counter() - t0
        fits[name] = fit
        print(f"{name}: loss {float(fit.losses[0]):.4f} -> {float(fit.losses[-1]):.4f} in {args.steps + 1} "
              f"evaluations, {seconds:.0f} s")
        fits[name + "_seconds"] = seconds
    adam = fits["adam"]
    uniform = uniform_adhesion(adam.params, adam.free_kinds)
    j0 = np.full((len(KIND_NAMES),) * 2, 2.0, np.float32)
    j0[0, 0] = 0.0
    start = adam.params.replace(contact=jnp.asarray(j0), lambda_volume=jnp.full((len(KIND_NAMES),), 1e-3))
    held_loss = {name: fit_loss(p, held_obs, neighbourhood=args.neighbourhood)
                 for name, p in (("start", start), ("adam", adam.params), ("es", fits["es"].params),
                                 ("adam_uniform_adhesion", uniform))}
    train_loss_uniform = fit_loss(uniform, obs, neighbourhood=args.neighbourhood)
    print("held-out loss (t = %s): %s" % (held, {k: round(v, 4) for k, v in held_loss.items()}))
    fit_json = {
        "train_times": fit_times, "held_out_times": held, "kind_names": list(KIND_NAMES),
        "free_kinds": [KIND_NAMES[k] for k in adam.free_kinds], "num_evaluations": args.steps + 1,
        "strategies": {name: {"loss_start": float(fits[name].losses[0]), "loss_end": float(fits[name].losses[-1]),
                              "loss_curve": [round(float(v), 5) for v in fits[name].losses],
                              "seconds": round(fits[name + "_seconds"], 1),
                              "contact": np.round(np.asarray(fits[name].params.contact), 4).tolist(),
                              "lambda_volume": np.round(np.asarray(fits[name].params.lambda_volume), 6).tolist()}
                       for name in ("adam", "es")},
        "held_out_loss": held_loss, "train_loss_uniform_adhesion": train_loss_uniform,
    }

    # ------------------------------------------------------------------ axes
    divisions = []
    train_axes = [t for t in series.times if t <= args.train_until]
    for t in train_axes:
        if t + 1 in series.times and t + 1 <= args.train_until:
            sites, names = frames.coarse(t + 1)
            divisions += observed_divisions(frames.coarse(t)[1], cell_centroids(sites, names))
    frame = body_frame(divisions)
    axes = fit_division_axes(divisions, KIND_NAMES)
    axes_json = {"num_divisions": len(divisions),
                 "divisions": [[d.mother, d.first, d.second, d.pair] for d in divisions],
                 "frame": {k: np.round(v, 3).tolist() for k, v in frame.items()},
                 "concentration": dict(zip(KIND_NAMES, np.round(np.asarray(axes.concentration), 3).tolist()))}
    print(f"axes from {len(divisions)} divisions; frame {axes_json['frame']}")

    # ------------------------------------------------------------------ timing
    cycles = cycle_times([nio.load_celegans(n) for n in nio.list_celegans("wild-type")])
    seen_until = first_seen(series, until=args.train_until)
    minutes_per_time = calibrate_minutes(seen_until, cycles, until=args.train_until)
    print(f"timing: {len(cycles.minutes)} cycles from the embedded wild types; {minutes_per_time:.3f} minutes per "
          f"time point, calibrated on t <= {args.train_until}")

    # ------------------------------------------------------------------ prediction
    arms = {
        "fitted": dict(params=adam.params, axes=axes),
        "fitted, long": dict(params=adam.params, axes=axes, mcs=args.long_mcs_per_time),
        "uniform adhesion": dict(params=uniform, axes=axes),
        "random axes": dict(params=adam.params, axes=None),
        "divide only": dict(params=None, axes=axes),
        "fitted, timed": dict(params=adam.params, axes=axes, timed=True),
    }
    schedule_rows = []
    rows = []
    for t in test_times:
        for k in ks:
            if t + k not in series.times:
                continue
            sites, names = frames.coarse(t)
            later_sites, later_names = frames.coarse(t + k)
            observed = frames.graph(t + k)
            later = set(observed.nodes) | set(later_names)
            base = {"t": t, "k": k, "cells": len(names), "cells_later": len(later_names)}
            s = score_contacts(persistence_contacts(frames.graph(t), later_names), observed)
            rows.append({**base, "arm": "persistence", "seed": 0, "f1": s.f1, "overlap": s.overlap,
                         "precision": s.precision, "recall": s.recall})
            coarse_graph = nio.contact_areas(later_sites, gap=0).graph({i + 1: n for i, n in enumerate(later_names)})
            s = score_contacts(coarse_graph, observed)
            rows.append({**base, "arm": "coarse observed", "seed": 0, "f1": s.f1, "overlap": s.overlap,
                         "precision": s.precision, "recall": s.recall})
            timed = timed_names(names, seen_until, t, t + k, cycles, minutes_per_time)
            true_div, timed_div = set(division_schedule(names, later_names)), set(division_schedule(names, timed))
            schedule_rows.append({"t": t, "k": k, "dividing": len(true_div), "predicted": len(timed_div),
                                  "both": len(true_div & timed_div)})
            for arm, cfg in arms.items():
                for seed in range(args.seeds):
                    p = predict_contacts(sites, names, timed if cfg.get("timed") else later_names, cfg["params"],
                                         axes=cfg["axes"], frame=frame,
                                         key=jax.random.key(1000 * seed + 7),
                                         mcs_per_time=cfg.get("mcs", args.mcs_per_time),
                                         num_times=k, neighbourhood=args.neighbourhood)
                    s = score_contacts(p.graph, observed)
                    daughters = [n for d in p.divisions for n in d[1:]]
                    final = [n for n in daughters if n in p.names]
                    naming = (float(np.mean([n in later for n in final])) if final else None)
                    rows.append({**base, "arm": arm, "seed": seed, "f1": s.f1, "overlap": s.overlap,
                                 "precision": s.precision, "recall": s.recall, "naming": naming,
                                 "divisions": len(p.divisions), "mcs": p.num_mcs})
            print(f"t={t} -> {t + k}: " + ", ".join(
                f"{a} F1 {np.mean([r['f1'] for r in rows if r['t'] == t and r['k'] == k and r['arm'] == a]):.3f}"
                for a in ["persistence", "coarse observed", *arms]))

    # ------------------------------------------------------------------ table
    table = []
    order = ["fitted", "fitted, timed", "fitted, long", "uniform adhesion", "random axes", "divide only", "persistence",
             "coarse observed"]
    print("\n| arm | k | F1 named contacts | area-weighted overlap | precision | recall | daughter names right |")
    print("|---|---|---|---|---|---|---|")
    for k in ks:
        for arm in order:
            sel = [r for r in rows if r["arm"] == arm and r["k"] == k]
            if not sel:
                continue
            naming = [r["naming"] for r in sel if r.get("naming") is not None]
            entry = {"arm": arm, "k": k, "f1": _summary([r["f1"] for r in sel]),
                     "overlap": _summary([r["overlap"] for r in sel]),
                     "precision": _summary([r["precision"] for r in sel]),
                     "recall": _summary([r["recall"] for r in sel]),
                     "naming": _summary(naming) if naming else None}
            table.append(entry)
            nm = f"{entry['naming']['mean']:.3f}" if naming else "-"
            print(f"| {arm} | {k} | {entry['f1']['mean']:.3f} ± {entry['f1']['sd']:.3f} | "
                  f"{entry['overlap']['mean']:.3f} ± {entry['overlap']['sd']:.3f} | {entry['precision']['mean']:.3f} | "
                  f"{entry['recall']['mean']:.3f} | {nm} |")

    timing_json = {"minutes_per_time": minutes_per_time, "cycles_known": len(cycles.minutes), "per_pair": schedule_rows,
                   "by_k": {}}
    print("\ndivision schedule from the timing of other embryos (cells dividing by t + k):")
    for k in ks:
        sel = [r for r in schedule_rows if r["k"] == k]
        both, true, pred = (sum(r[x] for r in sel) for x in ("both", "dividing", "predicted"))
        timing_json["by_k"][str(k)] = {"dividing": true, "predicted": pred, "both": both,
                                       "recall": both / true if true else None, "precision": both / pred if pred else None}
        print(f"  k={k}: {true} dividing, {pred} predicted, {both} both")

    meta["load_average_at_end"] = list(os.getloadavg())
    meta["seconds"] = round(time.perf_counter() - t_start, 1)
    settings = {k: v for k, v in vars(args).items() if k not in ("out",)}
    out = pathlib.Path(args.out or ROOT / "benchmarks" / "results" / f"tissue-{meta['platform']}.json")
    write_json(out, {"meta": meta, "settings": settings, "fit": fit_json, "axes": axes_json, "table": table,
                     "timing": timing_json, "rows": rows}, default=float)
    print(f"wrote {out} ({meta['seconds']} s)")


if __name__ == "__main__":
    main()
