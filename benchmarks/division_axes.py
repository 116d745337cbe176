"""Division axes of one embryo predicted from other embryos (nuclei tracks only).

For each embedded wild-type embryo (9, JIM767 at 25 C), every division whose two daughters are
tracked gives a directed axis: from the centroid of the daughter with the second letter of its
pair (p, v, r) to the one with the first (a, d, l), at the first frame both are seen
(`neurosym.tissue.observed_divisions`; z in focal planes scaled to pixels by the recording's
`zpixres`). Axes are put in each embryo's own body frame, built from cell positions, not from
divisions: anterior = mean of the AB-a cells minus mean of the P2 descendants, dorsal = mean of
the AB-p cells minus mean of the EMS descendants (made orthogonal), left = dorsal x anterior
(the image axes of these recordings are right-handed), at the first frame (4-8 cells). Whether
that frame agrees with the names is checked per embryo: the share of a/p-named divisions whose
axis points to +anterior, and the l/r-named ones to +left (few: most divisions are a/p).

Each embryo is held out in turn; its axes are predicted from the other 8 by:
- `same cell`: the mean axis of the same mother (Sulston name) in the training embryos
  (C. elegans' lineage is invariant), falling back to `founder` where no training embryo saw it;
- `founder`: the mean axis of all training divisions of the mother's founder lineage
  (`neurosym.tissue.fit_division_axes`, the model's von Mises-Fisher means);
- `random`: a uniform random direction (expected angle error 90 degrees), 100 draws per axis.
Score: the angle between predicted and observed directed axes, in degrees; mean and sd over the
9 held-out embryos, and the share within 30 degrees.

Usage:
  python benchmarks/division_axes.py [--out PATH]
Writes benchmarks/results/division_axes-cpu.json.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from collections import defaultdict

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import run_meta  # noqa: E402

from neurosym.files import write_json  # noqa: E402
from neurosym.io import describe_celegans, list_celegans, load_celegans  # noqa: E402
from neurosym.tissue import KIND_NAMES, Division, fit_division_axes, founder_kind, observed_divisions  # noqa: E402


def _positions(table, frame, zscale):
    rows = table.at(frame)
    return {c: np.array([x, y, z * zscale]) for c, x, y, z in zip(rows.cell, rows.x, rows.y, rows.z)}


def _group_mean(pos, test):
    pts = [p for c, p in pos.items() if test(c)]
    return np.mean(pts, axis=0) if pts else None


def body_frame_from_positions(pos):
    """(3, 3) rows anterior, dorsal, left from founder positions; None if a group is missing."""
    a = _group_mean(pos, lambda c: c.startswith("ABa"))
    p = _group_mean(pos, lambda c: c.startswith(("P2", "P3", "P4", "C", "D", "Z")))
    d = _group_mean(pos, lambda c: c.startswith("ABp"))
    v = _group_mean(pos, lambda c: c.startswith(("EMS", "MS", "E")))
    if any(g is None for g in (a, p, d, v)):
        return None
    ant = (a - p) / np.linalg.norm(a - p)
    dor = (d - v) - np.dot(d - v, ant) * ant
    dor /= np.linalg.norm(dor)
    return np.stack([ant, dor, np.cross(dor, ant)])


def embryo_divisions(name):
    """[(mother, letter pair, axis in the embryo's body frame)] of every division seen."""
    table = load_celegans(name)
    zscale = float(describe_celegans(name)["auxinfo"]["zpixres"])
    frames = table.frames()
    frame = None
    for f in frames:
        frame = body_frame_from_positions(_positions(table, f, zscale))
        if frame is not None:
            break
    if frame is None:
        return []
    out = []
    seen = set()
    for f0, f1 in zip(frames, frames[1:]):
        before = set(table.at(f0).cells())
        for d in observed_divisions(before, _positions(table, f1, zscale)):
            if d.mother not in seen:
                seen.add(d.mother)
                out.append((d.mother, d.pair, frame @ d.axis))
    return out


def _angle(u, v):
    return float(np.degrees(np.arccos(np.clip(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)), -1, 1))))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "division_axes-cpu.json"))
    args = ap.parse_args(argv)
    names = list_celegans("wild-type")
    data, handed = {}, {}
    for name in names:
        divs = embryo_divisions(name)
        data[name] = divs
        lr = [ax[2] > 0 for _, pair, ax in divs if pair == "lr"]
        apn = [ax[0] > 0 for _, pair, ax in divs if pair == "ap"]
        handed[name] = {"divisions": len(divs), "lr_to_left": float(np.mean(lr)) if lr else None,
                        "ap_to_anterior": float(np.mean(apn)) if apn else None}
        print(f"{name:32s} {len(divs):4d} divisions; a/p axes to +anterior {handed[name]['ap_to_anterior']:.2f}, "
              f"l/r axes to +left {handed[name]['lr_to_left']:.2f}")
    rng = np.random.default_rng(0)
    per_embryo = {}
    for held in names:
        train = [d for n in names if n != held for d in data[n]]
        by_cell = defaultdict(list)
        for mother, _, ax in train:
            by_cell[mother].append(ax)
        axes = fit_division_axes([Division(m, "", "", p, ax) for m, p, ax in train], KIND_NAMES)
        founder_mean = {k: np.asarray(axes.mean[i]) for i, k in enumerate(KIND_NAMES)}
        err = {"same cell": [], "founder": [], "random": []}
        for mother, _, ax in data[held]:
            f = founder_mean[founder_kind(mother)]
            cell = np.mean(by_cell[mother], axis=0) if mother in by_cell else f
            err["same cell"].append(_angle(cell, ax))
            err["founder"].append(_angle(f, ax))
            r = rng.normal(size=(100, 3))
            err["random"].append(float(np.mean([_angle(v, ax) for v in r])))
        per_embryo[held] = {k: {"mean_deg": float(np.mean(v)), "within_30": float(np.mean(np.asarray(v) < 30)),
                                "n": len(v)} for k, v in err.items()}
    summary = {}
    print(f"\n{'arm':10s} {'angle error, deg (mean ± sd over 9 held out)':>46s} {'within 30 deg':>14s}")
    for arm in ("same cell", "founder", "random"):
        m = np.array([per_embryo[n][arm]["mean_deg"] for n in names])
        w = np.array([per_embryo[n][arm]["within_30"] for n in names])
        summary[arm] = {"mean_deg": float(m.mean()), "sd_deg": float(m.std(ddof=1)),
                        "within_30": float(w.mean()), "within_30_sd": float(w.std(ddof=1))}
        print(f"{arm:10s} {m.mean():38.1f} ± {m.std(ddof=1):4.1f} {w.mean():11.2f} ± {w.std(ddof=1):.2f}")
    write_json(args.out, {"meta": run_meta(argv or []), "frames": handed, "per_embryo": per_embryo,
                          "summary": summary})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
