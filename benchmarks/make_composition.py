"""Make the founder composition shipped with the package (neurosym/_data/founder_composition.json).

Fits the division-timing model (`neurosym.fit.lineage.fit_lineages`, the package's defaults)
to all embedded wild-type embryos together, turns its expected counts into the fraction of cells
of each founder class at every total cell count (`composition_from_fit`), and writes it with
its provenance (source, embryos, this command). Then compares it with the composition observed
directly in the same embryos (`composition_from_tables`) and prints the largest difference of
each class's fraction over totals 4..350, and both at a few totals.

Usage:
  python benchmarks/make_composition.py [--out neurosym/_data/founder_composition.json]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from neurosym.fit.lineage import fit_lineages
from neurosym.founders.classes import FOUNDERS
from neurosym.founders.composition import composition_from_fit, composition_from_tables
from neurosym.io import list_celegans, load_celegans

ROOT = Path(__file__).resolve().parents[1]
COMPARE = (4, 350)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "neurosym" / "_data" / "founder_composition.json")
    args = parser.parse_args(argv)
    names = list_celegans("wild-type")
    tables = [load_celegans(n) for n in names]
    start = time.time()
    fits = fit_lineages(tables, progress=False)
    print(f"fitted {len(names)} wild-type embryos in {time.time() - start:.0f} s")
    comp = composition_from_fit(fits)
    given = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python benchmarks/make_composition.py", *given])
    comp = type(comp)(comp.totals, comp.fractions, source=comp.source, embryos=comp.embryos, command=command)
    comp.to_json(args.out)
    print(f"wrote {args.out} (totals {comp.totals[0]:g} to {comp.totals[-1]:g})")

    observed = composition_from_tables(tables)
    grid = np.arange(COMPARE[0], COMPARE[1] + 1)
    diff = np.abs(comp.at(grid) - observed.at(grid))
    print(f"model vs observed over totals {COMPARE[0]}..{COMPARE[1]}: largest |difference| of each class's fraction")
    print("  " + "  ".join(f"{f}={d:.3f}" for f, d in zip(FOUNDERS, diff.max(axis=0))),
          f"(all: {diff.max():.3f} at {int(grid[np.argmax(diff.max(axis=1))])} cells; "
          f"mean {diff.mean():.4f})")
    print(f"{'cells':>6} " + " ".join(f"{f:>13}" for f in FOUNDERS) + "   (model / observed)")
    for n in (4, 8, 15, 28, 50, 100, 200, 350):
        m, o = comp.at(n), observed.at(n)
        print(f"{n:>6} " + " ".join(f"{a:6.3f}/{b:6.3f}" for a, b in zip(m, o)))


if __name__ == "__main__":
    main()
