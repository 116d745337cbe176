"""Fit the division-timing model to one or many embryos' lineages, and predict new embryos.

The model (`neurosym.fit.timing`) gives every kind *(lineage, generation)* its own cycle
length, shrunk towards a per-lineage trend across generations, and its own asynchrony, shrunk
towards its lineage's; the probability of leaving the cell cycle for good and of programmed
death; and, per embryo, a time scale, small per-lineage departures and an observation loss
rate. It is fitted to the counts of every lineage at every frame (the expected counts of the
relaxed branching process, `rules.expected_counts`) and to the observed fate of every cell
whose birth was seen (division at its age, survival to the end of tracking, or vanishing). Several embryos are fitted
together: the kind and lineage parameters are shared, the embryo terms are each embryo's own,
and the loss is `vmap`-ed over embryos.

`fit_lineage` fits one table, `fit_lineages` several; `predict_lineage` gives a new embryo's
counts and cycle lengths from a fitted model before any of its data is fitted (its time scale
is the training embryos' mean, 0 on the log scale, and its loss rate their median).

`cycle_minutes` reports, per lineage, the model's mean cycle over the same cells whose cycle
the data observed, which is what the directly measured mean (`neurosym.io.cycle_lengths`)
averages: for each such cell, the mean of its kind's period given that it ended before the
recording did (a cycle still running at the end is never measured). `kind_cycles` does the same
per kind.

An optional game term (`game=True`) adds a division hazard from a two-value payoff matrix
(same lineage / other lineage) on the well-mixed lineage composition (`rules.PayoffHazard`). It
is off by default: on held-out embryos it did not improve prediction (benchmarks/README.md).
"""

from __future__ import annotations

import dataclasses
import math
from math import erf

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import optax

from neurosym.fit import timing
from neurosym.fit.lineage_model import LineageModel, build_model
from neurosym.fit.loop import fit
from neurosym.fit.result import FitResult

__all__ = [
    "LineageFit", "LineageModel", "build_model", "fit_lineage", "fit_lineages", "model_spec_params",
    "predict_lineage", "simulate_counts",
]


def simulate_counts(params, batch: timing.EmbryoBatch, embryo: int = 0, *, game: bool = False,
                    observation: bool = True) -> np.ndarray:
    """Expected cells of each of the batch's lineages after every step of one embryo, `(S, L)`.

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> b = timing.embryo_batch([build_model(load_celegans())])
      >>> simulate_counts(timing.initial_params(b), b).shape == (b.num_steps, len(b.lineages))
      True
    """
    return np.asarray(timing.embryo_counts(params, batch, embryo, batch.data(), game=game, observation=observation))


def _truncated_means(periods, cv, kinds, window, temperature=0.05):
    """For each observed cell: the mean of its kind's lognormal period given that it is shorter
    than the cell's window (its birth to the end of the data), like for like with a measured mean."""
    sigma = np.sqrt(np.log1p(cv ** 2) + temperature ** 2)
    mu = np.log(periods)
    phi = np.vectorize(lambda z: 0.5 * (1.0 + erf(z / np.sqrt(2.0))))
    s, u = sigma[kinds], mu[kinds]
    logc = np.log(np.maximum(window, 1e-9))
    full = np.exp(u + 0.5 * s ** 2)
    num = phi((logc - u - s ** 2) / s)
    den = phi((logc - u) / s)
    return np.where(den > 1e-12, full * num / np.maximum(den, 1e-300), window)


@dataclasses.dataclass
class LineageFit:
    """One embryo's view of a fitted (or predicting) division-timing model.

    Attributes:
      model: the embryo's `LineageModel` (structure and observations).
      batch: the `timing.EmbryoBatch` it was fitted or predicted in; embryo: its index there.
      params: the model's parameters (shared and per embryo, over the batch's kinds).
      result: the `neurosym.fit.FitResult` (None for a prediction).
      cycle_minutes: lineage -> fitted mean cycle length (see module docstring).
      measured_cycle: lineage -> mean cycle length measured directly from the lineage.
      simulated: `(T, L)` expected observed cells per lineage at the frames after the first.
      game: whether the game term was used.
      predicted: True when no data of this embryo was fitted (`predict_lineage`).
    """

    model: LineageModel
    batch: timing.EmbryoBatch
    embryo: int
    params: dict
    result: FitResult | None
    cycle_minutes: dict
    measured_cycle: dict
    simulated: np.ndarray
    game: bool = False
    predicted: bool = False

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

    def periods(self, params: dict | None = None) -> np.ndarray:
        """`(K,)` this embryo's median period of every kind of the batch, in minutes."""
        return np.asarray(timing.periods(self.params if params is None else params, self.batch, self.embryo))

    def kind_cycles(self, *, min_cells: int = 1) -> dict:
        """Kind name -> `(measured mean, fitted mean, cells)` over the cells of that kind whose
        cycle was observed (fitted like for like, see module), for kinds with `min_cells` or more."""
        m, b = self.model, self.batch
        keep = m.cell_status == 0
        if not keep.any():
            return {}
        index = {name: i for i, name in enumerate(b.kind_names)}
        kinds = np.array([index[m.kind_names[k]] for k in m.cell_kinds[keep]])
        cv = np.asarray(timing.fates(self.params, b)["cv"], np.float64)
        means = _truncated_means(self.periods().astype(np.float64), cv, kinds, m.cell_window[keep])
        out = {}
        for k in sorted(set(kinds.tolist())):
            sel = kinds == k
            if sel.sum() >= min_cells:
                out[b.kind_names[k]] = (float(np.mean(m.cell_age[keep][sel])), float(np.mean(means[sel])),
                                        int(sel.sum()))
        return out

    def named_params(self, params: dict | None = None) -> dict:
        """Readable parameters of this embryo (default the fitted ones): name -> value (floats)."""
        p = self.params if params is None else params
        b, e = self.batch, self.embryo
        f = timing.fates(p, b)
        cv = np.asarray(jax.nn.softplus(p["cv_raw"]))
        apo = np.asarray(jax.nn.sigmoid(p["apoptosis_raw"]))
        loss = np.asarray(f["loss_rate"])[e]
        out = {}
        for L in self.model.lineages:
            i = b.lineages.index(L)
            ref = float(np.exp(p["log_period"][i] + p["embryo_dev"][e, i] + p["log_scale"][e]))
            out[f"period_ref_min[{L}]"] = ref
            out[f"lengthening_per_generation[{L}]"] = float(np.exp(p["lengthening"][i]))
            out[f"asynchrony_cv[{L}]"] = float(cv[i])
            out[f"apoptosis[{L}]"] = float(apo[i])
            out[f"loss_per_min[{L}]"] = float(loss[i])
        out["time_scale"] = float(np.exp(p["log_scale"][e]))
        if self.game:
            out["game_base_rate_per_min"] = float(jax.nn.softplus(p["game_rate_raw"]))
            out["payoff_same_lineage"] = float(p["payoff_same"])
            out["payoff_other_lineage"] = float(p["payoff_other"])
        return out

    def start_params(self) -> list[dict]:
        """Every start's readable parameters (`named_params`), in start order."""
        if self.result is None:
            return [self.named_params()]
        return [self.named_params(jax.tree.map(lambda x, s=s: x[s], self.result.all_params))
                for s in range(self.result.num_starts)]

    def unidentifiable(self, *, max_ratio: float = 2.0, loss_gap: float = 0.1) -> dict:
        """Periods and lengthenings that the data does not pin down: name -> `(low, high)`.

        A parameter is flagged when the starts that converged (final loss within `loss_gap` of
        the best; the loss is in nats per observed cell) end with values more than `max_ratio`
        apart (high / low): the data does not pull the starts together. Needs two such starts.
        A lineage none of whose cells' cycles was observed (a blastomere seen as one cell, such
        as EMS, whose period only its first division's time sets) is always flagged.
        """
        if self.result is None:
            return {}
        losses = self.result.final_losses()
        best = np.nanmin(losses) if np.isfinite(losses).any() else np.nan
        good = [s for s, v in enumerate(losses) if np.isfinite(v) and v <= best + loss_gap]
        every = self.start_params()
        starts = [every[s] for s in good] or [self.named_params()]
        out = {}
        # A lineage with no observed cycle (a blastomere seen as one cell, such as EMS) has its
        # period set by its first division's time only: the data does not pin it down.
        m = self.model
        timed = {m.kinds[k][0] for k in m.cell_kinds[m.cell_status == 0]}
        for L in m.lineages:
            if L not in timed:
                values = [p[f"period_ref_min[{L}]"] for p in starts]
                out[f"period_ref_min[{L}]"] = (min(values), max(values))
        if len(good) < 2:
            return out
        for name in starts[0]:
            if name.startswith(("period_ref_min", "lengthening_per_generation")):
                values = [p[name] for p in starts]
                low, high = min(values), max(values)
                if low > 0 and high / low > max_ratio and name not in out:
                    out[name] = (low, high)
        return out

    def model_spec(self) -> dict:
        """The whole fitted model as plain data (JSON): kinds, daughters, this embryo's per-kind
        periods (minutes), asynchrony and fates, the first frame's cells with their clocks, the
        game term, and the shared parameters by name (what `predict_lineage` reads)."""
        b, p, m = self.batch, self.params, self.model
        names = list(b.kind_names)
        f = timing.fates(p, b)
        per = self.periods()
        local = np.array([names.index(n) for n in m.kind_names])
        p_root = per[local[m.root_kinds]]
        to_div = m.root_division_step * m.dt
        clocks = np.where(np.isnan(to_div), 0.5 * p_root, p_root - to_div + 0.5 * m.dt)
        spec = {
            "kinds": names,
            "kind_lineage": [b.lineages[i] for i in b.kind_lineage],
            "daughters": {names[k]: [names[a], names[c]] for k, (a, c) in enumerate(b.table.daughters)},
            "period_min": [float(v) for v in per],
            "cv": [float(v) for v in np.asarray(f["cv"])],
            "terminal": [float(v) for v in np.asarray(f["terminal"])],
            "apoptosis": [float(v) for v in np.asarray(f["apoptosis"])],
            "roots": [{"name": n, "kind": m.kind_names[k], "clock_min": float(c)}
                      for n, k, c in zip(m.root_names, m.root_kinds, np.asarray(clocks))],
            "game": None,
            "shared": model_spec_params(p, b),
            "reference_cycles": reference_cycles(b, p),
        }
        if self.game:
            spec["game"] = {"base_rate_per_min": float(jax.nn.softplus(p["game_rate_raw"])),
                            "payoff_same_lineage": float(p["payoff_same"]),
                            "payoff_other_lineage": float(p["payoff_other"])}
        return spec


def model_spec_params(params: dict, batch: timing.EmbryoBatch) -> dict:
    """The shared parameters by name (JSON): per lineage its trend, reference generation,
    asynchrony and apoptosis; per kind its departures from the trend and from the asynchrony,
    and its exit; the training embryos' median loss rate per lineage."""
    loss = np.exp(np.asarray(params["loss_raw"]))
    return {
        "lineages": {L: {"log_period": float(params["log_period"][i]), "lengthening": float(params["lengthening"][i]),
                         "reference_generation": float(batch.reference_generation[i]),
                         "cv_raw": float(params["cv_raw"][i]), "apoptosis_raw": float(params["apoptosis_raw"][i]),
                         "loss_per_min": float(np.median(loss[:, i]))}
                     for i, L in enumerate(batch.lineages)},
        "kinds": {name: {"period_dev": float(params["period_dev"][k]), "cv_dev": float(params["cv_dev"][k]),
                         "terminal_raw": float(params["terminal_raw"][k])}
                  for k, name in enumerate(batch.kind_names)},
        "embryos": {str(e): {"log_scale": float(params["log_scale"][i])} for i, e in enumerate(batch.embryos)},
    }


def _born_and_divided(m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells of one embryo whose birth and division were both seen: kind names, birth
    (minutes after the first frame) and cycle length (minutes)."""
    done = m.cell_status == 0
    last = float(m.times[-1]) if len(m.times) else 0.0
    born = last - m.cell_window[done]
    return np.asarray(m.kind_names, object)[m.cell_kinds[done]], born, m.cell_age[done]


def reference_cycles(batch: timing.EmbryoBatch, params: dict) -> dict:
    """Kind -> `[[birth, cycle], ...]` (minutes) of every fitted embryo's cells whose birth and
    division were seen, each cycle divided by its embryo's fitted time scale: what a new
    embryo's first minutes are compared with to calibrate its pace (`predict_lineage`)."""
    out: dict = {}
    scale = np.exp(np.asarray(params["log_scale"], np.float64))
    for e, m in enumerate(batch.models):
        for k, b, c in zip(*_born_and_divided(m)):
            out.setdefault(str(k), []).append([round(float(b), 3), round(float(c / scale[e]), 3)])
    return out


def _views(batch, params, result, *, game, predicted=False) -> list[LineageFit]:
    data = batch.data()
    out = []
    for e, m in enumerate(batch.models):
        counts = np.asarray(timing.embryo_counts(params, batch, e, data, game=game))
        cols = [batch.lineages.index(L) for L in m.lineages]
        sim = counts[m.steps - 1][:, cols]
        view = LineageFit(model=m, batch=batch, embryo=e, params=params, result=result, cycle_minutes={},
                          measured_cycle=dict(m.measured_cycle), simulated=sim, game=game, predicted=predicted)
        view.cycle_minutes = _cycle_minutes(view)
        out.append(view)
    return out


def _cycle_minutes(view: LineageFit) -> dict:
    """Lineage -> the model's mean cycle over the cells whose cycle was observed (like for like)."""
    m, b = view.model, view.batch
    if m.cycle_kinds.size == 0:
        return {}
    index = {name: i for i, name in enumerate(b.kind_names)}
    kinds = np.array([index[m.kind_names[k]] for k in m.cycle_kinds])
    cv = np.asarray(timing.fates(view.params, b)["cv"], np.float64)
    means = _truncated_means(view.periods().astype(np.float64), cv, kinds, m.cycle_window)
    out = {}
    for i, L in enumerate(m.lineages):
        sel = m.kind_lineage[m.cycle_kinds] == i
        if sel.any():
            out[L] = float(np.mean(means[sel]))
    return out


def fit_lineages(
    tables,
    *,
    graphs=None,
    game: bool = False,
    num_steps: int = 200,
    num_starts: int = 4,
    learning_rate: float = 0.05,
    key: jax.Array | None = None,
    progress: bool = True,
    checkpoint=None,
    terms: timing.Terms = timing.Terms(),
) -> list[LineageFit]:
    """Fit the division-timing model to several embryos at once; one `LineageFit` per embryo.

    Args:
      tables: one `CellTable` per embryo (each one embryo).
      graphs: their lineage graphs (default `neurosym.io.lineage(table)` each).
      game: include the game (division hazard from payoffs) term.
      num_steps: optimiser steps.
      num_starts: starts: the first from the data (`timing.initial_params`), the others
        jittered around it.
      learning_rate: Adam learning rate.
      key: PRNG key (default `jax.random.key(0)`).
      progress: print progress lines.
      checkpoint: optional checkpoint path (see `neurosym.fit.fit`).
      terms: which parts of the model are fitted (`timing.Terms`; default all).

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> fits = fit_lineages([load_celegans()], num_steps=3, num_starts=1, progress=False)
      >>> sorted(fits[0].cycle_minutes)[:3]
      ['AB', 'C', 'D']
    """
    tables = list(tables)
    if not tables:
        raise ValueError("fit_lineages needs at least one table.")
    graphs = [None] * len(tables) if graphs is None else list(graphs)
    if not isinstance(terms, timing.Terms):
        raise TypeError(f"terms must be a neurosym.fit.timing.Terms, got {type(terms).__name__}.")
    if len(graphs) != len(tables):
        raise ValueError(f"graphs must give one graph per table: {len(graphs)} graphs for {len(tables)} tables.")
    models = [build_model(t, g) for t, g in zip(tables, graphs)]
    names = [str(t.embryos()[0]) for t in tables]
    batch = timing.embryo_batch(models, names=names)
    init = timing.initial_params(batch, game=game)

    def loss(params, ctx):
        return timing.loss(params, batch, ctx.data, game=game, terms=terms)

    spread = {k: 0.0 for k in init}
    spread.update(log_period=0.2, lengthening=0.05, cv_raw=0.3)
    res = fit(loss, init, key=key if key is not None else jax.random.key(0), num_steps=num_steps,
              data=batch.data(), optimizer=optax.adam(learning_rate), num_starts=num_starts,
              init_spread=spread, progress=progress, checkpoint=checkpoint, throw=False)
    params = terms.apply(jax.tree_util.tree_map(jnp.asarray, res.params))
    return _views(batch, params, res, game=game)


def fit_lineage(table, *, graph: nx.DiGraph | None = None, game: bool = False, num_steps: int = 200,
                num_starts: int = 4, learning_rate: float = 0.05, key: jax.Array | None = None,
                progress: bool = True, checkpoint=None, terms: timing.Terms = timing.Terms()) -> LineageFit:
    """Fit the division-timing model to one embryo's lineage (`fit_lineages` with one table).

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> res = fit_lineage(load_celegans(), num_steps=3, num_starts=1, progress=False)
      >>> res.simulated.shape == res.model.observed.shape
      True
    """
    return fit_lineages([table], graphs=[graph], game=game, num_steps=num_steps, num_starts=num_starts,
                        learning_rate=learning_rate, key=key, progress=progress, checkpoint=checkpoint,
                        terms=terms)[0]


def _params_from_spec(shared: dict, batch: timing.EmbryoBatch, *, game_spec=None) -> dict:
    """Parameters over `batch`'s kinds from a fitted model's shared parameters by name: kinds
    the fit never saw follow their lineage's trend, with the prior's exit probability, and
    lineages it never saw the median fitted lineage."""
    lineages = dict(shared["lineages"])
    if not lineages:
        raise ValueError("the fitted model has no lineages; fit it again.")
    # A lineage the fit never saw (e.g. P1 in an embryo recorded from two cells) follows the
    # median of the fitted lineages: its cells at the first frame divide when they were seen to.
    typical = {key: float(np.median([v[key] for v in lineages.values()])) for key in next(iter(lineages.values()))}
    for L in batch.lineages:
        lineages.setdefault(L, typical)
    kinds = shared["kinds"]
    lin = [lineages[L] for L in batch.lineages]
    num_e = len(batch.embryos)
    params = {
        "log_period": jnp.asarray([v["log_period"] for v in lin], jnp.float32),
        "lengthening": jnp.asarray([v["lengthening"] for v in lin], jnp.float32),
        "cv_raw": jnp.asarray([v["cv_raw"] for v in lin], jnp.float32),
        "apoptosis_raw": jnp.asarray([v["apoptosis_raw"] for v in lin], jnp.float32),
        "period_dev": jnp.asarray([kinds.get(n, {}).get("period_dev", 0.0) for n in batch.kind_names], jnp.float32),
        "cv_dev": jnp.asarray([kinds.get(n, {}).get("cv_dev", 0.0) for n in batch.kind_names], jnp.float32),
        "terminal_raw": jnp.asarray([kinds.get(n, {}).get("terminal_raw", timing.PRIORS["terminal_raw"][0])
                                     for n in batch.kind_names], jnp.float32),
        "log_scale": jnp.zeros((num_e,), jnp.float32),
        "embryo_dev": jnp.zeros((num_e, len(lin)), jnp.float32),
        "loss_raw": jnp.log(jnp.asarray([[max(v["loss_per_min"], 1e-12) for v in lin]] * num_e, jnp.float32)),
    }
    if game_spec is not None:
        rate = float(game_spec["base_rate_per_min"])
        params.update(game_rate_raw=jnp.float32(math.log(math.expm1(max(rate, 1e-12)))),
                      payoff_same=jnp.float32(game_spec["payoff_same_lineage"]),
                      payoff_other=jnp.float32(game_spec["payoff_other_lineage"]))
    return params


def _calibrated_scale(spec: dict, table, minutes: float) -> float:
    """The embryo's log time scale from the cells born and divided in its first `minutes`,
    against the training embryos' cells of the same kinds born and divided in their first
    `minutes` (`spec["reference_cycles"]`, each on its embryo's time scale): the mean log ratio
    over matched kinds, shrunk towards the population's 0 by its standard error against the
    training embryos' spread of time scales."""
    ref = spec.get("reference_cycles")
    if not ref:
        raise ValueError("this fitted model has no reference cycles to calibrate against; fit it again with "
                         "this version of neurosym fit.")
    early = table.take(np.nonzero(table.time_min <= float(np.min(table.time_min)) + minutes)[0])
    if len(early.frames()) < 2:
        raise ValueError(f"calibrate_minutes={minutes:g} leaves fewer than two frames; give more minutes.")
    few = (f"calibrate_minutes={minutes:g} sees fewer than two cells born and divided in the first {minutes:g} "
           "minutes of kinds the fitted model has seen; give more minutes.")
    try:
        kinds, _, cycle = _born_and_divided(build_model(early))  # all born and divided by then
    except ValueError as err:  # nothing divides in the window
        raise ValueError(few) from err
    residuals = []
    for k in sorted(set(kinds.tolist())):
        train = np.asarray([c for b, c in ref.get(k, []) if b + c <= minutes], float)
        if train.size >= 2:
            residuals += list(np.log(cycle[kinds == k]) - np.mean(np.log(train)))
    if len(residuals) < 2:
        raise ValueError(few)
    r = np.asarray(residuals)
    estimate, se2 = float(np.mean(r)), float(np.var(r, ddof=1) / r.size)
    scales = [v["log_scale"] for v in spec["shared"].get("embryos", {}).values()]
    tau2 = float(np.var(scales, ddof=1)) if len(scales) >= 3 else timing.PRIORS["log_scale"][1] ** 2
    return estimate * tau2 / (tau2 + se2) if tau2 + se2 > 0 else estimate


def predict_lineage(spec: dict, table, *, graph: nx.DiGraph | None = None,
                    calibrate_minutes: float | None = None) -> LineageFit:
    """A new embryo's counts and cycle lengths predicted by a fitted model, none of its data fitted.

    The embryo starts from its first frame's cells (their division times set their clocks, as in
    a fit); everything else comes from `spec`: the kinds' periods (the population's, time scale
    1), asynchrony and fates, and the training embryos' median loss rate.

    Embryos differ in pace (temperature, and the frame interval where it is not known), and
    the pace of a new embryo is not in the model. With `calibrate_minutes=M` its time scale (one
    number) is set from its first `M` minutes before the rest is predicted: a forecast from the
    start of the recording rather than a prediction before any data. The cycles of its cells
    born and divided by then are compared with the fitted embryos' cells of the same kinds born
    and divided by then in their recordings (`spec["reference_cycles"]`, so both sides are cut
    the same way): the mean log ratio, shrunk towards 1 by its standard error against the
    fitted embryos' spread of time scales.

    Args:
      spec: a fitted model: `LineageFit.model_spec()`, or the `"model"` entry of fit.json.
      table: the new embryo's `CellTable`.
      graph: its lineage graph (default `neurosym.io.lineage(table)`).
      calibrate_minutes: set the embryo's time scale from its first this many minutes (default:
        no calibration); too few cells born and divided by then is a ValueError.

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> spec = fit_lineage(load_celegans(), num_steps=3, num_starts=1, progress=False).model_spec()
      >>> pred = predict_lineage(spec, load_celegans())
      >>> pred.predicted, pred.result is None
      (True, True)
    """
    if not isinstance(spec, dict) or "shared" not in spec:
        raise ValueError("spec must be a fitted model: LineageFit.model_spec(), or the 'model' entry of a "
                         "fit.json written by this version of neurosym fit (it has model.shared).")
    if calibrate_minutes is not None and not (np.isfinite(calibrate_minutes) and calibrate_minutes > 0):
        raise ValueError(f"calibrate_minutes must be a positive number of minutes, got {calibrate_minutes!r}.")
    shared = spec["shared"]
    gref = {L: v["reference_generation"] for L, v in shared["lineages"].items()}
    m = build_model(table, graph)
    batch = timing.embryo_batch([m], reference_generation=gref, names=[str(table.embryos()[0])])
    params = _params_from_spec(shared, batch, game_spec=spec.get("game"))
    if calibrate_minutes is not None:
        params["log_scale"] = jnp.full((1,), _calibrated_scale(spec, table, calibrate_minutes), jnp.float32)
    return _views(batch, params, None, game=spec.get("game") is not None, predicted=True)[0]
