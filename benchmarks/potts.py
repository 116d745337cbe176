"""Speed of the cellular Potts model (`automata.potts.Potts`) against glazier, a Rust CPM engine.

Both engines run the same model from the same start: a periodic lattice with a block of square
(2D) or cubic (3D) cells of side `--side` packed from the origin, the rest medium; one cell kind;
contact energies J(cell, medium) and J(cell, cell), volume constraint lambda (V - side^d)^2,
temperature T, Moore neighbourhood (8 neighbours in 2D, 26 in 3D) for the bonds and the copy
targets, no surface term, no connectivity check. The unit is copy attempts (site updates) per
second: sites * MCS / seconds; one MCS is as many attempts as sites in both engines.

Work per MCS:
  ours     every site makes exactly one attempt, one colour of the `spacing`-periodic sub-lattice
           colouring after another (`spacing ** ndim` colours); each attempt reads all its
           neighbours, prices the copy (contact, volume) and takes part in the per-cell choice of
           one copy per colour, whether or not its proposal changes anything (no early exit:
           vectorised). Exact Metropolis-Hastings (`detailed_balance=True`). Timed as a loop over
           the colours and, where there are at most `--unroll-colours` of them, also unrolled
           (`Potts(unroll=True)`: the same states, straight-line code, a longer compile).
  glazier  its serial engine (`glazier._native.run_volumes`, one CPU thread): as many attempts as
           sites, each at a random site (with replacement); an attempt whose neighbour holds the
           same id stops there. Textbook CPM acceptance min(1, exp(-dH / T)), no Hastings
           factor; a copy that would empty a cell is refused.

glazier is not a dependency of the project: it runs in its own virtual environment, in a
subprocess (`--glazier-python`, default /tmp/benchvenv/bin/python; make it with
`python3 -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install glazier`). Its time is
`run_volumes(model, N) - run_volumes(model, 0)` (the lattice set-up subtracted), median of
`--repeats`. Ours: one `jax.jit` rollout of N MCS compiled ahead of time (compile time reported
apart), one warm-up call, then the median of `--repeats` calls. The timings run in `--rounds`
rounds (every arm of ours, then glazier); each round gives a ratio, and the table shows their
median and range, since a shared machine's speed drifts by 10% or more over minutes. As a check
that both simulate the same model, the JSON keeps each engine's mean cell volume and its rms deviation from the
target after the run.

Usage:
  python benchmarks/potts.py                       # 256x256 and 128^3 on this machine's platform
  python benchmarks/potts.py --quick               # small sizes, a smoke run
  python benchmarks/potts.py --spacings 4,8 --mcs-2d 100 --mcs-3d 5

Results go to benchmarks/results/potts-<platform>.json (or `--out`). Benchmarks never pass or fail.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import automata
from automata.potts import Potts, PottsParams
from common import run_meta
from neurosym.files import write_json

GLAZIER_SCRIPT = r"""
import importlib.metadata, json, statistics, sys, time
import numpy as np
import glazier._native as native
cfg = json.loads(sys.argv[1])
d, n, side, per = cfg["ndim"], cfg["size"], cfg["side"], cfg["per_axis"]
init = {"side": side, "nx": per, "ny": per}
if d == 3:
    init["nz"] = per
model = json.dumps({
    "name": "bench", "width": n, "height": n, "depth": n if d == 3 else 1,
    "types": [{"name": "cell", "target_volume": float(side ** d), "lambda_volume": cfg["lambda_volume"]}],
    "contact": [0.0, cfg["j_cell_medium"], cfg["j_cell_medium"], cfg["j_cell_cell"]],
    "temperature": cfg["temperature"], "neighbour_order": 2 if d == 2 else 3, "seed": 1,
    "steps": cfg["mcs"], "dump_every": 0, "initial": init,
    "units": {"micron_per_site": 1.0, "minute_per_step": 1.0}})
read = native.parse(model)
times, setup = [], []
for _ in range(cfg["repeats"]):
    t0 = time.perf_counter(); native.run_volumes(model, 0); t1 = time.perf_counter()
    volumes = native.run_volumes(model, cfg["mcs"]); t2 = time.perf_counter()
    setup.append(t1 - t0); times.append((t2 - t1) - (t1 - t0))
v = np.asarray(volumes[1:], float)
print(json.dumps({"seconds": statistics.median(times), "times_s": times, "setup_s": statistics.median(setup),
                  "num_cells": int(v.size), "mean_volume": float(v.mean()),
                  "volume_rms_from_target": float(np.sqrt(np.mean((v - side ** d) ** 2))),
                  "neighbour_order": read["neighbour_order"], "version": importlib.metadata.version("glazier")}))
"""


def _defaults(backend: str, quick: bool) -> dict:
    if quick:
        return dict(size_2d=64, size_3d=32, mcs_2d=20, mcs_3d=2, repeats=2)
    if backend != "cpu":
        return dict(size_2d=256, size_3d=128, mcs_2d=1000, mcs_3d=50, repeats=3)
    return dict(size_2d=256, size_3d=128, mcs_2d=100, mcs_3d=3, repeats=7)


def _parse_args(argv):
    p = argparse.ArgumentParser(description="CPM site updates per second: automata.potts against glazier.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    p.add_argument("--cases", default="2d,3d", help="comma-separated subset of 2d,3d")
    p.add_argument("--size-2d", type=int, default=None, help="side of the 2D lattice")
    p.add_argument("--size-3d", type=int, default=None, help="side of the 3D lattice")
    p.add_argument("--mcs-2d", type=int, default=None, help="Monte Carlo steps per timed 2D call")
    p.add_argument("--mcs-3d", type=int, default=None, help="Monte Carlo steps per timed 3D call")
    p.add_argument("--side", type=int, default=8, help="cell side in sites (target volume side^d)")
    p.add_argument("--spacings", default="4,8", help="colouring periods of ours to time")
    p.add_argument("--repeats", type=int, default=None, help="timed calls per round (their median is the round's)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds, each timing every arm of ours and then glazier; ratios are per round")
    p.add_argument("--unroll-colours", type=int, default=16,
                   help="also time Potts(unroll=True) where a spacing gives at most this many colours")
    p.add_argument("--glazier-python", default="/tmp/benchvenv/bin/python",
                   help="interpreter of a virtual environment with glazier installed")
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/potts-<platform>.json)")
    args = p.parse_args(argv)
    backend = jax.default_backend()
    cfg = _defaults(backend, args.quick)
    for name in ("size_2d", "size_3d", "mcs_2d", "mcs_3d", "repeats"):
        if getattr(args, name) is not None:
            cfg[name] = getattr(args, name)
    cfg.update(side=args.side, spacings=[int(s) for s in args.spacings.split(",")],
               cases=[c for c in args.cases.split(",") if c], glazier_python=args.glazier_python,
               unroll_colours=args.unroll_colours, rounds=args.rounds)
    return args, cfg, backend


def _model(ndim: int, size: int, side: int, mcs: int, repeats: int) -> dict:
    """The benchmark model: cells of `side` packed from the origin, leaving a medium margin."""
    per = size // side - 1  # one cell width of medium along every axis
    energies = dict(j_cell_medium=8.0, j_cell_cell=4.0, lambda_volume=1.0,
                    temperature=4.0 if ndim == 2 else 16.0)
    return dict(ndim=ndim, size=size, side=side, per_axis=per, mcs=mcs, repeats=repeats,
                num_cells=per**ndim, **energies)


def _initial_ids(model) -> np.ndarray:
    d, n, side, per = model["ndim"], model["size"], model["side"], model["per_axis"]
    ids = np.zeros((n,) * d, np.int32)
    inside = np.ones((n,) * d, bool)
    for a in range(d):
        g = np.arange(n) // side
        shape = [-1 if b == a else 1 for b in range(d)]
        inside &= (g < per).reshape(shape)
        # glazier numbers cells x fastest (the last axis of our arrays, whose first axis is z/y).
        ids = ids * per + np.minimum(g, per - 1).reshape(shape)
    return np.where(inside, ids + 1, 0)


class _Ours:
    """One arm of ours: compiled once, timed in every round, summarised at the end."""

    def __init__(self, model, spacing: int, unroll: bool):
        d, n, side = model["ndim"], model["size"], model["side"]
        self.model, self.spacing, self.unroll = model, spacing, unroll
        self.lattice = automata.Lattice((n,) * d, "moore", boundary="wrap")
        params = PottsParams(
            contact=jnp.array([[0.0, model["j_cell_medium"]], [model["j_cell_medium"], model["j_cell_cell"]]]),
            lambda_volume=model["lambda_volume"], target_volume=float(side**d), temperature=model["temperature"])
        self.rule = Potts(params, kinds=jnp.asarray([0] + [1] * model["num_cells"]), spacing=spacing,
                          unroll=unroll)
        self.x = jnp.asarray(_initial_ids(model))[..., None]
        rule, lattice, mcs = self.rule, self.lattice, model["mcs"]

        def run(x, key):
            return automata.rollout(rule, lattice, x, key=key, num_steps=mcs, record=False)[0].x

        t0 = time.perf_counter()
        self.compiled = jax.jit(run).lower(self.x, jax.random.key(0)).compile()
        self.compile_s = time.perf_counter() - t0
        self.out = jax.block_until_ready(self.compiled(self.x, jax.random.key(0)))
        self.rounds = []

    def time_round(self) -> float:
        """`repeats` timed calls (fresh keys); appends and returns their median."""
        times = []
        for _ in range(self.model["repeats"]):
            key = jax.random.key(1 + sum(len(r) for r in self.rounds) + len(times))
            t0 = time.perf_counter()
            self.out = jax.block_until_ready(self.compiled(self.x, key))
            times.append(time.perf_counter() - t0)
        self.rounds.append(times)
        return statistics.median(times)

    def summary(self) -> dict:
        model, d, side = self.model, self.model["ndim"], self.model["side"]
        mcs, n = model["mcs"], model["size"]
        _, _, stats = jax.jit(self.rule.sweep, static_argnums=0)(self.lattice, self.out, jax.random.key(99))
        v = np.bincount(np.asarray(self.out).ravel(), minlength=model["num_cells"] + 1)[1:].astype(float)
        per_round = [statistics.median(t) for t in self.rounds]
        seconds = statistics.median(per_round)
        return dict(
            spacing=self.spacing, unroll=self.unroll, colours=self.spacing**d, seconds=seconds,
            seconds_per_round=per_round, times_s=self.rounds, compile_s=self.compile_s,
            site_updates_per_s=n**d * mcs / seconds,
            accepted_copies_per_s=int(np.asarray(stats)[3]) * mcs / seconds,
            # Outcomes of the attempts of one more MCS from the final state (one key): proposed a change,
            # eligible (not vetoed, reversible), won its cells' draw, accepted.
            attempts_per_mcs=dict(zip(("proposed_change", "eligible", "won_cell", "accepted"),
                                      np.asarray(stats).tolist())),
            mean_volume=float(v.mean()), volume_rms_from_target=float(np.sqrt(np.mean((v - side**d) ** 2))),
        )


def _glazier(model, python: str) -> dict:
    if not Path(python).exists():
        return dict(available=False, reason=f"no interpreter at {python}; make one with `python3 -m venv "
                    "/tmp/benchvenv && /tmp/benchvenv/bin/pip install glazier`")
    proc = subprocess.run([python, "-c", GLAZIER_SCRIPT, json.dumps(model)], capture_output=True, text=True)
    if proc.returncode:
        return dict(available=False, reason=f"glazier run failed: {proc.stderr.strip()[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    n, d = model["size"], model["ndim"]
    out.update(available=True, site_updates_per_s=n**d * model["mcs"] / out["seconds"], engine="serial (CPU)")
    return out


def _unrolled(r) -> str:
    return ", unrolled" if r["unroll"] else ""


def main(argv=None):
    args, cfg, backend = _parse_args(argv)
    meta = run_meta(argv)
    records = []
    print(f"platform {backend}, {jax.devices()[0].device_kind}; glazier python {cfg['glazier_python']}")
    for case in cfg["cases"]:
        d = 2 if case == "2d" else 3
        model = _model(d, cfg[f"size_{case}"], cfg["side"], cfg[f"mcs_{case}"], cfg["repeats"])
        print(f"\n{case}: {model['size']}^{d} sites, {model['num_cells']} cells of {cfg['side']}^{d}, "
              f"{model['mcs']} MCS per call")
        runs = [(spacing, unroll) for spacing in cfg["spacings"] if model["size"] % spacing == 0
                for unroll in (False, True) if not unroll or spacing**d <= cfg["unroll_colours"]]
        arms = [_Ours(model, spacing, unroll) for spacing, unroll in runs]
        # Rounds alternate every arm and the peer, so that a slow spell of the machine hits them alike;
        # each round's ratio compares times taken minutes apart at most.
        peers = []
        for _ in range(cfg["rounds"]):
            for arm in arms:
                arm.time_round()
            peers.append(_glazier(model, cfg["glazier_python"]))
        missing = [q for q in peers if not q["available"]]
        peer = missing[0] if missing else peers[-1]
        if peer["available"]:
            peer = dict(peer, seconds_per_round=[q["seconds"] for q in peers],
                        times_s=[q["times_s"] for q in peers])
            peer["seconds"] = statistics.median(peer["seconds_per_round"])
            peer["site_updates_per_s"] = model["size"] ** d * model["mcs"] / peer["seconds"]
        ours = []
        for arm in arms:
            r = arm.summary()
            if peer["available"]:
                ratios = [g / o for g, o in zip(peer["seconds_per_round"], r["seconds_per_round"])]
                r["speed_ratio_per_round"] = ratios
                r["speed_ratio"] = dict(median=statistics.median(ratios), min=min(ratios), max=max(ratios))
            ours.append(r)
            print(f"  ours spacing {r['spacing']:2d}{_unrolled(r)} ({r['colours']} colours): {r['site_updates_per_s']:.3g} "
                  f"site updates/s, {r['seconds'] / model['mcs'] * 1e3:.1f} ms/MCS (compile {r['compile_s']:.1f} s); "
                  f"accepted {r['attempts_per_mcs']['accepted']}/MCS, won {r['attempts_per_mcs']['won_cell']} of "
                  f"{r['attempts_per_mcs']['eligible']} eligible; volume {r['mean_volume']:.1f} "
                  f"(rms {r['volume_rms_from_target']:.2f})")
        if peer["available"]:
            print(f"  glazier serial: {peer['site_updates_per_s']:.3g} site updates/s, "
                  f"{peer['seconds'] / model['mcs'] * 1e3:.1f} ms/MCS (set-up {peer['setup_s']:.2f} s); "
                  f"volume {peer['mean_volume']:.1f} (rms {peer['volume_rms_from_target']:.2f})")
        else:
            print(f"  glazier: not measured: {peer['reason']}")
        records.append(dict(case=case, model=model, ours=ours, glazier=peer))

    print("\n| case | engine | site updates/s | ms per MCS | vs glazier (median of rounds, range) |")
    print("| --- | --- | --- | --- | --- |")
    for rec in records:
        peer = rec["glazier"]
        for r in rec["ours"]:
            q = r.get("speed_ratio")
            ratio = f"{q['median']:.2f}x ({q['min']:.2f}-{q['max']:.2f})" if q else "n/a"
            print(f"| {rec['case']} | ours, spacing {r['spacing']}{_unrolled(r)} | {r['site_updates_per_s']:.3g} | "
                  f"{r['seconds'] / rec['model']['mcs'] * 1e3:.1f} | {ratio} |")
        if peer["available"]:
            print(f"| {rec['case']} | glazier serial | {peer['site_updates_per_s']:.3g} | "
                  f"{peer['seconds'] / rec['model']['mcs'] * 1e3:.1f} | 1x |")
    meta["load_average_at_end"] = list(os.getloadavg())
    out = Path(args.out) if args.out else Path(__file__).parent / "results" / f"potts-{backend}.json"
    work = {
        "ours": "every site makes one copy attempt per MCS, colour by colour (spacing**ndim colours); each "
                "attempt reads all z neighbours and prices the copy whether or not it changes anything "
                "(vectorised, no early exit); at most one copy per cell per colour; exact Metropolis-Hastings",
        "glazier": "serial engine, one CPU thread: n attempts per MCS at random sites (with replacement); an "
                   "attempt whose chosen neighbour holds the same id stops early; textbook acceptance "
                   "min(1, exp(-dH/T))",
    }
    write_json(out, {"meta": meta, "config": {k: v for k, v in cfg.items()}, "work_per_mcs": work,
                     "results": records}, default=float)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
