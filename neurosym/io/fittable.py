"""What a division model needs from a cell table before it is fitted: one embryo, two frames, a division."""

from __future__ import annotations

import networkx as nx
import numpy as np

from automata._checks import fail
from neurosym.io.lineage import lineage, one_embryo
from neurosym.io.table import CellTable

__all__ = ["check_fittable"]


def check_fittable(table: CellTable, *, embryo: str | None = None, owner: str = "fit") -> nx.DiGraph:
    """The lineage of `table` if a division model can be fitted to it, else a clear ValueError.

    The readers accept any well-formed table, including one cell or one frame; fitting needs
    more: a single embryo, at least two frames at different times (a time series), and at least
    one division (a cell seen with its daughters).

    Args:
      table: a `CellTable`, e.g. from `neurosym.io.read`.
      embryo: which embryo, if the table holds several.
      owner: the caller named at the start of the messages.

    Returns:
      the lineage graph of that embryo (as `lineage` gives it).

    Raises:
      TypeError: `table` is not a `CellTable`.
      ValueError: an empty table, several embryos and no `embryo`, a single frame, frames all at
        one time, or no division.

    Example:
      >>> t = CellTable(embryo="e", cell=["AB"], time_min=[0.0], frame=[1], x=[0], y=[0], z=[0])
      >>> check_fittable(t)  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: fit: the table must hold at least two frames (a time series), got one (frame 1, 1 cell); ...
    """
    t = one_embryo(table, embryo, owner)
    frames = t.frames()
    num_cells = len(t.cells())
    cells = f"{num_cells} cell{'s' * (num_cells != 1)}"
    if len(frames) < 2:
        raise fail(owner, f"the table must hold at least two frames (a time series), got one (frame "
                          f"{frames[0]}, {cells}); a division model is fitted to how cell counts change over time.")
    if np.ptp(t.time_min) == 0:
        raise fail(owner, f"the table's {len(frames)} frames are all at {t.time_min[0]:g} min; pass "
                          "minutes_per_frame=... when reading so that frames have times.")
    graph = lineage(t)
    if not any(graph.out_degree(n) >= 2 for n in graph.nodes):
        raise fail(owner, f"the table must hold at least one division (a cell seen with its two "
                          f"daughters), got none in {cells} over {len(frames)} frames; a division model "
                          "needs divisions to fit.")
    return graph
