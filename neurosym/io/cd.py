"""AceTree/StarryNite "CD" tables: one row per named nucleus per frame."""

from __future__ import annotations

import numpy as np

from neurosym.io.lineage import check_read_lineage, line_locator
from neurosym.io.table import CellTable
from neurosym.io.text import (
    delimited, extra_column, extra_name, find_columns, norm, numbers, read_text, stem, strings,
)
from neurosym.io.times import frame_times

__all__ = ["read_cd"]

_CD_SPEC = {
    "cell": ("cell",), "time": ("time",), "x": ("x",), "y": ("y",), "z": ("z",), "size": ("size",),
    "celltime": ("celltime",),
}
_WHAT = "an AceTree/StarryNite CD table"


def read_cd(path, *, time_file=None, minutes_per_frame: float | None = None,
            embryo: str | None = None, strict: bool = False) -> CellTable:
    """Read an AceTree/StarryNite "CD" table: one row per named nucleus per frame.

    Columns are found by name (any order, any case): `cell` and `time` (the frame; or one
    `cellTime` column "name:frame"), `x`, `y`, `z`, and optionally `size` (nucleus diameter).
    Every other column (e.g. `blot`, the background-corrected reporter) is kept in `extra`.
    The file may be gzip-compressed. Parents are not in the file: `lineage` derives them from the
    Sulston names.

    Times: from `time_file` (AceTree TIME file: per line [embryo,] frame, seconds[, delta]), or a
    TIME file next to the table named `TIME<embryo>.csv[.gz]`, or `minutes_per_frame` (frame 1
    at 0 min); with none of these, 1 frame = 1 minute and a warning. A TIME file and
    `minutes_per_frame` together are refused (the file already gives the times); pass
    `time_file=False` to ignore a TIME file beside the table.

    Lineage problems (the same name twice in a frame, a daughter seen before its mother has
    divided, a Sulston mother missing mid-recording) are reported with a `LineageWarning` and in
    `table.meta["lineage_reports"]`; `strict=True` raises instead.

    Args:
      path: the CD file (.csv or .csv.gz).
      time_file: an AceTree TIME file for this recording (False: ignore one beside the table).
      minutes_per_frame: frame interval in minutes, when there is no TIME file.
      embryo: embryo name; default the file name without "CD" and extensions.
      strict: raise a ValueError when the lineage breaks a rule.

    Raises:
      ValueError: naming file, line and column, for a missing column, a field that is not a
        (finite) number, an empty cell name, a row with the wrong number of fields, a header with
        no rows, a frame before frame 1 (a negative time), a frame the TIME file does not cover,
        or a parent cycle; and for a path that is empty or a folder.

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
    header, hl, rows, lines = delimited(name, read_text(path, _WHAT, owner="read_cd"), _WHAT)
    normed = {norm(h) for h in header}
    split = {"cell", "time"} <= normed or "celltime" not in normed
    required = ("cell", "time", "x", "y", "z") if split else ("celltime", "x", "y", "z")
    cols = find_columns(name, header, hl, _CD_SPEC, required, owner="read_cd",
                        hint=" A CD table has columns cell, time (or cellTime), x, y, z and optionally size.")
    by_column = list(zip(*rows))
    values = {c: list(by_column[i]) for c, i in cols.items()}
    cells, frames, time_col = _cells_and_frames(name, header, cols, values, lines)
    xyz = {c: numbers(name, header[cols[c]], values[c], lines) for c in ("x", "y", "z")}
    size = numbers(name, header[cols["size"]], values["size"], lines, required=False) if "size" in cols else None
    used = set(cols.values())
    extra = {
        extra_name(header[i]): extra_column(name, header[i], list(by_column[i]), lines)
        for i in range(len(header))
        if i not in used and header[i] and not (norm(header[i]) == "celltime" and "cell" in cols)
    }
    emb = embryo if embryo is not None else _embryo_name(path)
    minutes, source = frame_times(
        name, frames, lambda i: f"{name}, line {lines[i]}, column {time_col!r}", path=path,
        stems=(emb, stem(path)), time_file=time_file, minutes_per_frame=minutes_per_frame,
        first_frame=1, owner="read_cd",
    )
    table = CellTable(
        embryo=emb, cell=cells, time_min=minutes, frame=frames, size=size, **xyz, extra=extra,
        meta={"source": name, "format": "cd", "time_source": source,
              "units": "x, y and size in pixels, z in planes (as in the file)"},
    )
    table = check_read_lineage(name, table, strict, lambda: line_locator(cells, frames, lines))
    return table.sorted()


def _cells_and_frames(name, header, cols, values, lines) -> tuple[np.ndarray, np.ndarray, str]:
    """Cell names and frames from `cell` and `time`, or from one `cellTime` column "name:frame"."""
    if "cell" in cols and "time" in cols:
        cells = strings(name, header[cols["cell"]], values["cell"], lines, "a cell name")
        col = header[cols["time"]]
        frames = numbers(name, col, values["time"], lines, integer=True)
        return cells, frames.astype(np.int64), col
    col = header[cols["celltime"]]
    parts = []
    for v, ln in zip(values["celltime"], lines):
        c, sep, f = v.rpartition(":")
        if not sep or not c:
            raise ValueError(f"{name}, line {ln}, column {col!r}: expected 'cell:frame' (e.g. 'ABa:12'), got {v!r}.")
        parts.append((c, f))
    cells = np.array([c for c, _ in parts], dtype=str)
    frames = numbers(name, col, [f for _, f in parts], lines, integer=True)
    return cells, frames.astype(np.int64), col


def _embryo_name(path) -> str:
    s = stem(path)
    return s[2:] if s.startswith("CD") and len(s) > 2 else s
