"""Cells to a `rules.Population` on a lattice, with a report of what the placement did.

Each centroid is scaled from the cells' box to the lattice shape (see `placement`); each cell's
kind comes from `kinds`; chosen per-cell features are copied into `Population.features`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from automata._checks import check_int, fail
from automata.lattice import Lattice
from neurosym.symbolise.features import CellFeatures
from neurosym.symbolise.kinds import assign_kinds
from neurosym.symbolise.placement import map_to_sites, place
from neurosym.symbolise.points import points_of
from rules.population import Population

__all__ = ["SymboliseReport", "populate", "to_population"]


@dataclasses.dataclass(frozen=True, eq=False)
class SymboliseReport:
    """What `to_population` did with each cell: where it asked to go and where it went.

    Attributes (N = number of cells, D = lattice.ndim):
      num_cells: N, the number of cells placed (always all of them).
      num_moved: cells that found their site taken and moved to the nearest free site.
      moved: `(num_moved,)` rows (= population slots) of the moved cells, ascending.
      requested: `(N, D)` int site each centroid maps to.
      position: `(N, D)` int site each cell was placed on.
      displacement: `(N,)` float distance in sites between requested and final site (0 for
        cells that did not move; across the wrap for a periodic lattice).
      symbols: the kind vocabulary (kind `k` is `symbols[k]`), or None when kinds are bare
        indices.
      kind_source: where kinds came from: "names", "column '<name>'", "array", "classifier"
        or "constant".
      lattice_shape: the lattice's shape.
      bounds: `(2, D)` box mapped onto the lattice.

    Example:
      >>> import automata
      >>> pop, report = to_population([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0]], automata.Lattice((4, 4)))
      >>> report.num_moved, report.moved.tolist()
      (1, [1])
    """

    num_cells: int
    num_moved: int
    moved: np.ndarray
    requested: np.ndarray
    position: np.ndarray
    displacement: np.ndarray
    symbols: tuple[str, ...] | None
    kind_source: str
    lattice_shape: tuple[int, ...]
    bounds: np.ndarray

    @property
    def max_displacement(self) -> float:
        """Largest distance in sites any cell moved (0.0 when none did)."""
        return float(self.displacement.max()) if self.displacement.size else 0.0

    def __str__(self) -> str:
        shape = "x".join(map(str, self.lattice_shape))
        sites = int(np.prod(self.lattice_shape))
        return (
            f"{self.num_cells} cells on a {shape} lattice ({sites} sites); {self.num_moved} "
            f"moved to the nearest free site (max {self.max_displacement:.2f} sites); kinds "
            f"from {self.kind_source}"
            + (f" over {len(self.symbols)} symbols" if self.symbols is not None else "")
        )


def _check_lattice(cells: CellFeatures, lattice, *, owner: str) -> None:
    """The lattice is an `automata.Lattice` with the cells' number of axes and enough sites."""
    if not isinstance(lattice, Lattice):
        raise fail(
            owner,
            f"lattice must be an automata.Lattice, got {type(lattice).__name__}. Build one with "
            "automata.Lattice(shape), e.g. automata.Lattice((64, 64)).",
            TypeError,
        )
    n, ndim = cells.num_cells, cells.ndim
    if lattice.ndim != ndim:
        fix = (", or select the coordinate columns, e.g. columns=('x', 'y')." if cells.shape is None
               else ", or a label image with as many axes as the lattice.")
        raise fail(
            owner,
            f"lattice must have the cells' number of axes: the cells have {ndim} spatial axes but the "
            f"lattice has {lattice.ndim} (shape {lattice.shape}). Use a {ndim}D lattice{fix}",
        )
    if lattice.num_sites < n:
        side = int(np.ceil(n ** (1.0 / ndim)))
        raise fail(
            owner,
            f"lattice must have a site for every cell: the lattice {lattice.shape} has {lattice.num_sites} "
            f"sites but there are {n} cells; a site holds one cell. Use a lattice with at least {n} sites, "
            f"e.g. automata.Lattice({(side,) * ndim}).",
        )


def _check_bounds(cells: CellFeatures, bounds, *, owner: str) -> np.ndarray:
    """The `(2, D)` box mapped onto the lattice: `bounds` if given (holding every cell), else the cells'."""
    if bounds is None:
        return cells.bounds
    ndim = cells.ndim
    try:
        box = np.asarray(bounds, np.float64)
    except (TypeError, ValueError):
        box = np.zeros(0)
    if box.shape != (2, ndim) or not np.all(np.isfinite(box)) or np.any(box[1] < box[0]):
        raise fail(owner, f"bounds must be a (2, {ndim}) box [low, high] with low <= high, got {bounds!r}.")
    outside = np.any((cells.centroid < box[0]) | (cells.centroid > box[1]), axis=1)
    if np.any(outside):
        first = int(np.argmax(outside))
        raise fail(
            owner,
            f"bounds must hold every cell, but {int(outside.sum())} cells lie outside bounds (first: row "
            f"{first} at {cells.centroid[first].tolist()}); widen bounds, or leave bounds=None to use the "
            "cells' own box.",
        )
    return box


def _population_features(cells: CellFeatures, features, *, owner: str) -> np.ndarray | None:
    """`(N, F)` float32 features for the population: named cell features, or an array."""
    if features is None:
        return None
    if isinstance(features, str):
        return cells.column(features)
    if isinstance(features, Sequence) and all(isinstance(f, str) for f in features):
        return np.concatenate([cells.column(f) for f in features], axis=1) if features else None
    n = cells.num_cells
    feat = np.asarray(features, np.float32)
    if feat.ndim == 1:
        feat = feat[:, None]
    if feat.ndim != 2 or feat.shape[0] != n:
        raise fail(owner, f"features must be names of cell features or an ({n}, F) array, got shape {feat.shape}.")
    return feat


def to_population(
    cells,
    lattice: Lattice,
    *,
    kinds=None,
    symbols=None,
    match: str = "exact",
    capacity: int | None = None,
    features: Sequence[str] | np.ndarray | None = None,
    bounds=None,
) -> tuple[Population, SymboliseReport]:
    """Put cells on a lattice: a `rules.Population` with one root cell per cell, none dropped.

    Each centroid is scaled from the cells' box (`cells.bounds`: the image extent, or the
    points' bounding box) to the lattice shape, axis by axis, and floored to a site. When
    several cells map to one site, the first (lowest row) keeps it and the later ones move, in
    row order, to the nearest free sites (breadth-first over the lattice's neighbours, so
    "nearest" is in neighbour hops, ties to the smallest Euclidean step, then to the lowest
    flat site index; across the edge on a `"wrap"` lattice only; crowded sites are served in
    the order of their first displaced cell; an unconnected explicit neighbourhood falls back
    to Euclidean distance). Moves are counted in the report. Deterministic: the same input
    gives the same placement.

    Args:
      cells: `CellFeatures` (from `cell_features` / `point_features`), or anything
        `point_features` accepts (a `CellTable` at one time point, a dict of its columns,
        `(N, D)` positions).
      lattice: the `automata.Lattice`; `lattice.ndim` must equal the cells' number of axes,
        and it needs at least as many sites as there are cells.
      kinds: each cell's kind. None: from the cells' names if they have names, else all 0.
        A sequence of `N` names (mapped through `symbols`), of `N` integer kind indices, a
        column name (`"names"` or a key of `cells.columns`, e.g. a table's cell-type column),
        or a classifier: a callable `CellFeatures -> (N,)` kind indices or names.
      symbols: the kind vocabulary, a sequence of names (kind `k` is `symbols[k]`) or a
        mapping name -> index. Names outside it raise a `ValueError` listing it. Without
        symbols, names are numbered in sorted order (see `report.symbols`).
      match: how names meet symbols: `"exact"`, or `"prefix"` (the longest symbol the name
        starts with, e.g. `"ABalp"` -> `"AB"` with founder symbols).
      capacity: population slots (default N, no room to divide); use
        `N + 2 * expected_divisions` to simulate growth.
      features: per-cell features to copy into `Population.features`: names among
        `FEATURE_NAMES` and `cells.columns` (concatenated in order), or an `(N, F)` array.
      bounds: `(2, D)` box `[low, high]` to map onto the lattice instead of `cells.bounds`
        (same units as the centroids); every cell must lie inside it.

    Returns:
      `(population, report)`: the `Population` (cell `i` in slot `i`, `num_alive == N`) and a
      `SymboliseReport`.

    Example:
      >>> import automata
      >>> from neurosym.symbolise import point_features
      >>> cells = point_features([[0.0, 0.0], [0.05, 0.0], [1.0, 1.0]],
      ...                        names=["AB", "AB", "P1"])
      >>> pop, report = to_population(cells, automata.Lattice((8, 8), boundary="fixed"))
      >>> int(pop.num_alive), report.num_moved, report.symbols
      (3, 1, ('AB', 'P1'))
      >>> pop.position[:3].tolist(), pop.kind[:3].tolist()
      ([[0, 0], [0, 1], [7, 7]], [0, 0, 1])
    """
    return populate(
        cells, lattice, kinds=kinds, symbols=symbols, match=match, capacity=capacity, features=features,
        bounds=bounds, owner="to_population",
    )


def populate(cells, lattice, *, kinds=None, symbols=None, match="exact", capacity=None, features=None,
             bounds=None, owner: str) -> tuple[Population, SymboliseReport]:
    """`to_population`, with `owner` (the public function called) named in error messages.

    Example:
      >>> import automata
      >>> pop, report = populate([[0.0], [1.0]], automata.Lattice((4,)), owner="symbolise_points")
      >>> pop.position[:2].tolist()
      [[0], [3]]
    """
    if not isinstance(cells, CellFeatures):
        cells = points_of(cells, owner=owner)
    _check_lattice(cells, lattice, owner=owner)
    n = cells.num_cells
    capacity = n if capacity is None else check_int(
        capacity, "capacity", n, owner=owner,
        hint=f"Use capacity >= {n} + 2 * (the number of divisions you expect), or leave it None for {n}.",
    )
    box = _check_bounds(cells, bounds, owner=owner)
    kind, vocab, source = assign_kinds(cells, kinds, symbols, match, owner=owner)
    feat = _population_features(cells, features, owner=owner)
    requested = map_to_sites(cells.centroid, box, lattice.shape)
    position, moved, displacement = place(requested, lattice)
    population = Population.create(lattice, position, kind, capacity=capacity, features=feat)
    report = SymboliseReport(
        num_cells=n,
        num_moved=int(moved.size),
        moved=moved,
        requested=requested,
        position=position,
        displacement=displacement,
        symbols=vocab,
        kind_source=source,
        lattice_shape=lattice.shape,
        bounds=box,
    )
    return population, report
