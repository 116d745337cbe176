"""Readers for embryo imaging data, the cell table they share, and the lineage graph they imply.

Formats the field uses, all read into one `CellTable` (one row per cell per frame, keyed by
embryo, cell and frame; times in minutes):

- AceTree/StarryNite "CD" tables (`read_cd`): one row per named nucleus per frame, with the
  TIME file (frame -> seconds) when there is one.
- AceTree nuclei archives (`read_acetree`): a zip of per-frame `tNNN-nuclei` files.
- Generic track tables (`read_tracks`): CSV/TSV with columns t, x, y, [z], cell, [parent].
- Label images (`read_labels`, `table_from_labels`): TIFF, NPY/NPZ, PNG; 2D, 3D and time series.

`read` sniffs which of these a file is. `lineage` turns a table into a `networkx.DiGraph`
(parent -> daughters) with birth and division times, founder lineage and generation of each
cell, and reports tracks that break the rules (a cell with three daughters, a daughter seen
before its parent has divided, a parent that never appears, C. elegans founder divisions
P0 -> AB + P1, P1 -> EMS + P2, EMS -> MS + E, P2 -> C + P3, P3 -> D + P4).
Reference for the names: Sulston, Schierenberg, White & Thomson (1983), Dev. Biol. 100:64,
doi:10.1016/0012-1606(83)90201-4.

Malformed input is refused whole, with the file, line and column and what was expected.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import math
import re
import types
import warnings
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from rules.celegans import (
    BLASTOMERES,
    FOUNDER_RULES,
    FOUNDERS,
    founder_of,
    is_named_blastomere,
    is_sulston_name,
    sulston_generation,
    sulston_parent,
)

__all__ = [
    "FORMATS",
    "FOUNDER_RULES",
    "FOUNDERS",
    "CellTable",
    "LineageProblem",
    "LineageReport",
    "LineageWarning",
    "cycle_length_samples",
    "cycle_lengths",
    "founder_of",
    "lineage",
    "read",
    "read_acetree",
    "read_cd",
    "read_labels",
    "read_tracks",
    "sulston_parent",
    "table_from_labels",
]

FORMATS: Mapping[str, str] = types.MappingProxyType({
    "cd": "AceTree/StarryNite CD table (.csv or .csv.gz; columns cell, time, x, y, z, size, ...)",
    "acetree": "AceTree nuclei archive (.zip holding tNNN-nuclei files, in any folder)",
    "tracks": "track table (.csv/.tsv, optionally .gz; columns t, x, y, [z], cell, [parent])",
    "labels": "label image (.tif/.tiff, .npy, .npz, .png; 2D, 3D or a 3D time series)",
})

# ------------------------------------------------------------------------------------------
# C. elegans names
# ------------------------------------------------------------------------------------------

# ------------------------------------------------------------------------------------------
# The cell table
# ------------------------------------------------------------------------------------------

_FLOAT_COLUMNS = ("time_min", "x", "y", "z", "size")
_CORE_COLUMNS = ("embryo", "cell", "time_min", "frame", "x", "y", "z", "size", "parent")


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


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

        def strings(name, value, fill):
            if value is None or isinstance(value, str):
                return np.array([fill if value is None else value] * n, dtype=str)
            a = np.array(value, dtype=str)
            if a.shape != (n,):
                raise ValueError(
                    f"CellTable: column '{name}' has shape {a.shape}, expected ({n},) like 'cell'."
                )
            return a

        def floats(name, value, allow_nan):
            if value is None:
                return np.full(n, np.nan)
            try:
                a = np.array(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"CellTable: column '{name}' must be numbers.") from None
            if a.shape != (n,):
                raise ValueError(
                    f"CellTable: column '{name}' has shape {a.shape}, expected ({n},) like 'cell'."
                )
            bad = np.isinf(a) if allow_nan else ~np.isfinite(a)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(
                    f"CellTable: column '{name}' has {int(bad.sum())} non-finite value(s) "
                    f"(first at row {i}: {a[i]}); expected finite numbers."
                )
            return a

        set_ = object.__setattr__
        set_(self, "cell", _readonly(cell))
        set_(self, "embryo", _readonly(strings("embryo", self.embryo, "embryo")))
        set_(self, "parent", _readonly(strings("parent", self.parent, "")))
        for name in _FLOAT_COLUMNS:
            set_(self, name, _readonly(floats(name, getattr(self, name), allow_nan=name == "size")))
        frame = floats("frame", self.frame, allow_nan=False)
        if (frame != np.round(frame)).any():
            i = int(np.argmax(frame != np.round(frame)))
            raise ValueError(f"CellTable: column 'frame' must hold whole numbers, row {i} is {frame[i]}.")
        set_(self, "frame", _readonly(frame.astype(np.int64)))
        extra = {}
        for name, value in dict(self.extra).items():
            if name in _CORE_COLUMNS:
                raise ValueError(f"CellTable: extra column '{name}' clashes with a core column.")
            a = np.array(value)
            if a.shape != (n,):
                raise ValueError(
                    f"CellTable: extra column '{name}' has shape {a.shape}, expected ({n},)."
                )
            extra[name] = _readonly(a)
        set_(self, "extra", types.MappingProxyType(extra))
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
        return _CORE_COLUMNS + tuple(self.extra)

    def column(self, name: str) -> np.ndarray:
        """One column by name (core or extra)."""
        if name in _CORE_COLUMNS:
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
        cat = {c: np.concatenate([getattr(t, c) for t in tables]) for c in _CORE_COLUMNS}
        return CellTable(**cat, extra=extra, meta={"sources": [t.meta.get("source") for t in tables]})


def _sorted(table: CellTable) -> CellTable:
    order = np.lexsort((table.cell, table.frame, table.embryo))
    return table.take(order)


# ------------------------------------------------------------------------------------------
# Lineage
# ------------------------------------------------------------------------------------------


class LineageWarning(UserWarning):
    """Issued by a reader whose tracks break lineage rules (see `LineageReport`)."""


@dataclass(frozen=True)
class LineageProblem:
    """One broken rule.

    Attributes:
      kind: "too_many_daughters", "born_before_parent", "missing_parent", "founder_rule",
        "name_mismatch", "duplicate", "inconsistent_parent" or "cycle".
      cell: the cell concerned.
      message: what is wrong, in words (readers prefix the file and line).
      frame: the frame concerned, where there is one.
    """

    kind: str
    cell: str
    message: str
    frame: int | None = None


@dataclass(frozen=True)
class LineageReport:
    """The problems found in one embryo's lineage; `ok` when there are none.

    Example:
      >>> t = CellTable(embryo="e", cell=["a", "b", "c", "d"], time_min=[0, 1, 1, 1],
      ...               frame=[0, 1, 1, 1], x=[0] * 4, y=[0] * 4, z=[0] * 4,
      ...               parent=["", "a", "a", "a"])
      >>> report = lineage(t).graph["report"]
      >>> report.ok, report.kinds()
      (False, {'too_many_daughters': 1})
    """

    embryo: str
    problems: tuple[LineageProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> dict[str, int]:
        """Number of problems of each kind."""
        return dict(Counter(p.kind for p in self.problems))

    def __str__(self) -> str:
        if self.ok:
            return f"lineage of embryo {self.embryo!r}: no problems"
        lines = [f"lineage of embryo {self.embryo!r}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p.message}" for p in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"  ... and {len(self.problems) - 20} more")
        return "\n".join(lines)


def _one_embryo(table: CellTable, embryo: str | None, who: str) -> CellTable:
    if not isinstance(table, CellTable):
        raise TypeError(f"{who} needs a CellTable (from neurosym.data.read_*), got {type(table).__name__}.")
    if len(table) == 0:
        raise ValueError(f"{who}: the table is empty.")
    emb = table.embryos()
    if embryo is None:
        if len(emb) > 1:
            raise ValueError(
                f"{who}: the table holds {len(emb)} embryos ({', '.join(emb[:5])}); "
                "pick one with embryo=..."
            )
        return table
    return table.select(embryo=embryo)


def _fmt_time(minutes: float, frame: int) -> str:
    return f"{minutes:g} min (frame {frame})"


def lineage(table: CellTable, *, embryo: str | None = None, strict: bool = False) -> nx.DiGraph:
    """The lineage of one embryo as a `networkx.DiGraph`, edges parent -> daughter.

    Parents come from the table's `parent` column where the source gives one, otherwise from
    C. elegans Sulston names (ABal -> ABala, EMS -> MS, ...) when the named mother appears in the
    table. Node ids are cell names. Node attributes:

    - `birth_min`: first time the cell is seen, if it was born in the data (its parent is in the
      graph), else None.
    - `division_min`: first time a daughter is seen, or None if no daughter is in the data.
    - `cycle_min`: `division_min - birth_min` where both are known, else None.
    - `first_min`, `last_min`, `first_frame`, `last_frame`, `num_frames`: the observed span.
    - `founder`: founder lineage (AB, MS, E, C, D, P4, or P0, P1, P2, P3, EMS themselves) from the
      Sulston name; for other names, the founder of the nearest Sulston-named ancestor, else the
      name of the first ancestor present in the data.
    - `generation`: divisions since P0 for Sulston names (AB = 1, ABa = 2, MS = 3, ...); for other
      names one more than the parent's, 0 for a cell without a parent in the data.

    `graph.graph` holds `embryo` and `report`, a `LineageReport` of cells with more than two
    daughters, daughters seen before their parent has divided, parents that never appear (or a
    Sulston mother missing although the daughter appears after the recording started), broken
    founder divisions (P0 -> AB + P1, P1 -> EMS + P2, EMS -> MS + E, P2 -> C + P3, P3 -> D + P4),
    daughters whose name does not continue their mother's, the same cell twice in a frame, a
    cell with two different parents, and parent cycles.

    Args:
      table: a `CellTable`.
      embryo: which embryo, if the table holds more than one.
      strict: raise a ValueError listing the problems instead of only reporting them.

    Example:
      >>> t = CellTable(embryo="e", cell=["EMS", "MS", "E", "MS", "E", "Ea", "Ep"],
      ...               time_min=[0, 3, 3, 6, 6, 9, 9], frame=[1, 2, 2, 3, 3, 4, 4],
      ...               x=[0] * 7, y=[0] * 7, z=[0] * 7)
      >>> g = lineage(t)
      >>> sorted(g.successors("EMS")), g.nodes["E"]["cycle_min"], g.nodes["Ea"]["founder"]
      (['E', 'MS'], 6.0, 'E')
      >>> g.graph["report"].ok
      True
    """
    t = _one_embryo(table, embryo, "lineage")
    graph, problems = _build_lineage(t)
    report = LineageReport(embryo=str(t.embryo[0]), problems=tuple(problems))
    graph.graph["embryo"] = report.embryo
    graph.graph["report"] = report
    if strict and not report.ok:
        raise ValueError(f"{report}\nFix the tracks, or pass strict=False to get these as graph.graph['report'].")
    return graph


def _build_lineage(t: CellTable) -> tuple[nx.DiGraph, list[LineageProblem]]:
    problems: list[LineageProblem] = []
    names, inv = np.unique(t.cell, return_inverse=True)
    k = len(names)
    big = np.iinfo(np.int64).max
    first_frame = np.full(k, big, dtype=np.int64)
    last_frame = np.full(k, -big, dtype=np.int64)
    np.minimum.at(first_frame, inv, t.frame)
    np.maximum.at(last_frame, inv, t.frame)
    first_min = np.full(k, np.inf)
    last_min = np.full(k, -np.inf)
    np.minimum.at(first_min, inv, t.time_min)
    np.maximum.at(last_min, inv, t.time_min)
    # Distinct frames per cell, and cells seen twice in one frame.
    f0 = int(t.frame.min())
    span = int(t.frame.max()) - f0 + 1
    key = inv.astype(np.int64) * span + (t.frame - f0)
    ukey, kcount = np.unique(key, return_counts=True)
    num_frames = np.bincount(ukey // span, minlength=k)
    dup_cells = defaultdict(list)
    for kk in ukey[kcount > 1]:
        dup_cells[int(kk // span)].append(int(kk % span) + f0)
    for c, frames in sorted(dup_cells.items()):
        shown = ", ".join(map(str, frames[:5])) + (" ..." if len(frames) > 5 else "")
        problems.append(LineageProblem(
            "duplicate", str(names[c]),
            f"cell {str(names[c])!r} appears more than once in {len(frames)} frame(s) ({shown}): two "
            "nuclei share one name", frame=frames[0],
        ))
    # Explicit parents, per cell.
    given: dict[int, Counter] = defaultdict(Counter)
    has_parent = t.parent != ""
    for c, p in zip(inv[has_parent].tolist(), t.parent[has_parent].tolist()):
        given[c][p] += 1
    index = {str(n): i for i, n in enumerate(names)}
    rec_start = int(t.frame.min())

    g = nx.DiGraph()
    for i, n in enumerate(names.tolist()):
        g.add_node(n)
    for i, n in enumerate(names.tolist()):
        if i in given:
            parents = given[i]
            p = parents.most_common(1)[0][0]
            if len(parents) > 1:
                problems.append(LineageProblem(
                    "inconsistent_parent", n,
                    f"cell {n!r} has {len(parents)} different parents ({', '.join(map(repr, parents))}); "
                    f"expected one; using {p!r}",
                ))
            if p == n:
                problems.append(LineageProblem("cycle", n, f"cell {n!r} is its own parent"))
                continue
            if p not in index:
                problems.append(LineageProblem(
                    "missing_parent", n, f"parent {p!r} of cell {n!r} never appears",
                    frame=int(first_frame[i]),
                ))
                continue
            g.add_edge(p, n)
        else:
            p = sulston_parent(n)
            if p is None:
                continue
            if p in index:
                g.add_edge(p, n)
            elif first_frame[i] > rec_start:
                problems.append(LineageProblem(
                    "missing_parent", n,
                    f"cell {n!r} first appears at {_fmt_time(first_min[i], first_frame[i])}, after the "
                    f"recording started (frame {rec_start}), but its mother {p!r} never appears",
                    frame=int(first_frame[i]),
                ))
    # Break parent cycles (possible only with explicit parents) so the rest is well defined.
    while True:
        try:
            cyc = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            break
        members = [u for u, _ in cyc]
        problems.append(LineageProblem(
            "cycle", members[0],
            f"cells {' -> '.join(members + [members[0]])} are each other's ancestors",
        ))
        g.remove_edge(*cyc[-1])

    for n in g.nodes:
        i = index[n]
        kids = sorted(g.successors(n), key=lambda d: (first_frame[index[d]], d))
        if len(kids) > 2:
            problems.append(LineageProblem(
                "too_many_daughters", n,
                f"cell {n!r} has {len(kids)} daughters ({', '.join(kids)}); a cell divides into two",
                frame=int(first_frame[index[kids[0]]]),
            ))
        for d in kids:
            j = index[d]
            if first_frame[j] < first_frame[i]:
                problems.append(LineageProblem(
                    "born_before_parent", d,
                    f"daughter {d!r} is seen at {_fmt_time(first_min[j], first_frame[j])}, before its "
                    f"parent {n!r} is first seen at {_fmt_time(first_min[i], first_frame[i])}",
                    frame=int(first_frame[j]),
                ))
            elif first_frame[j] <= last_frame[i]:
                problems.append(LineageProblem(
                    "born_before_parent", d,
                    f"daughter {d!r} is seen at {_fmt_time(first_min[j], first_frame[j])}, while its "
                    f"parent {n!r} is still seen until {_fmt_time(last_min[i], last_frame[i])}",
                    frame=int(first_frame[j]),
                ))
            expected = sulston_parent(d)
            if expected is not None and is_sulston_name(n) and expected != n:
                if n in FOUNDER_RULES or is_named_blastomere(d):
                    rule = FOUNDER_RULES.get(n) or FOUNDER_RULES.get(expected)
                    mother = n if n in FOUNDER_RULES else expected
                    problems.append(LineageProblem(
                        "founder_rule", d,
                        f"{d!r} is tracked as a daughter of {n!r}, but the founder rule is "
                        f"{mother} -> {rule[0]} + {rule[1]}",
                        frame=int(first_frame[j]),
                    ))
                else:
                    problems.append(LineageProblem(
                        "name_mismatch", d,
                        f"{d!r} is tracked as a daughter of {n!r}, but its name makes it a daughter of "
                        f"{expected!r}",
                        frame=int(first_frame[j]),
                    ))

    for n in nx.topological_sort(g):
        i = index[n]
        parents = list(g.predecessors(n))
        parent = parents[0] if parents else None
        founder = founder_of(n)
        gen = sulston_generation(n)
        if founder is None:
            founder = g.nodes[parent]["founder"] if parent is not None else n
        if gen is None:
            gen = g.nodes[parent]["generation"] + 1 if parent is not None else 0
        kids = list(g.successors(n))
        birth = float(first_min[i]) if parent is not None else None
        division = float(min(first_min[index[d]] for d in kids)) if kids else None
        g.nodes[n].update(
            birth_min=birth,
            division_min=division,
            cycle_min=(division - birth) if birth is not None and division is not None else None,
            first_min=float(first_min[i]),
            last_min=float(last_min[i]),
            first_frame=int(first_frame[i]),
            last_frame=int(last_frame[i]),
            num_frames=int(num_frames[i]),
            founder=founder,
            generation=int(gen),
        )
    return g, problems


def _founder_key(f: str):
    return (0, BLASTOMERES.index(f), "") if f in BLASTOMERES else (1, 0, f)


def cycle_length_samples(graph: nx.DiGraph) -> dict[str, np.ndarray]:
    """Observed cell-cycle lengths (minutes) per founder lineage.

    A cell counts when both its birth and its division are in the data
    (`division_min - birth_min`, i.e. the time between its first frame and its daughters').

    Args:
      graph: a lineage from `lineage`.

    Returns:
      {founder: float array of cycle lengths}, founders in developmental order.

    Example:
      >>> t = CellTable(embryo="e", cell=["E", "Ea", "Ep", "Eaa", "Eap"], time_min=[0, 3, 3, 9, 9],
      ...               frame=[1, 2, 2, 4, 4], x=[0] * 5, y=[0] * 5, z=[0] * 5)
      >>> cycle_length_samples(lineage(t))
      {'E': array([6.])}
    """
    _check_graph(graph, "cycle_length_samples")
    out: dict[str, list[float]] = defaultdict(list)
    for _, a in graph.nodes(data=True):
        if a["cycle_min"] is not None:
            out[a["founder"]].append(a["cycle_min"])
    return {f: np.array(out[f]) for f in sorted(out, key=_founder_key)}


def cycle_lengths(graph: nx.DiGraph) -> dict[str, float]:
    """Mean cell-cycle length (minutes) per founder lineage, over cells whose birth and division
    are both observed. Founders without such a cell are left out.

    Args:
      graph: a lineage from `lineage`.

    Example:
      >>> t = CellTable(embryo="e", cell=["AB", "ABa", "ABp", "ABal", "ABar", "ABpl", "ABpr"],
      ...               time_min=[0, 2, 2, 4, 4, 6, 6], frame=[1, 2, 2, 3, 3, 4, 4],
      ...               x=[0] * 7, y=[0] * 7, z=[0] * 7)
      >>> cycle_lengths(lineage(t))
      {'AB': 3.0}
    """
    return {f: float(v.mean()) for f, v in cycle_length_samples(graph).items()}


def _check_graph(graph, who: str) -> None:
    if not isinstance(graph, nx.DiGraph):
        raise TypeError(f"{who} needs the networkx.DiGraph from neurosym.data.lineage, got {type(graph).__name__}.")
    for n, a in graph.nodes(data=True):
        if "cycle_min" not in a or "founder" not in a:
            raise ValueError(
                f"{who}: node {n!r} has no 'cycle_min'/'founder' attributes; expected the graph "
                "from neurosym.data.lineage(table)."
            )
        break


# ------------------------------------------------------------------------------------------
# Text tables
# ------------------------------------------------------------------------------------------

_MISSING = frozenset({"", "na", "nan", "none", "null"})


def _read_bytes(path, what: str) -> bytes:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{path}: no such file (expected {what}).")
    if p.is_dir():
        raise ValueError(f"{path}: is a folder; expected {what}.")
    return p.read_bytes()


def _read_text(path, what: str) -> str:
    raw = _read_bytes(path, what)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(f"{path}: looks gzip-compressed but does not decompress ({e}); expected {what}.") from None
    return _decode(str(path), raw, what)


def _decode(name: str, raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(
            f"{name}, line {line}: not UTF-8 text (byte {raw[e.start]:#04x}); expected {what}."
        ) from None


def _delimited(name: str, text: str, what: str, delimiter: str | None = None):
    """Header, rows of stripped fields and their line numbers. Blank and '#' lines are skipped."""
    first = None
    for ln, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s and not s.startswith("#"):
            first = s
            break
    if first is None:
        raise ValueError(f"{name}: the file is empty; expected {what} with a header line.")
    if delimiter is None:
        delimiter = "\t" if "\t" in first else "," if "," in first else ";" if ";" in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    # Stripping every field is the slow part of reading; skip it when there is nothing to strip.
    strip = (" " in text) or (delimiter != "\t" and "\t" in text)
    header = None
    header_line = 0
    rows, lines = [], []
    try:
        for row in reader:
            ln = reader.line_num
            fields = [f.strip() for f in row] if strip else row
            if not fields or (not fields[0] and not any(fields)) or fields[0][:1] == "#":
                continue
            if header is None:
                header, header_line = fields, ln
                while header and header[-1] == "":
                    header.pop()
                continue
            if len(fields) > len(header) and not any(fields[len(header):]):
                fields = fields[: len(header)]
            if len(fields) != len(header):
                raise ValueError(
                    f"{name}, line {ln}: expected {len(header)} fields as in the header "
                    f"(line {header_line}), got {len(fields)}."
                )
            rows.append(fields)
            lines.append(ln)
    except csv.Error as e:
        raise ValueError(f"{name}, line {reader.line_num}: not a readable {what} ({e}).") from None
    return header, header_line, rows, lines


def _norm(h: str) -> str:
    return re.sub(r"[\s_\-]+", "", h.strip().lower())


def _columns(name: str, header: list[str], header_line: int, spec: Mapping[str, tuple[str, ...]],
             required: Sequence[str], user: Mapping[str, str] | None = None,
             hint: str = "") -> dict[str, int]:
    """Map canonical column names to header indices (case, spaces and underscores ignored)."""
    normed = [_norm(h) for h in header]
    out: dict[str, int] = {}
    user = dict(user or {})
    for canon, given in user.items():
        if canon not in spec:
            raise ValueError(f"columns: unknown column {canon!r}; known: {', '.join(spec)}.")
        if given not in header:
            raise ValueError(
                f"{name}, line {header_line}: no column {given!r} (given for {canon!r} in columns=); "
                f"the header has {', '.join(map(repr, header))}."
            )
        out[canon] = header.index(given)
    for canon, aliases in spec.items():
        if canon in out:
            continue
        for alias in aliases:
            hits = [i for i, h in enumerate(normed) if h == _norm(alias)]
            if len(hits) > 1:
                raise ValueError(
                    f"{name}, line {header_line}: columns {', '.join(repr(header[i]) for i in hits)} "
                    f"are ambiguous for {canon!r}; rename one or pass columns={{{canon!r}: ...}}."
                )
            if hits and hits[0] not in out.values():
                out[canon] = hits[0]
                break
    missing = [c for c in required if c not in out]
    if missing:
        c = missing[0]
        alts = ", ".join(spec[c])
        raise ValueError(
            f"{name}, line {header_line}: missing column {c!r} (expected a column named one of: "
            f"{alts}); the header has {', '.join(map(repr, header))}.{hint}"
        )
    return out


def _strings(name: str, col: str, values: list[str], lines: Sequence[int], what: str) -> np.ndarray:
    for v, ln in zip(values, lines):
        if v == "":
            raise ValueError(f"{name}, line {ln}, column {col!r}: expected {what}, got an empty field.")
    return np.array(values, dtype=str)


def _numbers(name: str, col: str, values: list[str], lines: Sequence[int], *,
             required: bool = True, integer: bool = False) -> np.ndarray:
    """Parse a column of numbers; required columns must be finite, optional ones may be missing."""
    what = "a whole number" if integer else "a number"
    vals = values
    try:
        arr = np.array(vals, dtype=np.float64)
    except ValueError:
        arr = None
    if arr is None and not required:
        vals = ["nan" if v.lower() in _MISSING else v for v in values]
        try:
            arr = np.array(vals, dtype=np.float64)
        except ValueError:
            arr = None
    if arr is None:
        for v, ln in zip(vals, lines):
            try:
                float(v)
            except ValueError:
                got = "an empty field" if v == "" else repr(v)
                raise ValueError(f"{name}, line {ln}, column {col!r}: expected {what}, got {got}.") from None
        raise ValueError(f"{name}, column {col!r}: expected {what} in every row.")
    bad = ~np.isfinite(arr) if required else np.isinf(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{name}, line {lines[i]}, column {col!r}: expected a finite number, got {values[i]!r}."
        )
    if integer:
        frac = np.isfinite(arr) & (arr != np.round(arr))
        if frac.any():
            i = int(np.argmax(frac))
            raise ValueError(f"{name}, line {lines[i]}, column {col!r}: expected {what}, got {values[i]!r}.")
    return arr


def _extra_name(header: str) -> str:
    """A file's own column keeps its name in `extra`, unless that is a core column's name."""
    return f"{header}_in_file" if header in _CORE_COLUMNS else header


def _extra_column(name: str, col: str, values: list[str], lines: Sequence[int]) -> np.ndarray:
    """Numbers if every field is a number or missing, else text."""
    try:
        return _numbers(name, col, values, lines, required=False)
    except ValueError:
        return np.array(values, dtype=str)


# ------------------------------------------------------------------------------------------
# Time
# ------------------------------------------------------------------------------------------


def _check_minutes_per_frame(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"minutes_per_frame must be a number of minutes, got {type(value).__name__}.")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"minutes_per_frame must be a positive finite number of minutes, got {value}.")
    return float(value)


def _read_time_file(path) -> dict[int, float]:
    """AceTree TIME file: per line [embryo,] frame, seconds[, delta]; tab, comma or space separated."""
    name = str(path)
    text = _read_text(path, "a TIME file (frame, seconds per line)")
    out: dict[int, float] = {}
    prev = None
    for ln, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        fields = [f.strip() for f in re.split(r"[\t,;]", s)]
        if len(fields) == 1:
            fields = s.split()
        if not out and not any(_is_number(f) for f in fields):
            continue  # a header line
        offset = 0
        if not _is_number(fields[0]):
            offset = 1
        if len(fields) < offset + 2:
            raise ValueError(
                f"{name}, line {ln}: expected [embryo,] frame, seconds per line, got {s!r}."
            )
        fr, sec = fields[offset], fields[offset + 1]
        try:
            frame = float(fr)
            if frame != int(frame):
                raise ValueError
            frame = int(frame)
        except ValueError:
            raise ValueError(
                f"{name}, line {ln}, column {offset + 1} (frame): expected a whole number, got {fr!r}."
            ) from None
        try:
            seconds = float(sec)
        except ValueError:
            seconds = float("nan")
        if not math.isfinite(seconds):
            raise ValueError(
                f"{name}, line {ln}, column {offset + 2} (seconds): expected a finite number, got {sec!r}."
            )
        if frame in out:
            raise ValueError(f"{name}, line {ln}: frame {frame} appears twice; expected one line per frame.")
        if prev is not None and frame > prev[0] and seconds < prev[1]:
            raise ValueError(
                f"{name}, line {ln}, column {offset + 2} (seconds): time goes back from {prev[1]:g} s "
                f"at frame {prev[0]} to {seconds:g} s at frame {frame}; expected times in order."
            )
        out[frame] = seconds / 60.0
        prev = (frame, seconds)
    if not out:
        raise ValueError(f"{name}: no frames; expected lines of [embryo,] frame, seconds.")
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _find_time_file(path, stems: Iterable[str]) -> Path | None:
    folder = Path(path).parent
    for stem in dict.fromkeys(stems):
        for ext in (".csv", ".csv.gz", ".txt"):
            p = folder / f"TIME{stem}{ext}"
            if p.is_file():
                return p
    return None


def _stem(path) -> str:
    n = Path(path).name
    for ext in (".gz", ".csv", ".tsv", ".txt", ".zip"):
        if n.lower().endswith(ext):
            n = n[: -len(ext)]
    return n


def _frame_times(name: str, frames: np.ndarray, loc: Callable[[int], str], *, path, stems,
                 time_file, minutes_per_frame, first_frame: int) -> tuple[np.ndarray, str]:
    """Minutes of each frame from a TIME file, a frame interval, or (with a warning) 1 min/frame."""
    if time_file is not None and minutes_per_frame is not None:
        raise ValueError(
            "give time_file or minutes_per_frame, not both: the TIME file already says when each "
            "frame was taken."
        )
    if minutes_per_frame is not None:
        mpf = _check_minutes_per_frame(minutes_per_frame)
        return (frames - first_frame) * mpf, f"{mpf:g} min per frame, frame {first_frame} at 0 min"
    if time_file is None:
        time_file = _find_time_file(path, stems)
    if time_file is not None:
        table = _read_time_file(time_file)
        known = np.array(sorted(table), dtype=np.int64)
        missing = ~np.isin(frames, known)
        if missing.any():
            i = int(np.argmax(missing))
            raise ValueError(
                f"{loc(i)}: frame {frames[i]} is not in the TIME file {time_file} (it covers "
                f"frames {known.min()}-{known.max()}); expected a TIME file for this recording."
            )
        lookup = np.array([table[int(f)] for f in known])
        return lookup[np.searchsorted(known, frames)], f"TIME file {time_file}"
    warnings.warn(
        f"{name}: no TIME file found and no minutes_per_frame given, so 1 frame is taken as 1 "
        "minute; pass minutes_per_frame=... or time_file=... for real times.",
        UserWarning, stacklevel=3,
    )
    return (frames - first_frame) * 1.0, f"assumed 1 min per frame, frame {first_frame} at 0 min"


# ------------------------------------------------------------------------------------------
# Reporting lineage problems from a reader
# ------------------------------------------------------------------------------------------


def _check_read(name: str, table: CellTable, strict: bool,
                locator: Callable[[], Callable[[LineageProblem], str | None]]) -> CellTable:
    """Check each embryo's lineage; warn (or raise, if strict) naming file and line of each problem.

    `locator()` makes the function that finds a problem's line; it is only built when needed.
    """
    reports = {}
    where = None
    for emb in table.embryos():
        sub = table.select(embryo=emb) if len(table.embryos()) > 1 else table
        _, problems = _build_lineage(sub)
        if problems and where is None:
            where = locator()
        located = []
        for p in problems:
            loc = where(p)
            prefix = f"{name}, {loc}" if loc else name
            if len(table.embryos()) > 1:
                prefix += f" (embryo {emb!r})"
            located.append(dataclasses.replace(p, message=f"{prefix}: {p.message}"))
        reports[emb] = LineageReport(embryo=emb, problems=tuple(located))
    bad = [r for r in reports.values() if not r.ok]
    if bad:
        n = sum(len(r.problems) for r in bad)
        text = "\n".join(str(r) for r in bad)
        if strict:
            raise ValueError(f"{name}: the tracks break {n} lineage rule(s).\n{text}")
        warnings.warn(
            f"{name}: the tracks break {n} lineage rule(s); they are kept as read and listed in "
            f"table.meta['lineage_reports'] (pass strict=True to refuse such files).\n{text}",
            LineageWarning, stacklevel=3,
        )
    return dataclasses.replace(table, meta={**table.meta, "lineage_reports": reports})


def _line_locator(cells: np.ndarray, frames: np.ndarray, lines: Sequence[int] | np.ndarray,
                  unit: str = "line") -> Callable[[LineageProblem], str | None]:
    first_line: dict[str, int] = {}
    at: dict[tuple[str, int], list[int]] = defaultdict(list)
    for c, f, ln in zip(cells.tolist(), frames.tolist(), list(lines)):
        first_line.setdefault(c, ln)
        at[(c, f)].append(ln)

    def where(p: LineageProblem) -> str | None:
        if p.frame is not None and (p.cell, p.frame) in at:
            ls = at[(p.cell, p.frame)]
            return f"{unit}{'s' * (len(ls) > 1)} {', '.join(map(str, ls[:4]))}"
        if p.cell in first_line:
            return f"{unit} {first_line[p.cell]}"
        return None

    return where


# ------------------------------------------------------------------------------------------
# CD tables
# ------------------------------------------------------------------------------------------

_CD_SPEC = {
    "cell": ("cell",), "time": ("time",), "x": ("x",), "y": ("y",), "z": ("z",), "size": ("size",),
    "celltime": ("celltime",),
}


def read_cd(path, *, time_file=None, minutes_per_frame: float | None = None,
            embryo: str | None = None, strict: bool = False) -> CellTable:
    """Read an AceTree/StarryNite "CD" table: one row per named nucleus per frame.

    Columns are found by name (any order, any case): `cell` and `time` (the frame; or one
    `cellTime` column "name:frame"), `x`, `y`, `z`, and optionally `size` (nucleus diameter).
    Every other column (e.g. `blot`, the background-corrected reporter) is kept in `extra`.
    The file may be gzip-compressed. Parents are not in the file: `lineage` derives them from the
    Sulston names.

    Times: from `time_file` (AceTree TIME file: per line [embryo,] frame, seconds[, delta]), or
    `minutes_per_frame` (frame 1 at 0 min), or else a TIME file next to the table named
    `TIME<embryo>.csv[.gz]`; with none of these, 1 frame = 1 minute and a warning.

    Lineage problems (the same name twice in a frame, a daughter seen before its mother has
    divided, a Sulston mother missing mid-recording) are reported with a `LineageWarning` and in
    `table.meta["lineage_reports"]`; `strict=True` raises instead.

    Args:
      path: the CD file (.csv or .csv.gz).
      time_file: an AceTree TIME file for this recording.
      minutes_per_frame: frame interval, instead of a TIME file.
      embryo: embryo name; default the file name without "CD" and extensions.
      strict: raise a ValueError when the lineage breaks a rule.

    Raises:
      ValueError: naming file, line and column, for a missing column, a field that is not a
        (finite) number, an empty cell name, a row with the wrong number of fields, or a frame the
        TIME file does not cover.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "CDdemo.csv"
      >>> _ = p.write_text("cellTime,cell,time,z,x,y,size\\nEMS:1,EMS,1,5,10,10,20\\n"
      ...                  "MS:2,MS,2,5,8,10,16\\nE:2,E,2,5,12,10,16\\n")
      >>> t = read_cd(p, minutes_per_frame=1.5)
      >>> t.embryos(), t.counts()
      (['demo'], {0.0: 1, 1.5: 2})
    """
    name = str(path)
    what = "an AceTree/StarryNite CD table"
    header, hl, rows, lines = _delimited(name, _read_text(path, what), what)
    normed = {_norm(h) for h in header}
    split = {"cell", "time"} <= normed or "celltime" not in normed
    required = ("cell", "time", "x", "y", "z") if split else ("celltime", "x", "y", "z")
    cols = _columns(name, header, hl, _CD_SPEC, required,
                    hint=" A CD table has columns cell, time (or cellTime), x, y, z and optionally size.")
    by_column = list(zip(*rows)) if rows else [()] * len(header)
    values = {c: list(by_column[i]) for c, i in cols.items()}
    if "cell" in cols and "time" in cols:
        cells = _strings(name, header[cols["cell"]], values["cell"], lines, "a cell name")
        frames = _numbers(name, header[cols["time"]], values["time"], lines, integer=True).astype(np.int64)
    else:
        col = header[cols["celltime"]]
        parts = []
        for v, ln in zip(values["celltime"], lines):
            c, sep, f = v.rpartition(":")
            if not sep or not c:
                raise ValueError(
                    f"{name}, line {ln}, column {col!r}: expected 'cell:frame' (e.g. 'ABa:12'), got {v!r}."
                )
            parts.append((c, f))
        cells = np.array([c for c, _ in parts], dtype=str)
        frames = _numbers(name, col, [f for _, f in parts], lines, integer=True).astype(np.int64)
    xyz = {c: _numbers(name, header[cols[c]], values[c], lines) for c in ("x", "y", "z")}
    size = _numbers(name, header[cols["size"]], values["size"], lines, required=False) if "size" in cols else None
    used = set(cols.values())
    extra = {
        _extra_name(header[i]): _extra_column(name, header[i], list(by_column[i]), lines)
        for i in range(len(header))
        if i not in used and header[i] and not (_norm(header[i]) == "celltime" and "cell" in cols)
    }
    emb = embryo if embryo is not None else _embryo_name(path)
    lines_arr = np.asarray(lines)
    minutes, source = _frame_times(
        name, frames, lambda i: f"{name}, line {lines_arr[i]}, column 'time'", path=path,
        stems=(emb, _stem(path)), time_file=time_file, minutes_per_frame=minutes_per_frame,
        first_frame=1,
    )
    table = CellTable(
        embryo=emb, cell=cells, time_min=minutes, frame=frames, size=size, **xyz, extra=extra,
        meta={"source": name, "format": "cd", "time_source": source,
              "units": "x, y and size in pixels, z in planes (as in the file)"},
    )
    table = _check_read(name, table, strict, lambda: _line_locator(cells, frames, lines))
    return _sorted(table)


def _embryo_name(path) -> str:
    s = _stem(path)
    return s[2:] if s.startswith("CD") and len(s) > 2 else s


# ------------------------------------------------------------------------------------------
# AceTree nuclei archives
# ------------------------------------------------------------------------------------------

_NUCLEI = re.compile(r"(?:^|/)t(\d+)-nuclei$")
_PARAMETERS = re.compile(r"(?:^|/)([^/]+)-parameters$")
# Field positions in an AceTree nuclei line (0-based).
_ACE_FIELDS = {"id": 0, "valid": 1, "predecessor": 2, "successor1": 3, "successor2": 4,
               "x": 5, "y": 6, "z": 7, "size": 8, "name": 9}


def _acetree_field_error(member: str, ln: int, fields: list[str]):
    for field_name, k in _ACE_FIELDS.items():
        if field_name in ("name", "successor1", "successor2"):
            continue
        v = fields[k].strip()
        integer = field_name in ("id", "valid", "predecessor")
        try:
            x = float(v)
            ok = math.isfinite(x) and (not integer or x == int(x))
        except ValueError:
            ok = False
        if not ok:
            got = "an empty field" if v == "" else repr(v)
            kind = "a whole number" if integer else "a finite number"
            raise ValueError(f"{member}, line {ln}, column {field_name!r} (field {k + 1}): expected {kind}, got {got}.")
    raise ValueError(f"{member}, line {ln}: cannot read the nucleus {','.join(fields[:10])!r}.")


def read_acetree(path, *, time_file=None, minutes_per_frame: float | None = None,
                 embryo: str | None = None, drop_prefixes: Sequence[str] = ("polar",),
                 strict: bool = False) -> CellTable:
    """Read an AceTree nuclei archive: a zip of per-frame `tNNN-nuclei` files (any folder).

    Each nuclei line is `id, valid, predecessor, successor1, successor2, x, y, z, size, name,
    ...`; deleted nuclei (valid 0) are skipped. Nuclei are joined into cells along predecessor
    links: a nucleus continues its predecessor's cell unless the predecessor has two
    successors, in which case it starts a daughter cell. A cell takes the name AceTree gave it
    (the most common one along the track); unnamed cells are called `nuc_tNNN_ID` after their
    first nucleus. `parent` holds each cell's mother. Fields 16 and 19 (expression and its blot
    correction), when present, give the extra column `blot` = expression - correction.

    A valid nucleus whose predecessor was deleted starts a new cell (their number is
    `meta["links_to_deleted_nuclei"]`). Times as in `read_cd` (`time_file`, `minutes_per_frame`,
    or a `TIME<embryo>.csv` next to the zip); frame 1 is 0 min. The embryo name defaults to that of the archive's
    `*-parameters` file, else the zip's name.

    Args:
      path: the .zip archive.
      time_file: an AceTree TIME file.
      minutes_per_frame: frame interval, instead of a TIME file.
      embryo: embryo name.
      drop_prefixes: leave out cells whose names start with these (polar bodies by default).
      strict: raise a ValueError when the lineage breaks a rule.

    Raises:
      ValueError: naming archive member, line and field, for a field that is not a number, a
        line with fewer than 10 fields, an id used twice in a frame, or a predecessor that is
        not in the previous frame; or when the zip holds no nuclei files.

    Example:
      >>> import pathlib, tempfile, zipfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "demo.zip"
      >>> with zipfile.ZipFile(p, "w") as z:
      ...     z.writestr("nuclei/t001-nuclei", "1, 1, -1, 1, 2, 10, 10, 5.0, 20, P1, 0\\n")
      ...     z.writestr("nuclei/t002-nuclei", "1, 1, 1, -1, -1, 8, 10, 5.0, 16, EMS, 0\\n"
      ...                                     "2, 1, 1, -1, -1, 12, 10, 5.0, 14, P2, 0\\n")
      >>> t = read_acetree(p, minutes_per_frame=1.0)
      >>> sorted(zip(t.cell.tolist(), t.parent.tolist()))
      [('EMS', 'P1'), ('P1', ''), ('P2', 'P1')]
    """
    name = str(path)
    what = "an AceTree nuclei archive (.zip of tNNN-nuclei files)"
    raw = _read_bytes(path, what)
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise ValueError(f"{name}: not a zip archive; expected {what}.") from None
    members: dict[int, str] = {}
    param_name = None
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            m = _NUCLEI.search(info.filename)
            if m:
                f = int(m.group(1))
                if f in members:
                    raise ValueError(
                        f"{name}: frame {f} has two nuclei files ({members[f]} and {info.filename}); "
                        "expected one per frame."
                    )
                members[f] = info.filename
            elif (pm := _PARAMETERS.search(info.filename)) and param_name is None:
                param_name = pm.group(1)
        if not members:
            listed = ", ".join(i.filename for i in zf.infolist()[:5]) or "nothing"
            raise ValueError(
                f"{name}: no AceTree nuclei files (named tNNN-nuclei) in the archive; it holds "
                f"{listed}. Expected {what}."
            )
        texts = {f: _decode(f"{name}:{members[f]}", zf.read(members[f]), "an AceTree nuclei file")
                 for f in sorted(members)}
    emb = embryo if embryo is not None else (param_name or _stem(path))

    # Parse: per frame, valid nuclei keyed by id.
    nuclei: dict[int, dict[int, tuple]] = {}
    deleted: dict[int, set[int]] = {}
    for f, text in texts.items():
        member = f"{name}:{members[f]}"
        here: dict[int, tuple] = {}
        gone: set[int] = set()
        for ln, line in enumerate(text.splitlines(), 1):
            fields = line.split(",")
            if len(fields) < 10:
                if not line.strip():
                    continue
                raise ValueError(
                    f"{member}, line {ln}: expected at least 10 comma-separated fields (id, valid, "
                    f"predecessor, successor1, successor2, x, y, z, size, name), got {len(fields)}."
                )
            try:
                nid, valid, pred = int(fields[0]), int(fields[1]), int(fields[2])
                x, y, z, size = float(fields[5]), float(fields[6]), float(fields[7]), float(fields[8])
                good = math.isfinite(x + y + z + size)
            except ValueError:
                good = False
            if not good:
                _acetree_field_error(member, ln, fields)
            if nid in here or nid in gone:
                raise ValueError(f"{member}, line {ln}, column 'id' (field 1): id {nid} is used twice in this frame.")
            if valid <= 0:
                gone.add(nid)
                continue
            blot = np.nan
            if len(fields) >= 19:
                try:
                    blot = float(fields[15]) - float(fields[18])
                except ValueError:
                    pass
            here[nid] = (pred, x, y, z, size, fields[9].strip(), ln, blot)
        nuclei[f] = here
        deleted[f] = gone

    # Link: count successors, then walk frames in order assigning tracks.
    succ: dict[tuple[int, int], int] = Counter()
    for f, here in nuclei.items():
        for nid, rec in here.items():
            pred = rec[0]
            if pred < 0:
                continue
            prev = nuclei.get(f - 1, {})
            if pred in prev:
                succ[(f - 1, pred)] += 1
            elif pred not in deleted.get(f - 1, set()):
                raise ValueError(
                    f"{name}:{members[f]}, line {rec[6]}, column 'predecessor' (field 3): nucleus "
                    f"{pred} is not in the previous frame"
                    + (f" ({members[f - 1]})" if f - 1 in members else f" (there is no frame {f - 1})")
                    + "; expected the id of a nucleus of the previous frame, or -1."
                )
    track_of: dict[tuple[int, int], int] = {}
    track_rows: list[list[tuple[int, int]]] = []
    track_parent: list[int] = []
    cut_links: list[tuple[int, int, int]] = []
    for f in sorted(nuclei):
        for nid, rec in sorted(nuclei[f].items()):
            pred = rec[0]
            if pred >= 0 and (f - 1, pred) in track_of:
                ptrack = track_of[(f - 1, pred)]
                if succ[(f - 1, pred)] == 1:
                    track_of[(f, nid)] = ptrack
                    track_rows[ptrack].append((f, nid))
                    continue
                parent = ptrack
            else:
                parent = -1
                if pred >= 0:
                    cut_links.append((f, nid, pred))
            track_of[(f, nid)] = len(track_rows)
            track_rows.append([(f, nid)])
            track_parent.append(parent)

    names = []
    for rows_ in track_rows:
        given = Counter(nuclei[f][nid][5] for f, nid in rows_ if nuclei[f][nid][5])
        f0, n0 = rows_[0]
        names.append(given.most_common(1)[0][0] if given else f"nuc_t{f0:03d}_{n0}")
    keep = [not any(nm.startswith(p) for p in drop_prefixes) for nm in names]

    cells, parents, frames, xs, ys, zs, sizes, blots, locs = [], [], [], [], [], [], [], [], []
    for k, rows_ in enumerate(track_rows):
        if not keep[k]:
            continue
        p = track_parent[k]
        pname = names[p] if p >= 0 and keep[p] else ""
        for f, nid in rows_:
            pred, x, y, z, size, _, ln, blot = nuclei[f][nid]
            cells.append(names[k])
            parents.append(pname)
            frames.append(f)
            xs.append(x), ys.append(y), zs.append(z), sizes.append(size), blots.append(blot)
            locs.append(f"{members[f]}, line {ln}")
    frames_arr = np.array(frames, dtype=np.int64)
    minutes, source = _frame_times(
        name, frames_arr, lambda i: f"{name}:{locs[i]}", path=path,
        stems=(emb, _stem(path)), time_file=time_file, minutes_per_frame=minutes_per_frame,
        first_frame=1,
    )
    extra = {"blot": np.array(blots)} if np.isfinite(blots).any() else {}
    table = CellTable(
        embryo=emb, cell=cells, time_min=minutes, frame=frames_arr, x=xs, y=ys, z=zs, size=sizes,
        parent=parents, extra=extra,
        meta={"source": name, "format": "acetree", "time_source": source,
              "units": "x, y and size in pixels, z in planes (as in the file)",
              "links_to_deleted_nuclei": len(cut_links)},
    )
    def locator():
        locate_rows = _line_locator(np.array(cells, dtype=str), frames_arr, locs, unit="")
        return lambda p: (locate_rows(p) or "").strip() or None

    table = _check_read(name, table, strict, locator)
    return _sorted(table)


# ------------------------------------------------------------------------------------------
# Track tables
# ------------------------------------------------------------------------------------------

_TRACK_SPEC = {
    "t": ("t", "frame", "timepoint", "time_point"),
    "x": ("x", "position_x", "pos_x"),
    "y": ("y", "position_y", "pos_y"),
    "z": ("z", "position_z", "pos_z"),
    "cell": ("cell", "cell_id", "id", "track", "track_id", "name"),
    "parent": ("parent", "parent_id", "parent_track", "mother"),
    "size": ("size", "diameter"),
    "embryo": ("embryo", "embryo_id"),
}
_ROOT_MARKERS = frozenset({"", "-1", "na", "nan", "none", "null"})


def read_tracks(path, *, minutes_per_frame: float = 1.0, embryo: str | None = None,
                columns: Mapping[str, str] | None = None, delimiter: str | None = None,
                strict: bool = False) -> CellTable:
    """Read a generic track table: one row per cell per frame.

    Columns are found by name, ignoring case, spaces and underscores: `t` (frame; also
    "frame", "timepoint"), `x`, `y`, optionally `z` (0 if absent), `cell` (also "id", "track",
    "track_id", "name"), optionally `parent` (the parent's cell id; also "parent_id", "mother"),
    `size` (diameter) and `embryo` (several embryos in one file). Map other names with
    `columns={"t": "FRAME", ...}`. Other columns go to `extra`. Comma, tab or semicolon
    separated (sniffed from the header), optionally gzip-compressed; lines starting with '#'
    are skipped. A parent of "", -1, NA or none means no parent; so does 0 when no cell is
    called "0".

    Times: `time_min = t * minutes_per_frame` (frames as given in the file).

    Args:
      path: the table.
      minutes_per_frame: frame interval in minutes.
      embryo: embryo name when the file has no embryo column; default the file name.
      columns: {canonical name: header name} for columns named otherwise.
      delimiter: field separator, if sniffing is not wanted.
      strict: raise a ValueError when the lineage breaks a rule (three daughters, a daughter
        seen before its parent has divided, broken C. elegans founder divisions); otherwise
        a `LineageWarning` and `table.meta["lineage_reports"]`.

    Raises:
      ValueError: naming file, line and column, for a missing column, a field that is not a
        (finite) number, an empty cell id, a parent that never appears as a cell, or a cell
        given two different parents.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "tracks.csv"
      >>> _ = p.write_text("t,x,y,z,cell,parent\\n0,0,0,0,1,\\n1,0,0,0,1,\\n2,1,0,0,2,1\\n2,-1,0,0,3,1\\n")
      >>> t = read_tracks(p, minutes_per_frame=2.0)
      >>> t.counts()
      {0.0: 1, 2.0: 1, 4.0: 2}
      >>> lineage(t).nodes["2"]["birth_min"]
      4.0
    """
    name = str(path)
    what = "a track table (t, x, y, [z], cell, [parent])"
    mpf = _check_minutes_per_frame(minutes_per_frame)
    header, hl, rows, lines = _delimited(name, _read_text(path, what), what, delimiter)
    cols = _columns(name, header, hl, _TRACK_SPEC, ("t", "x", "y", "cell"), columns,
                    hint=" Pass columns={'t': ..., 'cell': ...} to name them.")
    by_column = list(zip(*rows)) if rows else [()] * len(header)
    values = {c: list(by_column[i]) for c, i in cols.items()}
    col = {c: header[i] for c, i in cols.items()}
    frames = _numbers(name, col["t"], values["t"], lines, integer=True).astype(np.int64)
    cells = _strings(name, col["cell"], values["cell"], lines, "a cell id")
    xyz = {c: _numbers(name, col[c], values[c], lines) for c in ("x", "y")}
    xyz["z"] = _numbers(name, col["z"], values["z"], lines) if "z" in cols else np.zeros(len(rows))
    size = _numbers(name, col["size"], values["size"], lines, required=False) if "size" in cols else None
    if "embryo" in cols:
        embryos = _strings(name, col["embryo"], values["embryo"], lines, "an embryo name")
    else:
        embryos = np.array([embryo if embryo is not None else _stem(path)] * len(rows), dtype=str)

    parents = np.full(len(rows), "", dtype=str)
    if "parent" in cols:
        raw = values["parent"]
        known = defaultdict(set)
        for e, c in zip(embryos.tolist(), cells.tolist()):
            known[e].add(c)
        out = []
        first_parent: dict[tuple[str, str], tuple[str, int]] = {}
        for e, c, p, ln in zip(embryos.tolist(), cells.tolist(), raw, lines):
            if p.lower() in _ROOT_MARKERS or (p == "0" and "0" not in known[e]):
                p = ""
            if p:
                if p not in known[e]:
                    raise ValueError(
                        f"{name}, line {ln}, column {col['parent']!r}: parent {p!r} never appears as a "
                        f"cell{'' if 'embryo' not in cols else f' of embryo {e!r}'}; expected the id of "
                        "a cell in the file, or empty/-1 for none."
                    )
                if p == c:
                    raise ValueError(
                        f"{name}, line {ln}, column {col['parent']!r}: cell {c!r} is given as its own parent."
                    )
            seen = first_parent.setdefault((e, c), (p, ln))
            if seen[0] != p:
                raise ValueError(
                    f"{name}, line {ln}, column {col['parent']!r}: cell {c!r} has parent {p or 'none'!r} "
                    f"here but {seen[0] or 'none'!r} on line {seen[1]}; expected one parent per cell."
                )
            out.append(p)
        parents = np.array(out, dtype=str)
    used = set(cols.values())
    extra = {_extra_name(header[i]): _extra_column(name, header[i], list(by_column[i]), lines)
             for i in range(len(header)) if i not in used and header[i]}
    table = CellTable(
        embryo=embryos, cell=cells, time_min=frames * mpf, frame=frames, size=size, parent=parents,
        **xyz, extra=extra,
        meta={"source": name, "format": "tracks", "time_source": f"{mpf:g} min per frame, t = 0 at 0 min"},
    )
    table = _check_read(name, table, strict, lambda: _line_locator(cells, frames, lines))
    return _sorted(table)


# ------------------------------------------------------------------------------------------
# Label images
# ------------------------------------------------------------------------------------------

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_NPY_MAGIC = b"\x93NUMPY"
_LABEL_EXTENSIONS = (".tif", ".tiff", ".npy", ".npz", ".png")


def _label_kind(path, head: bytes) -> str | None:
    if head[:4] in _TIFF_MAGIC:
        return "tiff"
    if head[:8] == _PNG_MAGIC:
        return "png"
    if head[:6] == _NPY_MAGIC:
        return "npy"
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as z:
                if any(n.endswith(".npy") for n in z.namelist()):
                    return "npz"
        except zipfile.BadZipFile:
            return None
    return None


def read_labels(path, *, key: str | None = None) -> np.ndarray:
    """Read a label image: 0 is background, each positive integer one cell.

    TIFF (via tifffile; the first series, singleton axes dropped), NPY, NPZ (the one array, or
    `key`, or an array named "labels") and PNG (greyscale, 16-bit or palette). The array keeps
    its dimensions: 2D (y, x), 3D (z, y, x, or a time series of 2D), 4D (t, z, y, x).

    Args:
      path: the image file.
      key: which array of an .npz file.

    Returns:
      integer array (int32, or int64 for labels beyond 2**31 - 1).

    Raises:
      ValueError: naming the file, for an empty image (no labelled pixel), NaNs, non-integer or
        negative values, several channels, fewer than 2 or more than 4 dimensions, an .npz
        holding several arrays and no `key`, or a format it does not know.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels.npy"
      >>> np.save(p, np.array([[0, 1], [2, 2]], dtype=np.uint16))
      >>> read_labels(p)
      array([[0, 1],
             [2, 2]], dtype=int32)
    """
    return _read_labels(path, key)[0]


def _read_labels(path, key) -> tuple[np.ndarray, str | None]:
    name = str(path)
    p = Path(path)
    what = f"a label image ({FORMATS['labels']})"
    if not p.exists():
        raise FileNotFoundError(f"{path}: no such file (expected {what}).")
    with open(p, "rb") as f:
        head = f.read(16)
    kind = _label_kind(p, head) or {
        ".tif": "tiff", ".tiff": "tiff", ".png": "png", ".npy": "npy", ".npz": "npz",
    }.get(p.suffix.lower())
    axes = None
    if kind == "tiff":
        try:
            import tifffile
        except ImportError:  # pragma: no cover - tifffile is a runtime dependency
            raise ImportError("reading TIFF needs tifffile: pip install tifffile") from None
        try:
            with tifffile.TiffFile(p) as tf:
                series = tf.series[0]
                arr = series.asarray()
                axes = series.axes
        except Exception as e:  # tifffile raises several types for corrupt files
            raise ValueError(f"{name}: cannot read as TIFF ({type(e).__name__}: {e}); expected {what}.") from None
        keep = [i for i, n in enumerate(arr.shape) if n != 1]
        axes = "".join(axes[i] for i in keep)
        arr = arr.reshape([arr.shape[i] for i in keep])
        if axes.endswith("S") or "C" in axes:
            ch = np.moveaxis(arr, axes.index("S" if axes.endswith("S") else "C"), 0)
            if not (ch == ch[:1]).all():
                raise ValueError(
                    f"{name}: the TIFF has {ch.shape[0]} different colour channels (axes {axes}); "
                    "expected a single-channel label image. Save one channel of labels."
                )
            arr, axes = ch[0], axes.replace("S" if axes.endswith("S") else "C", "")
        # A (3 or 4, y, x) stack written by tifffile without metadata comes back as separate
        # colour planes ("SYX"): a stack of unknown meaning, not colour.
        axes = axes.replace("S", "Q")
        axes = axes if set(axes) <= set("TZYX") else None
    elif kind == "png":
        from PIL import Image  # Pillow ships with matplotlib

        try:
            with Image.open(p) as im:
                mode = im.mode
                arr = np.array(im)
        except Exception as e:
            raise ValueError(f"{name}: cannot read as PNG ({type(e).__name__}: {e}); expected {what}.") from None
        if arr.ndim == 3:
            colour = arr[..., :3]
            if (colour == colour[..., :1]).all():
                arr = colour[..., 0]
            else:
                raise ValueError(
                    f"{name}: a colour PNG (mode {mode}); expected a single-channel label image "
                    "(greyscale, 16-bit or palette PNG), one integer label per pixel."
                )
    elif kind == "npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"{name}: cannot read as .npy ({e}); expected {what}.") from None
    elif kind == "npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                names = list(z.files)
                if key is not None:
                    if key not in names:
                        raise ValueError(f"{name}: no array {key!r}; the file holds {', '.join(names)}.")
                    arr = z[key]
                elif len(names) == 1:
                    arr = z[names[0]]
                elif "labels" in names:
                    arr = z["labels"]
                else:
                    raise ValueError(
                        f"{name}: holds {len(names)} arrays ({', '.join(names)}); pass key=... to "
                        "say which is the label image."
                    )
        except (OSError, zipfile.BadZipFile) as e:
            raise ValueError(f"{name}: cannot read as .npz ({e}); expected {what}.") from None
    else:
        raise ValueError(
            f"{name}: not a label image format this reader knows; expected {what}."
        )
    return _check_labels(name, arr), axes


def _check_labels(name: str, arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.size == 0:
        raise ValueError(f"{name}: empty label image (shape {arr.shape}); expected a 2D, 3D or 4D image.")
    if not 2 <= arr.ndim <= 4:
        raise ValueError(
            f"{name}: label image has shape {arr.shape}; expected 2D (y, x), 3D (z, y, x or t, y, x) "
            "or 4D (t, z, y, x)."
        )
    if arr.dtype == bool:
        arr = arr.astype(np.int32)
    if arr.dtype.kind == "f":
        nan = np.isnan(arr)
        if nan.any():
            at = tuple(int(i) for i in np.argwhere(nan)[0])
            raise ValueError(
                f"{name}: label image has {int(nan.sum())} NaN value(s) (first at index {at}); "
                "expected integer labels, 0 for background."
            )
        frac = arr != np.round(arr)
        if frac.any() or np.isinf(arr).any():
            at = tuple(int(i) for i in np.argwhere(frac | np.isinf(arr))[0])
            raise ValueError(
                f"{name}: label image has non-integer values (e.g. {arr[at]} at index {at}); "
                "expected integer labels, 0 for background (is this an intensity image?)."
            )
    elif arr.dtype.kind not in "iu":
        raise ValueError(f"{name}: label image has dtype {arr.dtype}; expected integer labels.")
    if arr.min() < 0:
        at = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise ValueError(
            f"{name}: label image has negative values (e.g. {arr[at]} at index {at}); expected "
            "labels >= 0, 0 for background."
        )
    top = arr.max()
    if top == 0:
        raise ValueError(
            f"{name}: empty label image: no labelled pixel (all {arr.size} values are 0); expected "
            "positive integer labels for cells, 0 for background."
        )
    dtype = np.int32 if top <= np.iinfo(np.int32).max else np.int64
    return arr.astype(dtype)


def table_from_labels(labels, *, axes: str | None = None, minutes_per_frame: float = 1.0,
                      embryo: str = "labels", source: str = "array") -> CellTable:
    """A cell table from a label image: one row per label per frame.

    Position is the label's centroid in pixels (x the last axis, y the one before, z the depth
    axis or 0), `size` its equivalent diameter (of a disc in 2D, a ball in 3D, in pixels) and
    `extra["num_pixels"]` its pixel count. Cells are named by their label; there are no parents.

    Args:
      labels: integer array, as from `read_labels`.
      axes: letters from T, Z, Y, X naming the axes, ending in "YX"; default by dimensions:
        "YX", "ZYX", "TZYX" (pass "TYX" for a 2D time series).
      minutes_per_frame: frame interval; frame t is at `t * minutes_per_frame` minutes.
      embryo: embryo name.
      source: where the labels came from, for error messages and `meta`.

    Example:
      >>> lab = np.zeros((2, 4, 4), int); lab[0, :2, :2] = 1; lab[1, 2:, 2:] = 1; lab[1, 0, 0] = 2
      >>> t = table_from_labels(lab, axes="TYX", minutes_per_frame=5.0)
      >>> t.to_records()[0]["x"], t.counts()
      (0.5, {0.0: 1, 5.0: 2})
    """
    mpf = _check_minutes_per_frame(minutes_per_frame)
    arr = _check_labels(source, labels)
    if axes is None:
        axes = {2: "YX", 3: "ZYX", 4: "TZYX"}[arr.ndim]
    axes = axes.upper()
    if (len(axes) != arr.ndim or not axes.endswith("YX") or len(set(axes)) != len(axes)
            or not set(axes) <= set("TZYX")):
        raise ValueError(
            f"axes={axes!r} does not fit labels of shape {arr.shape}: expected {arr.ndim} distinct "
            "letters from T, Z, Y, X ending in 'YX' (e.g. 'ZYX', 'TYX', 'TZYX')."
        )
    if "T" in axes:
        arr = np.moveaxis(arr, axes.index("T"), 0)
        spatial = axes.replace("T", "")
    else:
        arr = arr[None]
        spatial = axes
    cells, frames, xs, ys, zs, counts = [], [], [], [], [], []
    for t, img in enumerate(arr):
        flat = img.ravel()
        n = np.bincount(flat)
        present = np.flatnonzero(n)
        present = present[present > 0]
        centroid = {}
        for a, letter in enumerate(spatial):
            shape = [1] * img.ndim
            shape[a] = img.shape[a]
            coord = np.broadcast_to(np.arange(img.shape[a], dtype=np.float64).reshape(shape), img.shape)
            centroid[letter] = np.bincount(flat, weights=coord.ravel(), minlength=n.size)[present] / n[present]
        cells.extend(str(v) for v in present)
        frames.extend([t] * present.size)
        xs.append(centroid["X"]), ys.append(centroid["Y"])
        zs.append(centroid.get("Z", np.zeros(present.size)))
        counts.append(n[present])
    num = np.concatenate(counts)
    if "Z" in spatial:
        diameter = np.cbrt(6.0 * num / np.pi)
    else:
        diameter = 2.0 * np.sqrt(num / np.pi)
    frames_arr = np.array(frames, dtype=np.int64)
    return CellTable(
        embryo=embryo, cell=cells, time_min=frames_arr * mpf, frame=frames_arr,
        x=np.concatenate(xs), y=np.concatenate(ys), z=np.concatenate(zs), size=diameter,
        extra={"num_pixels": num.astype(np.int64)},
        meta={"source": source, "format": "labels", "axes": axes,
              "time_source": f"{mpf:g} min per frame, t = 0 at 0 min",
              "units": "x, y, z and size in pixels"},
    )


# ------------------------------------------------------------------------------------------
# Any format
# ------------------------------------------------------------------------------------------


def _sniff(path) -> tuple[str | None, str]:
    p = Path(path)
    with open(p, "rb") as f:
        head = f.read(1 << 16)
    label = _label_kind(p, head)
    if label is not None:
        return "labels", f"a {label} file"
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(p) as z:
                if any(_NUCLEI.search(n) for n in z.namelist()):
                    return "acetree", "a zip with nuclei files"
                return None, "a zip archive without tNNN-nuclei files or .npy arrays"
        except zipfile.BadZipFile:
            return None, "a damaged zip archive"
    if p.suffix.lower() in _LABEL_EXTENSIONS:
        return "labels", f"a {p.suffix} file"
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(p, "rb") as f:
                head = f.read(1 << 16)
        except (OSError, EOFError):
            return None, "a damaged gzip file"
    try:
        text = head.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        return None, "binary data"
    first = next((s.strip() for s in text.splitlines() if s.strip() and not s.strip().startswith("#")), "")
    if not first:
        return None, "an empty file"
    fields = {_norm(h) for h in re.split(r"[,\t;]", first)}
    if "celltime" in fields or ({"cell", "time", "x", "y"} <= fields and not fields & {"t", "frame"}):
        return "cd", "a CD table header"
    has = lambda canon: any(_norm(a) in fields for a in _TRACK_SPEC[canon])  # noqa: E731
    if has("t") and has("cell") and has("x") and has("y"):
        return "tracks", "a track table header"
    return None, f"a text table with header {first[:80]!r}"


def read(path, *, format: str | None = None, time_file=None, minutes_per_frame: float | None = None,
         embryo: str | None = None, strict: bool = False) -> CellTable:
    """Read any supported file into a `CellTable`, sniffing the format unless `format` is given.

    Formats (`FORMATS`): "cd" (`read_cd`), "acetree" (`read_acetree`), "tracks" (`read_tracks`)
    and "labels" (`read_labels` then `table_from_labels`, with the axes the TIFF records where it
    does). Label images are sniffed by content (TIFF, PNG, NPY, NPZ), archives by their nuclei
    files, text tables by their header.

    Args:
      path: the file.
      format: one of `FORMATS`, to skip sniffing.
      time_file: TIME file (cd and acetree only).
      minutes_per_frame: frame interval (tracks and labels default to 1).
      embryo: embryo name.
      strict: raise on lineage problems (cd, acetree, tracks).

    Raises:
      ValueError: if the format cannot be told, listing the formats it knows; and whatever the
        format's reader raises.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "tracks.csv"
      >>> _ = p.write_text("T,X,Y,Cell\\n0,1,1,a\\n1,1,2,a\\n")
      >>> read(p).meta["format"]
      'tracks'
    """
    name = str(path)
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no such file.")
    known = "; ".join(f"{k}: {v}" for k, v in FORMATS.items())
    if format is None:
        format, seen = _sniff(path)
        if format is None:
            raise ValueError(
                f"{name}: cannot tell the format (found {seen}). Known formats: {known}. "
                "Pass format=... if the file is one of these."
            )
    if format not in FORMATS:
        raise ValueError(f"format={format!r} is unknown; known formats: {known}.")
    if time_file is not None and format not in ("cd", "acetree"):
        raise ValueError(f"time_file applies to the cd and acetree formats, not {format!r}; use minutes_per_frame.")
    if format == "cd":
        return read_cd(path, time_file=time_file, minutes_per_frame=minutes_per_frame, embryo=embryo, strict=strict)
    if format == "acetree":
        return read_acetree(path, time_file=time_file, minutes_per_frame=minutes_per_frame, embryo=embryo,
                            strict=strict)
    mpf = 1.0 if minutes_per_frame is None else minutes_per_frame
    if format == "tracks":
        return read_tracks(path, minutes_per_frame=mpf, embryo=embryo, strict=strict)
    arr, axes = _read_labels(path, None)
    if axes is not None and (len(axes) != arr.ndim or not axes.endswith("YX")):
        axes = None
    return table_from_labels(arr, axes=axes, minutes_per_frame=mpf,
                             embryo=embryo if embryo is not None else _stem(path), source=name)
