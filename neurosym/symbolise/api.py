"""One call from a label image or a nuclei table at one time point to features, contacts and a population."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import networkx as nx
import numpy as np

from automata.lattice import Lattice
from neurosym.symbolise.contacts import graph_of_labels
from neurosym.symbolise.features import CellFeatures, measure_labels
from neurosym.symbolise.points import points_of
from neurosym.symbolise.population import SymboliseReport, populate
from rules.population import Population

__all__ = ["Symbolised", "symbolise", "symbolise_points"]


@dataclasses.dataclass(frozen=True, eq=False)
class Symbolised:
    """The result of `symbolise` / `symbolise_points`.

    Attributes:
      features: the `CellFeatures` (row i is population slot i).
      graph: the contact graph (`networkx.Graph` over label ids, see `contact_graph`), or None
        for points (a table has no contacts).
      population: the `rules.Population` on the lattice.
      report: the `SymboliseReport` (collisions moved, kind vocabulary).
    """

    features: CellFeatures
    graph: nx.Graph | None
    population: Population
    report: SymboliseReport

    @property
    def symbols(self) -> tuple[str, ...] | None:
        """The kind vocabulary (`report.symbols`)."""
        return self.report.symbols


def symbolise(
    labels,
    lattice: Lattice,
    *,
    intensity=None,
    spacing=None,
    names=None,
    kinds=None,
    symbols=None,
    match: str = "exact",
    capacity: int | None = None,
    features: Sequence[str] | np.ndarray | None = None,
    graph: bool = True,
) -> Symbolised:
    """A label image at one time point to features, contact graph and a lattice population.

    `cell_features` + `contact_graph` + `to_population` in one call; see those for the
    arguments.

    Args:
      labels: integer label image, 2D or 3D, 0 = background.
      lattice: the `automata.Lattice` to place the cells on (same number of axes).
      intensity, spacing, names: as in `cell_features`.
      kinds, symbols, match, capacity, features: as in `to_population`.
      graph: build the contact graph (default True); False leaves `result.graph` None.

    Returns:
      `Symbolised` with `features`, `graph`, `population` and `report`.

    Example:
      >>> import automata
      >>> labels = np.array([[1, 1, 2, 2],
      ...                    [1, 1, 2, 2],
      ...                    [3, 3, 3, 3]])
      >>> out = symbolise(labels, automata.Lattice((3, 2)), names={1: "AB", 2: "P1", 3: "AB"},
      ...                 symbols=("AB", "P1"))
      >>> int(out.population.num_alive), out.population.kind[:3].tolist()
      (3, [0, 1, 0])
      >>> sorted(out.graph.edges), out.report.num_moved
      ([(1, 2), (1, 3), (2, 3)], 0)
    """
    cells = measure_labels(labels, intensity, spacing=spacing, names=names, owner="symbolise")
    population, report = populate(
        cells, lattice, kinds=kinds, symbols=symbols, match=match, capacity=capacity, features=features,
        owner="symbolise",
    )
    g = graph_of_labels(np.asarray(labels), cells.ids, cells.spacing) if graph else None
    return Symbolised(features=cells, graph=g, population=population, report=report)


def symbolise_points(
    cells,
    lattice: Lattice,
    *,
    names=None,
    sizes=None,
    columns: Sequence[str] | None = None,
    kinds=None,
    symbols=None,
    match: str = "exact",
    capacity: int | None = None,
    features: Sequence[str] | np.ndarray | None = None,
    bounds=None,
) -> Symbolised:
    """A nuclei table at one time point (or `(N, D)` positions) to a lattice population.

    `point_features` + `to_population`; see those for the arguments. Points carry no contacts,
    so `result.graph` is None.

    Args:
      cells: a `neurosym.data.CellTable` at one time point (e.g. `table.at(frame)`), a dict of
        its columns (see `table_from_columns`), or an `(N, D)` array of positions.
      lattice: the `automata.Lattice` to place the cells on (same number of axes).
      names, sizes, columns: as in `point_features`.
      kinds, symbols, match, capacity, features, bounds: as in `to_population`.

    Returns:
      `Symbolised` with `features`, `population` and `report` (`graph` None).

    Example:
      >>> import automata
      >>> from neurosym.data import CellTable
      >>> table = CellTable(embryo="e1", cell=["ABa", "ABp", "EMS", "P2"], time_min=[9.0] * 4,
      ...                   frame=[4] * 4, x=[0, 10, 10, 0], y=[0, 0, 10, 10], z=[0, 0, 0, 0])
      >>> out = symbolise_points(table, automata.Lattice((4, 4)),
      ...                        symbols=("AB", "EMS", "P2"), match="prefix")
      >>> out.population.kind[:4].tolist(), out.population.position[:4].tolist()
      ([0, 0, 1, 2], [[0, 0], [3, 0], [3, 3], [0, 3]])
    """
    points = points_of(cells, names=names, sizes=sizes, columns=columns, owner="symbolise_points")
    population, report = populate(
        points, lattice, kinds=kinds, symbols=symbols, match=match, capacity=capacity, features=features,
        bounds=bounds, owner="symbolise_points",
    )
    return Symbolised(features=points, graph=None, population=population, report=report)
