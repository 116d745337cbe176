"""Parameter recovery on synthetic ground truth: gradient fit against ABC at equal simulation budgets.

Ground truth: a two-kind `rules.DivisionModel` (kind A divides asymmetrically, A -> A + B; kind B
divides symmetrically, B -> B + B), clock-driven with lognormal cell-cycle periods (medians
12 and 18 minutes, cv 0.1) plus a game-driven hazard for B (`rules.PayoffHazard`, base rate
0.02/min, selection 1, payoff row of B = [payoff_BA, payoff_BB]), `Shove` placement on a
48x48 von Neumann lattice, six A founders, 72 steps of 1 minute. `--replicates` colonies
(default 32, like a set of imaged embryos) are simulated with `rules.simulate`, each with its own
seed. The observation is a cell table (colony, frame, cell, parent, kind, x, y; one row per
detected cell per frame, every 4th step; Gaussian position noise; each detection dropped with
probability `--drop`, default 2%). It is reduced to two summaries:
  - the mean count of each kind in each frame over colonies;
  - the pooled histogram of observed cycle lengths of each kind, in frames from a cell's first
    detection to the first detection of a daughter (cells born during the run).
Counts alone do not identify the unknowns: a faster clock for B and a weaker game hazard give
nearly the same growth curve (a ridge). The cycle-length histogram separates them (clock-driven
divisions bunch at the period, hazard-driven ones spread out).

Unknowns (fitted in log space): period_A, period_B, payoff_BB (and payoff_BA with
`--unknowns 4`); every other quantity is known. The prior (ABC) is log-uniform on periods in
[6, 36] min and payoff entries in [0.25, 4]; the gradient fit starts at the prior's geometric
centre.

Distance (all methods): mean squared relative count error plus the mean over kinds of the summed
squared difference of cycle-length fractions (`_distance2`; ABC uses its square root).

Methods, each reported as the max over parameters of |estimate - truth| / truth against the
number of simulations:

  gradient     `neurosym.fit.fit` (Adam) on the distance between the observed summaries and
               those of the relaxed mean-field model: `rules.expected_counts` (thinned by the
               detection rate) and `rules.expected_divisions` binned to observed cycles.
               ONE SIMULATION = ONE LOSS EVALUATION (a forward and backward pass of the
               deterministic mean-field recursion over ages and kinds, which gives expected
               summaries directly, without replicates). It is not a stochastic spatial
               simulation, and it is a biased model of the simulator (no space: the payoff is
               well mixed; relaxed clock), so its error floors at that bias.
  abc-rejection  parameters from the prior, `--abc-replicates` stochastic `rules.simulate`
               colonies each (default 1; vmapped, compiled once), accept the closest
               `--rej-quantile` (at least 20); estimate = accepted mean. ONE SIMULATION = ONE
               STOCHASTIC COLONY RUN.
  abc-smc      population Monte Carlo ABC (Beaumont et al. 2009, doi:10.1093/biomet/asp052):
               N particles, epsilon = median of the previous generation's distances, Gaussian
               perturbation in log space with twice the weighted covariance, importance weights
               prior / sum_j w_j K(theta | theta_j); estimate = weighted mean. Proposals are
               simulated in batches of N; ONE SIMULATION = ONE STOCHASTIC COLONY RUN (proposals
               falling outside the prior are redrawn without simulating).
ABC's simulated cycle histograms are read from the simulated lineage without dropped detections
(the data's 2% misses shorten a few observed cycles; both methods see the same data).

The report is the number of simulations from which the max relative error stays <= 5% to the
end of the run, or "not reached" with the best error, and the ratio ABC-SMC / gradient (a lower
bound when ABC-SMC does not reach 5% within its budget). Benchmarks never pass or fail; the goal
(gradient reaches 5% with >= 10x fewer simulations than ABC-SMC) is printed for reference.

Usage:
  python benchmarks/recovery.py                       # ~5 minutes on a 2-core CPU
  python benchmarks/recovery.py --abc-replicates 8    # ABC particles of 8 colonies
  python benchmarks/recovery.py --quick    # about a minute
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

import automata
from common import run_meta
from neurosym.files import write_json
from neurosym.fit import fit
from rules.division import (CellCycle, DifferentiationTable, DivisionModel, PayoffHazard, Shove,
                            divisions_by_birth, expected_counts, expected_divisions, simulate)
from rules.population import Population

GOAL_ERROR = 0.05
GOAL_RATIO = 10.0

TRUTH = {"period_A": 12.0, "period_B": 18.0, "payoff_BA": 2.0, "payoff_BB": 1.5}
PRIOR = {"period_A": (6.0, 36.0), "period_B": (6.0, 36.0),
         "payoff_BA": (0.25, 4.0), "payoff_BB": (0.25, 4.0)}
CV = 0.1
BASE_RATE_B = 0.02
SIDE = 48
FOUNDERS = [[12, 12], [12, 36], [36, 12], [36, 36], [24, 24], [6, 24]]
CAPACITY = 1024


# --------------------------------------------------------------------------- problem
def _names(unknowns: int) -> list[str]:
    return ["period_A", "period_B", "payoff_BB"] + (["payoff_BA"] if unknowns == 4 else [])


def _problem(cfg):
    names = _names(cfg["unknowns"])
    lattice = automata.Lattice((SIDE, SIDE), neighbourhood="von_neumann")
    pop = Population.create(lattice, FOUNDERS, [0] * len(FOUNDERS), capacity=CAPACITY)
    table = DifferentiationTable(daughters=((0, 1), (1, 1)), names=("A", "B"))

    def model(theta):
        """DivisionModel from the unknowns `theta` (natural units, order of `names`)."""
        p = {k: jnp.asarray(TRUTH[k]) for k in TRUTH}
        for i, k in enumerate(names):
            p[k] = theta[i]
        payoff = jnp.array([[1.0, 1.0], [0.0, 0.0]]).at[1, 0].set(p["payoff_BA"]).at[1, 1].set(
            p["payoff_BB"])
        return DivisionModel(
            table=table,
            cycle=CellCycle(period=jnp.stack([p["period_A"], p["period_B"]]), cv=CV),
            external=PayoffHazard(payoff=payoff, base_rate=jnp.array([0.0, BASE_RATE_B]),
                                  selection=1.0),
            placement=Shove(), dt=1.0)

    frames = np.arange(cfg["every"] - 1, cfg["num_steps"], cfg["every"])
    return names, lattice, pop, model, frames


def _cell_table(final, history, frames, key, drop, pos_noise, colony=0):
    """Rows (colony, frame, cell, parent, kind, x, y) of detected cells; each detection dropped
    with probability `drop`.

    `History` records which slots are alive at each step; positions are only kept for the final
    population (Shove moves cells), so the rows carry the final site plus Gaussian noise. Position
    noise therefore does not change the summaries; dropped detections thin the counts and, when
    a cell is missed in its first frame, shorten its observed cycle by one frame.
    """
    alive = np.asarray(history.alive)[frames]             # (F, C)
    kind = np.asarray(final.kind)
    parent = np.asarray(final.parent)
    pos = np.asarray(final.position).astype(float)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()[-1])
    rows = []
    for f, a in zip(frames, alive):
        cells = np.nonzero(a)[0]
        keep = cells[rng.random(cells.size) >= drop]
        xy = pos[keep] + rng.normal(0.0, pos_noise, size=(keep.size, 2))
        rows.append(np.column_stack([np.full(keep.size, colony), np.full(keep.size, f), keep,
                                     parent[keep], kind[keep], xy]))
    return np.concatenate(rows)


def _summaries_from_table(table, frames, num_colonies, num_bins, num_kinds=2):
    """Mean counts per kind per frame over colonies `(F, K)`, and the pooled histogram of observed
    cycle lengths per kind `(K, num_bins)`: frames from a cell's first detection to the first
    detection of any of its daughters, for cells born during the run (parent known)."""
    counts = np.zeros((len(frames), num_kinds))
    index = {int(f): i for i, f in enumerate(frames)}
    hist = np.zeros((num_kinds, num_bins))
    for c in range(num_colonies):
        rows = table[table[:, 0] == c]
        first, kind_of, parent_of, children = {}, {}, {}, {}
        for _, f, cell, parent, k, *_ in rows:
            fi, cell, parent = index[int(f)], int(cell), int(parent)
            counts[fi, int(k)] += 1
            if cell not in first or fi < first[cell]:
                first[cell] = fi
            kind_of[cell], parent_of[cell] = int(k), parent
            children.setdefault(parent, set()).add(cell)
        for cell, fi in first.items():
            if cell not in children or parent_of[cell] < 0:
                continue
            cycle = min(first[d] for d in children[cell]) - fi
            if 1 <= cycle < num_bins:
                hist[kind_of[cell], cycle] += 1
    return counts / num_colonies, hist


def _binning(frames, num_steps, num_bins):
    """`(S, B, num_bins)` one-hot map from (division step, birth step) to the observed cycle in
    frames (frames at or after the birth and before the division), 0 outside the observable
    range; so `einsum('sbk,sbn->kn', divisions, map)` bins `divisions_by_birth` output."""
    before = np.array([np.sum(frames < x) for x in range(num_steps)])
    s, b = np.meshgrid(np.arange(num_steps), np.arange(num_steps), indexing="ij")
    cycle = before[s] - before[b]
    ok = (s > b) & (cycle >= 1) & (cycle < num_bins)
    return jnp.asarray(np.eye(num_bins)[np.clip(cycle, 0, num_bins - 1)] * ok[..., None],
                       jnp.float32)


def _distance2(sim_counts, sim_hist, obs_counts, obs_hist):
    """Squared distance between summaries (batched over leading axes of the simulated ones):
    mean squared relative count error plus the mean over kinds of the squared error of the
    cycle-length fractions."""
    c = jnp.mean(((sim_counts - obs_counts) / jnp.maximum(obs_counts, 1.0)) ** 2, axis=(-2, -1))
    frac = sim_hist / jnp.maximum(jnp.sum(sim_hist, -1, keepdims=True), 1e-6)
    obs_frac = obs_hist / jnp.maximum(jnp.sum(obs_hist, -1, keepdims=True), 1e-6)
    return c + jnp.mean(jnp.sum((frac - obs_frac) ** 2, -1), -1)


def _errors(est, truth):
    return np.abs(np.asarray(est) - truth) / truth


# --------------------------------------------------------------------------- ABC
def _make_batch_sim(model, lattice, pop, cfg, frames, obs, obs_hist, binning):
    frames_j = jnp.asarray(frames)
    keep = 1.0 - cfg["drop"]
    steps = cfg["num_steps"]

    @jax.jit
    def run(thetas, key):
        keys = jax.random.split(key, thetas.shape[0])

        def colony(m, k):
            k_sim, k_obs = jax.random.split(k)
            final, h = simulate(m, lattice, pop, key=k_sim, num_steps=steps)
            counts = h.count[frames_j]
            if cfg["drop"] > 0:
                counts = jax.random.binomial(k_obs, counts.astype(jnp.float32), keep)
            div = divisions_by_birth(final, start=0, num_steps=steps, num_kinds=2)
            return counts.astype(jnp.float32), div.astype(jnp.float32)

        def one(theta, k):
            # `abc_replicates` colonies per particle: mean counts, pooled cycle histogram.
            counts, div = jax.vmap(colony, in_axes=(None, 0))(
                model(theta), jax.random.split(k, cfg["abc_replicates"]))
            return counts.mean(0), jnp.einsum("sbk,sbn->kn", div.sum(0), binning)

        sims, hists = jax.vmap(one)(thetas, keys)
        return jnp.sqrt(_distance2(sims, hists, obs, obs_hist))

    return run


def _prior_bounds(names):
    lo = np.log([PRIOR[k][0] for k in names])
    hi = np.log([PRIOR[k][1] for k in names])
    return lo, hi


def run_rejection(run, names, truth, cfg, key):
    lo, hi = _prior_bounds(names)
    rng = np.random.default_rng(cfg["seed"] + 1)
    batch, budget = cfg["batch"], cfg["rej_budget"]
    thetas, dists, curve = [], [], []
    t0 = time.perf_counter()
    n = 0
    while n < budget:
        z = rng.uniform(lo, hi, size=(batch, len(names)))
        d = np.asarray(run(jnp.asarray(np.exp(z), jnp.float32), jax.random.fold_in(key, n)))
        thetas.append(z)
        dists.append(d)
        n += batch * cfg["abc_replicates"]
        zs, ds = np.concatenate(thetas), np.concatenate(dists)
        k = max(20, int(cfg["rej_quantile"] * n))
        idx = np.argsort(ds)[:k]
        est = np.exp(zs[idx]).mean(0)
        err = _errors(est, truth)
        curve.append({"sims": n, "estimate": est.tolist(), "max_rel_error": float(err.max()),
                      "rel_errors": err.tolist(), "epsilon": float(ds[idx[-1]]),
                      "seconds": time.perf_counter() - t0})
        print(f"  rejection  sims {n:6d}  eps {ds[idx[-1]]:.3f}  max err {err.max():.3f}", flush=True)
    return curve


def run_smc(run, names, truth, cfg, key):
    lo, hi = _prior_bounds(names)
    rng = np.random.default_rng(cfg["seed"] + 2)
    N, budget = cfg["batch"], cfg["smc_budget"]
    dim = len(names)
    t0 = time.perf_counter()
    # Generation 0: the prior (epsilon = inf).
    z = rng.uniform(lo, hi, size=(N, dim))
    d = np.asarray(run(jnp.asarray(np.exp(z), jnp.float32), jax.random.fold_in(key, 0)))
    w = np.full(N, 1.0 / N)
    per = cfg["abc_replicates"]
    n, gen, curve = N * per, 0, []

    def record(z, w, eps):
        est = (w[:, None] * np.exp(z)).sum(0)
        err = _errors(est, truth)
        curve.append({"sims": n, "generation": gen, "epsilon": float(eps),
                      "estimate": est.tolist(), "max_rel_error": float(err.max()),
                      "rel_errors": err.tolist(), "seconds": time.perf_counter() - t0})
        print(f"  abc-smc    sims {n:6d}  gen {gen:2d}  eps {eps:.3f}  max err {err.max():.3f}",
              flush=True)

    record(z, w, np.inf)
    while n < budget:
        eps = float(np.quantile(d, cfg["smc_quantile"]))
        mean = (w[:, None] * z).sum(0)
        cov = 2.0 * ((w[:, None] * (z - mean)).T @ (z - mean)) + 1e-10 * np.eye(dim)
        chol = np.linalg.cholesky(cov)
        acc_z, acc_d = [], []
        while sum(len(a) for a in acc_z) < N and n < budget:
            prop = np.empty((N, dim))
            filled = 0
            while filled < N:  # redraw proposals outside the prior (no simulation spent)
                anc = rng.choice(N, size=N, p=w)
                cand = z[anc] + rng.normal(size=(N, dim)) @ chol.T
                ok = np.all((cand >= lo) & (cand <= hi), axis=1)
                take = cand[ok][: N - filled]
                prop[filled: filled + len(take)] = take
                filled += len(take)
            dd = np.asarray(run(jnp.asarray(np.exp(prop), jnp.float32), jax.random.fold_in(key, n)))
            n += N * per
            hit = dd <= eps
            acc_z.append(prop[hit])
            acc_d.append(dd[hit])
        new_z = np.concatenate(acc_z)[:N]
        new_d = np.concatenate(acc_d)[:N]
        if len(new_z) < 2:
            break
        # Importance weights: uniform prior over the proposal mixture.
        inv = np.linalg.inv(cov)
        diff = new_z[:, None, :] - z[None, :, :]
        kern = np.exp(-0.5 * np.einsum("ijk,kl,ijl->ij", diff, inv, diff))
        new_w = 1.0 / (kern @ w)
        z, d, w = new_z, new_d, new_w / new_w.sum()
        gen += 1
        record(z, w, eps)
        if len(new_z) < N:  # budget ran out mid-generation: a partial population
            break
    return curve


# --------------------------------------------------------------------------- gradient
def run_gradient(model, pop, names, truth, cfg, frames, obs, obs_hist, binning, key):
    frames_j = jnp.asarray(frames)
    keep = 1.0 - cfg["drop"]
    lo, hi = _prior_bounds(names)
    init = {"log": jnp.asarray((lo + hi) / 2, jnp.float32)}
    horizon, temperature = cfg["num_steps"], cfg["temperature"]

    def loss_fn(params, ctx):
        m = model(jnp.exp(params["log"]))
        h = expected_counts(m, pop, num_steps=horizon, temperature=temperature)
        div = expected_divisions(m, pop, num_steps=horizon, temperature=temperature)
        hist = jnp.einsum("sbk,sbn->kn", div, binning)
        return _distance2(h.count[frames_j] * keep, hist, ctx.data["counts"], ctx.data["hist"])

    optimizer = optax.adam(cfg["learning_rate"])
    checks = sorted(set(list(range(cfg["check_every"], cfg["grad_steps"] + 1, cfg["check_every"]))
                        + [cfg["grad_steps"]]))
    curve = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = os.path.join(tmp, "fit.npz")
        for steps in checks:
            res = fit(loss_fn, init, key=key, num_steps=steps,
                      data={"counts": jnp.asarray(obs, jnp.float32),
                            "hist": jnp.asarray(obs_hist, jnp.float32)},
                      optimizer=optimizer, num_starts=cfg["grad_starts"], progress=False,
                      checkpoint=ckpt, checkpoint_every=cfg["check_every"], resume=True)
            est = np.exp(np.asarray(res.params["log"], float))
            err = _errors(est, truth)
            sims = steps * cfg["grad_starts"]
            curve.append({"sims": sims, "steps": steps, "estimate": est.tolist(),
                          "max_rel_error": float(err.max()), "rel_errors": err.tolist(),
                          "loss": float(res.final_loss), "seconds": time.perf_counter() - t0})
            if steps % (cfg["check_every"] * 10) == 0 or steps == checks[-1]:
                print(f"  gradient   sims {sims:6d}  loss {res.final_loss:.2e}  max err {err.max():.3f}",
                      flush=True)
    return curve


# --------------------------------------------------------------------------- report
def _first_reach(curve, goal=GOAL_ERROR):
    """Simulations from which the error stays <= `goal` to the end of the run (None if never)."""
    reach = None
    for c in curve:
        if c["max_rel_error"] <= goal:
            reach = c["sims"] if reach is None else reach
        else:
            reach = None
    return reach


def _parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small budgets, about a minute")
    p.add_argument("--unknowns", type=int, choices=(3, 4), default=3,
                   help="3: period_A, period_B, payoff_BB; 4: also payoff_BA")
    p.add_argument("--drop", type=float, default=0.02, help="fraction of dropped detections")
    p.add_argument("--pos-noise", type=float, default=0.5, help="position noise (sites, sd)")
    p.add_argument("--num-steps", type=int, default=72)
    p.add_argument("--replicates", type=int, default=32,
                   help="colonies observed (each from the same six founders, own seed)")
    p.add_argument("--abc-replicates", type=int, default=1,
                   help="colonies simulated per ABC particle (each counts as one simulation)")
    p.add_argument("--bins", type=int, default=10, help="cycle-length histogram bins (frames)")
    p.add_argument("--every", type=int, default=4, help="steps between observed frames")
    p.add_argument("--batch", type=int, default=None, help="ABC batch = SMC particles")
    p.add_argument("--rej-budget", type=int, default=None)
    p.add_argument("--rej-quantile", type=float, default=0.02)
    p.add_argument("--smc-budget", type=int, default=None)
    p.add_argument("--smc-quantile", type=float, default=0.5)
    p.add_argument("--grad-steps", type=int, default=None)
    p.add_argument("--grad-starts", type=int, default=1)
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--temperature", type=float, default=0.05)
    p.add_argument("--check-every", type=int, default=5)
    p.add_argument("--payoff-ba", type=float, default=None,
                   help="true payoff_BA (default 2.0); equal to payoff_BB removes the spatial "
                        "payoff bias of the mean-field model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = _parse_args(argv)
    backend = jax.default_backend()
    if args.payoff_ba is not None:
        TRUTH["payoff_BA"] = float(args.payoff_ba)
    q = args.quick
    cfg = dict(
        unknowns=args.unknowns, drop=args.drop, pos_noise=args.pos_noise,
        num_steps=args.num_steps, every=args.every, replicates=args.replicates, bins=args.bins,
        abc_replicates=args.abc_replicates,
        batch=args.batch or (64 if q else 128),
        rej_budget=args.rej_budget or (512 if q else 3072),
        rej_quantile=args.rej_quantile,
        smc_budget=args.smc_budget or (768 if q else 6144),
        smc_quantile=args.smc_quantile,
        grad_steps=args.grad_steps or (150 if q else 400),
        grad_starts=args.grad_starts, learning_rate=args.learning_rate,
        temperature=args.temperature, check_every=args.check_every, seed=args.seed, quick=q,
    )
    out = Path(args.out) if args.out else (
        Path(__file__).resolve().parent / "results" / f"recovery-{backend}.json")
    meta = {
        **run_meta(argv),
        "config": cfg,
        "truth": TRUTH, "prior_log_uniform": PRIOR, "known": {"cv": CV, "base_rate_B": BASE_RATE_B,
                                                             "payoff_A_row": [1.0, 1.0]},
        "simulation_counting": {
            "gradient": "one simulation = one loss evaluation (forward + backward of "
                        "rules.expected_counts and rules.expected_divisions, the deterministic "
                        "mean-field model) per start; "
                        "sims = steps * num_starts",
            "abc": "one simulation = one stochastic rules.simulate colony run on the lattice "
                   "(vmapped over a batch of parameter particles, abc_replicates per particle)",
        },
        "notes": [
            "max_rel_error = max over unknowns of |estimate - truth| / truth",
            "reach = number of simulations from which max_rel_error stays <= 5% to the end",
            "summaries: mean counts per kind per frame and pooled cycle-length histograms",
            "expected_counts / expected_divisions are a biased model of simulate (well-mixed payoff, no crowding, "
            "relaxed clock), so the gradient fit has an error floor; a mean-field evaluation "
            "is not a stochastic simulation",
            "one synthetic data set per --seed: errors include its sampling noise",
        ],
    }
    print(f"parameter recovery on {backend} ({meta['device']}), jax {meta['versions']['jax']}",
          flush=True)
    load = meta["load_average_at_start"][0]
    if backend == "cpu" and load > (os.cpu_count() or 1):
        print(f"note: load average {load:.1f} exceeds the {os.cpu_count()} CPUs; timings are noisy.",
              flush=True)

    names, lattice, pop, model, frames = _problem(cfg)
    truth = np.array([TRUTH[k] for k in names])
    key = jax.random.key(args.seed)
    k_data, k_obs, k_rej, k_smc, k_grad = jax.random.split(key, 5)
    true_model = model(jnp.asarray(truth, jnp.float32))
    tables, true_counts = [], []
    for c in range(cfg["replicates"]):
        final, history = simulate(true_model, lattice, pop, key=jax.random.fold_in(k_data, c),
                                  num_steps=cfg["num_steps"], throw=True)
        tables.append(_cell_table(final, history, frames, jax.random.fold_in(k_obs, c),
                                  cfg["drop"], cfg["pos_noise"], colony=c))
        true_counts.append(np.asarray(history.count)[frames])
    table = np.concatenate(tables)
    true_counts = np.mean(true_counts, axis=0)
    obs, obs_hist = _summaries_from_table(table, frames, cfg["replicates"], cfg["bins"])
    binning = _binning(frames, cfg["num_steps"], cfg["bins"])
    print(f"data: {cfg['replicates']} colonies, {len(table)} detections over {len(frames)} frames; "
          f"mean final counts {true_counts[-1].tolist()} (observed {obs[-1].round(1).tolist()}); "
          f"observed cycles per kind {obs_hist.sum(-1).astype(int).tolist()}", flush=True)

    obs_j = jnp.asarray(obs, jnp.float32)
    hist_j = jnp.asarray(obs_hist, jnp.float32)
    run = _make_batch_sim(model, lattice, pop, cfg, frames, obs_j, hist_j, binning)
    t = time.perf_counter()
    run(jnp.tile(jnp.asarray(truth, jnp.float32), (cfg["batch"], 1)), key).block_until_ready()
    compile_s = time.perf_counter() - t
    t = time.perf_counter()
    d_truth = np.asarray(run(jnp.tile(jnp.asarray(truth, jnp.float32), (cfg["batch"], 1)), k_obs))
    sims_per_s = cfg["batch"] * cfg["abc_replicates"] / (time.perf_counter() - t)
    print(f"vmapped simulate: {sims_per_s:.1f} sims/s (batch {cfg['batch']}, compile+first "
          f"{compile_s:.1f} s); distance of one particle ({cfg['abc_replicates']} colonies) at the "
          f"truth: median "
          f"{np.median(d_truth):.3f}", flush=True)

    results = {}
    print("[gradient]", flush=True)
    t = time.perf_counter()
    results["gradient"] = run_gradient(model, pop, names, truth, cfg, frames, obs, obs_hist,
                                      binning, k_grad)
    grad_s = time.perf_counter() - t
    print("[abc-rejection]", flush=True)
    t = time.perf_counter()
    results["abc-rejection"] = run_rejection(run, names, truth, cfg, k_rej)
    rej_s = time.perf_counter() - t
    print("[abc-smc]", flush=True)
    t = time.perf_counter()
    results["abc-smc"] = run_smc(run, names, truth, cfg, k_smc)
    smc_s = time.perf_counter() - t

    summary = {}
    for m, s in zip(results, (grad_s, rej_s, smc_s)):
        curve = results[m]
        best = min(curve, key=lambda c: c["max_rel_error"])
        summary[m] = {"reach_5pct_sims": _first_reach(curve), "sims_total": curve[-1]["sims"],
                      "final_max_rel_error": curve[-1]["max_rel_error"],
                      "final_estimate": curve[-1]["estimate"],
                      "best_max_rel_error": best["max_rel_error"], "best_at_sims": best["sims"],
                      "seconds": s}
    g, smc = summary["gradient"]["reach_5pct_sims"], summary["abc-smc"]["reach_5pct_sims"]
    if g is not None and smc is not None:
        ratio, ratio_note = smc / g, "exact"
    elif g is not None:
        ratio, ratio_note = summary["abc-smc"]["sims_total"] / g, "lower bound (ABC-SMC did not reach 5%)"
    else:
        ratio, ratio_note = None, "gradient did not reach 5%"
    summary["ratio_smc_over_gradient"] = ratio
    summary["ratio_note"] = ratio_note
    summary["goal_met"] = bool(ratio is not None and ratio >= GOAL_RATIO)
    summary["vmapped_simulate_sims_per_s"] = sims_per_s
    summary["distance_at_truth_median"] = float(np.median(d_truth))

    rows = [("method", "sims to 5%", "sims run", "final max err", "best max err", "final estimate", "time")]
    for m in results:
        s = summary[m]
        rows.append((m, "not reached" if s["reach_5pct_sims"] is None else str(s["reach_5pct_sims"]),
                     str(s["sims_total"]), f"{s['final_max_rel_error']:.3f}",
                     f"{s['best_max_rel_error']:.3f}",
                     "[" + ", ".join(f"{v:.3g}" for v in s["final_estimate"]) + "]",
                     f"{s['seconds']:.0f} s"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    print()
    print(f"unknowns {names}, truth {truth.tolist()}")
    print("\n".join(lines))
    rtxt = "-" if ratio is None else f"{ratio:.1f}x ({ratio_note})"
    print(f"ABC-SMC / gradient simulations to 5%: {rtxt}; goal >= {GOAL_RATIO:g}x: "
          f"{'met' if summary['goal_met'] else 'not met'}")
    meta["load_average_at_end"] = list(os.getloadavg())
    write_json(out, {"meta": meta, "unknowns": names, "truth": truth.tolist(),
                      "observed_counts": obs.tolist(), "observed_cycle_histogram": obs_hist.tolist(), "true_counts": true_counts.tolist(),
                      "frames": frames.tolist(), "summary": summary, "curves": results}, default=float)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
