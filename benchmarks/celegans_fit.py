"""Accuracy of `neurosym fit` on the embedded C. elegans embryos.

For every embedded embryo of a condition (default: wild type) this fits the division model as
`neurosym fit` does and compares, per founder lineage, the fitted mean cycle length with the one
measured directly from that embryo's lineage (goal: within 10%), and the simulated total cell
count with the observed one (goal: relative RMS error under 10%). Prints a table and writes
JSON to `benchmarks/results/celegans_fit-<platform>.json`.

Usage:
  python benchmarks/celegans_fit.py [--condition wild-type] [--steps 200] [--starts 4]
"""

from __future__ import annotations

import argparse
import datetime
import os
import time
from pathlib import Path

import jax

from neurosym import io
from neurosym.files import write_json
from neurosym.fit.lineage import fit_lineage
from rules.celegans import FOUNDERS



def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--condition", default="wild-type", help="embryos to fit (see list_celegans)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--starts", type=int, default=4)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    names = io.list_celegans(condition=args.condition)
    rows = []
    print(f"{'embryo':32s} " + " ".join(f"{f:>6s}" for f in FOUNDERS) + "   count RMS   seconds")
    for name in names:
        t0 = time.perf_counter()
        res = fit_lineage(io.load_celegans(name), num_steps=args.steps, num_starts=args.starts,
                          progress=False)
        errs = res.cycle_errors()
        row = {"embryo": name, "cycle_minutes": res.cycle_minutes, "measured_cycle_minutes": res.measured_cycle,
               "cycle_relative_error": errs, "count_relative_rms": res.relative_rms(),
               "seconds": time.perf_counter() - t0}
        rows.append(row)
        print(f"{name:32s} " + " ".join(f"{errs[f]:6.1%}" if f in errs else "     -" for f in FOUNDERS)
              + f"   {row['count_relative_rms']:9.1%}   {row['seconds']:7.0f}", flush=True)
    founder_errs = [r["cycle_relative_error"][f] for r in rows for f in FOUNDERS if f in r["cycle_relative_error"]]
    summary = {
        "max_founder_cycle_error": max(founder_errs),
        "founder_cycles_within_10pct": f"{sum(e < 0.1 for e in founder_errs)}/{len(founder_errs)}",
        "max_count_relative_rms": max(r["count_relative_rms"] for r in rows),
    }
    print(f"founder cycle lengths within 10%: {summary['founder_cycles_within_10pct']}, largest error "
          f"{summary['max_founder_cycle_error']:.1%}; largest count RMS error {summary['max_count_relative_rms']:.1%}")
    out = Path(args.out or Path(__file__).parent / "results" / f"celegans_fit-{jax.default_backend()}.json")
    write_json(out, {"meta": {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                              "backend": jax.default_backend(), "cpus": os.cpu_count(),
                              "load_average": os.getloadavg(), "steps": args.steps, "starts": args.starts,
                              "condition": args.condition},
                     "summary": summary, "embryos": rows})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
