"""The expected share of each founder class among an embryo's cells, as a function of its cell count.

A `FounderComposition` holds, for increasing total cell counts, the fraction of cells of each
class in `FOUNDERS` (rows summing to 1). It comes either from tracked embryos directly
(`composition_from_tables`: at every frame, the cells of each class over the cells named) or
from the fitted division-timing model (`composition_from_fit`: the model's expected cells of
each lineage over time, summed to classes, as a function of the expected total). EMS counts
half to MS and half to E.

`composition_loss` compares a classifier's mean class probabilities over the cells of each
time point with the expected composition at that time point's cell count (a KL divergence), a
label-free term: it needs no cell's name, only how many cells there are. `embedded_composition`
is the table shipped with the package, made from the embedded wild-type embryos by
`benchmarks/make_composition.py`.

Example:
  >>> comp = embedded_composition()
  >>> [round(float(v), 3) for v in comp.at(4)]
  [0.5, 0.125, 0.125, 0.0, 0.0, 0.25]
"""

from __future__ import annotations

import dataclasses
import functools
import json
import pathlib
from importlib import resources

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import as_float, check_finite_array, error_if, fail
from neurosym.files import write_json
from neurosym.fit.lineage import LineageFit, simulate_counts
from neurosym.fit.lineage_model import COLLAPSE
from neurosym.founders.classes import FOUNDERS, founder_of
from neurosym.io.table import CellTable

__all__ = ["FounderComposition", "composition_from_fit", "composition_from_tables", "composition_loss",
           "embedded_composition"]

FORMAT = "neurosym.founder_composition"
EMBEDDED = "founder_composition.json"
_MAKE = "python benchmarks/make_composition.py"


def _weights(name: str) -> np.ndarray:
    """`(6,)` how a cell (or lineage) of this name counts towards each class: one-hot, half MS and
    half E for EMS, zeros for a name that is not a Sulston name."""
    out = np.zeros(len(FOUNDERS))
    if name == "EMS":
        out[FOUNDERS.index("MS")] = out[FOUNDERS.index("E")] = 0.5
    elif founder_of(name) is not None:
        out[FOUNDERS.index(founder_of(name))] = 1.0
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class FounderComposition:
    """The fraction of cells of each founder class at increasing total cell counts.

    Attributes:
      totals: `(M,)` strictly increasing total cell counts.
      fractions: `(M, 6)` fraction of cells of each class of `FOUNDERS` at each total; every row
        sums to 1 (rows are renormalised on construction).
      source: how the table was made (e.g. "division-timing model").
      embryos: the embryos it was made from.
      command: the command that made it.

    Example:
      >>> comp = FounderComposition([2, 4], [[0.5, 0, 0, 0, 0, 0.5], [0.5, 0.125, 0.125, 0, 0, 0.25]])
      >>> comp.at([1, 3, 9]).round(4).tolist()
      [[0.5, 0.0, 0.0, 0.0, 0.0, 0.5], [0.5, 0.0625, 0.0625, 0.0, 0.0, 0.375], [0.5, 0.125, 0.125, 0.0, 0.0, 0.25]]
    """

    totals: np.ndarray
    fractions: np.ndarray
    source: str = ""
    embryos: tuple[str, ...] = ()
    command: str = ""

    def __post_init__(self):
        owner = "FounderComposition"
        totals = np.asarray(self.totals, np.float64)
        fractions = np.asarray(self.fractions, np.float64)
        if totals.ndim != 1 or totals.size == 0:
            raise fail(owner, f"totals must be a non-empty 1-D array of cell counts, got shape {totals.shape}.")
        if fractions.shape != (totals.size, len(FOUNDERS)):
            raise fail(owner, f"fractions must have shape (len(totals), {len(FOUNDERS)}) = "
                              f"({totals.size}, {len(FOUNDERS)}), one column per class of FOUNDERS "
                              f"{FOUNDERS}, got {fractions.shape}.")
        check_finite_array(totals, "totals", owner=owner)
        check_finite_array(fractions, "fractions", owner=owner)
        if np.any(np.diff(totals) <= 0):
            raise fail(owner, "totals must increase strictly; sort them and merge repeated totals.")
        if np.any(fractions < 0):
            raise fail(owner, "fractions must be non-negative.")
        sums = fractions.sum(axis=1)
        if np.any(np.abs(sums - 1.0) > 1e-3):
            raise fail(owner, f"fractions must be rows summing to 1, got row sums from {sums.min():.4g} to "
                              f"{sums.max():.4g}; divide each row by its sum.")
        fractions = fractions / sums[:, None]
        totals.flags.writeable = fractions.flags.writeable = False
        object.__setattr__(self, "totals", totals)
        object.__setattr__(self, "fractions", fractions)
        object.__setattr__(self, "embryos", tuple(str(e) for e in self.embryos))

    def at(self, total_cells) -> np.ndarray:
        """`(..., 6)` the fractions at `total_cells` (any shape), linear in the total between the
        table's totals and held at its first and last rows outside them.

        Example:
          >>> FounderComposition([2, 4], np.eye(6)[[0, 5]]).at(3.0).tolist()
          [0.5, 0.0, 0.0, 0.0, 0.0, 0.5]
        """
        x = np.asarray(total_cells, np.float64)
        check_finite_array(x, "total_cells", owner="FounderComposition.at")
        return np.stack([np.interp(x, self.totals, self.fractions[:, j]) for j in range(len(FOUNDERS))], axis=-1)

    def to_dict(self) -> dict:
        """The table as plain data (what `to_json` writes)."""
        return {"format": FORMAT, "version": 1, "founders": list(FOUNDERS),
                "totals": [float(v) for v in self.totals],
                "fractions": [[round(float(v), 6) for v in row] for row in self.fractions],
                "source": self.source, "embryos": list(self.embryos), "command": self.command}

    @classmethod
    def from_dict(cls, data: dict) -> FounderComposition:
        """The table from `to_dict`'s plain data."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise fail("FounderComposition.from_dict", f"data must be a founder composition (format {FORMAT!r}), "
                                                       "as FounderComposition.to_json writes.")
        if tuple(data.get("founders", ())) != FOUNDERS:
            raise fail("FounderComposition.from_dict", f"data's founders must be {list(FOUNDERS)} in that order, "
                                                       f"got {data.get('founders')}.")
        return cls(np.asarray(data["totals"]), np.asarray(data["fractions"]), source=data.get("source", ""),
                   embryos=tuple(data.get("embryos", ())), command=data.get("command", ""))

    def to_json(self, path) -> pathlib.Path:
        """Write the table, with its provenance, as JSON (atomically); returns the path.

        Example:
          >>> import tempfile
          >>> comp = FounderComposition([4], [[0.5, 0.125, 0.125, 0, 0, 0.25]], source="by hand")
          >>> path = comp.to_json(pathlib.Path(tempfile.mkdtemp()) / "c.json")
          >>> FounderComposition.from_json(path).source
          'by hand'
        """
        return write_json(path, self.to_dict())

    @classmethod
    def from_json(cls, path) -> FounderComposition:
        """Read a table that `to_json` wrote."""
        return cls.from_dict(json.loads(pathlib.Path(path).read_text(encoding="utf-8")))


def _tables(tables, owner: str) -> list[CellTable]:
    tables = [tables] if isinstance(tables, CellTable) else list(tables)
    if not tables or not all(isinstance(t, CellTable) for t in tables):
        raise fail(owner, "tables must be a CellTable or a non-empty sequence of them "
                          "(e.g. [neurosym.io.load_celegans(n) for n in neurosym.io.list_celegans('wild-type')]).",
                   TypeError)
    return [t.select(embryo=e) for t in tables for e in t.embryos()]


def _tracked_frames(counts: np.ndarray) -> int:
    """Number of leading frames before any class's count first collapses below `COLLAPSE` of the
    most it had (once it had 8): from there on a lineage is no longer being tracked."""
    most = np.maximum.accumulate(counts, axis=0)
    lost = np.nonzero(((most >= 8) & (counts < COLLAPSE * most)).any(axis=1))[0]
    return int(lost[0]) if lost.size else len(counts)


def composition_from_tables(tables) -> FounderComposition:
    """The composition observed in tracked embryos whose cells have Sulston names.

    At every frame of every embryo, the cells of each class over the cells with a Sulston name
    (EMS half MS, half E), at that frame's total number of cells; averaged over an embryo's
    frames with the same total, then over the embryos that reach that total. An embryo's frames
    stop where tracking stops: at the first frame where any class has fallen below half the most
    cells it had (`neurosym.fit.lineage_model.COLLAPSE`).

    Args:
      tables: one `CellTable` or several (each may hold several embryos).

    Example:
      >>> from neurosym.io import CellTable
      >>> t = CellTable(embryo="e", cell=["AB", "P1", "ABa", "ABp", "P1"], time_min=[0, 0, 1, 1, 1],
      ...               frame=[1, 1, 2, 2, 2], x=[0] * 5, y=[0] * 5, z=[0] * 5)
      >>> comp = composition_from_tables(t)
      >>> comp.totals.tolist(), comp.fractions[1].round(3).tolist()
      ([2.0, 3.0], [0.667, 0.0, 0.0, 0.0, 0.0, 0.333])
    """
    per_embryo = []
    names = []
    for t in _tables(tables, "composition_from_tables"):
        frames, frame_index = np.unique(t.frame, return_inverse=True)
        cells, cell_index = np.unique(t.cell, return_inverse=True)
        weights = np.stack([_weights(str(c)) for c in cells])[cell_index]
        counts = np.zeros((len(frames), len(FOUNDERS)))
        np.add.at(counts, frame_index, weights)
        totals = np.bincount(frame_index, minlength=len(frames)).astype(np.float64)
        keep = np.arange(len(frames)) < _tracked_frames(counts)
        keep &= counts.sum(axis=1) > 0
        fractions = counts[keep] / counts[keep].sum(axis=1, keepdims=True)
        per_total = {n: fractions[totals[keep] == n].mean(axis=0) for n in np.unique(totals[keep])}
        per_embryo.append(per_total)
        names.append(str(t.embryos()[0]))
    all_totals = sorted(set().union(*per_embryo))
    if not all_totals:
        raise fail("composition_from_tables", "tables must hold cells with Sulston names (AB..., MS..., P2, ...); "
                                              "none of their cells has one.")
    fractions = [np.mean([d[n] for d in per_embryo if n in d], axis=0) for n in all_totals]
    return FounderComposition(np.array(all_totals), np.array(fractions), source="tracked embryos (observed)",
                              embryos=tuple(names))


def _model_curve(fit: LineageFit) -> tuple[np.ndarray, np.ndarray]:
    """`(totals, fractions)` of one fitted embryo's expected cells, from its first frame's cells
    to the most cells it had while every lineage was tracked, with totals increasing."""
    b, m = fit.batch, fit.model
    # The population's model (no embryo time scale or departures), its biology only (no
    # tracking loss): what the fit predicts for a new embryo starting from these cells.
    params = dict(fit.params, log_scale=jnp.zeros_like(fit.params["log_scale"]),
                  embryo_dev=jnp.zeros_like(fit.params["embryo_dev"]))
    counts = simulate_counts(params, b, fit.embryo, game=fit.game, observation=False)
    start = np.zeros(len(b.lineages))
    for i, L in enumerate(m.lineages):
        start[b.lineages.index(L)] = m.initial[i]
    # The renewal equation is solved by FFT: a lineage with no cells yet reads as +-1e-6 or so.
    counts = np.maximum(np.concatenate([start[None], counts]).astype(np.float64), 0.0)
    founders = counts @ np.stack([_weights(L) for L in b.lineages])
    totals = counts.sum(axis=1)
    seen = np.concatenate([[m.initial.sum()], m.observed.sum(axis=1)[m.mask.all(axis=1)]])
    rising = np.concatenate([[True], totals[1:] > np.maximum.accumulate(totals)[:-1]])
    keep = rising & (totals <= seen.max()) & (founders.sum(axis=1) > 0)
    return totals[keep], founders[keep] / founders[keep].sum(axis=1, keepdims=True)


def composition_from_fit(fit) -> FounderComposition:
    """The composition the fitted division-timing model expects, at integer total cell counts.

    For every fitted embryo, the model (the population's parameters: no embryo time scale or
    departures, no tracking loss) runs from that embryo's first frame's cells
    (`neurosym.fit.lineage.simulate_counts`); its expected cells per lineage are summed to
    classes (EMS half MS, half E) and divided by their sum, and read at the integer totals the
    expected total passes through, up to the most cells that embryo had while every lineage
    was tracked. The embryos' fractions at each total are averaged over those that reach it.

    Args:
      fit: a `LineageFit` or several (the list `neurosym.fit.lineage.fit_lineages` returns).

    Example:
      >>> from neurosym.io import load_celegans
      >>> from neurosym.fit.lineage import fit_lineage
      >>> comp = composition_from_fit(fit_lineage(load_celegans(), num_steps=2, num_starts=1, progress=False))
      >>> int(comp.totals[0]), round(float(comp.at(4)[0]), 3)
      (4, 0.5)
    """
    fits = [fit] if isinstance(fit, LineageFit) else list(fit)
    if not fits or not all(isinstance(f, LineageFit) for f in fits):
        raise fail("composition_from_fit", "fit must be a LineageFit or a non-empty sequence of them "
                                           "(what neurosym.fit.lineage.fit_lineages returns).", TypeError)
    curves = [_model_curve(f) for f in fits]
    low = min(np.ceil(t[0]) for t, _ in curves)
    high = max(np.floor(t[-1]) for t, _ in curves)
    grid = np.arange(low, high + 1)
    sums, seen = np.zeros((grid.size, len(FOUNDERS))), np.zeros(grid.size)
    for t, f in curves:
        inside = (grid >= t[0]) & (grid <= t[-1])
        sums[inside] += np.stack([np.interp(grid[inside], t, f[:, j]) for j in range(len(FOUNDERS))], axis=-1)
        seen[inside] += 1
    keep = seen > 0
    return FounderComposition(grid[keep], sums[keep] / seen[keep, None], source="division-timing model",
                              embryos=tuple(str(f.batch.embryos[f.embryo]) for f in fits))


def composition_loss(probabilities, groups, expected, *, mask=None) -> jax.Array:
    """Mean over groups of KL(expected composition || mean predicted class probabilities).

    For each group `g` (the cells of one time point), `q_g` is the mean of its cells' class
    probabilities and `e_g = expected[g]`; the loss is the mean of `sum_k e_gk log(e_gk / q_gk)`
    over the groups that have at least one cell. It is 0 exactly when every group's mean
    prediction equals its expected composition. Differentiable in `probabilities`; jit-able
    (the number of groups is `expected`'s static first dimension).

    Args:
      probabilities: `(N, K)` class probabilities of N cells (rows summing to 1; K = 6 for
        `FOUNDERS`).
      groups: `(N,)` int, each cell's group in `0..G-1`.
      expected: `(G, K)` expected composition of each group (e.g. `FounderComposition.at` of
        each time point's cell count).
      mask: optional `(N,)` weights or booleans; cells with weight 0 (padding) are left out.

    Example:
      >>> p = jnp.array([[0.5, 0.5], [0.5, 0.5], [0.9, 0.1]])
      >>> round(float(composition_loss(p, jnp.array([0, 0, 1]), jnp.array([[0.5, 0.5], [0.9, 0.1]]))), 6)
      0.0
      >>> float(composition_loss(p, jnp.array([0, 0, 1]), jnp.array([[0.9, 0.1], [0.9, 0.1]]))) > 0
      True
    """
    owner = "composition_loss"
    p, e = as_float(probabilities), as_float(expected)
    groups = jnp.asarray(groups)
    if p.ndim != 2:
        raise fail(owner, f"probabilities must have shape (N, K), one row of class probabilities per cell, "
                          f"got {p.shape}.")
    if e.ndim != 2 or e.shape[1] != p.shape[1]:
        raise fail(owner, f"expected must have shape (G, {p.shape[1]}), one composition per group over the "
                          f"same classes as probabilities, got {e.shape}.")
    if groups.shape != (p.shape[0],) or not jnp.issubdtype(groups.dtype, jnp.integer):
        raise fail(owner, f"groups must be integers of shape ({p.shape[0]},), each cell's group, got "
                          f"{groups.dtype} of shape {groups.shape}.")
    weight = jnp.ones(p.shape[0], p.dtype) if mask is None else as_float(mask).astype(p.dtype)
    if weight.shape != (p.shape[0],):
        raise fail(owner, f"mask must have shape ({p.shape[0]},), one weight per cell, got {weight.shape}.")
    check_finite_array(p, "probabilities", owner=owner)
    check_finite_array(e, "expected", owner=owner)
    num_groups = e.shape[0]
    error_if((groups < 0) | (groups >= num_groups),
             f"{owner}: groups must lie in 0..{num_groups - 1} (expected has {num_groups} rows).")
    sums = jax.ops.segment_sum(p * weight[:, None], groups, num_segments=num_groups)
    cells = jax.ops.segment_sum(weight, groups, num_segments=num_groups)
    q = jnp.maximum(sums / jnp.maximum(cells, 1e-12)[:, None], 1e-12)
    positive = e > 0
    kl = jnp.sum(jnp.where(positive, e * (jnp.log(jnp.where(positive, e, 1.0)) - jnp.log(q)), 0.0), axis=1)
    present = cells > 0
    return jnp.sum(jnp.where(present, kl, 0.0)) / jnp.maximum(jnp.sum(present), 1)


@functools.lru_cache(maxsize=1)
def embedded_composition() -> FounderComposition:
    """The composition shipped with the package: the division-timing model fitted to the embedded
    wild-type embryos (`neurosym/_data/founder_composition.json`, made by
    `benchmarks/make_composition.py`; its `command` and `embryos` say how).

    Example:
      >>> comp = embedded_composition()
      >>> comp.source, len(comp.embryos)
      ('division-timing model', 9)
    """
    path = resources.files("neurosym") / "_data" / EMBEDDED
    if not path.is_file():
        raise fail("embedded_composition", f"the package has no neurosym/_data/{EMBEDDED}; make it with {_MAKE}.",
                   FileNotFoundError)
    return FounderComposition.from_dict(json.loads(path.read_text(encoding="utf-8")))
