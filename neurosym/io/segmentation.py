"""Series of named segmentations: a folder of label volumes, one file per time point, read lazily.

The layout: a folder holding `seg_T001.npz`, `seg_T002.npz`, ... (one label volume each, under
the key `seg`; the number in the name is the time point) and optionally `label_names.json`, a
JSON object {label: cell name} with the same numbering at every time point. `read_segmentation`
lists the files and reads the names; each volume is only read when a time point is asked for
(`SegmentationSeries.labels`, `.geometry`), and its geometry (`neurosym.io.geometry`) is kept.
The Cell Tracking Challenge reader (`neurosym.io.ctc`) builds the same series from mask files.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path
from typing import Iterator, Mapping

import networkx as nx
import numpy as np

from automata._checks import fail
from neurosym.io.contacts import check_gap, check_spacing, check_volume
from neurosym.io.geometry import CellGeometry, check_axes, measure
from neurosym.io.labels import read_label_image
from neurosym.io.table import CellTable
from neurosym.io.times import check_minutes_per_frame

__all__ = ["NAMES_FILE", "SegmentationSeries", "read_label_names", "read_segmentation"]

NAMES_FILE = "label_names.json"
"""The file of a segmentation folder that names its labels: a JSON object {label: name}."""

_VOLUME_SUFFIXES = (".npz", ".npy", ".tif", ".tiff")


class SegmentationSeries:
    """Label volumes over time, one file per time point, read only when asked for.

    Built by `read_segmentation` (or `neurosym.io.read_ctc`); the volumes are never all in memory
    unless `stack` is called. Each time point's `CellGeometry` is computed once and kept.

    Attributes:
      files: {time: path}, in time order.
      names: {label: name}, or None when the labels are not named.
      spacing: (D,) voxel size, or None (voxel units).
      gap: the membrane gap contacts are counted across (see `neurosym.io.contacts`).
      axes: the letters of the volume axes for `to_cell_table` ("ZYX" by default in 3D).
      embryo: the embryo name for tables (default the folder's name).

    Example:
      >>> import pathlib, tempfile
      >>> folder = pathlib.Path(tempfile.mkdtemp())
      >>> for t in (1, 2):
      ...     v = np.zeros((2, 3, 7), np.uint16); v[:, :, :3] = 1; v[:, :, 4:] = 2 + t
      ...     np.savez_compressed(folder / f"seg_T{t:03d}.npz", seg=v)
      >>> _ = (folder / "label_names.json").write_text('{"1": "AB", "3": "P1", "4": "EMS"}')
      >>> series = read_segmentation(folder, gap=1)
      >>> series.times, series.geometry(2).names.tolist()
      ((1, 2), ['AB', 'EMS'])
      >>> sorted(series.graph(1, by="name").edges(data="area"))
      [('AB', 'P1', 6.0)]
    """

    def __init__(self, files: Mapping[int, os.PathLike | str], *, names: Mapping[int, str] | None = None,
                 spacing=None, gap: int = 2, axes: str | None = None, key: str | None = None,
                 embryo: str = "segmentation", names_source: str = "names"):
        owner = "SegmentationSeries"
        if not files:
            raise fail(owner, "files must map at least one time point to a label volume file, got none.")
        self.files = {int(t): Path(p) for t, p in sorted(dict(files).items())}
        self.names = None if names is None else dict(names)
        self.gap = check_gap(gap, owner=owner)
        self.spacing = None if spacing is None else np.asarray(spacing, np.float64)
        self.axes = axes
        self.key = key
        self.embryo = str(embryo)
        self._names_source = names_source
        self._geometry: dict[int, CellGeometry] = {}

    def __repr__(self) -> str:
        t = self.times
        named = f", {len(self.names)} names" if self.names is not None else ""
        return f"SegmentationSeries({len(t)} time points {t[0]}-{t[-1]}{named}, embryo {self.embryo!r})"

    def __len__(self) -> int:
        return len(self.files)

    @property
    def times(self) -> tuple[int, ...]:
        """The time points, ascending (as numbered in the file names)."""
        return tuple(self.files)

    def _file(self, time) -> Path:
        try:
            return self.files[int(time)]
        except (KeyError, TypeError, ValueError):
            t = self.times
            raise KeyError(f"no time point {time!r}; the series has {len(t)} time points, {t[0]} to {t[-1]} "
                           f"({', '.join(map(str, t[:6]))}{' ...' if len(t) > 6 else ''}).") from None

    def labels(self, time: int) -> np.ndarray:
        """The label volume at `time`, read from its file now (int32 or int64).

        Example:
          >>> import pathlib, tempfile
          >>> folder = pathlib.Path(tempfile.mkdtemp())
          >>> np.savez(folder / "seg_T005.npz", seg=np.array([[0, 2], [1, 1]], np.uint16))
          >>> read_segmentation(folder).labels(5).tolist()
          [[0, 2], [1, 1]]
        """
        path = self._file(time)
        lab, _ = read_label_image(path, self.key, owner="SegmentationSeries.labels")
        return check_volume(lab, owner=str(path), name="the volume")

    def geometry(self, time: int) -> CellGeometry:
        """The `CellGeometry` of every cell at `time` (computed on first use, then kept).

        Raises:
          ValueError: naming the file, when a label in the volume has no name in `names`.

        Example:
          >>> import pathlib, tempfile
          >>> folder = pathlib.Path(tempfile.mkdtemp())
          >>> np.savez(folder / "seg_T001.npz", seg=np.array([[1, 0, 2]], np.uint16))
          >>> read_segmentation(folder).geometry(1).contacts.pairs.tolist()
          [[1, 2]]
        """
        path = self._file(time)
        t = int(time)
        if t not in self._geometry:
            lab = self.labels(t)
            sp = check_spacing(self.spacing, lab.ndim, owner="SegmentationSeries")
            hint = (f"Add the missing labels to {self._names_source}, or pass names=False to read the "
                    "labels without names.")
            self._geometry[t] = measure(lab, gap=self.gap, sp=sp, names=self.names, time=t,
                                        owner="SegmentationSeries.geometry", source=str(path), hint=hint,
                                        meta={"embryo": self.embryo})
        return self._geometry[t]

    def geometries(self, times=None) -> Iterator[CellGeometry]:
        """The geometry of each time point in turn (all by default), one volume read at a time."""
        for t in self.times if times is None else times:
            yield self.geometry(t)

    def graph(self, time: int, *, by: str = "label") -> nx.Graph:
        """The contact graph at `time` (see `CellGeometry.graph`); `by="name"` for named nodes."""
        return self.geometry(time).graph(by=by)

    def stack(self, times=None) -> np.ndarray:
        """The volumes at `times` (all by default) stacked on a leading time axis: all in memory.

        Raises:
          ValueError: the volumes differ in shape, naming the first that does.
        """
        times = self.times if times is None else tuple(times)
        vols = [self.labels(t) for t in times]
        for t, v in zip(times, vols):
            if v.shape != vols[0].shape:
                raise ValueError(f"{self.files[int(t)]}: shape {v.shape} differs from {vols[0].shape} at time "
                                 f"{times[0]}; stack volumes of one shape (pass times=...).")
        return np.stack(vols)

    def to_cell_table(self, *, times=None, minutes_per_frame: float = 1.0) -> CellTable:
        """One `CellTable` row per cell per time point (see `CellGeometry.to_cell_table`):
        frame = time point, `time_min = time * minutes_per_frame`.

        Example:
          >>> import pathlib, tempfile
          >>> folder = pathlib.Path(tempfile.mkdtemp())
          >>> for t in (1, 2):
          ...     np.savez(folder / f"seg_T{t}.npz", seg=np.array([[1, 0, 2 * t]], np.uint16))
          >>> read_segmentation(folder).to_cell_table(minutes_per_frame=1.5).counts()
          {1.5: 2, 3.0: 2}
        """
        owner = "SegmentationSeries.to_cell_table"
        mpf = check_minutes_per_frame(minutes_per_frame, owner=owner)
        tables = [g.to_cell_table(embryo=self.embryo, axes=self.axes, minutes_per_frame=mpf)
                  for g in self.geometries(times)]
        meta = {**tables[0].meta, "source": str(next(iter(self.files.values())).parent)}
        return dataclasses.replace(CellTable.concat(tables), meta=meta)


def read_label_names(path) -> dict[int, str]:
    """A `label_names.json` file as {label: name}: a JSON object of positive integer labels
    (as text) to distinct, non-empty names.

    Raises:
      ValueError: naming the file, for text that is not JSON, not an object, a key that is not
        a positive integer, a name that is not non-empty text, or a name given twice.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "label_names.json"
      >>> _ = p.write_text('{"1": "ABa", "2": "ABp"}')
      >>> read_label_names(p)
      {1: 'ABa', 2: 'ABp'}
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file (expected a JSON object {{label: name}}).")
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{p}: not JSON ({e}); expected an object {{\"1\": \"ABa\", ...}} of label -> name.") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{p}: holds a JSON {type(raw).__name__}; expected an object {{\"1\": \"ABa\", ...}} "
                         "of label -> name.")
    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    for k, v in raw.items():
        if not re.fullmatch(r"\s*\d+\s*", str(k)) or int(k) == 0:
            raise ValueError(f"{p}: key {k!r} is not a positive integer label; keys are labels (1, 2, ...), "
                             "0 is the background.")
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"{p}: label {k} has the name {v!r}; expected non-empty text.")
        if v in seen:
            raise ValueError(f"{p}: labels {seen[v]} and {int(k)} share the name {v!r}; each label needs its own "
                             "name.")
        seen[v] = int(k)
        out[int(k)] = v
    return out


def list_volumes(folder: Path, prefix: str) -> dict[int, Path]:
    pat = re.compile(re.escape(prefix) + r"(\d+)(" + "|".join(re.escape(s) for s in _VOLUME_SUFFIXES) + r")$",
                     re.IGNORECASE)
    files: dict[int, Path] = {}
    for q in sorted(folder.iterdir()):
        m = pat.match(q.name)
        if m is None or not q.is_file():
            continue
        t = int(m.group(1))
        if t in files:
            raise ValueError(f"{folder}: two files for time point {t} ({files[t].name}, {q.name}); keep one.")
        files[t] = q
    return files


def check_folder(folder, what: str, *, owner: str) -> Path:
    if not isinstance(folder, (str, os.PathLike)):
        raise fail(owner, f"folder must be a path (str or pathlib.Path), got {type(folder).__name__}.", TypeError)
    p = Path(folder)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such folder; pass the folder holding {what}.")
    if not p.is_dir():
        raise ValueError(f"{p}: is a file, not a folder; pass the folder holding {what} (e.g. {p.parent}).")
    return p


def check_series_options(gap, spacing, axes, *, owner: str) -> int:
    """Check a series' gap, spacing and axes before any volume is read (the number of axes is
    not known yet: spacing and axes are checked against it when a volume is measured)."""
    gap = check_gap(gap, owner=owner)
    if spacing is not None:
        size = np.size(spacing)
        check_spacing(spacing, size if size in (2, 3) else 3, owner=owner)
    if axes is not None:
        check_axes(axes, len(axes) if isinstance(axes, str) else 3, owner=owner)
    return gap


def _names_of(names, folder: Path, *, owner: str) -> tuple[dict[int, str] | None, str]:
    if names is False:
        return None, "names"
    if names is None:
        p = folder / NAMES_FILE
        return (read_label_names(p), str(p)) if p.is_file() else (None, "names")
    if isinstance(names, (str, os.PathLike)):
        return read_label_names(names), str(names)
    if isinstance(names, Mapping):
        try:
            return {int(k): str(v) for k, v in names.items()}, "names"
        except (TypeError, ValueError):
            raise fail(owner, "names must map integer labels to names.", TypeError) from None
    raise fail(owner, f"names must be None (read {NAMES_FILE} if present), False (no names), a path to a "
                      f"JSON file or a mapping {{label: name}}, got {type(names).__name__}.", TypeError)


def read_segmentation(folder, *, names=None, spacing=None, gap: int = 2, axes: str | None = None,
                      key: str | None = "seg", prefix: str = "seg_T", embryo: str | None = None) -> SegmentationSeries:
    """Open a folder of segmentations, one label volume per time point, named cells optional.

    Files `{prefix}{time}.npz` (also .npy, .tif, .tiff), e.g. `seg_T001.npz` holding the array
    `seg`: a 2D or 3D integer label volume, 0 = background and the membrane between cells. The
    number in the name is the time point. Nothing is read but the file list and the names now.

    Args:
      folder: the folder.
      names: None to read `label_names.json` from the folder when it is there; False for no
        names; a path to such a JSON file; or a mapping {label: name}.
      spacing: voxel size per axis (or one for all), e.g. micrometres; default voxel units.
      gap: the widest membrane, in voxels, that cells touch across (see `contact_areas`).
      axes: letters of the volume's axes for tables (default "ZYX"; "YXZ" for volumes stored
        (row, column, slice), as the 3DMMS segmentations are).
      key: the array of each .npz file (None: its only array).
      prefix: the file names' start before the time number.
      embryo: the embryo name in tables (default the folder's name).

    Raises:
      FileNotFoundError: no such folder.
      ValueError: a file instead of a folder, no volume files in the folder (listing what is
        there), two files for one time point, a malformed names file.

    Example:
      >>> import pathlib, tempfile
      >>> folder = pathlib.Path(tempfile.mkdtemp())
      >>> vol = np.zeros((3, 4, 9), np.uint16); vol[:, :, :4] = 7; vol[:, :, 5:] = 8
      >>> np.savez_compressed(folder / "seg_T024.npz", seg=vol)
      >>> geo = read_segmentation(folder, names={7: "ABa", 8: "ABp"}, spacing=0.5).geometry(24)
      >>> geo.volume.tolist(), geo.contacts.area.tolist()
      ([6.0, 6.0], [3.0])
    """
    owner = "read_segmentation"
    what = f"label volumes named {prefix}###.npz (one per time point)"
    p = check_folder(folder, what, owner=owner)
    if not isinstance(prefix, str):
        raise fail(owner, f"prefix must be text such as 'seg_T', got {type(prefix).__name__}.", TypeError)
    files = list_volumes(p, prefix)
    if not files:
        inside = sorted(q.name for q in p.iterdir() if not q.name.startswith("."))
        listed = f"it holds {', '.join(inside[:6])}{' ...' if len(inside) > 6 else ''}" if inside else "it is empty"
        raise ValueError(f"{p}: no files named {prefix}<time>.npz ({what}); {listed}. Pass prefix=... if the "
                         "files are named otherwise (e.g. prefix='mask' for mask000.npz).")
    named, source = _names_of(names, p, owner=owner)
    gap = check_series_options(gap, spacing, axes, owner=owner)
    return SegmentationSeries(files, names=named, spacing=spacing, gap=gap, axes=axes, key=key,
                              embryo=p.name if embryo is None else str(embryo), names_source=source)
