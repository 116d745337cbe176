"""Named 3D segmentations of a real C. elegans embryo: read + geometry time, contacts, Potts lattices.

Reads the 3DMMS embryo 170704plc1p2 (Cao et al. 2019, BMC Bioinformatics 20:176; 205 x 285 x 134
label volumes, 0 = outside and the membrane between cells) from /work/shared/data, which is not part
of the package; writes benchmarks/results/segmentation-<platform>.json.

For each time point: seconds to read the volume, seconds for `cell_geometry` (volumes,
centroids, surfaces, contacts), cells, contact pairs and contact faces at gaps 0-3, the named
contacts at the 4-cell stage (where the known arrangement has every pair touching but ABa-P2),
and seconds and kept cells of `potts_state` at a few block sizes. Label numbers encode the names
in this data; nothing here is a model input.

Usage: python benchmarks/segmentation.py [--data DIR] [--times 1,24,65 | all] [--factors 2,4,8] [--gap 2]
       [--repeats 3] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import run_meta  # noqa: E402

import neurosym.io as nio  # noqa: E402
from neurosym.symbolise import potts_state  # noqa: E402

DEFAULT_DATA = pathlib.Path("/work/shared/data/celegans_3dmms_named")


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(float(np.median(times)), 3)


def measure(series, t: int, factors, repeats: int) -> dict:
    lab = series.labels(t)
    geo = series.geometry(t)
    fresh = lambda: nio.read_segmentation(series.files[t].parent, gap=series.gap).geometry(t)  # noqa: E731
    row = {
        "time": t, "read_s": median_seconds(lambda: series.labels(t), repeats),
        "geometry_s": median_seconds(lambda: nio.cell_geometry(lab, gap=series.gap), repeats),
        "read_and_geometry_s": median_seconds(fresh, repeats), "cells": len(geo), "gap": series.gap,
        "contact_pairs": len(geo.contacts), "contact_faces": int(geo.contacts.faces.sum()),
        "median_contact_fraction": float(np.median(geo.contact_area / geo.surface_area)),
        "pairs_by_gap": {}, "faces_by_gap": {}, "potts": [],
    }
    for gap in range(4):
        c = nio.contact_areas(lab, gap=gap)
        row["pairs_by_gap"][gap] = len(c)
        row["faces_by_gap"][gap] = int(c.faces.sum())
    if len(geo) <= 6:
        g = geo.graph(by="name")
        row["named_contacts"] = sorted([sorted(e) + [g.edges[e]["faces"]] for e in g.edges])
    for f in factors:
        t3 = time.perf_counter()
        sites, ids = potts_state(lab, f, fill_gap=True, gap=series.gap)
        row["potts"].append({"factor": f, "seconds": round(time.perf_counter() - t3, 3), "shape": list(sites.shape),
                             "cells_kept": int(np.unique(sites[sites > 0]).size), "cells": int(ids.size - 1)})
    return row


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--times", default="1,24,65")
    ap.add_argument("--factors", default="2,4,8")
    ap.add_argument("--gap", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    series = nio.read_segmentation(args.data, gap=args.gap, axes="YXZ")
    times = list(series.times) if args.times == "all" else [int(t) for t in args.times.split(",")]
    factors = [int(f) for f in args.factors.split(",")]
    rows = []
    for t in times:
        row = measure(series, t, factors, args.repeats)
        rows.append(row)
        print(f"t={t}: {row['cells']} cells, {row['contact_pairs']} contacts (gap {args.gap}), read "
              f"{row['read_s']} s, geometry {row['geometry_s']} s, both {row['read_and_geometry_s']} s; pairs by "
              f"gap {row['pairs_by_gap']}; potts {[(p['factor'], p['seconds']) for p in row['potts']]}")
        if "named_contacts" in row:
            print("   named contacts (faces):", row["named_contacts"])
    meta = run_meta(argv)
    meta["load_average_at_end"] = list(os.getloadavg())
    out = pathlib.Path(args.out or ROOT / "benchmarks" / "results" / f"segmentation-{meta['platform']}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "data": args.data, "rows": rows}, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
