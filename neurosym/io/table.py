"""The cell table every reader returns: one row per cell per frame, keyed by embryo, cell and frame."""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from neurosym.io.text import CORE_COLUMNS

__all__ = ["CellTable"]

_FLOAT_COLUMNS = ("time_min", "x", "y", "z", "size")


@dataclass(frozen=True, eq=False)
class CellTable:
    """Cells observed over time: one row per cell per frame, keyed by embryo, cell and frame.

    Columns are read-only 1-D numpy arrays of one length. Positions and sizes stay in the
    units of the source (for AceTree data: x, y in pixels, z in planes, size the nucleus
    diameter in pixels); `meta` says where the table came from and how frames became minutes.

    Attributes:
      embryo: (n,) str, embryo name (a single str is broadcast).
      cell: (n,) str, cell name or track id.
      time_min: (n,) float, time in minutes.
      frame: (n,) int, frame number as in the source.
      x, y, z: (n,) float, position (z is 0 for 2D data).
      size: (n,) float, nucleus diameter (NaN where the source has none).
      parent: (n,) str, the parent cell as given by the source, "" where it gives none
        (`lineage` then derives it from Sulston names).
      extra: further columns by name, each (n,) (e.g. the reporter intensity "blot").
      meta: source, format, time_source and other notes (read-only mapping).

    Example:
      >>> t = CellTable(embryo="e1", cell=["AB", "P1", "ABa", "ABp", "P1"],
      ...               time_min=[0.0, 0.0, 1.5, 1.5, 1.5], frame=[1, 1, 2, 2, 2],
      ...               x=[1, 5, 0, 2, 5], y=[0, 0, 0, 0, 0], z=[0, 0, 0, 0, 0])
      >>> t.counts()
      {0.0: 2, 1.5: 3}
      >>> sorted(t.at(2).cell.tolist())
      ['ABa', 'ABp', 'P1']
    """

    embryo: Any
    cell: Any
    time_min: Any
    frame: Any
    x: Any
    y: Any
    z: Any
    size: Any = None
    parent: Any = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        cell = np.array(self.cell, dtype=str)
        if cell.ndim != 1:
            raise ValueError(f"CellTable: column 'cell' must be 1-D, got shape {cell.shape}.")
        n = cell.shape[0]
        set_ = object.__setattr__
        set_(self, "cell", _readonly(cell))
        set_(self, "embryo", _readonly(_string_column("embryo", self.embryo, "embryo", n)))
        set_(self, "parent", _readonly(_string_column("parent", self.parent, "", n)))
        for name in _FLOAT_COLUMNS:
            set_(self, name, _readonly(_float_column(name, getattr(self, name), n, allow_nan=name == "size")))
        set_(self, "frame", _readonly(_frame_column(self.frame, n)))
        set_(self, "extra", types.MappingProxyType(_extra_columns(self.extra, n)))
        set_(self, "meta", types.MappingProxyType(dict(self.meta)))

    # -- shape and columns -----------------------------------------------------------------

    def __len__(self) -> int:
        return self.cell.shape[0]

    def __repr__(self) -> str:
        if len(self) == 0:
            return "CellTable(0 rows)"
        emb = self.embryos()
        return (
            f"CellTable({len(self)} rows, {len(emb)} embryo{'s' * (len(emb) != 1)}, "
            f"{len(set(self.cell.tolist()))} cells, frames {self.frame.min()}-{self.frame.max()}, "
            f"{self.time_min.min():g}-{self.time_min.max():g} min)"
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of all columns: the core ones, then the extra ones."""
        return CORE_COLUMNS + tuple(self.extra)

    def column(self, name: str) -> np.ndarray:
        """One column by name (core or extra)."""
        if name in CORE_COLUMNS:
            return getattr(self, name)
        if name in self.extra:
            return self.extra[name]
        raise KeyError(f"no column {name!r}; the table has {', '.join(self.columns)}.")

    def as_dict(self) -> dict[str, np.ndarray]:
        """All columns by name, e.g. for `pandas.DataFrame(table.as_dict())`."""
        return {name: self.column(name) for name in self.columns}

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as a list of dicts of Python scalars.

        Example:
          >>> CellTable(embryo="e", cell=["AB"], time_min=[0.0], frame=[1], x=[1], y=[2],
          ...           z=[3]).to_records()[0]["cell"]
          'AB'
        """
        cols = {k: v.tolist() for k, v in self.as_dict().items()}
        return [dict(zip(cols, row)) for row in zip(*cols.values())]

    # -- selections --------------------------------------------------------------------------

    def take(self, index) -> CellTable:
        """The rows at `index` (integer indices or a boolean mask of length n)."""
        index = np.asarray(index)
        if index.dtype == bool and index.shape != (len(self),):
            raise ValueError(f"take: mask has shape {index.shape}, expected ({len(self)},).")
        return CellTable(
            embryo=self.embryo[index], cell=self.cell[index], time_min=self.time_min[index],
            frame=self.frame[index], x=self.x[index], y=self.y[index], z=self.z[index],
            size=self.size[index], parent=self.parent[index],
            extra={k: v[index] for k, v in self.extra.items()}, meta=self.meta,
        )

    def select(self, *, embryo: str | None = None, cells: Iterable[str] | None = None,
               frames: Iterable[int] | None = None) -> CellTable:
        """Rows of one embryo, and/or of some cells, and/or at some frames.

        Example:
          >>> t = CellTable(embryo=["a", "b"], cell=["AB", "AB"], time_min=[0, 0], frame=[1, 1],
          ...               x=[0, 0], y=[0, 0], z=[0, 0])
          >>> len(t.select(embryo="b"))
          1
        """
        mask = np.ones(len(self), dtype=bool)
        if embryo is not None:
            if embryo not in set(self.embryo.tolist()):
                raise KeyError(f"no embryo {embryo!r}; the table has {self.embryos()}.")
            mask &= self.embryo == embryo
        if cells is not None:
            mask &= np.isin(self.cell, np.array(list(cells), dtype=str))
        if frames is not None:
            mask &= np.isin(self.frame, np.array(list(frames), dtype=np.int64))
        return self.take(mask)

    def at(self, frame: int) -> CellTable:
        """The cells seen at one frame (of every embryo in the table)."""
        return self.take(self.frame == int(frame))

    def track(self, cell: str) -> CellTable:
        """The rows of one cell, in frame order."""
        rows = np.flatnonzero(self.cell == cell)
        if rows.size == 0:
            raise KeyError(f"no cell {cell!r} in the table.")
        return self.take(rows[np.argsort(self.frame[rows], kind="stable")])

    def sorted(self) -> CellTable:
        """The rows in embryo, frame and cell order (how the readers return them)."""
        return self.take(np.lexsort((self.cell, self.frame, self.embryo)))

    def embryos(self) -> list[str]:
        """Embryo names, sorted."""
        return sorted(set(self.embryo.tolist()))

    def cells(self) -> list[str]:
        """Cell names, sorted."""
        return sorted(set(self.cell.tolist()))

    def frames(self) -> np.ndarray:
        """Sorted distinct frames."""
        return np.unique(self.frame)

    def counts(self) -> dict[float, int]:
        """Number of cells seen at each time: {minute: count}, for a one-embryo table."""
        emb = self.embryos()
        if len(emb) > 1:
            raise ValueError(
                f"counts: the table holds {len(emb)} embryos ({', '.join(emb[:4])}...); "
                "count one at a time with table.select(embryo=...).counts()."
            )
        times, num = np.unique(self.time_min, return_counts=True)
        return {float(t): int(c) for t, c in zip(times, num)}

    @staticmethod
    def concat(tables: Sequence[CellTable]) -> CellTable:
        """One table from several (e.g. several embryos). Extra columns missing from some
        tables are filled with NaN (numbers) or "" (text)."""
        tables = list(tables)
        if not tables:
            raise ValueError("concat: expected at least one CellTable, got none.")
        for t in tables:
            if not isinstance(t, CellTable):
                raise TypeError(f"concat: expected CellTable objects, got {type(t).__name__}.")
        names = list(dict.fromkeys(k for t in tables for k in t.extra))
        extra = {}
        for k in names:
            parts = []
            for t in tables:
                if k in t.extra:
                    parts.append(t.extra[k])
                else:
                    text = any(u.extra[k].dtype.kind in "US" for u in tables if k in u.extra)
                    parts.append(np.full(len(t), "" if text else np.nan, dtype=str if text else float))
            extra[k] = np.concatenate(parts)
        cat = {c: np.concatenate([getattr(t, c) for t in tables]) for c in CORE_COLUMNS}
        return CellTable(**cat, extra=extra, meta={"sources": [t.meta.get("source") for t in tables]})


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _shape_error(name: str, a: np.ndarray, n: int, like: str = " like 'cell'") -> ValueError:
    return ValueError(f"CellTable: column '{name}' has shape {a.shape}, expected ({n},){like}.")


def _string_column(name: str, value, fill: str, n: int) -> np.ndarray:
    if value is None or isinstance(value, str):
        return np.array([fill if value is None else value] * n, dtype=str)
    a = np.array(value, dtype=str)
    if a.shape != (n,):
        raise _shape_error(name, a, n)
    return a


def _float_column(name: str, value, n: int, *, allow_nan: bool) -> np.ndarray:
    if value is None:
        return np.full(n, np.nan)
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"CellTable: column '{name}' must be numbers.") from None
    if a.shape != (n,):
        raise _shape_error(name, a, n)
    bad = np.isinf(a) if allow_nan else ~np.isfinite(a)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"CellTable: column '{name}' has {int(bad.sum())} non-finite value(s) "
            f"(first at row {i}: {a[i]}); expected finite numbers."
        )
    return a


def _frame_column(value, n: int) -> np.ndarray:
    frame = _float_column("frame", value, n, allow_nan=False)
    if (frame != np.round(frame)).any():
        i = int(np.argmax(frame != np.round(frame)))
        raise ValueError(f"CellTable: column 'frame' must hold whole numbers, row {i} is {frame[i]}.")
    return frame.astype(np.int64)


def _extra_columns(extra: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
    out = {}
    for name, value in dict(extra).items():
        if name in CORE_COLUMNS:
            raise ValueError(f"CellTable: extra column '{name}' clashes with a core column.")
        a = np.array(value)
        if a.shape != (n,):
            raise ValueError(f"CellTable: extra column '{name}' has shape {a.shape}, expected ({n},).")
        out[name] = _readonly(a)
    return out
