"""A reporter's expression as evidence of a cell's founder lineage, and nuclei features to learn it from.

EPIC (Murray et al. 2012, doi:10.1101/gr.131920.111) tracked hundreds of C. elegans embryos, each
carrying one fluorescent reporter, and measured the reporter in every named cell. From the
embryos that carry a reporter, `reporter_prior` fits `p(reporter level | founder)` over
`FOUNDERS` as a `rules.GeneExpressionPrior`, ready for `neurosym.constraints.prior_loss` or for
naive Bayes (`prior.log_prob`). The prior must never see the embryo it helps to label: pass that
embryo in `exclude`.

Reporter intensities are not comparable between embryos (strains, microscopes and background
corrections differ by orders of magnitude), so each embryo's cell means are turned into levels:
the normal scores of their ranks among that embryo's cells (`reporter_levels`). A reporter's founder
pattern also changes with stage (pha-4 is off everywhere before gastrulation and on in the gut
and pharynx later), so the prior can be fitted per stage bin of the number of cells: each bin is
its own column ("gene") of the prior, and `stage_expression` puts a cell's level in its bin's
column (NaN elsewhere, which the prior ignores).

`nuclei_features` gives each nucleus its position in the embryo's own body frame at that time
point (centre and principal axes of the nuclei), its size and the number of cells, the label-free
inputs a founder classifier can read from a tracked embryo.

Example:
  >>> import numpy as np
  >>> table = {"e1": {"ABa": 0.0, "ABp": 1.0, "EMS": 5.0, "MSa": 2.0, "Ea": 90.0, "Ca": 0.5,
  ...                 "D": 3.0, "P4": 1.5},
  ...          "e2": {"ABa": 10.0, "ABp": 11.0, "MSa": 12.0, "Ea": 900.0, "Ca": 10.5, "D": 13.0,
  ...                 "P4": 11.5}}
  >>> prior = reporter_prior(table, {"e1": "end-1", "e2": "end-1"}, "end-1", exclude=("e2",))
  >>> prior.kinds[int(prior.assign(np.array([1.5])))]
  'E'
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from jax.scipy.special import ndtri

from automata._checks import check_number, fail
from neurosym.founders.classes import FOUNDERS, founder_of
from rules.priors import GeneExpressionPrior

__all__ = ["NUCLEI_FEATURES", "nuclei_features", "reporter_levels", "reporter_prior", "stage_expression"]

NUCLEI_FEATURES = ("axis1", "axis2", "axis3", "radius", "size", "log2_cells")


def reporter_levels(values) -> np.ndarray:
    """Reporter intensities of one embryo's cells as levels: normal scores of their ranks.

    The level of a value is `Phi^-1((rank + 0.5) / n)` over the `n` measured values (ties share
    their mean rank; `Phi` the standard normal distribution function), so levels are spread as a
    standard normal whatever the embryo's intensity scale, and a Gaussian per founder fits them
    better than it fits raw quantiles. NaN (not measured) stays NaN.

    Args:
      values: `(n,)` intensities, e.g. the mean reporter of each cell over its lifetime.

    Returns:
      `(n,)` float64 levels.

    Example:
      >>> np.round(reporter_levels([10.0, -3.0, np.nan, 500.0]), 3).tolist()
      [0.0, -0.967, nan, 0.967]
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise fail("reporter_levels", f"values must be 1-D (one value per cell), got shape {v.shape}.")
    return _levels(v)


def _levels(v: np.ndarray) -> np.ndarray:
    out = np.full(v.shape, np.nan)
    ok = np.isfinite(v)
    if not ok.any():
        return out
    s = np.sort(v[ok])
    rank = (np.searchsorted(s, v[ok], "left") + np.searchsorted(s, v[ok], "right") - 1) / 2.0
    out[ok] = np.asarray(ndtri(np.asarray((rank + 0.5) / ok.sum(), np.float32)), np.float64)
    return out


def _stage_names(reporter: str, edges: tuple[float, ...]) -> tuple[str, ...]:
    if not edges:
        return (reporter,)
    bounds = (0.0, *edges, np.inf)
    return tuple(f"{reporter}|cells {lo:g}-{hi:g}" for lo, hi in zip(bounds[:-1], bounds[1:]))


def _check_edges(stage_edges, owner: str) -> tuple[float, ...]:
    edges = tuple(check_number(e, "stage_edges", minimum=0.0, owner=owner) for e in stage_edges)
    if any(b <= a for a, b in zip(edges[:-1], edges[1:])):
        raise fail(owner, f"stage_edges must increase strictly (cell counts between stage bins), got {edges}.")
    return edges


def reporter_prior(epic_table: Mapping[str, Mapping[str, float]], embryos: Mapping[str, str], reporter: str, *,
                   exclude: Sequence[str] = (), stages: Mapping[str, float] | None = None,
                   stage_edges: Sequence[float] = (), min_std: float = 0.1) -> GeneExpressionPrior:
    """`p(reporter level | founder)` over `FOUNDERS`, from the embryos that carry one reporter.

    Every embryo of `embryos` whose reporter is `reporter`, and not in `exclude`, gives one row
    per measured cell: the cell's level among that embryo's cells (`reporter_levels`), labelled
    with its founder (`founder_of`; EMS and unnamed cells are left out). Each founder's levels
    are a Gaussian (`GeneExpressionPrior.from_table`, pooled standard deviation, uniform prior
    over founders: add class frequencies where they are known).

    With `stage_edges`, a cell's row goes into the column of its stage bin (`stages[cell]`, e.g.
    the median number of cells while it lives: cells without one are left out), so the prior
    has one column per bin, named `"<reporter>|cells <lo>-<hi>"`; query it with
    `stage_expression` and the same edges.

    Args:
      epic_table: `{embryo: {cell name: mean reporter intensity}}` (NaN or absent = not
        measured), e.g. EPIC's cell x embryo table of mean `blot`.
      embryos: `{embryo: reporter}`, which reporter each embryo carries.
      reporter: the reporter whose prior to build, as named in `embryos`.
      exclude: embryos never to use, above all the embryo the prior will help to label.
      stages: `{cell name: number of cells}` stage of each cell (needed with `stage_edges`).
      stage_edges: increasing cell counts between stage bins; empty for one prior for all
        stages.
      min_std: floor on the per-founder standard deviation of the levels.

    Returns:
      a `rules.GeneExpressionPrior` with kinds `FOUNDERS` and one gene per stage bin.

    Raises:
      ValueError: an empty `embryos`, a reporter no embryo carries (naming those that are
        carried), no embryo left once `exclude` is taken out, an embryo missing from
        `epic_table`, `stage_edges` without `stages`, or a founder without any measured cell.

    Example:
      >>> table = {"a": {"ABa": 1.0, "MSa": 2.0, "Ea": 9.0, "Ca": 3.0, "D": 0.0, "P4": 1.5}}
      >>> reporter_prior(table, {"a": "elt-7"}, "elt-7").genes
      ('elt-7',)
    """
    owner = "reporter_prior"
    if not isinstance(embryos, Mapping) or not isinstance(epic_table, Mapping):
        raise fail(owner, "epic_table and embryos must be dicts: {embryo: {cell: value}} and {embryo: reporter}.",
                   TypeError)
    if not isinstance(reporter, str) or not reporter:
        raise fail(owner, f"reporter must be a non-empty reporter name, got {reporter!r}.", TypeError)
    if isinstance(exclude, str):
        raise fail(owner, f"exclude must be a sequence of embryo names, got the single string {exclude!r}; "
                          f"write exclude=({exclude!r},).", TypeError)
    if not embryos:
        raise fail(owner, "embryos must name at least one embryo and its reporter; the embryo list is empty.")
    carriers = [e for e, r in embryos.items() if r == reporter]
    if not carriers:
        known = sorted({str(r) for r in embryos.values()})
        shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
        raise fail(owner, f"reporter must be carried by an embryo: no embryo carries {reporter!r}. "
                          f"Known reporters: {shown}.")
    excluded = {str(e) for e in exclude}
    use = [e for e in carriers if e not in excluded]
    if not use:
        raise fail(owner, f"embryos must leave at least one embryo carrying {reporter!r} once exclude is taken out: "
                          f"{', '.join(carriers)} carry it and all are excluded, so no prior can be built without "
                          "the embryo(s) it would help to label.")
    missing = [e for e in use if e not in epic_table]
    if missing:
        raise fail(owner, f"epic_table must hold every embryo used: {', '.join(missing)} not in it.")
    edges = _check_edges(stage_edges, owner)
    if edges and stages is None:
        raise fail(owner, "stages must give each cell's stage (number of cells) when stage_edges are given.")
    min_std = check_number(min_std, "min_std", minimum=0.0, open_minimum=True, owner=owner)
    genes = _stage_names(reporter, edges)
    values, labels = [], []
    for e in use:
        cells = [str(c) for c in epic_table[e]]
        raw = np.array([np.nan if v is None else float(v) for v in epic_table[e].values()], dtype=np.float64)
        levels = _levels(raw)
        for cell, level in zip(cells, levels):
            founder = founder_of(cell)
            if founder is None or not np.isfinite(level):
                continue
            column = 0
            if edges:
                stage = stages.get(cell)
                if stage is None or not np.isfinite(stage):
                    continue
                column = int(np.searchsorted(edges, float(stage), side="left"))
            row = np.full(len(genes), np.nan)
            row[column] = level
            values.append(row)
            labels.append(founder)
    absent = [f for f in FOUNDERS if f not in labels]
    if absent:
        raise fail(owner, f"every founder must have measured cells in the embryos used ({', '.join(use)}); "
                          f"{', '.join(absent)} have none.")
    return GeneExpressionPrior.from_table(np.asarray(values), genes=genes, rows=tuple(map(str, range(len(values)))),
                                          labels=tuple(labels), kinds=FOUNDERS, min_std=min_std)


def stage_expression(levels, num_cells, stage_edges: Sequence[float] = ()) -> np.ndarray:
    """Cells' reporter levels laid out as a prior's columns: each level in its stage bin's column.

    Args:
      levels: `(n,)` reporter levels (`reporter_levels`), NaN where not measured.
      num_cells: `(n,)` stage of each cell (number of cells in the embryo at that time point).
      stage_edges: the `stage_edges` the prior was built with.

    Returns:
      `(n, len(stage_edges) + 1)` float64, NaN outside each cell's bin: the `expression` for
      `prior.log_prob` or `prior_loss`.

    Example:
      >>> stage_expression([-0.2, 1.3], [30, 120], (50,)).tolist()
      [[-0.2, nan], [nan, 1.3]]
    """
    owner = "stage_expression"
    lv = np.asarray(levels, dtype=np.float64)
    n = np.asarray(num_cells, dtype=np.float64)
    if lv.ndim != 1 or n.shape != lv.shape:
        raise fail(owner, f"levels and num_cells must be 1-D and of one length, got shapes {lv.shape} and {n.shape}.")
    if not np.isfinite(n).all():
        raise fail(owner, "num_cells must be finite numbers of cells.")
    edges = _check_edges(stage_edges, owner)
    out = np.full((len(lv), len(edges) + 1), np.nan)
    out[np.arange(len(lv)), np.searchsorted(np.asarray(edges, dtype=np.float64), n, side="left")] = lv
    return out


def nuclei_features(time, xyz, size, *, z_scale: float = 1.0) -> np.ndarray:
    """Per nucleus: position in the embryo's body frame at its time point, size and cell count.

    At each time point the nuclei's centre and principal axes (largest spread first) make the
    frame; coordinates are divided by the root-mean-square distance from the centre, so they do
    not grow with the embryo. The axes' order and signs follow the previous time point (the
    closest match), and at the first time point each axis points to where the nuclei are skewed,
    so a frame does not flip between time points. Columns (`NUCLEI_FEATURES`): the three body
    coordinates, the distance from the centre (same unit), the size over the time point's median
    size, and log2 of the number of nuclei at the time point.

    Args:
      time: `(n,)` time point of each nucleus (any sortable numbers: frames or minutes).
      xyz: `(n, 3)` positions (e.g. x, y in pixels and z in planes).
      size: `(n,)` nucleus diameters (positive).
      z_scale: the z step in units of x and y (AceTree's `zpixres`), so that the frame is
        isotropic.

    Returns:
      `(n, 6)` float64 features.

    Example:
      >>> rng = np.random.default_rng(0)
      >>> xyz = rng.normal(size=(40, 3)) * [3.0, 1.0, 0.5]
      >>> f = nuclei_features(np.repeat([1, 2], 20), xyz, np.ones(40))
      >>> f.shape, float(f[0, 5])
      ((40, 6), 4.321928094887363)
    """
    owner = "nuclei_features"
    t = np.asarray(time)
    p = np.asarray(xyz, dtype=np.float64)
    s = np.asarray(size, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise fail(owner, f"time must be 1-D with one time point per nucleus, got shape {t.shape}.")
    if p.shape != (t.size, 3):
        raise fail(owner, f"xyz must have shape (n, 3) = ({t.size}, 3), one position per nucleus; got {p.shape}.")
    if s.shape != t.shape:
        raise fail(owner, f"size must have one value per nucleus, shape ({t.size},); got {s.shape}.")
    if not (np.isfinite(p).all() and np.isfinite(s).all()):
        raise fail(owner, "xyz and size must be finite; drop or fill the nuclei with missing positions or sizes.")
    if (s <= 0).any():
        raise fail(owner, "size must be positive nucleus diameters.")
    z_scale = check_number(z_scale, "z_scale", minimum=0.0, open_minimum=True, owner=owner)
    p = p * np.array([1.0, 1.0, z_scale])
    out = np.zeros((t.size, len(NUCLEI_FEATURES)))
    previous = None
    for tp in np.unique(t):
        rows = np.flatnonzero(t == tp)
        centred = p[rows] - p[rows].mean(axis=0)
        _, vecs = np.linalg.eigh(centred.T @ centred)
        axes = vecs[:, ::-1].T  # rows: principal axes, largest spread first
        axes = _follow(axes, previous, centred)
        previous = axes
        rms = np.sqrt(np.mean(np.sum(centred**2, axis=1)))
        body = centred @ axes.T / (rms if rms > 0 else 1.0)
        out[rows, :3] = body
        out[rows, 3] = np.linalg.norm(body, axis=1)
        out[rows, 4] = s[rows] / np.median(s[rows])
        out[rows, 5] = np.log2(rows.size)
    return out


def _follow(axes: np.ndarray, previous: np.ndarray | None, centred: np.ndarray) -> np.ndarray:
    """The principal axes reordered and signed to match the previous time point's (or, at the
    first time point, signed towards the nuclei's skew)."""
    if previous is None:
        skew = np.sum((centred @ axes.T) ** 3, axis=0)
        return axes * np.where(skew < 0, -1.0, 1.0)[:, None]
    overlap = np.abs(previous @ axes.T)  # [previous axis, new axis]
    best, best_score = None, -1.0
    for perm in ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)):
        score = sum(overlap[i, j] for i, j in enumerate(perm))
        if score > best_score:
            best, best_score = perm, score
    matched = axes[list(best)]
    signs = np.where(np.sum(matched * previous, axis=1) < 0, -1.0, 1.0)
    return matched * signs[:, None]
