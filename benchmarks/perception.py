"""Perception in the loop: states and rule read from rendered lattice movies, with no labels.

For each seed: a random 16x16 board (density 0.35, wrapped Moore lattice) is rolled out 8 steps
under a Life-like rule; every frame is rendered as a nuclei image (`neurosym.render`, 6 px per
site, jittered outlines, blur, shot and read noise, uneven illumination; "on" cells bright).
`neurosym.perception.learn_rule_from_images` then trains a fresh encoder on the 9 frames with
no per-cell labels, only information maximisation and consistency with a rule rollout, and
reads the rule off its predicted states. Reported per condition: per-cell state accuracy (mean
and minimum over seeds) and the fraction of seeds whose recovered B/S string is exactly the
true one.

Conditions: the rule term on (the method) and off (`rule_weight=0`: the images alone, the same
clustering objective), on the default microscope and on a noisier one (read noise 0.15, blur
1.5 px). Goals (printed for reference, never pass/fail): accuracy >= 97% and the rule exact.

Usage:
  python benchmarks/perception.py            # 5 seeds x 2 rules x 4 conditions: ~20 min on 2 CPU cores
  python benchmarks/perception.py --quick    # 1 seed, Life, default microscope: ~1 min
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import numpy as np

import automata
from common import run_meta
from neurosym.files import write_json
from neurosym.perception import learn_rule_from_images, render_life_movie
from neurosym.render import Microscope

MICROSCOPES = {
    "default": Microscope.nuclei(num_kinds=2),
    "noisy": Microscope.nuclei(num_kinds=2).replace(noise=0.15, blur=1.5),
}


def run(rule: str, seed: int, microscope: str, rule_weight: float, num_steps: int, restarts: int,
        features: tuple[int, ...]) -> dict:
    lat = automata.Lattice((16, 16))
    movie = render_life_movie(jax.random.key(seed), lat, rule, num_steps=8, site_pixels=6,
                              microscope=MICROSCOPES[microscope])
    t0 = time.perf_counter()
    result = learn_rule_from_images(movie.images, movie.labels, lat, key=jax.random.key(1000 + seed),
                                    num_steps=num_steps, rule_weight=rule_weight, restarts=restarts,
                                    features=features)
    return {
        "rule": movie.rule, "seed": seed, "microscope": microscope, "rule_weight": rule_weight,
        "accuracy": float((result.states == movie.states).mean()),
        "recovered": result.rule, "exact": result.rule == movie.rule,
        "agreement": result.agreement, "restart_agreements": list(result.restart_agreements),
        "seconds": time.perf_counter() - t0,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one seed, Life only")
    p.add_argument("--seeds", type=int, default=None)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--restarts", type=int, default=4, help="at most this many trainings per movie")
    p.add_argument("--features", default="8",
                   help="comma-separated channels per level of the encoder (default 8: one level)")
    p.add_argument("--rules", default=None, help="comma-separated B/S rules (default B3/S23,B36/S23)")
    p.add_argument("--microscopes", default=None, help="comma-separated: default,noisy (default both; --quick: default)")
    p.add_argument("--rule-term", default="on,off", help="which conditions: on, off or on,off")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    seeds = args.seeds or (1 if args.quick else 5)
    rules = args.rules.split(",") if args.rules else (["B3/S23"] if args.quick else ["B3/S23", "B36/S23"])
    scopes = args.microscopes.split(",") if args.microscopes else (["default"] if args.quick else list(MICROSCOPES))
    weights = [1.0 if c == "on" else 0.0 for c in args.rule_term.split(",")]
    features = tuple(int(f) for f in args.features.split(","))
    rows = []
    for rule in rules:
        for microscope in scopes:
            for weight in weights:
                for seed in range(seeds):
                    r = run(rule, seed, microscope, weight, args.steps, args.restarts, features)
                    rows.append(r)
                    print(f"{rule:8s} {microscope:8s} rule term {'on ' if weight else 'off'} seed {seed}: "
                          f"accuracy {r['accuracy']:.4f}, recovered {r['recovered']}, {len(r['restart_agreements'])} run(s) "
                          f"({r['seconds']:.0f} s)", flush=True)
    summary = []
    print("\n| rule | microscope | rule term | mean accuracy | min accuracy | rule exact |")
    print("|---|---|---|---|---|---|")
    for rule in rules:
        for microscope in scopes:
            for weight in weights:
                sel = [r for r in rows if r["rule"] == rule and r["microscope"] == microscope and r["rule_weight"] == weight]
                acc = np.array([r["accuracy"] for r in sel])
                exact = np.mean([r["exact"] for r in sel])
                summary.append(dict(rule=rule, microscope=microscope, rule_term=bool(weight),
                                    mean_accuracy=float(acc.mean()), min_accuracy=float(acc.min()),
                                    exact_fraction=float(exact), seeds=len(sel)))
                print(f"| {rule} | {microscope} | {'on' if weight else 'off'} | {acc.mean():.4f} | {acc.min():.4f} | {exact:.0%} |")
    print("\nGoal: per-cell accuracy >= 97% and the rule recovered exactly (rule term on).")
    meta = {**run_meta(argv), "steps": args.steps, "restarts": args.restarts, "features": list(features)}
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / "perception.json"
    write_json(out, {"meta": meta, "summary": summary, "runs": rows})
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
