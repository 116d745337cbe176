"""Datasets that ship inside the package: lineaged C. elegans embryos (MIT licence).

Twelve embryos tracked and named with StarryNite/AceTree, from the Murray lab's LIVE_tools
(https://github.com/johnmurraylab/LIVE_tools, MIT, (c) 2025 Yuntian Gan; the licence and the
provenance are in `neurosym/_data/`): nine wild-type JIM767 embryos at 25 C, each with its
TIME file (one carries a PHA-4::GFP reporter), one JIM762 embryo and two RNAi-treated ones
(end-3 + pop-1, sys-1 + lit-1). They start at the 2- to 8-cell stage and end at ~350-450 cells.

Example:
  >>> from neurosym.io import cycle_lengths, lineage
  >>> table = load_celegans()
  >>> table.meta["condition"], table.meta["temperature_c"]
  ('wild-type', 25.0)
  >>> sorted(cycle_lengths(lineage(table)))[:3]
  ['AB', 'C', 'D']
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
from importlib import resources
from typing import Any

from automata._checks import fail
from neurosym.io.cd import read_cd
from neurosym.io.table import CellTable
from neurosym.io.times import check_minutes_per_frame

__all__ = ["DEFAULT_CELEGANS", "describe_celegans", "embryo_files", "list_celegans", "load_celegans"]

DEFAULT_CELEGANS = "20241009_JIM767_25_L1"
"""The embryo `load_celegans()` gives: wild type, 25 C, from the 4-cell stage, with a TIME file."""

_LICENCE = "MIT, Copyright (c) 2025 Yuntian Gan (johnmurraylab/LIVE_tools)"


def _data():
    return resources.files("neurosym") / "_data"


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, dict[str, Any]]:
    text = (_data() / "embryos.csv").read_text(encoding="utf-8")
    out = {}
    for row in csv.DictReader(io.StringIO(text)):
        row = {k: v.strip() for k, v in row.items()}
        row["temperature_c"] = float(row["temperature_c"]) if row["temperature_c"] else None
        out[row["name"]] = row
    return out


def embryo_files(name: str) -> dict[str, str]:
    """The package files of one embedded embryo: {"cd_file", "time_file", "auxinfo_file"} ("" if none).

    Example:
      >>> embryo_files(DEFAULT_CELEGANS)["cd_file"]
      'CD20241009_JIM767_25_L1.csv.gz'
    """
    row = _index()[_check_name(name, "embryo_files")]
    return {k: row[k] for k in ("cd_file", "time_file", "auxinfo_file")}


def _check_name(name, owner: str) -> str:
    if name is None:
        return DEFAULT_CELEGANS
    if not isinstance(name, str):
        raise fail(owner, f"name must be an embryo name (str) from list_celegans(), got {type(name).__name__}.",
                   TypeError)
    if name not in _index():
        raise fail(owner, f"name must be one of the embedded embryos ({', '.join(_index())}), got {name!r}; "
                          "pass name=... with one of them (see neurosym.io.list_celegans()).")
    return name


def list_celegans(condition: str | None = None) -> list[str]:
    """Names of the embedded C. elegans embryos, optionally of one condition.

    Args:
      condition: "wild-type", "unperturbed" (JIM762, not stated to be wild type) or "rnai";
        None for all.

    Example:
      >>> len(list_celegans("wild-type")), list_celegans("rnai")[0]
      (9, '20120621_end-3_pop-1i_L2')
    """
    conditions = sorted({r["condition"] for r in _index().values()})
    if condition is not None and condition not in conditions:
        raise fail("list_celegans", f"condition must be one of {', '.join(conditions)} or None, got {condition!r}.")
    return [n for n, r in _index().items() if condition is None or r["condition"] == condition]


def describe_celegans(name: str | None = None) -> dict[str, Any]:
    """What is known about one embedded embryo: strain, condition, perturbation, temperature (C),
    reporter, whether it has a TIME file, and its AceTree AuxInfo (orientation; `zpixres` is the
    z step over the xy pixel size).

    Example:
      >>> describe_celegans()["strain"], describe_celegans()["has_time_file"]
      ('JIM767', True)
    """
    name = _check_name(name, "describe_celegans")
    row = dict(_index()[name])
    info = {
        "name": name,
        "strain": row["strain"] or None,
        "condition": row["condition"],
        "perturbation": row["perturbation"] or None,
        "temperature_c": row["temperature_c"],
        "reporter": row["reporter"] or None,
        "has_time_file": bool(row["time_file"]),
        "licence": _LICENCE,
        "auxinfo": {},
    }
    if row["auxinfo_file"]:
        text = (_data() / row["auxinfo_file"]).read_text(encoding="utf-8")
        rec = next(csv.DictReader(io.StringIO(text)))
        info["auxinfo"] = {k.strip(): v.strip() for k, v in rec.items()}
    return info


def load_celegans(name: str | None = None, *, minutes_per_frame: float | None = None,
                  strict: bool = False) -> CellTable:
    """One embedded C. elegans embryo as a `CellTable` (read with `read_cd`).

    Times come from the embryo's TIME file. The embryos shipped without one (JIM762 and the two
    RNAi embryos; `describe_celegans(name)["has_time_file"]`) need `minutes_per_frame`; for the
    others it is refused, since the TIME file already gives the times. `table.meta` holds what
    `describe_celegans` says, plus the source and time source. Positions are in pixels
    (x, y, size) and focal planes (z); `extra["blot"]` is the reporter intensity.

    Args:
      name: embryo name from `list_celegans()`; default `DEFAULT_CELEGANS`.
      minutes_per_frame: frame interval in minutes, for an embryo without a TIME file.
      strict: raise if the lineage breaks a rule (else a `LineageWarning`).

    Raises:
      ValueError: an unknown name (listing the known ones); `minutes_per_frame` missing for an
        embryo without a TIME file, or given for one with a TIME file.

    Example:
      >>> t = load_celegans()
      >>> t.embryos(), int(t.frame.min())
      (['20241009_JIM767_25_L1'], 1)
      >>> t.at(1).cells()
      ['ABa', 'ABp', 'EMS', 'P2']
    """
    name = _check_name(name, "load_celegans")
    if minutes_per_frame is not None:
        minutes_per_frame = check_minutes_per_frame(minutes_per_frame, owner="load_celegans")
    has_time = bool(_index()[name]["time_file"])
    if minutes_per_frame is None and not has_time:
        raise fail("load_celegans", f"embryo {name!r} ships without a TIME file, so its frame interval is unknown: "
                                    "pass minutes_per_frame=... (the TIME files of the wild-type JIM767 embryos "
                                    "give about 1.5 to 1.75 minutes a frame at 25 C).")
    if minutes_per_frame is not None and has_time:
        raise fail("load_celegans", f"embryo {name!r} has a TIME file, which already says when each frame was "
                                    "taken; drop minutes_per_frame (it is only for the embryos without one: "
                                    f"{', '.join(n for n in _index() if not _index()[n]['time_file'])}).")
    return _load(name, minutes_per_frame, bool(strict))


@functools.lru_cache(maxsize=16)
def _load(name: str, minutes_per_frame: float | None, strict: bool) -> CellTable:
    row = _index()[name]
    with resources.as_file(_data() / row["cd_file"]) as cd:
        if minutes_per_frame is None:
            with resources.as_file(_data() / row["time_file"]) as time_file:
                table = read_cd(cd, time_file=time_file, embryo=name, strict=strict)
        else:
            table = read_cd(cd, minutes_per_frame=minutes_per_frame, time_file=False, embryo=name, strict=strict)
    meta = {**table.meta, **describe_celegans(name), "source": f"neurosym/_data/{row['cd_file']}"}
    if minutes_per_frame is None:
        meta["time_source"] = f"TIME file neurosym/_data/{row['time_file']}"
    return dataclasses.replace(table, meta=meta)
