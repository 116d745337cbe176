"""The division-timing model fitted to one or many embryos: its structure, parameters and loss.

Kinds are the pairs *(lineage, generation)* found in any of the embryos (`EmbryoBatch`). A cell
of kind `k = (L, g)` in embryo `e` has a lognormal cycle with median

    period(e, k) = exp(log_period[L] + lengthening[L] * (g - g_ref[L]) + period_dev[k]
                       + embryo_dev[e, L] + log_scale[e])

- `log_period[L] + lengthening[L] * (g - g_ref[L])` is the lineage's trend across generations
  (`g_ref[L]` its reference generation); `period_dev[k]` lets one round depart from the trend,
  shrunk towards it by a Gaussian prior (so a kind seen in few cells stays near its lineage);
- `log_scale[e]` is the embryo's time scale (temperature, or a frame interval that is not
  known) and `embryo_dev[e, L]` its small per-lineage departures, both shrunk towards 0;
- `cv(k) = cv[L] * exp(cv_dev[k])` is the asynchrony of a round (the spread of its cells'
  periods): the lineage's, from which a round may depart (shrunk towards it), so rounds stay
  steps where the data has them and a late round can lose its synchrony;
- `terminal[k]` is the probability that a cell of the kind never divides again (cell-cycle
  exit) and `apoptosis[L]` that its cycle ends in programmed death;
- `loss_rate[e, L]` (per minute) is the observation: cells of the embryo that vanish from the
  tracking at any age (leaving the field of view, lost tracks). It thins the observed counts
  (a lost cell and its progeny are not counted) but is not biology: predictions of a new embryo
  use the training embryos' median rate, and `rules.division.CellCycle` holds only the fates.

The loss of one embryo adds
- counts: the mean squared relative error of the expected observed count of every lineage at
  every frame where the lineage is tracked (`rules.expected_counts`, the relaxed branching
  process, here solved as a renewal equation), divided by `2 * COUNT_NOISE**2`;
- cycles: the mean negative log-likelihood of every cell whose birth was seen: its division
  at its observed age (within one frame), its survival to the end of tracking (censored), or its
  vanishing (death at the end of a cycle, or loss); mixed with a small outlier probability so
  that a misnamed cell cannot dominate;
and the whole fit adds the priors (shrinkage) divided by the number of cells.

Everything runs in steps of each embryo's own frame interval, so embryos recorded at different
rates share one compiled program, `vmap`-ed over embryos.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import log_ndtr

from neurosym.fit.lineage_model import LineageModel, kind_names
from rules.division import CellCycle, DifferentiationTable, DivisionModel, PayoffHazard, expected_counts
from rules.population import Population

__all__ = ["COUNT_NOISE", "PRIORS", "EmbryoBatch", "Terms", "embryo_batch", "initial_params", "loss", "periods"]

#: Relative noise of an observed count (the count term's scale).
COUNT_NOISE = 0.05
#: Outlier probability of one cell's observed fate (misnamed or mistracked cells).
OUTLIER = 1e-3
#: Prior (mean, standard deviation) of each shrunk parameter.
PRIORS = {
    "period_dev": (0.0, 0.2),
    "cv_dev": (0.0, 0.5),
    "embryo_dev": (0.0, 0.05),
    "log_scale": (0.0, 0.25),
    "terminal_raw": (-4.0, 2.0),
    "apoptosis_raw": (-5.0, 2.0),
    "loss_raw": (math.log(1e-4), 2.0),
}


@dataclasses.dataclass(frozen=True)
class Terms:
    """Which parts of the model are fitted: pass one to `fit_lineages(terms=...)` to compare
    rival models on the same data.

    Args:
      kind_deviations: each (lineage, generation) departs from its lineage's trend
        (`period_dev`) and asynchrony (`cv_dev`); off: periods follow `exp(a + lambda * g)`
        only, with one asynchrony per lineage.
      fates: cell-cycle exit and apoptosis are fitted; off: every cell divides.
      cycles: the observed fate of every cell enters the loss; off: counts only.

    `Terms(False, False, False)` is the count-only trend model that `neurosym fit` fitted
    before per-generation cycles and fates.

    Example:
      >>> Terms(kind_deviations=False).apply({"period_dev": jnp.ones(2)})["period_dev"].tolist()
      [0.0, 0.0]
    """

    kind_deviations: bool = True
    fates: bool = True
    cycles: bool = True

    def apply(self, params: dict) -> dict:
        """`params` with the switched-off parts held at their neutral values (no gradient)."""
        out = dict(params)
        if not self.kind_deviations:
            for name in ("period_dev", "cv_dev"):
                if name in out:
                    out[name] = jnp.zeros_like(out[name])
        if not self.fates:
            for name in ("terminal_raw", "apoptosis_raw"):
                if name in out:
                    out[name] = jnp.full_like(out[name], -30.0)
        return out


@dataclasses.dataclass(frozen=True)
class EmbryoBatch:
    """Embryos on one set of kinds, padded to common shapes so one program serves them all.

    Attributes:
      embryos: the embryos' names; models: their `LineageModel`s.
      lineages: lineage names (union, by first appearance); kinds: `(lineage, generation)`.
      table: the `DifferentiationTable` over the kinds (the most common observed daughters).
      kind_lineage: `(K,)` lineage index; kind_offset: `(K,)` generation minus `g_ref`.
      reference_generation: `(L,)` `g_ref` of every lineage.
      dt: `(E,)` minutes per step; num_steps: steps simulated (the longest embryo).
      root_kind, root_alive, root_division_step: `(E, N)` the first frame's cells, padded (a
        division step of -1: never seen to divide).
      steps, frame_valid: `(E, T)` step of every observed frame after the first, and which are real.
      observed, mask: `(E, T, L)` counts and where each lineage is tracked.
      cell_kind, cell_age, cell_status, cell_valid: `(E, C)` the cells whose birth was seen.
    """

    embryos: tuple[str, ...]
    models: tuple[LineageModel, ...]
    lineages: tuple[str, ...]
    kinds: tuple[tuple[str, int], ...]
    table: DifferentiationTable
    kind_lineage: np.ndarray
    kind_offset: np.ndarray
    reference_generation: np.ndarray
    dt: np.ndarray
    num_steps: int
    root_kind: np.ndarray
    root_alive: np.ndarray
    root_division_step: np.ndarray
    steps: np.ndarray
    frame_valid: np.ndarray
    observed: np.ndarray
    mask: np.ndarray
    cell_kind: np.ndarray
    cell_age: np.ndarray
    cell_status: np.ndarray
    cell_valid: np.ndarray

    @property
    def kind_names(self) -> tuple[str, ...]:
        return kind_names(self.kinds)

    def data(self) -> dict:
        """The arrays a loss reads, as a pytree (passed to `neurosym.fit.fit` as `data=`)."""
        return {name: jnp.asarray(getattr(self, name)) for name in (
            "dt", "root_kind", "root_alive", "root_division_step", "steps", "frame_valid",
            "observed", "mask", "cell_kind", "cell_age", "cell_status", "cell_valid")}


def _pad(rows, width, fill, dtype):
    out = np.full((len(rows), max(width, 1)) + np.shape(rows[0])[1:], fill, dtype)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def embryo_batch(models, reference_generation: dict | None = None, names=None) -> EmbryoBatch:
    """Put embryos' `LineageModel`s on one set of kinds and pad them (see `EmbryoBatch`).

    Args:
      models: `LineageModel`s (`neurosym.fit.lineage_model.build_model`), one per embryo.
      reference_generation: optional lineage -> `g_ref` to use (a fitted model's, when
        predicting); other lineages get the median of their generations.
      names: the embryos' names (default their positions).

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> from neurosym.fit.lineage_model import build_model
      >>> b = embryo_batch([build_model(load_celegans())])
      >>> b.observed.shape[0], b.lineages[:3]
      (1, ('AB', 'EMS', 'P2'))
    """
    models = tuple(models)
    lineages: list = []
    for m in models:
        lineages += [L for L in m.lineages if L not in lineages]
    kinds = sorted({k for m in models for k in m.kinds}, key=lambda k: (lineages.index(k[0]), k[1]))
    index = {k: i for i, k in enumerate(kinds)}
    votes: dict = {}
    for m in models:
        for k, (a, b) in enumerate(m.table.daughters):
            if (a, b) != (k, k):
                pair = tuple(sorted((index[m.kinds[a]], index[m.kinds[b]])))
                votes.setdefault(index[m.kinds[k]], Counter())[pair] += 1
    daughters = []
    for k, (L, g) in enumerate(kinds):
        if k in votes:
            daughters.append(votes[k].most_common(1)[0][0])
        else:
            nxt = index.get((L, g + 1), k)
            daughters.append((nxt, nxt))
    table = DifferentiationTable(daughters=tuple(daughters), names=kind_names(kinds))
    given = dict(reference_generation or {})
    gref = np.array([given.get(L, np.median([g for (name, g) in kinds if name == L])) for L in lineages], np.float64)
    kind_lineage = np.array([lineages.index(L) for L, _ in kinds], np.int32)
    kind_offset = np.array([g - gref[lineages.index(L)] for L, g in kinds], np.float32)

    def to_global(m, arr):  # local lineage columns -> global
        out = np.zeros(arr.shape[:-1] + (len(lineages),), arr.dtype)
        for i, L in enumerate(m.lineages):
            out[..., lineages.index(L)] = arr[..., i]
        return out

    n_root = max(len(m.root_kinds) for m in models)
    n_frames = max(len(m.steps) for m in models)
    n_cells = max(len(m.cell_kinds) for m in models)
    tracked = [to_global(m, m.mask.astype(np.int8)).astype(bool) for m in models]
    return EmbryoBatch(
        embryos=tuple(str(n) for n in (names if names is not None else range(len(models)))), models=models,
        lineages=tuple(lineages), kinds=tuple(kinds), table=table, kind_lineage=kind_lineage,
        kind_offset=kind_offset, reference_generation=gref,
        dt=np.array([m.dt for m in models], np.float32),
        num_steps=int(max(m.num_steps for m in models)),
        root_kind=_pad([[index[m.kinds[k]] for k in m.root_kinds] for m in models], n_root, 0, np.int32),
        root_alive=_pad([np.ones(len(m.root_kinds), bool) for m in models], n_root, False, bool),
        root_division_step=_pad([np.nan_to_num(m.root_division_step, nan=-1.0) for m in models], n_root, -1.0,
                                np.float32),
        steps=_pad([m.steps for m in models], n_frames, 1, np.int32),
        frame_valid=_pad([np.ones(len(m.steps), bool) for m in models], n_frames, False, bool),
        observed=_pad([to_global(m, m.observed) for m in models], n_frames, 0.0, np.float32),
        mask=_pad(tracked, n_frames, False, bool),
        cell_kind=_pad([[index[m.kinds[k]] for k in m.cell_kinds] for m in models], n_cells, 0, np.int32),
        cell_age=_pad([m.cell_age for m in models], n_cells, 1.0, np.float32),
        cell_status=_pad([m.cell_status for m in models], n_cells, 1, np.int32),
        cell_valid=_pad([np.ones(len(m.cell_kinds), bool) for m in models], n_cells, False, bool),
    )


# -- parameters ---------------------------------------------------------------------------------

def _doubling_times(m: LineageModel) -> dict:
    """Lineage -> mean doubling time in its counts (minutes), for lineages that double."""
    out = {}
    for i, L in enumerate(m.lineages):
        c = m.observed[:, i]
        seen = np.nonzero(c > 0)[0]
        if seen.size >= 2 and c[seen[-1]] / c[seen[0]] >= 1.5:
            out[L] = (m.times[seen[-1]] - m.times[seen[0]]) / np.log2(c[seen[-1]] / c[seen[0]])
    return out


def robust_trend(x, y, *, iterations: int = 20, cutoff: float = 4.685) -> tuple[float, float]:
    """Intercept and slope of a straight line through `(x, y)` that outliers cannot bend: least
    squares reweighted by Tukey's biweight on residuals scaled by their median absolute deviation.

    Used on the log cycle of every observed cell against its generation: a few mistracked cells
    with "cycles" of minutes (a tracking artefact) get no weight, instead of tilting a lineage's
    trend across generations.

    Example:
      >>> x = np.repeat(np.arange(5.0), 4)
      >>> y = 3.0 + 0.2 * x
      >>> y[-1] = -2.0  # one artefact
      >>> [round(v, 3) for v in robust_trend(x, y)]
      [3.0, 0.2]
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.ones_like(y)
    icept, slope = float(np.median(y)), 0.0
    for _ in range(iterations):
        kept = x[w > 0]
        if kept.size == 0 or np.ptp(kept) == 0:  # the last line stands: no other is defined
            break
        slope, icept = np.polyfit(x, y, 1, w=np.sqrt(w))
        r = y - (icept + slope * x)
        mad = 1.4826 * np.median(np.abs(r - np.median(r)))
        if mad < 1e-9:
            break
        u = r / (cutoff * mad)
        w = np.where(np.abs(u) < 1.0, (1.0 - u ** 2) ** 2, 0.0)
    return float(icept), float(slope)


def initial_params(batch: EmbryoBatch, *, game: bool = False) -> dict:
    """A first start from the data: each lineage's trend fitted to the median observed cycle of
    its kinds (or its doubling time in the counts), the kinds' departures from it, the
    asynchrony from the spread of cycles within kinds, rare exits and deaths.

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> from neurosym.fit.lineage_model import build_model
      >>> p = initial_params(embryo_batch([build_model(load_celegans())]))
      >>> sorted(p)[:4]
      ['apoptosis_raw', 'cv_dev', 'cv_raw', 'embryo_dev']
    """
    b = batch
    num_l, num_k, num_e = len(b.lineages), len(b.kinds), len(b.embryos)
    cycles: dict = {}
    for m in b.models:
        for name, values in m.measured_kind_cycles().items():
            cycles.setdefault(name, []).extend(values)
    doubling: dict = {}
    for m in b.models:
        for L, v in _doubling_times(m).items():
            doubling.setdefault(L, []).append(v)
    fallback = float(np.median([v for vs in doubling.values() for v in vs])) if doubling else 20.0
    log_period = np.zeros(num_l)
    lengthening = np.full(num_l, 0.1)
    dev = np.zeros(num_k)
    kind_spread = np.full(num_k, np.nan)
    spread = []
    for i, L in enumerate(b.lineages):
        ks = [k for k in range(num_k) if b.kind_lineage[k] == i and b.kind_names[k] in cycles]
        x = np.array([b.kind_offset[k] for k in ks], float)
        y = np.array([np.log(np.median(cycles[b.kind_names[k]])) for k in ks], float)
        for k in ks:
            if len(cycles[b.kind_names[k]]) >= 4:
                kind_spread[k] = np.std(np.log(np.maximum(cycles[b.kind_names[k]], 1e-3)))
                spread.append(kind_spread[k])
        if len(ks) >= 2 and np.ptp(x) > 0:
            cx = np.concatenate([np.full(len(cycles[b.kind_names[k]]), b.kind_offset[k], float) for k in ks])
            cy = np.log(np.maximum(np.concatenate([cycles[b.kind_names[k]] for k in ks]), 1e-3))
            icept, slope = robust_trend(cx, cy)
            slope = float(np.clip(slope, -0.5, 0.8))
            log_period[i], lengthening[i] = icept, slope
            for k, xv, yv in zip(ks, x, y):
                dev[k] = np.clip(yv - (icept + slope * xv), -0.6, 0.6)
        elif len(ks) == 1:
            log_period[i] = y[0] - lengthening[i] * x[0]
        else:
            log_period[i] = np.log(np.median(doubling.get(L, [fallback])))
    cv = float(np.clip(np.median(spread) if spread else 0.1, 0.03, 0.5))
    cv_dev = np.where(np.isnan(kind_spread), 0.0, np.clip(np.log(np.maximum(kind_spread, 1e-3) / cv), -1.0, 1.0))
    init = {
        "log_period": jnp.asarray(log_period, jnp.float32),
        "lengthening": jnp.asarray(lengthening, jnp.float32),
        "period_dev": jnp.asarray(dev, jnp.float32),
        "cv_raw": jnp.full((num_l,), math.log(math.expm1(cv)), jnp.float32),
        "cv_dev": jnp.asarray(cv_dev, jnp.float32),
        "terminal_raw": jnp.full((num_k,), PRIORS["terminal_raw"][0], jnp.float32),
        "apoptosis_raw": jnp.full((num_l,), PRIORS["apoptosis_raw"][0], jnp.float32),
        "log_scale": jnp.zeros((num_e,), jnp.float32),
        "embryo_dev": jnp.zeros((num_e, num_l), jnp.float32),
        "loss_raw": jnp.full((num_e, num_l), PRIORS["loss_raw"][0], jnp.float32),
    }
    if game:
        init.update(game_rate_raw=jnp.float32(-6.0), payoff_same=jnp.float32(0.0), payoff_other=jnp.float32(0.0))
    return init


def periods(params, batch: EmbryoBatch, embryo=None):
    """Median periods in minutes: `(K,)` for the population (no embryo terms), or for one
    embryo index (`embryo_dev` and `log_scale` included)."""
    lineage = jnp.asarray(batch.kind_lineage)
    lp = params["log_period"][lineage] + params["lengthening"][lineage] * batch.kind_offset + params["period_dev"]
    if embryo is not None:
        lp = lp + params["embryo_dev"][embryo][lineage] + params["log_scale"][embryo]
    return jnp.exp(lp)


def fates(params, batch: EmbryoBatch) -> dict:
    """`cv`, `terminal` `(K,)` and `apoptosis` `(K,)` of every kind, and `loss_rate` `(E, L)` per minute."""
    lineage = jnp.asarray(batch.kind_lineage)
    terminal = jax.nn.sigmoid(params["terminal_raw"])
    apoptosis = (1.0 - terminal) * jax.nn.sigmoid(params["apoptosis_raw"])[lineage]
    cv = jax.nn.softplus(params["cv_raw"])[lineage] * jnp.exp(params["cv_dev"])
    return {"cv": cv, "terminal": terminal, "apoptosis": apoptosis,
            "loss_rate": jnp.exp(params["loss_raw"])}


def _root_clocks(period_steps, root_kind, root_division_step):
    """Clocks (steps) of the first frame's cells: each divides when it was seen to (or, if never,
    at mid-cycle). A cell that divides later than one period after the start gets a negative
    clock: its cycle starts when the clock reaches 0."""
    p = period_steps[root_kind]
    return jnp.where(root_division_step < 0, 0.5 * p, p - root_division_step + 0.5)


def _population(batch: EmbryoBatch) -> Population:
    """A template population of the padded roots (clocks and kinds are set per embryo)."""
    import automata

    n = batch.root_kind.shape[1]
    return Population.create(automata.Lattice((max(n, 2),)), np.arange(n)[:, None], np.zeros(n, np.int32),
                             capacity=n)


def embryo_counts(params, batch: EmbryoBatch, e, data, *, game: bool = False, temperature: float = 0.05,
                  observation: bool = True):
    """Expected cells per lineage of embryo `e` after every step `(num_steps, L)` (its observed
    counts when `observation`, i.e. thinned by its loss rate; the biology alone otherwise)."""
    f = fates(params, batch)
    dt = data["dt"][e]
    period_steps = periods(params, batch, e) / dt
    loss = f["loss_rate"][e][jnp.asarray(batch.kind_lineage)] * dt if observation else None
    external = None
    if game:
        same = (batch.kind_lineage[:, None] == batch.kind_lineage[None, :]).astype(np.float32)
        payoff = params["payoff_same"] * same + params["payoff_other"] * (1.0 - same)
        external = PayoffHazard(payoff=payoff, base_rate=jax.nn.softplus(params["game_rate_raw"]) * dt,
                                selection=1.0)
    model = DivisionModel(table=batch.table, cycle=CellCycle(period=period_steps, cv=f["cv"],
                                                             terminal=f["terminal"], apoptosis=f["apoptosis"]),
                          death=loss, external=external, dt=1.0)
    pop = _population(batch)
    pop = pop.replace(kind=data["root_kind"][e], alive=data["root_alive"][e],
                      clock=_root_clocks(period_steps, data["root_kind"][e], data["root_division_step"][e]))
    hist = expected_counts(model, pop, num_steps=batch.num_steps, temperature=temperature)
    onehot = jax.nn.one_hot(batch.kind_lineage, len(batch.lineages), dtype=hist.count.dtype)
    return hist.count @ onehot


def _log_sf(x, mu, sigma):
    return log_ndtr(-(jnp.log(jnp.maximum(x, 1e-6)) - mu) / sigma)


def cycle_nll(params, batch: EmbryoBatch, e, data):
    """Mean negative log-likelihood of the observed fates of embryo `e`'s cells (see module)."""
    f = fates(params, batch)
    k = data["cell_kind"][e]
    age, status, valid = data["cell_age"][e], data["cell_status"][e], data["cell_valid"][e]
    dt = data["dt"][e]
    mu = jnp.log(periods(params, batch, e))[k]
    sigma = jnp.sqrt(jnp.log1p(f["cv"][k] ** 2))
    term = f["terminal"][k]
    share = f["apoptosis"][k] / jnp.maximum(1.0 - term, 1e-6)
    rho = f["loss_rate"][e][jnp.asarray(batch.kind_lineage)][k]
    lo, hi = _log_sf(age - 0.5 * dt, mu, sigma), _log_sf(age + 0.5 * dt, mu, sigma)
    log_end = lo + jnp.log(-jnp.expm1(jnp.minimum(hi - lo, -1e-7)))  # log P(end within the frame)
    log_open = jnp.log1p(-term)
    kept = -rho * age
    divided = log_open + jnp.log1p(-share) + log_end + kept
    alive = jnp.logaddexp(jnp.log(term), log_open + _log_sf(age, mu, sigma)) + kept
    vanished = jnp.logaddexp(log_open + jnp.log(jnp.maximum(share, 1e-12)) + log_end + kept,
                             jnp.log(-jnp.expm1(-rho * dt)) + alive)
    ll = jnp.where(status == 0, divided, jnp.where(status == 1, alive, vanished))
    ll = jnp.logaddexp(jnp.log1p(-OUTLIER) + ll, math.log(OUTLIER))
    return -jnp.sum(jnp.where(valid, ll, 0.0)) / jnp.maximum(jnp.sum(valid), 1)


def count_error(params, batch: EmbryoBatch, e, data, *, game: bool = False):
    """Mean squared relative error of embryo `e`'s expected observed counts where tracked."""
    sim = embryo_counts(params, batch, e, data, game=game)[data["steps"][e] - 1]
    obs = data["observed"][e]
    mask = (data["mask"][e] & data["frame_valid"][e][:, None]).astype(sim.dtype)
    return jnp.sum(mask * ((sim - obs) / (obs + 1.0)) ** 2) / jnp.maximum(jnp.sum(mask), 1.0)


def log_prior(params) -> jax.Array:
    """Sum of the Gaussian log-densities (up to constants) of the shrunk parameters."""
    total = 0.0
    for name, (mean, sd) in PRIORS.items():
        total = total - 0.5 * jnp.sum(((params[name] - mean) / sd) ** 2)
    return total


def loss(params, batch: EmbryoBatch, data, *, game: bool = False, count_weight: float | None = None,
         terms: Terms = Terms()):
    """The fit's objective (see module): per-embryo count and cycle terms, `vmap`-ed over
    embryos and averaged, minus the log prior per observed cell; `terms` switches parts off."""
    w = 1.0 / (2.0 * COUNT_NOISE ** 2) if count_weight is None else count_weight
    params = terms.apply(params)
    embryos = jnp.arange(len(batch.embryos))

    def one(e):
        value = w * count_error(params, batch, e, data, game=game)
        if terms.cycles:
            value = value + cycle_nll(params, batch, e, data)
        return value

    per_embryo = jax.vmap(one)(embryos)
    cells = jnp.maximum(jnp.sum(data["cell_valid"]), 1)
    return jnp.mean(per_embryo) - log_prior(params) / cells
