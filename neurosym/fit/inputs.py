"""One embryo read for fitting, and the checks that it can be fitted at all.

`read_embryo` reads a file or an embedded embryo; `check_fittable` refuses what no division
model can be fitted to (no cells, one frame, one cell, times before zero, parent cycles, no
division). Both raise `ValueError` naming the argument to change (`data=`, `format=`,
`minutes_per_frame=`, `embryo=`), which the command line translates into its flags.
"""

from __future__ import annotations

import pathlib
import warnings

import networkx as nx
import numpy as np

from automata._checks import check_number
from neurosym import data as nsdata
from neurosym import datasets

__all__ = ["MAX_MINUTES_PER_FRAME", "check_fittable", "read_embryo"]

MAX_MINUTES_PER_FRAME = 24 * 60.0
"""The longest frame interval accepted (a day): development is not filmed more sparsely."""


def _check_path(data) -> pathlib.Path:
    if not isinstance(data, (str, pathlib.PurePath)):
        raise TypeError(f"data= must be a file path, got {type(data).__name__}.")
    if str(data).strip() == "":
        raise ValueError(f"data={str(data)!r} is empty; give the path of a CD table, an AceTree .zip or a track table (.csv).")
    path = pathlib.Path(data)
    if not path.exists():
        raise ValueError(f"data={str(path)!r} does not exist; give the path of a CD table, an AceTree .zip "
                         "or a track table (.csv).")
    if path.is_dir():
        raise ValueError(f"data={str(path)!r} is a folder, not a file; give one file in it (a CD table, an "
                         "AceTree .zip or a track table).")
    return path


def _timed_by_file(read, minutes_per_frame) -> None:
    """Refuse `minutes_per_frame` where a TIME file already gives each frame's time."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = str(read(None).meta.get("time_source", ""))
    if source.startswith("TIME file"):
        raise ValueError(
            f"minutes_per_frame={minutes_per_frame:g} would replace the frame times of the "
            f"{source}; drop minutes_per_frame= to use those real times (or move the TIME file "
            "away to use a fixed interval)."
        )


def read_embryo(data=None, *, format: str | None = None, minutes_per_frame: float | None = None,
                embryo: str | None = None, strict: bool = False) -> tuple["nsdata.CellTable", str]:
    """One embryo's `CellTable` and where it came from: a file, or an embedded embryo.

    Args:
      data: a CD table, AceTree archive or track table (None: the embedded embryo `embryo`,
        default `neurosym.datasets.DEFAULT_CELEGANS`).
      format: the file's format (default: sniffed); only with `data`.
      minutes_per_frame: frame interval in minutes, in (0, 1440]; refused where a TIME file
        gives the frame times.
      embryo: which embryo (an embedded name, or one of a multi-embryo file).
      strict: refuse a lineage that breaks a rule (else a warning).

    Returns:
      `(table, source)`.

    Raises:
      ValueError: naming the argument to change.

    Example:
      >>> table, source = read_embryo()
      >>> source, len(table.embryos())
      ('embedded:20241009_JIM767_25_L1', 1)
    """
    if minutes_per_frame is not None:
        minutes_per_frame = check_number(minutes_per_frame, "minutes_per_frame", minimum=0.0, open_minimum=True,
                                         maximum=MAX_MINUTES_PER_FRAME, hint="Give minutes between frames.")
    if data is None:
        if format is not None:
            raise ValueError("format= needs data= (the embedded embryo is read as it is).")
        name = embryo or datasets.DEFAULT_CELEGANS
        if minutes_per_frame is not None and datasets.describe_celegans(name)["has_time_file"]:
            raise ValueError(f"minutes_per_frame={minutes_per_frame:g} would replace the frame times of the "
                             f"TIME file of {name}; drop minutes_per_frame= to use those real times.")
        return datasets.load_celegans(name, minutes_per_frame=minutes_per_frame, strict=strict), f"embedded:{name}"
    path = _check_path(data)

    def read(mpf):
        return nsdata.read(path, format=format, minutes_per_frame=mpf, strict=strict)

    if minutes_per_frame is not None:
        _timed_by_file(read, minutes_per_frame)
    table = read(minutes_per_frame)
    embryos = table.embryos()
    if embryo is not None and embryo not in embryos:
        raise ValueError(f"embryo={embryo!r} is not in {path}; it holds {', '.join(map(str, embryos))}.")
    if len(embryos) > 1:
        table = table.select(embryo=embryo or embryos[0])
    return table, str(path)


def _parent_cycle(table) -> list | None:
    """The cells of a parent cycle (A parent of B, ..., parent of A), or None."""
    if table.parent is None:
        return None
    links = nx.DiGraph((str(p), str(c)) for c, p in zip(table.cell, table.parent) if str(p) not in ("", "nan"))
    try:
        edges = nx.find_cycle(links)
    except nx.NetworkXNoCycle:
        return None
    return [a for a, _ in edges] + [edges[0][0]]


def check_fittable(table: "nsdata.CellTable", graph: nx.DiGraph | None = None) -> nx.DiGraph:
    """The lineage graph of one embryo's table, or a `ValueError` saying why it cannot be fitted.

    Args:
      table: one embryo's `CellTable`.
      graph: its lineage graph (default `neurosym.data.lineage(table)`).

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> check_fittable(load_celegans()).number_of_nodes() > 100
      True
    """
    if len(table) == 0:
        raise ValueError("the data holds no cells (a header without rows?); give a table with cells over time.")
    first = float(np.min(table.time_min))
    if first < 0:
        raise ValueError(f"the data has times before zero (the first at {first:g} min); frame numbers and times "
                         "must start at 0 or later.")
    frames = table.frames()
    if len(frames) < 2:
        raise ValueError(f"the data has a single frame ({frames[0]}); fitting division needs a time series.")
    cells = table.cells()
    if len(cells) < 2:
        raise ValueError(f"the data holds a single cell ({cells[0]!r}) that never divides; fitting division "
                         "needs cells that divide.")
    cycle = _parent_cycle(table)
    if cycle is not None:
        raise ValueError(f"the parents form a cycle, {' -> '.join(cycle)}: a cell cannot be its own "
                         "ancestor; fix the parent column.")
    if graph is None:
        graph = nsdata.lineage(table)
    if not any(graph.out_degree(n) >= 2 for n in graph.nodes):
        raise ValueError("no cell divides in the data: there is nothing to fit a division model to.")
    return graph
