"""Fit a division model to an observed lineage: per-lineage cycle lengths from cell counts.

The model is `rules.expected_counts` of a `rules.DivisionModel` (the relaxed, mean-field
age-structured branching process) whose kinds are the pairs *(lineage, generation)* present in
the data. Daughters' kinds follow the observed lineage: a cell of lineage `L` and generation `g`
gives two daughters of generation `g + 1`, in the lineages its observed daughters belong to (so
the C. elegans founder rules, e.g. EMS -> MS + E, come from the data, not from a table). The
cycle period of kind `(L, g)` is

    period(L, g) = exp(log_period[L] + lengthening[L] * (g - g_ref[L]))

(cell cycles lengthen with generation in early embryos), each lineage has its own asynchrony
(the coefficient of variation of the period, `cv[L]`), and an optional game term adds a
division hazard from a two-value payoff matrix (same lineage / other lineage) on the
well-mixed lineage composition, `h = base_rate * payoff . x` (`rules.PayoffHazard`); switch it off
with `game=False`.

Cells present at the first frame have no observed birth; their clock is set so that they divide
when they were seen to divide (or, if never, at mid-cycle).

The loss is the mean squared relative error of the simulated against the observed number of
cells of each lineage at every frame; it is minimised with `neurosym.fit.fit` from several
starts. `cycle_minutes` reports, per lineage, the model's mean cycle over the same cells whose
cycle the data observed, which is what the directly measured mean
(`neurosym.data.cycle_lengths`) averages: for each such cell, the mean of its kind's period
given that it ended before the recording did (a cycle still running at the end is never
measured, so late generations are seen through their faster cells).
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import optax

import automata
from neurosym import data as nsdata
from neurosym.fit import FitResult, fit
from rules.division import CellCycle, DifferentiationTable, DivisionModel, PayoffHazard, expected_counts
from rules.population import Population

__all__ = ["LineageFit", "LineageModel", "build_model", "fit_lineage"]


@dataclasses.dataclass(frozen=True)
class LineageModel:
    """The observed lineage turned into a division model's structure and its observations.

    Attributes:
      lineages: lineage (group) names, in order.
      kinds: `(lineage, generation)` of every kind.
      table: the `DifferentiationTable` over the kinds.
      kind_lineage: `(K,)` lineage index of every kind.
      kind_offset: `(K,)` generation minus the lineage's reference generation.
      root_kinds: `(N,)` kinds of the cells at the first frame.
      root_division_step: `(N,)` steps after the start at which each root cell divided
        (NaN where it never did in the data).
      dt: minutes per step (the median frame interval).
      num_steps: number of steps simulated.
      times: `(T,)` minutes after the first frame of the observed frames.
      steps: `(T,)` step index (0-based, after that many + 1 steps) of each observed frame.
      observed: `(T, L)` observed number of cells of each lineage at each frame.
      mask: `(T, L)` True where the lineage was still being tracked: after the last frame on
        which any of its undivided cells (leaves) is seen, a lineage is unobserved (tracking of
        a lineage can stop before the recording does; its count of 0 there is not data).
      cycle_weights: `(K,)` number of cells of each kind whose cycle was observed.
      cycle_kinds: `(M,)` kind of each cell whose cycle was observed.
      cycle_window: `(M,)` minutes from that cell's birth to the end of the data: a cycle is
        only observed if it is shorter than this.
      measured_cycle: lineage -> mean observed cycle length in minutes.
      t0: minute of the first frame.
    """

    lineages: tuple[str, ...]
    kinds: tuple[tuple[str, int], ...]
    table: DifferentiationTable
    kind_lineage: np.ndarray
    kind_offset: np.ndarray
    root_kinds: np.ndarray
    root_division_step: np.ndarray
    dt: float
    num_steps: int
    times: np.ndarray
    steps: np.ndarray
    observed: np.ndarray
    mask: np.ndarray
    cycle_weights: np.ndarray
    cycle_kinds: np.ndarray
    cycle_window: np.ndarray
    measured_cycle: dict
    t0: float


def _group(attrs: dict, name) -> str:
    founder = attrs.get("founder")
    return str(founder) if founder not in (None, "") else "all"


def build_model(table: "nsdata.CellTable", graph: nx.DiGraph | None = None) -> LineageModel:
    """Turn one embryo's cell table (and its lineage graph) into a `LineageModel`.

    Raises:
      ValueError: the table holds several embryos, fewer than two frames, or no cell divides.
    """
    embryos = table.embryos()
    if len(embryos) != 1:
        raise ValueError(
            f"fit_lineage fits one embryo at a time; the table holds {len(embryos)} "
            f"({', '.join(map(str, embryos[:5]))}). Pick one with table.select(embryo=...)."
        )
    frames = np.asarray(table.frames())
    if len(frames) < 2:
        raise ValueError("The table has a single frame; fitting division needs a time series.")
    if graph is None:
        graph = nsdata.lineage(table)
    times_all = np.array([float(np.min(table.time_min[table.frame == f])) for f in frames])
    t0 = float(times_all[0])
    gaps = np.diff(times_all)
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        raise ValueError("All frames have the same time; give minutes_per_frame when reading.")
    dt = float(np.median(gaps))

    nodes = {n: d for n, d in graph.nodes(data=True)}
    gen = {n: int(d.get("generation") or 0) for n, d in nodes.items()}
    group = {n: _group(d, n) for n, d in nodes.items()}
    if not any(graph.out_degree(n) >= 2 for n in graph.nodes):
        raise ValueError("No cell divides in this table: there is nothing to fit a division model to.")

    lineages = []
    for f in frames:  # lineage order: by first appearance
        for c in table.at(f).cell:
            g = group.get(c, "all")
            if g not in lineages:
                lineages.append(g)
    # Generations seen per lineage, and one more beyond the last (cells born at the very end).
    kinds_set = set()
    for n in nodes:
        kinds_set.add((group[n], gen[n]))
        kinds_set.add((group[n], gen[n] + 1))
    kinds = sorted(kinds_set, key=lambda k: (lineages.index(k[0]) if k[0] in lineages else 99, k[1]))
    index = {k: i for i, k in enumerate(kinds)}
    # Daughter kinds from the observed divisions (the most common pair per kind).
    pairs: dict = {}
    for n in nodes:
        kids = sorted(graph.successors(n), key=str)
        if len(kids) == 2:
            pair = tuple(sorted(((group[kids[0]], gen[n] + 1), (group[kids[1]], gen[n] + 1))))
            pairs.setdefault((group[n], gen[n]), Counter())[pair] += 1
    rules = {}
    for k in kinds:
        if k in pairs:
            a, b = pairs[k].most_common(1)[0][0]
        else:
            a = b = (k[0], k[1] + 1) if (k[0], k[1] + 1) in index else k
        rules[f"{k[0]}.{k[1]}"] = (f"{a[0]}.{a[1]}", f"{b[0]}.{b[1]}")
    names = [f"{k[0]}.{k[1]}" for k in kinds]
    diff_table = DifferentiationTable.from_names(names, rules)

    gref = {}
    for L in lineages:
        gs = [g for (l2, g) in kinds if l2 == L]
        gref[L] = float(np.median(gs)) if gs else 0.0
    known = {L for L in lineages}
    kind_lineage = np.array([lineages.index(k[0]) if k[0] in known else 0 for k in kinds], np.int32)
    kind_offset = np.array([k[1] - gref.get(k[0], 0.0) for k in kinds], np.float32)

    first = table.at(frames[0])
    roots = [str(c) for c in first.cell]
    root_kinds = np.array([index[(group[c], gen[c])] for c in roots], np.int32)
    div = []
    for c in roots:
        d = nodes[c].get("division_min")
        div.append(np.nan if d is None else (float(d) - t0) / dt)
    root_division_step = np.array(div, np.float32)

    observed = np.zeros((len(frames), len(lineages)), np.float32)
    for i, f in enumerate(frames):
        for c in table.at(f).cell:
            observed[i, lineages.index(group.get(str(c), "all"))] += 1
    # A lineage is tracked until its last leaf's last frame (lineages that only divide into
    # other lineages, such as EMS, have no leaves and are tracked throughout).
    mask = np.ones_like(observed, dtype=bool)
    for i, L in enumerate(lineages):
        leaves = [d.get("last_min") for n, d in nodes.items()
                  if group[n] == L and graph.out_degree(n) == 0 and d.get("last_min") is not None]
        if leaves:
            mask[:, i] = times_all <= max(leaves) + 1e-6
    steps = np.rint((times_all - t0) / dt).astype(np.int64)
    # Frame 0 is the start; observations are after steps[i] steps (index steps[i] - 1).
    keep = steps >= 1
    weights = np.zeros(len(kinds), np.float32)
    t_end = float(times_all[-1])
    ckinds, window = [], []
    for n, d in nodes.items():
        if d.get("cycle_min") is not None and d.get("birth_min") is not None:
            weights[index[(group[n], gen[n])]] += 1
            ckinds.append(index[(group[n], gen[n])])
            window.append(t_end - float(d["birth_min"]))
    measured = {L: v for L, v in nsdata.cycle_lengths(graph).items()}
    return LineageModel(
        lineages=tuple(lineages), kinds=tuple(kinds), table=diff_table,
        kind_lineage=kind_lineage, kind_offset=kind_offset, root_kinds=root_kinds,
        root_division_step=root_division_step, dt=dt, num_steps=int(steps.max()),
        times=times_all[keep] - t0, steps=steps[keep], observed=observed[keep], mask=mask[keep],
        cycle_weights=weights, cycle_kinds=np.array(ckinds, np.int32),
        cycle_window=np.array(window, np.float64), measured_cycle=measured, t0=t0,
    )


def _periods(params, m: LineageModel):
    lp = params["log_period"][m.kind_lineage] + params["lengthening"][m.kind_lineage] * m.kind_offset
    return jnp.exp(lp)


def simulate_counts(params, m: LineageModel, *, game: bool = True, temperature: float = 0.05):
    """Expected number of cells of each lineage after every step, `(num_steps, L)`."""
    periods = _periods(params, m)
    cv = jax.nn.softplus(params["cv_raw"])[m.kind_lineage]
    external = None
    if game:
        same = (m.kind_lineage[:, None] == m.kind_lineage[None, :]).astype(np.float32)
        payoff = params["payoff_same"] * same + params["payoff_other"] * (1.0 - same)
        external = PayoffHazard(payoff=payoff, base_rate=jax.nn.softplus(params["game_rate_raw"]),
                                selection=1.0)
    model = DivisionModel(table=m.table, cycle=CellCycle(period=periods, cv=cv), external=external,
                          dt=m.dt)
    n = len(m.root_kinds)
    lattice = automata.Lattice((max(n, 2),))
    pop = Population.create(lattice, np.arange(n)[:, None], m.root_kinds, capacity=n)
    # Roots divide when they were seen to (clock = period - time to division), else mid-cycle.
    p_root = periods[m.root_kinds]
    to_div = jnp.asarray(m.root_division_step) * m.dt
    clock = jnp.where(jnp.isnan(to_div), 0.5 * p_root, jnp.clip(p_root - to_div + 0.5 * m.dt, 0.0, None))
    pop = pop.replace(clock=clock.astype(pop.clock.dtype))
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
      simulated: `(T, L)` simulated cells per lineage at the observed frames.
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

    def named_params(self) -> dict:
        """Readable fitted parameters: name -> value (floats)."""
        out = {}
        p = self.params
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


def _cycle_minutes(params, m: LineageModel, temperature: float = 0.05) -> dict:
    """The model's mean cycle over the cells whose cycle the data observed, like for like.

    A cycle is only observed when the cell divides before the recording ends, so the measured
    mean is over cycles shorter than each cell's window (birth to end of data). The model's
    counterpart is, for each such cell, the mean of its kind's (lognormal) period given that it
    is shorter than the window, averaged over the same cells.
    """
    from math import erf

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
    L = len(m.lineages)
    guess = _doubling_times(m)
    init = {
        "log_period": jnp.asarray(np.log(guess), jnp.float32),
        "lengthening": jnp.full((L,), 0.1, jnp.float32),
        "cv_raw": jnp.full((L,), -2.0, jnp.float32),
    }
    if game:
        init.update(game_rate_raw=jnp.float32(-6.0), payoff_same=jnp.float32(0.0),
                    payoff_other=jnp.float32(0.0))
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
