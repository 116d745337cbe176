"""Division timing on held-out embryos: fitted and predicted cycle lengths and counts.

Leave-one-embryo-out over the embedded wild-type C. elegans embryos (and, with `--epic`, over
EPIC embryos read from ../shared; not shipped). For every held-out embryo and seed:

- fitted: the model fitted to that embryo alone (as `neurosym fit --data one.csv`);
- predicted: the model fitted to the other embryos together predicts it, none of its data
  fitted (as `neurosym fit --predict-only --from-fit`); it starts from its first frame's cells;
- calibrated (60, 90 and 120 min, each reported): predicted the same way after setting only the
  held-out embryo's time scale from the cells born and divided in its first minutes, against the
  training embryos' cells of the same kinds (embryos differ in pace, and that one number is not
  in a model fitted to other embryos); the counts are scored over the whole recording.

Scores (per mode): relative error of the mean cycle of every founder lineage (AB, MS, E, C, D,
P4) and of every (lineage, generation) kind with >= 4 observed cycles, each against the mean
measured directly in that embryo's lineage; relative RMS of the total count over the frames
where every lineage is tracked. Arms, all in the same run:

- `model`: this version (per-kind cycles, fates, cells' fates in the loss), no game term;
- `game`: the same with the game term (payoff-driven division hazard);
- `trend`: the previous version's structure (`Terms(False, False, False)`: a per-lineage
  trend `exp(a + lambda g)`, no exit or death, counts only);
- `doubling` (no model): each lineage's doubling time in the counts as its cycle length, and
  for prediction the training embryos' mean doubling time of the total count;
- `mean curve` (no model, prediction only): the training embryos' mean total count at the same
  minute after the first frame.

Prints a table and writes benchmarks/results/division_timing-<backend>.json.

Usage:
  python benchmarks/division_timing.py [--dataset wild-type|epic] [--seeds 0 1] [--arms model trend]
      [--steps 200] [--starts 2] [--epic N] [--epic-dir ../shared/data/celegans_epic_expression]
  Results: benchmarks/results/division_timing-<dataset>-<arms>-<backend>.json
"""

from __future__ import annotations

import argparse
import csv
import datetime
import gzip
import os
import time
from pathlib import Path

import jax
import numpy as np

from neurosym import io
from neurosym.files import write_json
from neurosym.fit import timing
from neurosym.fit.lineage import fit_lineage, fit_lineages, predict_lineage
from neurosym.fit.lineage_model import build_model
from rules.celegans import FOUNDERS

TERMS = {"model": timing.Terms(), "game": timing.Terms(), "trend": timing.Terms(False, False, False)}
MIN_CELLS = 4
#: Minutes at the start of a held-out recording from which its time scale is calibrated (each
#: reported; none is chosen on the held-out embryos).
CALIBRATE_MINUTES = (60.0, 90.0, 120.0)
MODES = ("fitted", "predicted") + tuple(f"calibrated_{m:g}min" for m in CALIBRATE_MINUTES)


def score(res) -> dict:
    """Founder and kind cycle errors and the count error of one embryo's fit or prediction."""
    kinds = res.kind_cycles(min_cells=MIN_CELLS)
    kind_err = {k: abs(f - m) / m for k, (m, f, _) in kinds.items() if m > 0}
    founders = {L: e for L, e in res.cycle_errors().items() if L in FOUNDERS}
    return {"count_relative_rms": res.relative_rms(), "founder_cycle_error": founders,
            "kind_cycle_error": kind_err,
            "founders_within_10pct": bool(founders) and all(e < 0.10 for e in founders.values()),
            "kinds_within_15pct": float(np.mean([e < 0.15 for e in kind_err.values()])) if kind_err else None}


def doubling_times(m) -> dict:
    """Lineage -> doubling time (minutes) read straight from its counts, where it doubles."""
    out = {}
    for i, L in enumerate(m.lineages):
        c, t = m.observed[:, i], m.times
        ok = np.nonzero((c > 0) & m.mask[:, i])[0]
        if ok.size >= 2 and c[ok[-1]] / c[ok[0]] >= 1.5:
            out[L] = (t[ok[-1]] - t[ok[0]]) / np.log2(c[ok[-1]] / c[ok[0]])
    return out


def total_doubling(m) -> float:
    keep = m.mask.all(axis=1)
    total = np.concatenate([[m.initial.sum()], m.observed.sum(axis=1)[keep]])
    t = np.concatenate([[0.0], m.times[keep]])
    return float((t[-1] - t[0]) / np.log2(total[-1] / total[0]))


def doubling_score(m) -> dict:
    """Scores of the doubling-time baseline fitted to one embryo (its own counts)."""
    dt = doubling_times(m)
    measured = m.measured_cycle
    founders = {L: abs(dt[L] - v) / v for L, v in measured.items() if L in FOUNDERS and L in dt and v > 0}
    kinds = {}
    for name, cycles in m.measured_kind_cycles().items():
        L = name.rsplit(".", 1)[0]
        if len(cycles) >= MIN_CELLS and L in dt:
            kinds[name] = abs(dt[L] - np.mean(cycles)) / np.mean(cycles)
    return {"founder_cycle_error": founders, "kind_cycle_error": kinds,
            "founders_within_10pct": bool(founders) and all(e < 0.10 for e in founders.values()),
            "kinds_within_15pct": float(np.mean([e < 0.15 for e in kinds.values()])) if kinds else None}


def curve_rms(m, predicted_total) -> float:
    keep = m.mask.all(axis=1)
    obs = m.observed.sum(axis=1)[keep]
    return float(np.sqrt(np.mean((predicted_total[keep] - obs) ** 2)) / np.sqrt(np.mean(obs ** 2)))


def training_mean_curve(m, train_models) -> np.ndarray:
    """The training embryos' mean total count at each of `m`'s minutes after its first frame
    (each held at its last count beyond its recording): the mean-curve baseline."""
    curves = [np.interp(m.times, np.concatenate([[0.0], tm.times]),
                        np.concatenate([[tm.initial.sum()], tm.observed.sum(axis=1)])) for tm in train_models]
    return np.mean(np.array(curves), axis=0)


def epic_tables(folder: Path, count: int | None, seed: int) -> list:
    """`count` EPIC embryos (seeded choice among those tracked to >= 300 cells; None: all of
    them) as `CellTable`s, one minute per frame nominal (the true interval, 1-1.5 min, is each
    embryo's time scale)."""
    rows: dict = {}
    with gzip.open(folder / "epic_cell_lifetimes_frames.csv.gz", "rt") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["embryo"], []).append((r["cell"], int(r["first_frame"]), int(r["last_frame"])))
    with open(folder / "epic_embryos.csv") as f:
        big = sorted(r["embryo"] for r in csv.DictReader(f) if int(r["max_cells_at_t"]) >= 300)
    chosen = big if count is None else \
        sorted(np.random.default_rng(seed).choice(big, size=min(count, len(big)), replace=False))
    out = []
    for e in chosen:
        cell, frame = [], []
        for name, a, b in rows[e]:
            cell += [name] * (b - a + 1)
            frame += list(range(a, b + 1))
        frame = np.asarray(frame)
        zero = np.zeros(len(cell))
        out.append(io.CellTable(embryo=e, cell=cell, time_min=frame.astype(float), frame=frame, x=zero, y=zero,
                                z=zero, meta={"source": "EPIC lifetimes (Murray et al. 2012)"}))
    return out


def _known(values) -> list:
    return [x for x in values if x is not None]


def summarise(rows: list, key: str) -> dict:
    def stats(values):
        v = np.asarray(_known(values), float)
        return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)} \
            if v.size else None
    counts = _known(r[key].get("count_relative_rms") for r in rows)
    founder = [e for r in rows for e in r[key]["founder_cycle_error"].values()]
    kinds = [e for r in rows for e in r[key]["kind_cycle_error"].values()]
    return {
        "count_relative_rms": stats(counts),
        "founder_cycle_error": stats(founder),
        "founders_within_10pct": f"{sum(e < 0.1 for e in founder)}/{len(founder)}",
        "kinds_within_15pct": f"{sum(e < 0.15 for e in kinds)}/{len(kinds)}",
        "kinds_within_15pct_share": float(np.mean([e < 0.15 for e in kinds])) if kinds else None,
        "count_under_15pct": f"{sum(x < 0.15 for x in counts)}/{len(counts)}",
        "median_count_relative_rms": float(np.median(counts)) if counts else None,
        "max_count_relative_rms": max(counts, default=None),
    }


def leave_one_out(tables, arms, seeds, steps, starts, log, held_out=None) -> list:
    models = [build_model(t) for t in tables]
    rows = []
    for i, held in enumerate(tables[:held_out]):
        name = str(held.embryos()[0])
        train = [t for j, t in enumerate(tables) if j != i]
        train_models = [m for j, m in enumerate(models) if j != i]
        m = models[i]
        base = {"embryo": name, "frames": int(len(held.frames())), "cells": int(len(held.cells())),
                "minutes": float(np.ptp(held.time_min))}
        row = dict(base, arm="doubling", seed=None, fitted=doubling_score(m))
        mean_doubling = float(np.mean([total_doubling(tm) for tm in train_models]))
        pred_total = m.initial.sum() * 2.0 ** (m.times / mean_doubling)
        row["predicted"] = {"count_relative_rms": curve_rms(m, pred_total), "founder_cycle_error": {},
                            "kind_cycle_error": {}}
        rows.append(row)
        mean_curve = training_mean_curve(m, train_models)
        rows.append(dict(base, arm="mean curve", seed=None, fitted={"founder_cycle_error": {}, "kind_cycle_error": {}},
                         predicted={"count_relative_rms": curve_rms(m, mean_curve),
                                    "founder_cycle_error": {}, "kind_cycle_error": {}}))
        for mode in MODES[2:]:
            row[mode] = rows[-1][mode] = {"founder_cycle_error": {}, "kind_cycle_error": {}}
        for arm in arms:
            for seed in seeds:
                game = arm == "game"
                t0 = time.perf_counter()
                own = fit_lineage(held, game=game, num_steps=steps, num_starts=starts, key=jax.random.key(seed),
                                  progress=False, terms=TERMS[arm])
                t1 = time.perf_counter()
                fits = fit_lineages(train, game=game, num_steps=steps, num_starts=starts, key=jax.random.key(seed),
                                    progress=False, terms=TERMS[arm])
                spec = fits[0].model_spec()
                pred = predict_lineage(spec, held)
                t2 = time.perf_counter()
                row = dict(base, arm=arm, seed=seed, fitted=score(own), predicted=score(pred),
                           fit_seconds=t1 - t0, train_seconds=t2 - t1, train_embryos=len(train),
                           fitted_params=own.named_params(), calibrated_time_scale={})
                for minutes, mode in zip(CALIBRATE_MINUTES, MODES[2:]):
                    calibrated = predict_lineage(spec, held, calibrate_minutes=minutes)
                    row[mode] = score(calibrated)
                    row["calibrated_time_scale"][mode] = calibrated.named_params()["time_scale"]
                rows.append(row)
                log(f"{name:32s} {arm:8s} {seed:4d}   fitted: count {row['fitted']['count_relative_rms']:6.1%}"
                    f" kinds<15% {row['fitted']['kinds_within_15pct'] or 0:5.0%}   predicted: count "
                    f"{row['predicted']['count_relative_rms']:6.1%} kinds<15% "
                    f"{row['predicted']['kinds_within_15pct'] or 0:5.0%}   calibrated: count "
                    + " ".join(f"{row[mode]['count_relative_rms']:6.1%}" for mode in MODES[2:])
                    + f"   ({t1 - t0:4.0f} s, {t2 - t1:4.0f} s)")
    return rows


def splits(tables, arms, num_splits, num_train, num_held, steps, starts, log) -> list:
    """Many held-out EPIC embryos: in each split a seeded choice of `num_train` embryos is fitted
    together by every arm (their `fitted` scores) and predicts `num_held` others chosen from the
    rest, before and after calibration (their `predicted` and `calibrated_*` scores), beside the
    mean-curve and doubling baselines (the training embryos' mean count at the same frame, and
    growth at their mean doubling time of the total count)."""
    rows = []
    empty = {"founder_cycle_error": {}, "kind_cycle_error": {}}
    for split in range(num_splits):
        rng = np.random.default_rng(1000 + split)
        order = rng.permutation(len(tables))
        train = [tables[i] for i in order[:num_train]]
        held = [tables[i] for i in order[num_train:num_train + num_held]]
        specs = {}
        train_models = None
        for arm in arms:
            t0 = time.perf_counter()
            fits = fit_lineages(train, num_steps=steps, num_starts=starts, key=jax.random.key(split), progress=False,
                                terms=TERMS[arm])
            specs[arm] = fits[0].model_spec()
            log(f"split {split}: {arm} fitted {num_train} embryos in {time.perf_counter() - t0:.0f} s")
            for f in fits:
                rows.append({"split": split, "embryo": str(f.batch.embryos[f.embryo]), "arm": arm, "role": "train",
                             "fitted": score(f), **{mode: empty for mode in MODES[1:]}})
            train_models = [f.model for f in fits]
        mean_doubling = float(np.mean([total_doubling(tm) for tm in train_models]))
        for table in held:
            m = build_model(table)
            name = str(table.embryos()[0])
            rows.append({"split": split, "embryo": name, "arm": "mean curve", "role": "held", "fitted": empty,
                         "predicted": dict(empty, count_relative_rms=curve_rms(m, training_mean_curve(m, train_models))),
                         **{mode: empty for mode in MODES[2:]}})
            pred_total = m.initial.sum() * 2.0 ** (m.times / mean_doubling)
            rows.append({"split": split, "embryo": name, "arm": "doubling", "role": "held", "fitted": empty,
                         "predicted": dict(empty, count_relative_rms=curve_rms(m, pred_total)),
                         **{mode: empty for mode in MODES[2:]}})
            for arm in arms:
                row = {"split": split, "embryo": name, "arm": arm, "role": "held", "fitted": empty,
                       "predicted": score(predict_lineage(specs[arm], table)), "calibrated_time_scale": {}}
                for minutes, mode in zip(CALIBRATE_MINUTES, MODES[2:]):
                    try:
                        cal = predict_lineage(specs[arm], table, calibrate_minutes=minutes)
                    except ValueError as err:  # too few cells divided in the window
                        row[mode] = dict(empty, count_relative_rms=None, refused=str(err))
                        continue
                    row[mode] = score(cal)
                    row["calibrated_time_scale"][mode] = cal.named_params()["time_scale"]
                rows.append(row)
                log(f"split {split} {name:40s} {arm:6s} predicted {row['predicted']['count_relative_rms']:6.1%}  "
                    "calibrated " + " ".join("  -   " if row[mode].get("count_relative_rms") is None
                                             else f"{row[mode]['count_relative_rms']:6.1%}" for mode in MODES[2:]))
    return rows


def perturbations(steps, starts, log) -> dict:
    """Each RNAi embryo and each wild type fitted alone: every lineage's reference period relative
    to AB's in the same embryo (the RNAi recordings have no TIME file, so their minutes rest on an
    assumed 1.5 min a frame; the ratio does not depend on it), and where the RNAi value falls
    outside the wild types' range."""
    def ratios(res):
        p = res.named_params()
        ab = p["period_ref_min[AB]"]
        return {k[len("period_ref_min["):-1]: v / ab for k, v in p.items() if k.startswith("period_ref_min[")}

    wild = {}
    for n in io.list_celegans(condition="wild-type"):
        wild[n] = ratios(fit_lineage(io.load_celegans(n), num_steps=steps, num_starts=starts, progress=False))
        log(f"{n:32s} " + " ".join(f"{L}={v:.2f}" for L, v in wild[n].items()))
    out = {"wild_type": wild, "rnai": {}}
    for n in io.list_celegans(condition="rnai"):
        table = io.load_celegans(n, minutes_per_frame=1.5)
        res = fit_lineage(table, num_steps=steps, num_starts=starts, progress=False)
        r = ratios(res)
        moved = {}
        for L, v in r.items():
            ref = [w[L] for w in wild.values() if L in w]
            if len(ref) >= 3 and not (min(ref) <= v <= max(ref)):
                moved[L] = {"rnai": v, "wild_type_min": min(ref), "wild_type_max": max(ref)}
        out["rnai"][n] = {"period_over_ab": r, "outside_wild_type_range": moved,
                          "measured_cycle_minutes": res.measured_cycle, "count_relative_rms": res.relative_rms(),
                          "params": res.named_params()}
        log(f"{n:32s} " + " ".join(f"{L}={v:.2f}" for L, v in r.items()) + f"   outside WT range: {sorted(moved)}")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--arms", nargs="+", default=["model", "trend"], choices=sorted(TERMS))
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--starts", type=int, default=2)
    p.add_argument("--embryos", type=int, default=None, help="only the first N wild-type embryos")
    p.add_argument("--held-out", type=int, default=None,
                   help="hold out only the first N embryos in turn (training still on all the others)")
    p.add_argument("--dataset", choices=("wild-type", "epic", "epic-splits", "rnai"), default="wild-type",
                   help="the embedded wild-type embryos, EPIC embryos read from --epic-dir (leave-one-out over "
                   "--epic of them, or --splits splits of --train fitted embryos predicting --held others), or "
                   "the RNAi embryos against the wild types")
    p.add_argument("--splits", type=int, default=3)
    p.add_argument("--train", type=int, default=8)
    p.add_argument("--held", type=int, default=100)
    p.add_argument("--epic", type=int, default=12, help="number of EPIC embryos (with --dataset epic)")
    p.add_argument("--epic-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" /
                                             "celegans_epic_expression"))
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    started = time.perf_counter()
    log = lambda s: print(s, flush=True)  # noqa: E731
    print(f"{'embryo':32s} {'arm':8s} seed")
    if args.dataset == "wild-type":
        names = io.list_celegans(condition="wild-type")[:args.embryos]
        rows = leave_one_out([io.load_celegans(n) for n in names], args.arms, args.seeds, args.steps, args.starts, log,
                             held_out=args.held_out)
        results = {"wild_type": {"embryos": names, "rows": rows}}
    elif args.dataset == "rnai":
        results = {"rnai": perturbations(args.steps, args.starts, log)}
    elif args.dataset == "epic-splits":
        tables = epic_tables(Path(args.epic_dir), None, seed=0)
        rows = splits(tables, args.arms, args.splits, args.train, args.held, args.steps, args.starts, log)
        results = {"epic_splits": {"embryos": len(tables), "splits": args.splits, "train": args.train,
                                   "held": args.held, "rows": rows,
                                   "note": "frame interval unknown (about 1-1.5 min): times are frames; fitted "
                                           "rows are the training embryos of each split"}}
    else:
        tables = epic_tables(Path(args.epic_dir), args.epic, seed=0)
        rows = leave_one_out(tables, args.arms, args.seeds, args.steps, args.starts, log)
        results = {"epic": {"embryos": [str(t.embryos()[0]) for t in tables], "rows": rows,
                            "note": "frame interval unknown (about 1-1.5 min): times are frames, each embryo's "
                                    "time scale absorbs its interval; a prediction uses the training mean"}}
    summary = {}
    for dataset, block in results.items():
        if "rows" not in block:
            continue
        for arm in sorted({r["arm"] for r in block["rows"]}):
            sel = [r for r in block["rows"] if r["arm"] == arm]
            summary[f"{dataset}/{arm}"] = {key: summarise(sel, key) for key in MODES}
    print()
    def fmt(x):
        return "-" if x is None else f"{x['mean']:.1%} ± {x['sd']:.1%}"

    for mode in MODES:
        print(f"\n{mode}")
        print(f"{'dataset/arm':22s} {'count RMS':>18s} {'max':>7s} {'<15%':>8s} {'founders<10%':>13s} {'kinds<15%':>10s}")
        for key, s in summary.items():
            q = s[mode]
            top = "-" if q["max_count_relative_rms"] is None else f"{q['max_count_relative_rms']:.1%}"
            print(f"{key:22s} {fmt(q['count_relative_rms']):>18s} {top:>7s} {q['count_under_15pct']:>8s} "
                  f"{q['founders_within_10pct']:>13s} "
                  f"{q['kinds_within_15pct']:>10s}")
    tag = "-".join([args.dataset] + (["model"] if args.dataset == "rnai" else args.arms)
                   + ([f"held{args.held_out}"] if args.held_out else []))
    out = Path(args.out or Path(__file__).parent / "results" / f"division_timing-{tag}-{jax.default_backend()}.json")
    write_json(out, {"meta": {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                              "backend": jax.default_backend(), "cpus": os.cpu_count(),
                              "load_average": os.getloadavg(), "steps": args.steps, "starts": args.starts,
                              "seeds": args.seeds, "min_cells_per_kind": MIN_CELLS,
                              "calibrate_minutes": list(CALIBRATE_MINUTES),
                              "seconds": time.perf_counter() - started},
                     "summary": summary, **results})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
