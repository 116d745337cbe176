"""AceTree nuclei archives: a zip of per-frame `tNNN-nuclei` files, joined into cells."""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from neurosym.io.lineage import check_read_lineage, line_locator
from neurosym.io.table import CellTable
from neurosym.io.text import decode, read_bytes, stem
from neurosym.io.times import frame_times

__all__ = ["NUCLEI_FILE", "read_acetree"]

NUCLEI_FILE = re.compile(r"(?:^|/)t(\d+)-nuclei$")
"""The name of a per-frame nuclei file inside an archive (the frame is group 1)."""

_PARAMETERS = re.compile(r"(?:^|/)([^/]+)-parameters$")
# Field positions in an AceTree nuclei line (0-based).
_ACE_FIELDS = {"id": 0, "valid": 1, "predecessor": 2, "successor1": 3, "successor2": 4,
               "x": 5, "y": 6, "z": 7, "size": 8, "name": 9}
_WHAT = "an AceTree nuclei archive (.zip of tNNN-nuclei files)"


@dataclass
class _Archive:
    """The nuclei of an archive: per frame, valid nuclei by id, and the ids of deleted ones."""

    name: str
    members: dict[int, str]
    nuclei: dict[int, dict[int, tuple]] = field(default_factory=dict)
    deleted: dict[int, set[int]] = field(default_factory=dict)

    def where(self, f: int) -> str:
        return f"{self.name}:{self.members[f]}"


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
    `meta["links_to_deleted_nuclei"]`). Times as in `read_cd` (`time_file`, a `TIME<embryo>.csv`
    next to the zip, or `minutes_per_frame`, not both); frame 1 is 0 min. The embryo name
    defaults to that of the archive's `*-parameters` file, else the zip's name.

    Args:
      path: the .zip archive.
      time_file: an AceTree TIME file (False: ignore one beside the archive).
      minutes_per_frame: frame interval in minutes, when there is no TIME file.
      embryo: embryo name.
      drop_prefixes: leave out cells whose names start with these (polar bodies by default).
      strict: raise a ValueError when the lineage breaks a rule.

    Raises:
      ValueError: naming archive member, line and field, for a field that is not a number, a
        line with fewer than 10 fields, an id used twice in a frame, or a predecessor that is
        not in the previous frame; or when the zip holds no nuclei files or no valid nucleus.

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
    archive, param_name, texts = _open_archive(path, name)
    for f, text in texts.items():
        archive.nuclei[f], archive.deleted[f] = _parse_frame(archive.where(f), text)
    tracks, parents, cut_links = _link_tracks(archive)
    names = _track_names(archive, tracks)
    keep = [not any(nm.startswith(p) for p in drop_prefixes) for nm in names]
    rows = _rows(archive, tracks, parents, names, keep)
    if not rows["cell"]:
        raise ValueError(f"{name}: no valid nucleus to read (all are deleted or dropped by drop_prefixes); "
                         f"expected {_WHAT}.")
    emb = embryo if embryo is not None else (param_name or stem(path))
    frames = np.array(rows["frame"], dtype=np.int64)
    locs = rows["loc"]
    minutes, source = frame_times(
        name, frames, lambda i: f"{name}:{locs[i]}", path=path, stems=(emb, stem(path)),
        time_file=time_file, minutes_per_frame=minutes_per_frame, first_frame=1, owner="read_acetree",
    )
    blots = np.array(rows["blot"])
    table = CellTable(
        embryo=emb, cell=rows["cell"], time_min=minutes, frame=frames, x=rows["x"], y=rows["y"],
        z=rows["z"], size=rows["size"], parent=rows["parent"],
        extra={"blot": blots} if np.isfinite(blots).any() else {},
        meta={"source": name, "format": "acetree", "time_source": source,
              "units": "x, y and size in pixels, z in planes (as in the file)",
              "links_to_deleted_nuclei": len(cut_links)},
    )
    cells = np.array(rows["cell"], dtype=str)
    return check_read_lineage(name, table, strict, lambda: line_locator(cells, frames, locs, unit="")).sorted()


def _open_archive(path, name: str) -> tuple[_Archive, str | None, dict[int, str]]:
    """The nuclei files of the archive by frame, the embryo named by a parameters file, the texts."""
    raw = read_bytes(path, _WHAT, owner="read_acetree")
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise ValueError(f"{name}: not a zip archive; expected {_WHAT}.") from None
    members: dict[int, str] = {}
    param_name = None
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            m = NUCLEI_FILE.search(info.filename)
            if m:
                f = int(m.group(1))
                if f in members:
                    raise ValueError(f"{name}: frame {f} has two nuclei files ({members[f]} and {info.filename}); "
                                     "expected one per frame.")
                members[f] = info.filename
            elif (pm := _PARAMETERS.search(info.filename)) and param_name is None:
                param_name = pm.group(1)
        if not members:
            listed = ", ".join(i.filename for i in zf.infolist()[:5]) or "nothing"
            raise ValueError(f"{name}: no AceTree nuclei files (named tNNN-nuclei) in the archive; it holds "
                             f"{listed}. Expected {_WHAT}.")
        texts = {f: decode(f"{name}:{members[f]}", zf.read(members[f]), "an AceTree nuclei file")
                 for f in sorted(members)}
    return _Archive(name, members), param_name, texts


def _parse_frame(member: str, text: str) -> tuple[dict[int, tuple], set[int]]:
    """Valid nuclei by id (predecessor, x, y, z, size, name, line, blot) and the deleted ids."""
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
            _field_error(member, ln, fields)
        if nid in here or nid in gone:
            raise ValueError(f"{member}, line {ln}, column 'id' (field 1): id {nid} is used twice in this frame.")
        if valid <= 0:
            gone.add(nid)
            continue
        here[nid] = (pred, x, y, z, size, fields[9].strip(), ln, _blot(fields))
    return here, gone


def _blot(fields: list[str]) -> float:
    if len(fields) >= 19:
        try:
            return float(fields[15]) - float(fields[18])
        except ValueError:
            pass
    return np.nan


def _field_error(member: str, ln: int, fields: list[str]):
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


def _successor_counts(a: _Archive) -> Counter:
    """How many nuclei of the next frame name each nucleus as predecessor."""
    succ: Counter = Counter()
    for f, here in a.nuclei.items():
        for rec in here.values():
            pred = rec[0]
            if pred < 0:
                continue
            if pred in a.nuclei.get(f - 1, {}):
                succ[(f - 1, pred)] += 1
            elif pred not in a.deleted.get(f - 1, set()):
                raise ValueError(
                    f"{a.where(f)}, line {rec[6]}, column 'predecessor' (field 3): nucleus {pred} is not in the "
                    "previous frame"
                    + (f" ({a.members[f - 1]})" if f - 1 in a.members else f" (there is no frame {f - 1})")
                    + "; expected the id of a nucleus of the previous frame, or -1."
                )
    return succ


def _link_tracks(a: _Archive):
    """Nuclei joined into tracks: each track's (frame, id) list, its parent track (-1: none), and
    the links cut because the predecessor was deleted."""
    succ = _successor_counts(a)
    track_of: dict[tuple[int, int], int] = {}
    tracks: list[list[tuple[int, int]]] = []
    parents: list[int] = []
    cut_links: list[tuple[int, int, int]] = []
    for f in sorted(a.nuclei):
        for nid, rec in sorted(a.nuclei[f].items()):
            pred = rec[0]
            if pred >= 0 and (f - 1, pred) in track_of:
                ptrack = track_of[(f - 1, pred)]
                if succ[(f - 1, pred)] == 1:
                    track_of[(f, nid)] = ptrack
                    tracks[ptrack].append((f, nid))
                    continue
                parent = ptrack
            else:
                parent = -1
                if pred >= 0:
                    cut_links.append((f, nid, pred))
            track_of[(f, nid)] = len(tracks)
            tracks.append([(f, nid)])
            parents.append(parent)
    return tracks, parents, cut_links


def _track_names(a: _Archive, tracks) -> list[str]:
    names = []
    for rows in tracks:
        given = Counter(a.nuclei[f][nid][5] for f, nid in rows if a.nuclei[f][nid][5])
        f0, n0 = rows[0]
        names.append(given.most_common(1)[0][0] if given else f"nuc_t{f0:03d}_{n0}")
    return names


def _rows(a: _Archive, tracks, parents, names, keep) -> dict[str, list]:
    out = {k: [] for k in ("cell", "parent", "frame", "x", "y", "z", "size", "blot", "loc")}
    for k, rows in enumerate(tracks):
        if not keep[k]:
            continue
        p = parents[k]
        pname = names[p] if p >= 0 and keep[p] else ""
        for f, nid in rows:
            _, x, y, z, size, _, ln, blot = a.nuclei[f][nid]
            for col, v in zip(out, (names[k], pname, f, x, y, z, size, blot, f"{a.members[f]}, line {ln}")):
                out[col].append(v)
    return out
