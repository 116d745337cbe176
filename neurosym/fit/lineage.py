"""Fit a division model to an observed lineage: per-lineage cycle lengths from cell counts.

The model is `rules.expected_counts` of a `rules.DivisionModel` (the relaxed, mean-field
age-structured branching process: expected counts, not a stochastic simulation) whose kinds are
the pairs *(lineage, generation)* of `neurosym.fit.lineage_model.build_model`. The cycle period
of kind `(L, g)` is

    period(L, g) = exp(log_period[L] + lengthening[L] * (g - g_ref[L]))

(cell cycles lengthen with generation in early embryos; `g_ref[L]` is the lineage's reference
generation, the median of its generations), each lineage has its own asynchrony (the
coefficient of variation of the period, `cv[L]`), and an optional game term adds a division
hazard from a two-value payoff matrix (same lineage / other lineage) on the well-mixed lineage
composition, `h = base_rate * payoff . x` (`rules.PayoffHazard`); switch it off with
`game=False`.

Cells present at the first frame have no observed birth; their clock is set so that they divide
when they were seen to divide (or, if never, at mid-cycle).

The loss is the mean squared relative error of the simulated against the observed number of
cells of each lineage at every frame; it is minimised with `neurosym.fit.fit` from several
starts. `cycle_minutes` reports, per lineage, the model's mean cycle over the same cells whose
cycle the data observed, which is what the directly measured mean
(`neurosym.data.cycle_lengths`) averages: for each such cell, the mean of its kind's period
given that it ended before the recording did (a cycle still running at the end is never
measured, so late generations are seen through their faster cells). It differs from the
reference-generation period whenever the periods lengthen across generations.
"""

from __future__ import annotations

import dataclasses
from math import erf

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import optax

import automata
from neurosym import data as nsdata
from neurosym.fit.loop import fit
from neurosym.fit.lineage_model import LineageModel, build_model
from neurosym.fit.result import FitResult
from rules.division import CellCycle, DivisionModel, PayoffHazard, expected_counts
from rules.population import Population

__all__ = [
    "LineageFit", "LineageModel", "build_model", "division_model", "fit_lineage", "initial_params", "root_clocks",
    "simulate_counts",
]


def _periods(params, m: LineageModel):
    lp = params["log_period"][m.kind_lineage] + params["lengthening"][m.kind_lineage] * m.kind_offset
    return jnp.exp(lp)


def division_model(params, m: LineageModel, *, game: bool = True, dt: float | None = None) -> DivisionModel:
    """The fitted `DivisionModel` over the model's kinds (`dt` in minutes, default the frame interval).

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> m = build_model(load_celegans())
      >>> division_model(initial_params(m), m, dt=1.0).num_kinds == len(m.kinds)
      True
    """
    periods = _periods(params, m)
    cv = jax.nn.softplus(params["cv_raw"])[m.kind_lineage]
    external = None
    if game:
        same = (m.kind_lineage[:, None] == m.kind_lineage[None, :]).astype(np.float32)
        payoff = params["payoff_same"] * same + params["payoff_other"] * (1.0 - same)
        external = PayoffHazard(payoff=payoff, base_rate=jax.nn.softplus(params["game_rate_raw"]),
                                selection=1.0)
    return DivisionModel(table=m.table, cycle=CellCycle(period=periods, cv=cv), external=external,
                         dt=m.dt if dt is None else float(dt))


def root_clocks(params, m: LineageModel) -> jax.Array:
    """`(N,)` minutes on the clocks of the first frame's cells, so that each divides when it was
    seen to (or, if never, at mid-cycle)."""
    p_root = _periods(params, m)[m.root_kinds]
    to_div = jnp.asarray(m.root_division_step) * m.dt
    return jnp.where(jnp.isnan(to_div), 0.5 * p_root, jnp.clip(p_root - to_div + 0.5 * m.dt, 0.0, None))


def simulate_counts(params, m: LineageModel, *, game: bool = True, temperature: float = 0.05):
    """Expected number of cells of each lineage after every step, `(num_steps, L)`.

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> m = build_model(load_celegans())
      >>> simulate_counts(initial_params(m), m).shape == (m.num_steps, len(m.lineages))
      True
    """
    model = division_model(params, m, game=game)
    n = len(m.root_kinds)
    pop = Population.create(automata.Lattice((max(n, 2),)), np.arange(n)[:, None], m.root_kinds, capacity=n)
    pop = pop.replace(clock=root_clocks(params, m).astype(pop.clock.dtype))
    hist = expected_counts(model, pop, num_steps=m.num_steps, temperature=temperature)
    onehot = jax.nn.one_hot(m.kind_lineage, len(m.lineages), dtype=hist.count.dtype)
    return hist.count @ onehot


@dataclasses.dataclass
class LineageFit:
    """What `fit_lineage` returns.

    Attributes:
      model: the `LineageModel` (structure and observations).
      params: fitted parameters (dict of arrays).
      result: the `neurosym.fit.FitResult` (loss history, all starts, diagnostics).
      cycle_minutes: lineage -> fitted mean cycle length in minutes (see module docstring).
      measured_cycle: lineage -> mean cycle length measured directly from the lineage.
      simulated: `(T, L)` simulated cells per lineage at the observed frames after the first.
      game: whether the game term was used.
    """

    model: LineageModel
    params: dict
    result: FitResult
    cycle_minutes: dict
    measured_cycle: dict
    simulated: np.ndarray
    game: bool

    @property
    def observed_total(self) -> np.ndarray:
        """Total observed cells at each frame (lineages no longer tracked count as observed 0)."""
        return self.model.observed.sum(axis=1)

    @property
    def simulated_total(self) -> np.ndarray:
        return self.simulated.sum(axis=1)

    @property
    def complete(self) -> np.ndarray:
        """`(T,)` True at frames where every lineage was still being tracked."""
        return self.model.mask.all(axis=1)

    def per_frame(self) -> dict:
        """Every frame, the first included: `minutes` `(T+1,)` after the first frame, `observed`
        and `simulated` `(T+1, L)` cells per lineage, `tracked` `(T+1, L)` as `model.mask`.

        The model starts from the first frame's cells, so there it equals the observation.
        """
        m = self.model
        return {
            "minutes": np.concatenate([[0.0], m.times]),
            "observed": np.concatenate([m.initial[None], m.observed]),
            "simulated": np.concatenate([m.initial[None], self.simulated]),
            "tracked": np.concatenate([np.ones((1, len(m.lineages)), bool), m.mask]),
        }

    def relative_rms(self) -> float:
        """RMS of (simulated - observed) total cell counts over the RMS of the observed counts,
        over the frames where every lineage was tracked."""
        keep = self.complete
        obs, sim = self.observed_total[keep], self.simulated_total[keep]
        return float(np.sqrt(np.mean((sim - obs) ** 2)) / np.sqrt(np.mean(obs ** 2)))

    def cycle_errors(self) -> dict:
        """Lineage -> relative error of the fitted against the measured mean cycle length."""
        return {L: abs(self.cycle_minutes[L] - v) / v for L, v in self.measured_cycle.items()
                if L in self.cycle_minutes and v > 0}

    def named_params(self, params: dict | None = None) -> dict:
        """Readable parameters (default the fitted ones): name -> value (floats)."""
        p = self.params if params is None else params
        out = {}
        cv = np.asarray(jax.nn.softplus(p["cv_raw"]))
        for i, L in enumerate(self.model.lineages):
            out[f"period_ref_min[{L}]"] = float(np.exp(p["log_period"][i]))
            out[f"lengthening_per_generation[{L}]"] = float(np.exp(p["lengthening"][i]))
            out[f"asynchrony_cv[{L}]"] = float(cv[i])
        if self.game:
            out["game_base_rate_per_min"] = float(jax.nn.softplus(p["game_rate_raw"]))
            out["payoff_same_lineage"] = float(p["payoff_same"])
            out["payoff_other_lineage"] = float(p["payoff_other"])
        return out

    def start_params(self) -> list[dict]:
        """Every start's readable parameters (`named_params`), in start order."""
        return [self.named_params(jax.tree.map(lambda x, s=s: x[s], self.result.all_params))
                for s in range(self.result.num_starts)]

    def unidentifiable(self, *, max_ratio: float = 2.0, loss_ratio: float = 10.0) -> dict:
        """Periods and lengthenings that the data does not pin down: name -> `(low, high)`.

        A parameter is flagged when the starts that converged (final loss within `loss_ratio`
        times the best) end with values more than `max_ratio` apart (high / low): the counts
        do not pull the starts together, as for a lineage seen as one cell whose division time
        the start already fixes (EMS). Needs two such starts; else nothing is flagged.
        """
        losses = self.result.final_losses()
        best = np.nanmin(losses) if np.isfinite(losses).any() else np.nan
        good = [s for s, v in enumerate(losses) if np.isfinite(v) and v <= loss_ratio * best + 1e-12]
        if len(good) < 2:
            return {}
        every = self.start_params()
        starts = [every[s] for s in good]
        out = {}
        for name in starts[0]:
            if name.startswith(("period_ref_min", "lengthening_per_generation")):
                values = [p[name] for p in starts]
                low, high = min(values), max(values)
                if low > 0 and high / low > max_ratio:
                    out[name] = (low, high)
        return out

    def model_spec(self) -> dict:
        """The whole fitted model as plain data (JSON): kinds, daughters, per-kind periods (minutes)
        and asynchrony, the game term, and the first frame's cells with their clocks."""
        m, p = self.model, self.params
        names = [f"{L}.{g}" for L, g in m.kinds]
        spec = {
            "kinds": names,
            "kind_lineage": [m.lineages[i] for i in m.kind_lineage],
            "daughters": {names[k]: [names[a], names[b]] for k, (a, b) in enumerate(m.table.daughters)},
            "period_min": [float(v) for v in np.asarray(_periods(p, m))],
            "cv": [float(v) for v in np.asarray(jax.nn.softplus(p["cv_raw"]))[m.kind_lineage]],
            "roots": [{"name": n, "kind": names[k], "clock_min": float(c)}
                      for n, k, c in zip(m.root_names, m.root_kinds, np.asarray(root_clocks(p, m)))],
            "game": None,
        }
        if self.game:
            spec["game"] = {"base_rate_per_min": float(jax.nn.softplus(p["game_rate_raw"])),
                            "payoff_same_lineage": float(p["payoff_same"]),
                            "payoff_other_lineage": float(p["payoff_other"])}
        return spec


def _cycle_minutes(params, m: LineageModel, temperature: float = 0.05) -> dict:
    """The model's mean cycle over the cells whose cycle the data observed, like for like.

    A cycle is only observed when the cell divides before the recording ends, so the measured
    mean is over cycles shorter than each cell's window (birth to end of data). The model's
    counterpart is, for each such cell, the mean of its kind's (lognormal) period given that it
    is shorter than the window, averaged over the same cells.
    """
    periods = np.asarray(_periods(params, m), np.float64)
    cv = np.asarray(jax.nn.softplus(params["cv_raw"]), np.float64)[m.kind_lineage]
    sigma = np.sqrt(np.log1p(cv ** 2) + temperature ** 2)
    mu = np.log(periods)
    phi = np.vectorize(lambda z: 0.5 * (1.0 + erf(z / np.sqrt(2.0))))
    k = m.cycle_kinds
    if k.size == 0:
        return {}
    s, u = sigma[k], mu[k]
    logc = np.log(np.maximum(m.cycle_window, 1e-9))
    full = np.exp(u + 0.5 * s ** 2)
    num = phi((logc - u - s ** 2) / s)
    den = phi((logc - u) / s)
    # Where truncation leaves (numerically) nothing, the observed cycle is the window itself.
    mean = np.where(den > 1e-12, full * num / np.maximum(den, 1e-300), m.cycle_window)
    out = {}
    for i, L in enumerate(m.lineages):
        sel = m.kind_lineage[k] == i
        if sel.any():
            out[L] = float(np.mean(mean[sel]))
    return out


def _doubling_times(m: LineageModel) -> np.ndarray:
    """Initial periods from the counts alone: each lineage's mean doubling time, `(L,)` minutes.

    From the first frame where a lineage has cells to its last frame,
    `duration / log2(last count / first count)`; lineages that never double get the median.
    """
    out = np.full(len(m.lineages), np.nan)
    for i in range(len(m.lineages)):
        c = m.observed[:, i]
        seen = np.nonzero(c > 0)[0]
        if seen.size < 2:
            continue
        first, last = seen[0], seen[-1]
        ratio = c[last] / c[first]
        if ratio >= 1.5:
            out[i] = (m.times[last] - m.times[first]) / np.log2(ratio)
    fallback = np.nanmedian(out) if np.isfinite(out).any() else 20.0 * m.dt
    return np.where(np.isfinite(out), out, fallback)


def initial_params(m: LineageModel, *, game: bool = True) -> dict:
    """The first start: each lineage's doubling time in the counts, slight lengthening, low asynchrony.

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> sorted(initial_params(build_model(load_celegans()), game=False))
      ['cv_raw', 'lengthening', 'log_period']
    """
    num_lineages = len(m.lineages)
    init = {
        "log_period": jnp.asarray(np.log(_doubling_times(m)), jnp.float32),
        "lengthening": jnp.full((num_lineages,), 0.1, jnp.float32),
        "cv_raw": jnp.full((num_lineages,), -2.0, jnp.float32),
    }
    if game:
        init.update(game_rate_raw=jnp.float32(-6.0), payoff_same=jnp.float32(0.0), payoff_other=jnp.float32(0.0))
    return init


def fit_lineage(
    table: "nsdata.CellTable",
    *,
    graph: nx.DiGraph | None = None,
    game: bool = True,
    num_steps: int = 300,
    num_starts: int = 4,
    learning_rate: float = 0.05,
    key: jax.Array | None = None,
    progress: bool = True,
    checkpoint=None,
) -> LineageFit:
    """Fit per-lineage cycle periods, their lengthening and asynchrony to one embryo's lineage.

    Args:
      table: one embryo's `CellTable` (e.g. `neurosym.datasets.load_celegans()`).
      graph: its lineage graph (default `neurosym.data.lineage(table)`).
      game: include the game (division hazard from payoffs) term.
      num_steps: optimiser steps.
      num_starts: starts: the first from each lineage's doubling time in the counts, the others
        jittered around it.
      learning_rate: Adam learning rate.
      key: PRNG key (default `jax.random.key(0)`).
      progress: print progress lines.
      checkpoint: optional checkpoint path (see `neurosym.fit.fit`).

    Returns:
      `LineageFit`.

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> res = fit_lineage(load_celegans(), num_steps=5, num_starts=1, progress=False)
      >>> sorted(res.cycle_minutes)[:3]
      ['AB', 'C', 'D']
    """
    m = build_model(table, graph)
    init = initial_params(m, game=game)
    observed = jnp.asarray(m.observed)
    idx = jnp.asarray(m.steps - 1)

    mask = jnp.asarray(m.mask, jnp.float32)

    def loss(params, ctx):
        sim = simulate_counts(params, m, game=game)[idx]
        obs = ctx.data
        return jnp.sum(mask * ((sim - obs) / (obs + 1.0)) ** 2) / jnp.sum(mask)

    spread = {k: (0.3 if k == "log_period" else 0.05) for k in init}
    res = fit(loss, init, key=key if key is not None else jax.random.key(0), num_steps=num_steps,
              data=observed, optimizer=optax.adam(learning_rate), num_starts=num_starts,
              init_spread=spread, progress=progress, checkpoint=checkpoint, throw=False)
    params = jax.tree_util.tree_map(jnp.asarray, res.params)
    sim = np.asarray(simulate_counts(params, m, game=game))[m.steps - 1]
    return LineageFit(model=m, params=params, result=res, cycle_minutes=_cycle_minutes(params, m),
                      measured_cycle=dict(m.measured_cycle), simulated=sim, game=game)
