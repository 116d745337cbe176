"""Cells given as points: a `CellTable` at one time point, or `(N, D)` positions, as `CellFeatures`.

A table is a `neurosym.data.CellTable` (read one with `neurosym.data.read(path)` and take a
frame with `table.at(frame)`). A plain mapping of columns is accepted through one conversion,
`table_from_columns`; nothing else is guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax
import numpy as np

from automata._checks import fail
from neurosym.data import CellTable
from neurosym.symbolise._inputs import check_names
from neurosym.symbolise.features import CellFeatures

__all__ = ["point_features", "points_of", "table_from_columns"]

_HOW = (
    "Read a table with neurosym.data.read(path) and take one time point with table.at(frame), build "
    "one with neurosym.data.CellTable(embryo=..., cell=..., time_min=..., frame=..., x=..., y=..., z=...), "
    "or pass a dict of columns (see neurosym.symbolise.table_from_columns; for a pandas DataFrame, dict(df))."
)


# Column names this module once guessed, and the CellTable column each one is spelled as now.
_RENAMED = {
    "name": "cell", "names": "cell", "cell_name": "cell", "cell_names": "cell",
    "sizes": "size", "diameter": "size", "t": "frame", "time": "time_min",
}


def table_from_columns(columns: Mapping) -> CellTable:
    """A `CellTable` from a mapping of columns, e.g. `{"x": [...], "y": [...], "cell": [...]}`.

    The one conversion from plain columns that `point_features`, `symbolise_points` and
    `to_population` apply to a mapping. Keys are `CellTable` field names, taken as they are:
    `x` and `y` (required), `z` (default 0, i.e. 2D), `cell` (default "": unnamed cells),
    `size`, `frame` (default 0), `time_min`, `embryo`, `parent`. Every other key becomes an
    extra column (e.g. a cell type to use as kinds). A key that merely means a core column
    (`name`, `cell_name`, `diameter`, `t`, ...) is refused with the name to use, unless the
    core column is there too.

    Args:
      columns: mapping of column name -> `(N,)` values.

    Returns:
      `CellTable` with N rows.

    Example:
      >>> t = table_from_columns({"x": [1.0, 5.0], "y": [2.0, 2.5], "type": [0, 1]})
      >>> len(t), t.z.tolist(), t.frame.tolist(), t.extra["type"].tolist()
      (2, [0.0, 0.0], [0, 0], [0, 1])
    """
    return _table_from_columns(columns, owner="table_from_columns")


def _table_from_columns(columns, *, owner: str) -> CellTable:
    if not isinstance(columns, Mapping):
        got = type(columns).__name__
        raise fail(owner, f"columns must be a mapping of column name -> values, got {got}.", TypeError)
    keys = [str(k) for k in columns]
    for need in ("x", "y"):
        if need not in columns:
            raise fail(
                owner,
                f"the table must have columns 'x' and 'y' (and 'z' for 3D), but it has no column {need!r}; "
                f"it has {keys}. Rename the coordinate columns.",
            )
    renamed = [(k, _RENAMED[k]) for k in keys if k in _RENAMED and _RENAMED[k] not in columns]
    if renamed:
        old, new = renamed[0]
        raise fail(owner, f"columns must use CellTable's column names: rename {old!r} to {new!r}.")
    n = int(np.size(columns["x"]))
    core = {"embryo": "embryo", "cell": [""] * n, "time_min": None, "frame": [0] * n, "z": [0.0] * n}
    fields = set(CellTable.__dataclass_fields__) - {"extra", "meta"}
    core.update({k: v for k, v in columns.items() if k in fields})
    extra = {k: v for k, v in columns.items() if k not in core}
    return CellTable(**core, extra=extra, meta={"source": "columns"})


def point_features(cells, *, names=None, sizes=None, columns: Sequence[str] | None = None) -> CellFeatures:
    """Cells given as points, e.g. a nuclei table at one time point, as `CellFeatures`.

    Args:
      cells: a `neurosym.data.CellTable` at one time point (one frame of one embryo), a
        mapping of its columns (converted by `table_from_columns`), or an `(N, D)` array of
        coordinates (D = 1, 2 or 3).
      names: `(N,)` cell names, overriding the table's `cell` column.
      sizes: `(N,)` sizes (e.g. nucleus diameter), overriding the table's `size` column.
      columns: the coordinate columns of a table, in lattice-axis order; default
        `("x", "y", "z")`, or `("x", "y")` when every `z` is 0 (a `CellTable` stores 2D data
        with z = 0).

    Returns:
      `CellFeatures` in table order, with `bounds` the points' bounding box (moments None).
      From a table: names from `cell` (None when every name is ""), sizes from `size` (NaN
      where the table has none) and every other column in `columns` (usable as kinds).

    Example:
      >>> from neurosym.data import CellTable
      >>> table = CellTable(embryo="e1", cell=["ABa", "P1"], time_min=[5.0, 5.0], frame=[3, 3],
      ...                   x=[1.0, 5.0], y=[2.0, 2.5], z=[0.0, 1.0])
      >>> f = point_features(table)
      >>> f.centroid.shape, f.names.tolist()
      ((2, 3), ['ABa', 'P1'])
      >>> point_features([[0.0, 1.0], [2.0, 3.0]]).bounds.tolist()
      [[0.0, 1.0], [2.0, 3.0]]
    """
    return points_of(cells, names=names, sizes=sizes, columns=columns, owner="point_features")


def points_of(cells, *, names=None, sizes=None, columns=None, owner: str) -> CellFeatures:
    """`point_features`, with `owner` (the public function called) named in error messages.

    Example:
      >>> points_of({"x": [0.0, 1.0], "y": [0.0, 2.0]}, owner="symbolise_points").ndim
      2
    """
    if isinstance(cells, Mapping):
        cells = _table_from_columns(cells, owner=owner)
    extra: dict[str, np.ndarray] = {}
    if isinstance(cells, CellTable):
        pos, columns = _table_positions(cells, columns, owner=owner)
        if names is None and np.any(cells.cell != ""):
            names = cells.cell
        sizes = cells.size if sizes is None else sizes
        extra = {c: cells.column(c) for c in cells.columns if c not in columns}
    elif isinstance(cells, (np.ndarray, jax.Array, list, tuple)):
        if columns is not None:
            raise fail(
                owner, "columns must be None for an array of positions (columns= only applies to a table).", TypeError
            )
        pos = _array_positions(cells, owner=owner)
    else:
        raise fail(
            owner,
            f"cells must be a CellTable, a dict of its columns or an (N, D) array of positions, got "
            f"{type(cells).__name__}. {_HOW}",
            TypeError,
        )
    n = pos.shape[0]
    bad = ~np.all(np.isfinite(pos), axis=1)
    if np.any(bad):
        raise fail(
            owner,
            f"positions must be finite, got {int(bad.sum())} cells with NaN or infinite positions (first: row "
            f"{int(np.argmax(bad))}); drop or fill them first.",
        )
    size = np.full(n, np.nan) if sizes is None else np.asarray(sizes, np.float64).reshape(-1)
    if size.shape != (n,):
        raise fail(owner, f"sizes must hold one value per cell, shape ({n},), got {size.shape}.")
    return CellFeatures(
        ids=np.arange(n, dtype=np.int64),
        centroid=pos,
        size=size,
        spacing=np.ones(pos.shape[1]),
        bounds=np.stack([pos.min(axis=0), pos.max(axis=0)]),
        names=None if names is None else check_names(names, n, owner=owner),
        columns=extra,
    )


def _table_positions(table: CellTable, columns, *, owner: str):
    """`(N, D)` float64 positions from one time point of a table, and the coordinate columns used."""
    if len(table) == 0:
        raise fail(owner, "cells must hold at least one cell, got an empty table. Check the time point selected.")
    frames, embryos = np.unique(table.frame), table.embryos()
    if frames.size > 1:
        raise fail(
            owner,
            f"cells must be one time point, got a table of {frames.size} frames ({frames[0]} .. {frames[-1]}); "
            "symbolise one time point at a time: table.at(frame).",
        )
    if len(embryos) > 1:
        raise fail(
            owner,
            f"cells must be one embryo, got {len(embryos)} ({', '.join(embryos[:4])}); select one with "
            "table.select(embryo=...).",
        )
    if columns is None:
        columns = ("x", "y", "z") if np.any(table.z != 0) else ("x", "y")
    elif isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise fail(owner, f"columns must be a sequence of column names such as ('x', 'y'), got {columns!r}.", TypeError)
    columns = tuple(columns)
    missing = [c for c in columns if c not in table.columns]
    if missing or not 1 <= len(columns) <= 3:
        raise fail(
            owner,
            f"columns must name 1 to 3 coordinate columns of the table, got {columns!r}; the table has "
            f"{list(table.columns)}.",
        )
    try:
        pos = np.stack([np.asarray(table.column(c), np.float64) for c in columns], 1)
    except (TypeError, ValueError):
        raise fail(owner, f"columns must name numeric columns, got {columns!r}.", TypeError) from None
    return pos, columns


def _array_positions(positions, *, owner: str) -> np.ndarray:
    """`(N, D)` float64 positions from an array, D = 1, 2 or 3."""
    pos = np.asarray(positions)
    if not np.issubdtype(pos.dtype, np.number) or np.iscomplexobj(pos):
        raise fail(
            owner,
            f"cells must be an (N, D) array of numbers or a CellTable, got {type(positions).__name__} of dtype "
            f"{pos.dtype}. {_HOW}",
            TypeError,
        )
    pos = pos.astype(np.float64)
    if pos.ndim == 1:
        pos = pos[:, None]
    if pos.ndim != 2 or not 1 <= pos.shape[1] <= 3:
        raise fail(owner, f"positions must have shape (num_cells, D) with D = 1, 2 or 3, got {pos.shape}.")
    if pos.shape[0] == 0:
        raise fail(owner, "positions must hold at least one cell, got an empty array. Check the time point selected.")
    return pos
