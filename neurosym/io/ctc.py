"""The Cell Tracking Challenge format: a folder of mask images and a track file `man_track.txt`.

Layout (celltrackingchallenge.net, "Data format"): masks `man_track000.tif`, `man_seg000.tif`
(ground truth) or `mask000.tif` (results), one per frame, 2D or 3D, 0 = background and each
track's label elsewhere; and a text file `man_track.txt` (`res_track.txt` for results) with one
line per track, `L B E P`: label, first frame, last frame, parent label (0 for none). A track
is a contiguous span of frames; a parent ends before its daughters begin.

`read_ctc_tracks` reads the track file alone into `CTCTracks`, whose `lineage` follows the
package's lineage schema (`rules.lineage`); `read_ctc` opens the folder, masks read one frame at
a time through `SegmentationSeries` (TIFF needs the optional `tifffile`; .npy/.npz masks with the
same names are read too).
"""

from __future__ import annotations

import dataclasses
import re
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import networkx as nx
import numpy as np

from automata._checks import fail
from neurosym.io.lineage import LineageReport, build_lineage, check_read_lineage
from neurosym.io.segmentation import SegmentationSeries, check_folder, check_series_options, list_volumes
from neurosym.io.table import CellTable
from neurosym.io.text import check_path, read_text
from neurosym.io.times import check_minutes_per_frame

__all__ = ["CTCData", "CTCTracks", "TRACK_FILES", "read_ctc", "read_ctc_tracks"]

TRACK_FILES = ("man_track.txt", "res_track.txt")
"""The names of the track file: ground truth, then results."""

_MASK_PREFIXES = ("man_track", "man_seg", "mask")
_MASK_SUFFIXES = (".tif", ".tiff", ".npy", ".npz")
_WHAT = "a Cell Tracking Challenge track file (lines 'L B E P': label, begin, end, parent)"


@dataclass(frozen=True, eq=False)
class CTCTracks:
    """The tracks of a Cell Tracking Challenge track file, one row per track.

    Attributes:
      label: (K,) int64 track labels (as in the masks), positive and distinct.
      begin: (K,) int64 first frame of each track.
      end: (K,) int64 last frame of each track (>= begin).
      parent: (K,) int64 parent label, 0 for none.
      lines: (K,) int64 line of the file each track is on (for messages).
      source: where the tracks came from.

    Example:
      >>> tracks = CTCTracks(label=[1, 2, 3], begin=[0, 5, 5], end=[4, 9, 9], parent=[0, 1, 1])
      >>> tracks.alive(5).tolist()
      [2, 3]
      >>> g = tracks.lineage(minutes_per_frame=2.0)
      >>> sorted(g.successors("1")), g.nodes["2"]["birth_min"], g.nodes["1"]["cycle_min"]
      (['2', '3'], 10.0, None)
    """

    label: Any
    begin: Any
    end: Any
    parent: Any
    lines: Any = None
    source: str = "tracks"
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        cols = {}
        for name in ("label", "begin", "end", "parent"):
            a = np.asarray(getattr(self, name))
            if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
                raise fail("CTCTracks", f"{name} must be a 1-D sequence of integers, got shape {a.shape} "
                                        f"dtype {a.dtype}.", TypeError)
            cols[name] = a.astype(np.int64)
        n = cols["label"].shape[0]
        lines = np.arange(1, n + 1) if self.lines is None else np.asarray(self.lines, np.int64)
        for name, a in {**cols, "lines": lines}.items():
            if a.shape != (n,):
                raise fail("CTCTracks", f"{name} has shape {a.shape}, expected ({n},) like label.")
            a.flags.writeable = False
            object.__setattr__(self, name, a)
        _check_tracks(self)
        object.__setattr__(self, "meta", types.MappingProxyType(dict(self.meta)))

    def __len__(self) -> int:
        return self.label.shape[0]

    def __repr__(self) -> str:
        if not len(self):
            return "CTCTracks(0 tracks)"
        return (f"CTCTracks({len(self)} tracks, frames {self.begin.min()}-{self.end.max()}, "
                f"{int((self.parent > 0).sum())} with a parent)")

    def alive(self, frame: int) -> np.ndarray:
        """The labels of the tracks present at `frame`, ascending."""
        f = int(frame)
        return np.sort(self.label[(self.begin <= f) & (self.end >= f)])

    def lineage(self, *, minutes_per_frame: float = 1.0, strict: bool = False) -> nx.DiGraph:
        """The lineage of the tracks as a `networkx.DiGraph` in the package's schema.

        Nodes are the track labels as text (as cells are named in `CellTable`s of label images),
        each with `label` (int) and the schema's attributes (`birth_min`, `division_min`,
        `cycle_min`, `first_min`, `last_min`, `first_frame`, `last_frame`, `num_frames`,
        `founder`, `generation`; see `neurosym.io.lineage` and `rules.lineage`). A track that
        continues a parent as its only daughter (how the format records a gap) is kept as a
        daughter. `graph.graph["report"]` is a `LineageReport` (e.g. a daughter that begins before
        its parent ends, three daughters), each problem naming the line of the file.

        Args:
          minutes_per_frame: frame interval; frame f is at `f * minutes_per_frame` minutes.
          strict: raise a ValueError for any lineage problem instead of reporting it.

        Raises:
          ValueError: the parents form a cycle, naming the tracks and their lines.
        """
        owner = "CTCTracks.lineage"
        table = _span_table(self, check_minutes_per_frame(minutes_per_frame, owner=owner))
        line_of = {str(lab): int(ln) for lab, ln in zip(self.label.tolist(), self.lines.tolist())}
        graph, problems = build_lineage(table, source=self.source, locate=lambda c: f"line {line_of.get(c)}")
        located = tuple(dataclasses.replace(p, message=f"{self.source}, line {line_of.get(p.cell)}: {p.message}")
                        for p in problems)
        report = LineageReport(embryo=self.source, problems=located)
        if strict and not report.ok:
            raise ValueError(f"{owner}: {report}\nFix the track file, or pass strict=False to get these as "
                             "graph.graph['report'].")
        for n in graph.nodes:
            graph.nodes[n]["label"] = int(n)
        graph.graph.update(embryo=self.source, report=report, minutes_per_frame=float(minutes_per_frame))
        return graph


def _span_table(t: CTCTracks, mpf: float) -> CellTable:
    """One row per track per frame it spans, with its parent: what a lineage needs (positions 0)."""
    span = t.end - t.begin + 1
    rows = np.repeat(np.arange(len(t)), span)
    frame = np.arange(rows.size) - np.repeat(np.cumsum(span) - span, span) + t.begin[rows]
    parent = np.where(t.parent > 0, t.parent.astype(str), "")
    zero = np.zeros(rows.size)
    return CellTable(embryo=t.source, cell=t.label.astype(str)[rows], time_min=frame * mpf, frame=frame,
                     x=zero, y=zero, z=zero, parent=parent[rows])


def _check_tracks(t: CTCTracks) -> None:
    where = lambda i: f"{t.source}, line {int(t.lines[i])}"  # noqa: E731
    bad = np.flatnonzero(t.label <= 0)
    if bad.size:
        i = bad[0]
        raise ValueError(f"{where(i)}: track label {t.label[i]} must be positive (0 is the background).")
    uniq, first, counts = np.unique(t.label, return_index=True, return_counts=True)
    if (counts > 1).any():
        lab = uniq[counts > 1][0]
        lines = t.lines[t.label == lab].tolist()
        raise ValueError(f"{t.source}: track {lab} is listed {int(counts[uniq == lab][0])} times (lines "
                         f"{', '.join(map(str, lines))}); each track label once.")
    bad = np.flatnonzero((t.begin < 0) | (t.end < t.begin))
    if bad.size:
        i = bad[0]
        raise ValueError(f"{where(i)}: track {t.label[i]} begins at frame {t.begin[i]} and ends at {t.end[i]}; "
                         "expected 0 <= begin <= end.")
    bad = np.flatnonzero((t.parent < 0) | (t.parent == t.label))
    if bad.size:
        i = bad[0]
        raise ValueError(f"{where(i)}: track {t.label[i]} has parent {t.parent[i]}; expected 0 (none) or the "
                         "label of another track.")
    unknown = np.flatnonzero((t.parent > 0) & ~np.isin(t.parent, t.label))
    if unknown.size:
        i = unknown[0]
        raise ValueError(f"{where(i)}: track {t.label[i]} has parent {t.parent[i]}, which is not a track of the "
                         "file; list the parent's track, or give parent 0.")


def read_ctc_tracks(path) -> CTCTracks:
    """Read a Cell Tracking Challenge track file (`man_track.txt`, `res_track.txt`).

    One track a line, four integers separated by spaces or tabs: label, first frame, last
    frame, parent label (0: none). Empty lines are skipped.

    Raises:
      ValueError: naming the file and line, for a line without four integers, a label that is
        not positive or listed twice, a track that ends before it begins, or a parent that is
        the track itself or not a track of the file.
      FileNotFoundError: no such file.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "man_track.txt"
      >>> _ = p.write_text("1 0 3 0\\n2 4 6 1\\n3 4 5 1\\n")
      >>> t = read_ctc_tracks(p)
      >>> t.label.tolist(), t.parent.tolist(), len(t.lineage())
      ([1, 2, 3], [0, 1, 1], 3)
    """
    owner = "read_ctc_tracks"
    text = read_text(path, _WHAT, owner=owner)
    rows, lines = [], []
    for ln, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4 or not all(re.fullmatch(r"[+-]?\d+", f) for f in fields):
            raise ValueError(f"{path}, line {ln}: {line.strip()!r} is not four integers 'L B E P' (label, begin "
                             "frame, end frame, parent label or 0); fix or remove the line.")
        rows.append([int(f) for f in fields])
        lines.append(ln)
    if not rows:
        raise ValueError(f"{path}: holds no tracks; expected {_WHAT}.")
    a = np.array(rows, dtype=np.int64)
    return CTCTracks(label=a[:, 0], begin=a[:, 1], end=a[:, 2], parent=a[:, 3], lines=lines, source=str(path))


@dataclass(frozen=True, eq=False)
class CTCData:
    """A Cell Tracking Challenge folder: its masks as a lazy `SegmentationSeries` and its tracks.

    Attributes:
      series: the masks, one label image per frame (time = frame number in the file name).
      tracks: the `CTCTracks` of the track file.

    Example:
      >>> import pathlib, tempfile
      >>> folder = pathlib.Path(tempfile.mkdtemp())
      >>> _ = (folder / "man_track.txt").write_text("1 0 0 0\\n2 1 1 1\\n3 1 1 1\\n")
      >>> np.save(folder / "man_track000.npy", np.array([[1, 1, 1, 0]], np.uint16))
      >>> np.save(folder / "man_track001.npy", np.array([[2, 2, 3, 3]], np.uint16))
      >>> data = read_ctc(folder)
      >>> data.series.times, data.mismatches(1)
      ((0, 1), ([], []))
      >>> t = data.to_cell_table()
      >>> t.cell.tolist(), t.parent.tolist(), t.x.tolist()
      (['1', '2', '3'], ['', '1', '1'], [1.0, 0.5, 2.5])
    """

    series: SegmentationSeries
    tracks: CTCTracks

    def lineage(self, *, minutes_per_frame: float = 1.0, strict: bool = False) -> nx.DiGraph:
        """The lineage of the track file (`CTCTracks.lineage`)."""
        return self.tracks.lineage(minutes_per_frame=minutes_per_frame, strict=strict)

    def mismatches(self, time: int) -> tuple[list[int], list[int]]:
        """Labels in the mask at `time` that no track spans, and tracks spanning `time` missing
        from the mask (reads that mask)."""
        present = np.unique(self.series.labels(time))
        present = present[present > 0]
        alive = self.tracks.alive(time)
        return np.setdiff1d(present, alive).tolist(), np.setdiff1d(alive, present).tolist()

    def to_cell_table(self, *, times=None, minutes_per_frame: float = 1.0, strict: bool = False) -> CellTable:
        """One row per labelled cell per frame (`SegmentationSeries.to_cell_table`), with each
        track's parent from the track file; the lineage is checked as the other readers do
        (`LineageWarning`, or a ValueError with `strict`).

        Raises:
          ValueError: a mask holds a label that the track file does not list.
        """
        table = self.series.to_cell_table(times=times, minutes_per_frame=minutes_per_frame)
        labels = table.extra["label"]
        known = np.isin(labels, self.tracks.label)
        if not known.all():
            i = int(np.argmax(~known))
            raise ValueError(f"{self.tracks.source}: the mask of frame {table.frame[i]} holds label {labels[i]}, "
                             "which the track file does not list; add its track, or fix the mask.")
        parent_of = dict(zip(self.tracks.label.tolist(), self.tracks.parent.tolist()))
        parent = np.array([str(parent_of[v]) if parent_of[v] > 0 else "" for v in labels.tolist()], dtype=str)
        table = dataclasses.replace(table, parent=parent, meta={**table.meta, "format": "ctc"})
        lines = dict(zip(self.tracks.label.astype(str).tolist(), self.tracks.lines.tolist()))
        return check_read_lineage(self.tracks.source, table, strict,
                                  lambda: (lambda p: f"line {lines[p.cell]}" if p.cell in lines else None))


def _find_masks(folder: Path, prefix: str | None) -> tuple[str, int]:
    prefixes = _MASK_PREFIXES if prefix is None else (prefix,)
    found = {}
    for pre in prefixes:
        pat = re.compile(re.escape(pre) + r"(\d+)(" + "|".join(map(re.escape, _MASK_SUFFIXES)) + r")$", re.I)
        n = sum(1 for q in folder.iterdir() if pat.match(q.name))
        if n:
            found[pre] = n
    if not found:
        wanted = ", ".join(f"{p}000.tif" for p in prefixes)
        raise ValueError(f"{folder}: no mask files ({wanted}, ...: one label image per frame). Pass the TRA, SEG "
                         "or RES folder of a Cell Tracking Challenge sequence, or prefix=... for other names.")
    if len(found) > 1:
        listed = ", ".join(f"{n} {p}###" for p, n in found.items())
        raise ValueError(f"{folder}: holds masks of several kinds ({listed}); pass prefix=... to pick one.")
    return next(iter(found.items()))


def read_ctc(folder, *, track_file=None, prefix: str | None = None, spacing=None, gap: int = 0,
             axes: str | None = None, embryo: str | None = None) -> CTCData:
    """Open a Cell Tracking Challenge folder: masks (read lazily) and its track file.

    Masks are `man_track###.tif`, `man_seg###.tif` or `mask###.tif` (2D or 3D; .tiff, .npy and
    .npz with the same names are read too), the number being the frame; the track file is
    `man_track.txt` or `res_track.txt` in the folder, or `track_file`. TIFF masks need the
    optional package tifffile (`pip install tifffile`), imported when the first mask is read.

    Args:
      folder: the folder holding the masks (e.g. `01_GT/TRA` or `01_RES`).
      track_file: the track file, if not in the folder under its usual name.
      prefix: which masks, when the folder holds several kinds.
      spacing: voxel size per axis (or one for all); default voxel units.
      gap: the widest gap, in voxels, that cells touch across (0: masks share faces, the usual
        case for this format; see `contact_areas`).
      axes: letters of the mask axes for tables (default "ZYX" in 3D, "YX" in 2D).
      embryo: the name in tables (default the folder's name).

    Raises:
      FileNotFoundError: no such folder, or no track file.
      ValueError: no masks, masks of several kinds, or a malformed track file (file and line).

    Example:
      >>> import pathlib, tempfile
      >>> folder = pathlib.Path(tempfile.mkdtemp())
      >>> _ = (folder / "res_track.txt").write_text("4 0 1 0\\n")
      >>> np.save(folder / "mask000.npy", np.array([[0, 4], [4, 4]], np.uint16))
      >>> np.save(folder / "mask001.npy", np.array([[4, 4], [0, 0]], np.uint16))
      >>> data = read_ctc(folder)
      >>> data.series.geometry(1).num_voxels.tolist(), data.tracks.alive(1).tolist()
      ([2], [4])
    """
    owner = "read_ctc"
    what = "Cell Tracking Challenge masks (man_track###.tif, man_seg###.tif or mask###.tif) and man_track.txt"
    p = check_folder(folder, what, owner=owner)
    if track_file is None:
        there = [p / name for name in TRACK_FILES if (p / name).is_file()]
        if not there:
            raise FileNotFoundError(f"{p}: no track file ({' or '.join(TRACK_FILES)}); pass track_file=... with "
                                    "the file of lines 'L B E P'.")
        track_file = there[0]
    tracks = read_ctc_tracks(check_path(track_file, _WHAT, owner=owner))
    pre, _ = _find_masks(p, prefix)
    gap = check_series_options(gap, spacing, axes, owner=owner)
    files = list_volumes(p, pre)
    series = SegmentationSeries(files, names=None, spacing=spacing, gap=gap, axes=axes, key=None,
                                embryo=p.name if embryo is None else str(embryo))
    return CTCData(series=series, tracks=tracks)
