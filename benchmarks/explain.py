"""Rule recovery: Life-like B/S rules read back from board pairs by `neurosym.explain.recover_life_like`.

Every board is 64x64, Moore neighbourhood, wrap-around boundary. A board pair is a random
board (each site alive independently with probability `d`) and its successor under the true
rule, computed by the engine (`automata.step`, which `recover_life_like` does not use). All
randomness comes from numpy generators seeded from `--seed`.

Noise is independent bit flips with probability 5%:
  both    on both boards of a pair (imaging noise on every frame): the neighbour counts the
          recovery sees are corrupted, not only the outcomes;
  output  on the successor board only.

Cases:
  life     B3/S23 from ONE pair, 200 seeds (`--life-seeds`), `d` drawn per seed uniformly in
           [0.2, 0.6]; noise none, both, output. For reference, the same at fixed d = 0.35.
  random   100 random Life-like rules (`--num-random`; each of the 18 (centre, count) entries
           in the rule with probability 1/2) plus HighLife, Seeds and Day & Night, `--rule-seeds`
           (default 3) trials per rule, under two protocols:
             one pair    d uniform in [0.2, 0.6] (as for life);
             four pairs  d = 0.15, 0.4, 0.6, 0.85, one board each (so that every entry,
                         including counts 0 and 8 for both centre states, is seen);
           noise none and both.

A trial succeeds when the recovered rule string equals the true one exactly. Unobserved entries
default to "not in the rule" (`recover_life_like`'s prior). The report also counts which entries
were wrong in failed trials and whether they were unobserved (no votes) or outvoted.

Goals (printed for reference; benchmarks never pass or fail): life exact in >= 99% of seeds
without noise and in >= 95% at 5% noise; >= 95% exact over the random rules plus the three
named ones. A goal is "met" when the measured fraction reaches it; the table also gives the 95%
Wilson interval, since 200 trials pin a fraction near 0.95 only to about +-3%.

Usage:
  python benchmarks/explain.py            # about 30 seconds on a 2-core CPU
  python benchmarks/explain.py --quick    # about 5 seconds
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

import jax.numpy as jnp
import numpy as np

import automata
from automata.lifelike import format_rule, parse_rule
from common import run_meta
from neurosym.files import write_json
from neurosym.explain import recover_life_like

SIDE = 64
NOISE = 0.05
GOAL_LIFE_CLEAN = 0.99
GOAL_LIFE_NOISY = 0.95
GOAL_RANDOM = 0.95
FOUR_DENSITIES = (0.15, 0.4, 0.6, 0.85)
NAMED = {"highlife": "B36/S23", "seeds": "B2/S", "day_and_night": "B3678/S34678"}


def _successor(rule: automata.LifeLike, lattice, x: np.ndarray) -> np.ndarray:
    state = automata.LatticeState(x=jnp.asarray(x, jnp.uint8)[..., None])
    return np.asarray(automata.step(rule, lattice, state).x[..., 0]).astype(np.int64)


def _pair(rule, lattice, rng, density, noise, where):
    x = (rng.random((SIDE, SIDE)) < density).astype(np.int64)
    y = _successor(rule, lattice, x)
    if noise and where == "both":
        x = x ^ (rng.random(x.shape) < noise)
    if noise:
        y = y ^ (rng.random(y.shape) < noise)
    return x, y


def _table(rule: str) -> np.ndarray:
    birth, survive = parse_rule(rule)
    t = np.zeros((2, 9), bool)
    t[0, list(birth)] = True
    t[1, list(survive)] = True
    return t


def _trial(rule: str, fit) -> dict:
    wrong = np.argwhere(_table(rule) != _table(fit.rule))
    unobserved = set(fit.unobserved)
    return {
        "rule": rule, "recovered": fit.rule, "exact": fit.rule == rule,
        "wrong": [[int(c), int(n)] for c, n in wrong],
        "wrong_unobserved": sum((int(c), int(n)) in unobserved for c, n in wrong),
        "num_unobserved": len(unobserved), "agreement": fit.agreement,
    }


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a success fraction k / n."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(centre - half), float(centre + half))


def _summary(trials: list[dict]) -> dict:
    fails = [t for t in trials if not t["exact"]]
    entries = collections.Counter(
        ("B" if c == 0 else "S") + str(n) for t in fails for c, n in t["wrong"]
    )
    return {
        "trials": len(trials),
        "exact": sum(t["exact"] for t in trials),
        "exact_fraction": sum(t["exact"] for t in trials) / max(len(trials), 1),
        "exact_fraction_95ci": _wilson(sum(t["exact"] for t in trials), len(trials)),
        "failed_only_on_unobserved_entries": sum(
            t["wrong_unobserved"] == len(t["wrong"]) for t in fails
        ),
        "wrong_entries": dict(entries.most_common()),
        "mean_unobserved_entries": float(np.mean([t["num_unobserved"] for t in trials])),
    }


def run_life(cfg, lattice, seed):
    rule = automata.LIFE
    out = {}
    cases = [("uniform[0.2,0.6]", None, 0.0, "none"), ("uniform[0.2,0.6]", None, NOISE, "both"),
             ("uniform[0.2,0.6]", None, NOISE, "output"), ("0.35", 0.35, 0.0, "none"),
             ("0.35", 0.35, NOISE, "both"), ("0.35", 0.35, NOISE, "output")]
    for i, (dname, density, noise, where) in enumerate(cases):
        rng = np.random.default_rng([seed, 1, i])
        trials = []
        seconds = 0.0
        for _ in range(cfg["life_seeds"]):
            d = rng.uniform(0.2, 0.6) if density is None else density
            x, y = _pair(rule, lattice, rng, d, noise, where)
            t0 = time.perf_counter()
            fit = recover_life_like([(x, y)])
            seconds += time.perf_counter() - t0
            trials.append(_trial(rule.rule, fit) | {"density": d})
        name = f"life d={dname} noise={where if noise else 'none'}"
        out[name] = {"density": dname, "noise": noise, "noise_on": where, "pairs": 1,
                     "summary": _summary(trials), "recover_seconds_per_trial": seconds / len(trials),
                     "trials": trials}
        s = out[name]["summary"]
        print(f"  {name:42s} exact {s['exact']:4d}/{s['trials']}  wrong entries "
              f"{s['wrong_entries'] or '-'}", flush=True)
    return out


def _random_rules(num, seed) -> list[str]:
    rng = np.random.default_rng([seed, 2])
    rules = []
    while len(rules) < num:
        m = rng.random((2, 9)) < 0.5
        r = format_rule(tuple(int(n) for n in np.nonzero(m[0])[0]),
                        tuple(int(n) for n in np.nonzero(m[1])[0]))
        if r not in rules and r not in NAMED.values():
            rules.append(r)
    return rules


def run_random(cfg, lattice, seed):
    rules = _random_rules(cfg["num_random"], seed) + list(NAMED.values())
    protocols = {"one pair": None, "four pairs": FOUR_DENSITIES}
    results = {(p, n): [] for p in protocols for n in (0.0, NOISE)}
    t0 = time.perf_counter()
    for r_i, spec in enumerate(rules):
        rule = automata.LifeLike(spec)
        for (proto, noise), trials in results.items():
            rng = np.random.default_rng([seed, 3, r_i, list(protocols).index(proto), int(noise > 0)])
            for _ in range(cfg["rule_seeds"]):
                dens = [rng.uniform(0.2, 0.6)] if protocols[proto] is None else protocols[proto]
                pairs = [_pair(rule, lattice, rng, d, noise, "both") for d in dens]
                trials.append(_trial(rule.rule, recover_life_like(pairs)))
        if (r_i + 1) % 20 == 0:
            print(f"  {r_i + 1}/{len(rules)} rules ({time.perf_counter() - t0:.0f} s)", flush=True)
    out = {}
    named = set(NAMED.values())
    for (proto, noise), trials in results.items():
        name = f"random {proto} noise={'both' if noise else 'none'}"
        out[name] = {
            "protocol": proto, "densities": "uniform[0.2,0.6]" if protocols[proto] is None
            else list(protocols[proto]), "noise": noise, "noise_on": "both" if noise else "none",
            "summary": _summary(trials),
            "named": {k: _summary([t for t in trials if t["rule"] == v]) for k, v in NAMED.items()},
            "random_only": _summary([t for t in trials if t["rule"] not in named]),
            "trials": trials,
        }
        s = out[name]["summary"]
        print(f"  {name:42s} exact {s['exact']:4d}/{s['trials']}", flush=True)
    return out, rules


def _parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="few seeds and rules, about 5 seconds")
    p.add_argument("--life-seeds", type=int, default=None, help="Life trials per case (200)")
    p.add_argument("--num-random", type=int, default=None, help="random Life-like rules (100)")
    p.add_argument("--rule-seeds", type=int, default=None, help="trials per random rule (3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/explain.json)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = _parse_args(argv)
    q = args.quick
    cfg = {
        "life_seeds": args.life_seeds or (20 if q else 200),
        "num_random": args.num_random if args.num_random is not None else (10 if q else 100),
        "rule_seeds": args.rule_seeds or (1 if q else 3),
        "side": SIDE, "noise": NOISE, "seed": args.seed, "quick": q,
    }
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / "explain.json"
    meta = {
        **run_meta(argv),
        "config": cfg,
        "notes": [
            "boards 64x64, Moore, wrap; successors from automata.step",
            "noise 'both': independent 5% bit flips on both boards of every pair; 'output': on "
            "the successor only",
            "exact = recovered B/S string equals the true one",
            "unobserved entries default to 'not in the rule'",
        ],
    }
    print(f"Life-like rule recovery on {meta['platform']}, jax {meta['versions']['jax']}", flush=True)
    lattice = automata.Lattice((SIDE, SIDE))
    t0 = time.perf_counter()
    print("[life, one pair]", flush=True)
    life = run_life(cfg, lattice, args.seed)
    print("[random rules + HighLife, Seeds, Day & Night]", flush=True)
    random_cases, rules = run_random(cfg, lattice, args.seed)
    seconds = time.perf_counter() - t0

    def frac(case):
        return case["summary"]["exact_fraction"]

    goals = {
        "life clean >= 99%": frac(life["life d=uniform[0.2,0.6] noise=none"]) >= GOAL_LIFE_CLEAN,
        "life 5% noise (both boards) >= 95%":
            frac(life["life d=uniform[0.2,0.6] noise=both"]) >= GOAL_LIFE_NOISY,
        "life 5% noise (output only) >= 95%":
            frac(life["life d=uniform[0.2,0.6] noise=output"]) >= GOAL_LIFE_NOISY,
        "random rules, one pair, clean >= 95%":
            frac(random_cases["random one pair noise=none"]) >= GOAL_RANDOM,
        "random rules, four pairs, clean >= 95%":
            frac(random_cases["random four pairs noise=none"]) >= GOAL_RANDOM,
        "random rules, four pairs, 5% noise >= 95%":
            frac(random_cases["random four pairs noise=both"]) >= GOAL_RANDOM,
    }

    def ci(s):
        lo, hi = s["exact_fraction_95ci"]
        return f"{lo:.3f}-{hi:.3f}"

    rows = [("case", "pairs", "density", "noise", "exact", "fraction", "95% CI",
             "wrong entries (failed trials)")]
    for name, c in life.items():
        s = c["summary"]
        rows.append(("life B3/S23", "1", c["density"], c["noise_on"] if c["noise"] else "none",
                     f"{s['exact']}/{s['trials']}", f"{s['exact_fraction']:.3f}", ci(s),
                     ", ".join(f"{k} x{v}" for k, v in list(s["wrong_entries"].items())[:5]) or "-"))
    for name, c in random_cases.items():
        s = c["summary"]
        one = c["protocol"] == "one pair"
        rows.append((f"{len(rules) - len(NAMED)} random + 3 named", "1" if one else "4",
                     "U[0.2,0.6]" if one else "0.15/0.4/0.6/0.85",
                     c["noise_on"], f"{s['exact']}/{s['trials']}", f"{s['exact_fraction']:.3f}", ci(s),
                     f"{s['failed_only_on_unobserved_entries']} of {s['trials'] - s['exact']} "
                     "failures only on unobserved entries"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    print()
    print("\n".join(lines))
    print()
    for name, c in random_cases.items():
        named = ", ".join(f"{k} {v['exact']}/{v['trials']}" for k, v in c["named"].items())
        print(f"{name}: named rules {named}")
    print()
    for goal, met in goals.items():
        print(f"goal {goal}: {'met' if met else 'NOT met'}")
    print(f"\n{seconds:.0f} s in all")
    meta["load_average_at_end"] = list(os.getloadavg())
    meta["seconds"] = seconds
    write_json(out, {"meta": meta, "goals": goals, "life": life, "random": random_cases,
                     "random_rules": rules}, default=float)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
