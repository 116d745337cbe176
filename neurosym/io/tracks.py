"""Generic track tables: CSV/TSV with columns t, x, y, [z], cell, [parent], one row per cell per frame."""

from __future__ import annotations

from collections import defaultdict
from typing import Mapping

import numpy as np

from neurosym.io.lineage import check_read_lineage, line_locator
from neurosym.io.table import CellTable
from neurosym.io.text import delimited, extra_column, extra_name, find_columns, numbers, read_text, stem, strings
from neurosym.io.times import check_minutes_per_frame

__all__ = ["TRACK_COLUMNS", "read_tracks"]

TRACK_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "t": ("t", "frame", "timepoint", "time_point"),
    "x": ("x", "position_x", "pos_x"),
    "y": ("y", "position_y", "pos_y"),
    "z": ("z", "position_z", "pos_z"),
    "cell": ("cell", "cell_id", "id", "track", "track_id", "name"),
    "parent": ("parent", "parent_id", "parent_track", "mother"),
    "size": ("size", "diameter"),
    "embryo": ("embryo", "embryo_id"),
}
"""Canonical column -> the header names accepted for it (case, spaces and underscores ignored)."""

_ROOT_MARKERS = frozenset({"", "-1", "na", "nan", "none", "null"})
_WHAT = "a track table (t, x, y, [z], cell, [parent])"


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

    Times: `time_min = t * minutes_per_frame` (frames as given in the file, from 0).

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
        (finite) number, a negative frame (a negative time), an empty cell id, a parent that
        never appears as a cell, a cell given two different parents, a header with no rows, or
        a parent cycle.

    Example:
      >>> import pathlib, tempfile
      >>> from neurosym.io.lineage import lineage
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "tracks.csv"
      >>> _ = p.write_text("t,x,y,z,cell,parent\\n0,0,0,0,1,\\n1,0,0,0,1,\\n2,1,0,0,2,1\\n2,-1,0,0,3,1\\n")
      >>> t = read_tracks(p, minutes_per_frame=2.0)
      >>> t.counts()
      {0.0: 1, 2.0: 1, 4.0: 2}
      >>> lineage(t).nodes["2"]["birth_min"]
      4.0
    """
    name = str(path)
    mpf = check_minutes_per_frame(minutes_per_frame, owner="read_tracks")
    header, hl, rows, lines = delimited(name, read_text(path, _WHAT, owner="read_tracks"), _WHAT, delimiter)
    cols = find_columns(name, header, hl, TRACK_COLUMNS, ("t", "x", "y", "cell"), columns, owner="read_tracks",
                        hint=" To name them, pass columns={'t': ..., 'cell': ...}.")
    by_column = list(zip(*rows))
    values = {c: list(by_column[i]) for c, i in cols.items()}
    col = {c: header[i] for c, i in cols.items()}
    frames = numbers(name, col["t"], values["t"], lines, integer=True, minimum=0,
                     why="frames count from 0 at 0 min, and times cannot be negative").astype(np.int64)
    cells = strings(name, col["cell"], values["cell"], lines, "a cell id")
    xyz = {c: numbers(name, col[c], values[c], lines) for c in ("x", "y")}
    xyz["z"] = numbers(name, col["z"], values["z"], lines) if "z" in cols else np.zeros(len(rows))
    size = numbers(name, col["size"], values["size"], lines, required=False) if "size" in cols else None
    if "embryo" in cols:
        embryos = strings(name, col["embryo"], values["embryo"], lines, "an embryo name")
    else:
        embryos = np.array([embryo if embryo is not None else stem(path)] * len(rows), dtype=str)
    parents = np.full(len(rows), "", dtype=str)
    if "parent" in cols:
        parents = _parents(name, col["parent"], values["parent"], lines, embryos, cells, "embryo" in cols)
    used = set(cols.values())
    extra = {extra_name(header[i]): extra_column(name, header[i], list(by_column[i]), lines)
             for i in range(len(header)) if i not in used and header[i]}
    table = CellTable(
        embryo=embryos, cell=cells, time_min=frames * mpf, frame=frames, size=size, parent=parents,
        **xyz, extra=extra,
        meta={"source": name, "format": "tracks", "time_source": f"{mpf:g} min per frame, t = 0 at 0 min"},
    )
    table = check_read_lineage(name, table, strict, lambda: line_locator(cells, frames, lines))
    return table.sorted()


def _parents(name, col, raw, lines, embryos, cells, by_embryo: bool) -> np.ndarray:
    """The parent column: "" for none; each parent a cell of the same embryo; one parent per cell."""
    known = defaultdict(set)
    for e, c in zip(embryos.tolist(), cells.tolist()):
        known[e].add(c)
    out = []
    first_parent: dict[tuple[str, str], tuple[str, int]] = {}
    for e, c, p, ln in zip(embryos.tolist(), cells.tolist(), raw, lines):
        if p.lower() in _ROOT_MARKERS or (p == "0" and "0" not in known[e]):
            p = ""
        if p and p not in known[e]:
            raise ValueError(
                f"{name}, line {ln}, column {col!r}: parent {p!r} never appears as a "
                f"cell{f' of embryo {e!r}' if by_embryo else ''}; expected the id of a cell in the file, "
                "or empty/-1 for none."
            )
        if p and p == c:
            raise ValueError(f"{name}, line {ln}, column {col!r}: cell {c!r} is given as its own parent.")
        seen = first_parent.setdefault((e, c), (p, ln))
        if seen[0] != p:
            raise ValueError(
                f"{name}, line {ln}, column {col!r}: cell {c!r} has parent {p or 'none'!r} "
                f"here but {seen[0] or 'none'!r} on line {seen[1]}; expected one parent per cell."
            )
        out.append(p)
    return np.array(out, dtype=str)
