"""Speed of `neurosym fit`: the embedded default, a long recording, and many embryos at once.

Each command runs in its own process, timed from start to exit (reading, compiling, fitting,
figures, writing), side by side with an earlier version of the package (`--previous REF`, a git
commit of this repository, unpacked to a temporary folder and run with the same Python):

- `embedded`: `neurosym fit` on the embedded default embryo (140 frames, 1.5 min a frame);
- `long`: `neurosym fit` on the longest EPIC recording (349 frames, about 350 cells, written
  as a track table at 1 min a frame; needs ../shared, not shipped);
- `embryos`: this version's `fit_lineages` over 1, 2, 4 and 8 embedded wild-type embryos
  (200 steps, 2 starts), to show how time grows with the number of embryos;
- `loss_and_gradient`: where the time of a fit step goes: the count term's value and gradient
  over 4 starts with expected counts from the step-by-step recursion against the renewal
  equation, on the long recording.

Prints a table and writes benchmarks/results/fit_speed-<backend>.json.

Usage:
  python benchmarks/fit_speed.py [--previous b97e08e] [--epic-dir ../shared/data/celegans_epic_expression]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax

from common import run_meta
from neurosym import io
from neurosym.files import write_json

ROOT = Path(__file__).resolve().parents[1]
LONG = "CD20070523_egl5_sk"


def long_recording(folder: Path, out: Path) -> Path | None:
    """The longest EPIC recording as a track table (t, x, y, z, cell, parent), or None without ../shared."""
    path = folder / "epic_cell_lifetimes_frames.csv.gz"
    if not path.exists():
        return None
    rows = []
    with gzip.open(path, "rt") as f:
        for r in csv.DictReader(f):
            if r["embryo"] == LONG:
                rows += [(t, r["cell"]) for t in range(int(r["first_frame"]), int(r["last_frame"]) + 1)]
    with open(out, "w") as f:
        f.write("t,x,y,z,cell,parent\n")
        f.writelines(f"{t},0,0,0,{cell},\n" for t, cell in rows)
    return out


def timed(cmd, env) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - t0


def step_profile(table, repeats: int = 5) -> dict:
    """Seconds per loss-and-gradient evaluation of the count term over 4 starts, with the expected
    counts from the step-by-step recursion (`rules.division.meanfield`) and from the renewal
    equation (`rules.division.renewal`, what `expected_counts` uses without a game term)."""
    import jax.numpy as jnp

    from neurosym.fit import timing
    from neurosym.fit.lineage_model import build_model
    from rules.division import meanfield

    batch = timing.embryo_batch([build_model(table)])
    data = batch.data()
    params = jax.tree.map(lambda x: jnp.stack([x] * 4), timing.initial_params(batch))

    def count_loss(p, recursion):
        if recursion:
            original = meanfield._rounds
            meanfield._rounds = lambda daughters: None  # force the step-by-step recursion
            try:
                return timing.count_error(p, batch, 0, data)
            finally:
                meanfield._rounds = original
        return timing.count_error(p, batch, 0, data)

    out = {"kinds": len(batch.kinds), "steps": batch.num_steps}
    for name, recursion in (("scan_seconds", True), ("renewal_seconds", False)):
        f = jax.jit(jax.vmap(jax.value_and_grad(lambda p, r=recursion: count_loss(p, r))))
        jax.block_until_ready(f(params))
        t0 = time.perf_counter()
        for _ in range(repeats):
            jax.block_until_ready(f(params))
        out[name] = (time.perf_counter() - t0) / repeats
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--previous", default="b97e08e", help="git commit of the version to compare with")
    p.add_argument("--epic-dir", default=str(ROOT.parent / "shared" / "data" / "celegans_epic_expression"))
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    meta = run_meta(argv)
    tmp = Path(tempfile.mkdtemp())
    previous = tmp / "previous"
    previous.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.previous], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(previous)], input=archive.stdout, check=True)
    versions = {"this": ROOT, f"previous ({args.previous})": previous}
    jobs = {"embedded": []}
    data = long_recording(Path(args.epic_dir), tmp / "long.csv")
    if data is not None:
        jobs["long"] = ["--data", str(data), "--format", "tracks", "--minutes-per-frame", "1"]
    rows = []
    print(f"{'job':10s} {'version':22s} {'seconds (each run)':>24s}")
    for job, extra in jobs.items():
        for label, src in versions.items():
            env = dict(os.environ, PYTHONPATH=str(src))
            cmd = [sys.executable, "-m", "neurosym.cli", "fit", *extra, "--out", str(tmp / "out" / job / label[:4]),
                   "--quiet"]
            seconds = [timed(cmd, env) for _ in range(args.repeats)]
            rows.append({"job": job, "version": label, "seconds": seconds})
            print(f"{job:10s} {label:22s} {', '.join(f'{s:.0f}' for s in seconds):>24s}", flush=True)
    ratios = {}
    for job in jobs:
        this, prev = (min(r["seconds"]) for r in rows if r["job"] == job)
        ratios[job] = prev / this
        print(f"{job}: previous / this = {prev / this:.1f}x")

    from neurosym.fit.lineage import fit_lineages

    profile = step_profile(io.read(data, format="tracks", minutes_per_frame=1.0) if data is not None
                           else io.load_celegans())
    print(f"loss + gradient, 4 starts: step-by-step recursion {profile['scan_seconds'] * 1e3:.0f} ms, "
          f"renewal equation {profile['renewal_seconds'] * 1e3:.0f} ms ({profile['kinds']} kinds, "
          f"{profile['steps']} steps)", flush=True)

    tables = [io.load_celegans(n) for n in io.list_celegans(condition="wild-type")[:8]]
    scaling = []
    for n in (1, 2, 4, 8):
        t0 = time.perf_counter()
        fit_lineages(tables[:n], num_steps=200, num_starts=2, progress=False)
        scaling.append({"embryos": n, "seconds": time.perf_counter() - t0})
        print(f"fit_lineages over {n} embryos: {scaling[-1]['seconds']:.0f} s", flush=True)
    meta["load_average_at_end"] = list(os.getloadavg())
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"fit_speed-{jax.default_backend()}.json")
    write_json(out, {"meta": meta, "commands": rows, "previous_over_this": ratios, "embryos": scaling,
                     "loss_and_gradient": profile,
                     "long_recording": LONG if data is not None else None})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
