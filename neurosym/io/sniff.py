"""Telling a file's format from its content, and `read`, which reads any supported file."""

from __future__ import annotations

import gzip
import re
import zipfile
from pathlib import Path

from automata._checks import check_choice, fail
from neurosym.io.acetree import NUCLEI_FILE, read_acetree
from neurosym.io.cd import read_cd
from neurosym.io.formats import FORMATS
from neurosym.io.labels import LABEL_EXTENSIONS, label_kind, read_label_image, table_from_labels
from neurosym.io.table import CellTable
from neurosym.io.text import check_path, norm, stem
from neurosym.io.times import check_minutes_per_frame
from neurosym.io.tracks import TRACK_COLUMNS, read_tracks

__all__ = ["read", "sniff_format"]


def sniff_format(path) -> tuple[str | None, str]:
    """The format of the file at `path` (a key of `FORMATS`, or None) and what was seen, in words.

    Label images are told by content (TIFF, PNG, NPY, NPZ), archives by their nuclei files, text
    tables by their header.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
      >>> _ = p.write_text("cell,time,x,y,z\\nAB,1,0,0,0\\n")
      >>> sniff_format(p)
      ('cd', 'a CD table header')
    """
    p = check_path(path, "a data file", owner="sniff_format")
    with open(p, "rb") as f:
        head = f.read(1 << 16)
    label = label_kind(p, head)
    if label is not None:
        return "labels", f"a {label} file"
    if head[:4] == b"PK\x03\x04":
        return _sniff_zip(p)
    if p.suffix.lower() in LABEL_EXTENSIONS:
        return "labels", f"a {p.suffix} file"
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(p, "rb") as f:
                head = f.read(1 << 16)
        except (OSError, EOFError):
            return None, "a damaged gzip file"
    return _sniff_text(head)


def _sniff_zip(p: Path) -> tuple[str | None, str]:
    try:
        with zipfile.ZipFile(p) as z:
            if any(NUCLEI_FILE.search(n) for n in z.namelist()):
                return "acetree", "a zip with nuclei files"
            return None, "a zip archive without tNNN-nuclei files or .npy arrays"
    except zipfile.BadZipFile:
        return None, "a damaged zip archive"


def _sniff_text(head: bytes) -> tuple[str | None, str]:
    try:
        text = head.decode("utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        return None, "binary data"
    first = next((s.strip() for s in text.splitlines() if s.strip() and not s.strip().startswith("#")), "")
    if not first:
        return None, "an empty file"
    fields = {norm(h) for h in re.split(r"[,\t;]", first)}
    if "celltime" in fields or ({"cell", "time", "x", "y"} <= fields and not fields & {"t", "frame"}):
        return "cd", "a CD table header"
    has = {canon: any(norm(a) in fields for a in TRACK_COLUMNS[canon]) for canon in ("t", "cell", "x", "y")}
    if all(has.values()):
        return "tracks", "a track table header"
    return None, f"a text table with header {first[:80]!r}"


def read(path, *, format: str | None = None, time_file=None, minutes_per_frame: float | None = None,
         embryo: str | None = None, strict: bool = False) -> CellTable:
    """Read any supported file into a `CellTable`, sniffing the format unless `format` is given.

    Formats (`FORMATS`): "cd" (`read_cd`), "acetree" (`read_acetree`), "tracks" (`read_tracks`)
    and "labels" (`read_labels` then `table_from_labels`, with the axes the TIFF records where it
    does). See `sniff_format` for how the format is told.

    Args:
      path: the file.
      format: one of `FORMATS`, to skip sniffing.
      time_file: TIME file (cd and acetree only; False ignores one beside the data).
      minutes_per_frame: frame interval in minutes (tracks and labels default to 1; cd and
        acetree refuse it when there is a TIME file).
      embryo: embryo name.
      strict: raise on lineage problems (cd, acetree, tracks).

    Raises:
      ValueError: if the path is empty or a folder, if the format cannot be told (listing the
        formats it knows), and whatever the format's reader raises.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "tracks.csv"
      >>> _ = p.write_text("T,X,Y,Cell\\n0,1,1,a\\n1,1,2,a\\n")
      >>> read(p).meta["format"]
      'tracks'
    """
    check_path(path, "a data file (" + "; ".join(FORMATS.values()) + ")", owner="read")
    if minutes_per_frame is not None:
        check_minutes_per_frame(minutes_per_frame, owner="read")
    known = "; ".join(f"{k}: {v}" for k, v in FORMATS.items())
    if format is None:
        format, seen = sniff_format(path)
        if format is None:
            raise ValueError(
                f"{path}: cannot tell the format (found {seen}); if the file is one of these, pass "
                f"format=... with its name. Known formats: {known}."
            )
    check_choice(format, "format", tuple(FORMATS), owner="read", hint=f"Known formats: {known}.")
    if time_file is not None and format not in ("cd", "acetree"):
        raise fail("read", f"time_file applies to the cd and acetree formats, not {format!r}; "
                           "pass minutes_per_frame=... instead.")
    if format in ("cd", "acetree"):
        reader = read_cd if format == "cd" else read_acetree
        return reader(path, time_file=time_file, minutes_per_frame=minutes_per_frame, embryo=embryo, strict=strict)
    mpf = 1.0 if minutes_per_frame is None else minutes_per_frame
    if format == "tracks":
        return read_tracks(path, minutes_per_frame=mpf, embryo=embryo, strict=strict)
    arr, axes = read_label_image(path, None, owner="read")
    if axes is not None and (len(axes) != arr.ndim or not axes.endswith("YX")):
        axes = None
    return table_from_labels(arr, axes=axes, minutes_per_frame=mpf,
                             embryo=embryo if embryo is not None else stem(path), source=str(path))
