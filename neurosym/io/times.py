"""When each frame was taken: AceTree TIME files, a frame interval, and the checks on both.

A TIME file has one line per frame: `[embryo,] frame, seconds[, delta]` (tab, comma, semicolon or
space separated). Without one, a frame interval (`minutes_per_frame`) gives the times. Times are
minutes from the first frame and never negative.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from automata._checks import check_number, fail
from neurosym.io.text import is_number, read_text

__all__ = ["MAX_MINUTES_PER_FRAME", "check_first_frame", "check_minutes_per_frame", "find_time_file",
           "frame_times", "read_time_file"]

MAX_MINUTES_PER_FRAME = 7 * 24 * 60.0
"""The longest frame interval accepted (a week, in minutes): larger values are typing slips."""


def check_minutes_per_frame(value, *, owner: str) -> float:
    """`value` as a float number of minutes in (0, `MAX_MINUTES_PER_FRAME`], or a clear error.

    Example:
      >>> check_minutes_per_frame(1.5, owner="read_cd")
      1.5
      >>> check_minutes_per_frame(1e300, owner="read_cd")  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: read_cd: minutes_per_frame must be a finite number in (0.0, 10080.0], got 1e+300. ...
    """
    return check_number(value, "minutes_per_frame", minimum=0.0, maximum=MAX_MINUTES_PER_FRAME,
                        open_minimum=True, owner=owner,
                        hint="The interval between frames in minutes: pass minutes_per_frame=1.5 for 90 s.")


def read_time_file(path, *, owner: str = "read_time_file") -> dict[int, float]:
    """An AceTree TIME file as {frame: minutes}: per line [embryo,] frame, seconds[, delta].

    A header line is skipped. Frames must be whole numbers, each once; seconds finite, not
    negative, and not going back as frames go on.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "TIMEe.csv"
      >>> _ = p.write_text("e,1,0,0\\ne,2,90,90\\n")
      >>> read_time_file(p)
      {1: 0.0, 2: 1.5}
    """
    name = str(path)
    text = read_text(path, "a TIME file (frame, seconds per line)", owner=owner)
    out: dict[int, float] = {}
    prev = None
    for ln, line in enumerate(text.splitlines(), 1):
        fields = _time_fields(line)
        if not fields or (not out and not any(is_number(f) for f in fields)):
            continue  # a blank, comment or header line
        frame, seconds = _time_line(name, ln, fields, line.strip())
        column = f"column {1 + (not is_number(fields[0])) + 1} (seconds)"
        if frame in out:
            raise ValueError(f"{name}, line {ln}: frame {frame} appears twice; expected one line per frame.")
        if prev is not None and frame > prev[0] and seconds < prev[1]:
            raise ValueError(
                f"{name}, line {ln}, {column}: time goes back from {prev[1]:g} s at frame {prev[0]} to "
                f"{seconds:g} s at frame {frame}; expected times in order."
            )
        out[frame] = seconds / 60.0
        prev = (frame, seconds)
    if not out:
        raise ValueError(f"{name}: no frames; expected lines of [embryo,] frame, seconds.")
    return out


def _time_fields(line: str) -> list[str]:
    s = line.strip()
    if not s or s.startswith("#"):
        return []
    fields = [f.strip() for f in re.split(r"[\t,;]", s)]
    return s.split() if len(fields) == 1 else fields


def _time_line(name: str, ln: int, fields: list[str], text: str) -> tuple[int, float]:
    offset = 0 if is_number(fields[0]) else 1
    if len(fields) < offset + 2:
        raise ValueError(f"{name}, line {ln}: expected [embryo,] frame, seconds per line, got {text!r}.")
    fr, sec = fields[offset], fields[offset + 1]
    if not is_number(fr) or not math.isfinite(float(fr)) or float(fr) != int(float(fr)):
        raise ValueError(f"{name}, line {ln}, column {offset + 1} (frame): expected a whole number, got {fr!r}.")
    seconds = float(sec) if is_number(sec) else math.nan
    if not math.isfinite(seconds):
        raise ValueError(f"{name}, line {ln}, column {offset + 2} (seconds): expected a finite number, got {sec!r}.")
    if seconds < 0:
        raise ValueError(
            f"{name}, line {ln}, column {offset + 2} (seconds): expected seconds >= 0 (times cannot be "
            f"negative), got {sec!r}."
        )
    return int(float(fr)), seconds


def find_time_file(path, stems: Iterable[str]) -> Path | None:
    """The TIME file beside `path`: TIME<stem>.csv, .csv.gz or .txt for the first stem that has one."""
    folder = Path(path).parent
    for stem in dict.fromkeys(stems):
        for ext in (".csv", ".csv.gz", ".txt"):
            p = folder / f"TIME{stem}{ext}"
            if p.is_file():
                return p
    return None


def check_first_frame(frames: np.ndarray, first_frame: int, loc: Callable[[int], str]) -> None:
    """Refuse frames before `first_frame`, which would be negative times, naming the first one."""
    early = frames < first_frame
    if early.any():
        i = int(np.argmax(early))
        raise ValueError(
            f"{loc(i)}: frame {frames[i]} comes before frame {first_frame}, which is 0 min, so it "
            f"would be a negative time; expected frames from {first_frame} on."
        )


def frame_times(name: str, frames: np.ndarray, loc: Callable[[int], str], *, path, stems,
                time_file, minutes_per_frame, first_frame: int, owner: str) -> tuple[np.ndarray, str]:
    """Minutes of each frame from a TIME file, a frame interval, or (with a warning) 1 min/frame.

    Args:
      name: the data file, for messages.
      frames: (n,) int frame of each row.
      loc: row index -> "file, line N, column 'time'", for messages.
      path, stems: where to look for a TIME file (TIME<stem>.csv beside `path`).
      time_file: a TIME file; None to look beside `path`; False to ignore any TIME file there.
      minutes_per_frame: frame interval in minutes, or None.
      first_frame: the frame at 0 minutes (AceTree counts frames from 1).
      owner: the public reader, for argument errors.

    Returns:
      ((n,) float minutes, a sentence saying where the times came from).

    Raises:
      ValueError: both a TIME file (given or found beside `path`) and `minutes_per_frame`; a frame
        the TIME file lacks; a frame before `first_frame` (a negative time).
    """
    if minutes_per_frame is not None:
        _refuse_two_clocks(owner, path, stems, time_file)
        mpf = check_minutes_per_frame(minutes_per_frame, owner=owner)
        check_first_frame(frames, first_frame, loc)
        return (frames - first_frame) * mpf, f"{mpf:g} min per frame, frame {first_frame} at 0 min"
    if time_file is None:
        time_file = find_time_file(path, stems)
    if time_file is not None and time_file is not False:
        return _times_from_file(frames, loc, time_file, owner)
    warnings.warn(
        f"{name}: no TIME file found and no minutes_per_frame given, so 1 frame is taken as 1 "
        "minute; pass minutes_per_frame=... or time_file=... for real times.",
        UserWarning, stacklevel=3,
    )
    check_first_frame(frames, first_frame, loc)
    return (frames - first_frame) * 1.0, f"assumed 1 min per frame, frame {first_frame} at 0 min"


def _refuse_two_clocks(owner: str, path, stems, time_file) -> None:
    if time_file is False:
        return
    if time_file is not None:
        raise fail(owner, "pass time_file=... or minutes_per_frame=..., not both: the TIME file already "
                          "says when each frame was taken.")
    found = find_time_file(path, stems)
    if found is not None:
        raise fail(owner, f"minutes_per_frame was given, but the TIME file {found} beside the data already "
                          "says when each frame was taken. Drop minutes_per_frame to use the TIME file, "
                          "or pass time_file=False to ignore it.")


def _times_from_file(frames: np.ndarray, loc, time_file, owner: str) -> tuple[np.ndarray, str]:
    table = read_time_file(time_file, owner=owner)
    known = np.array(sorted(table), dtype=np.int64)
    missing = ~np.isin(frames, known)
    if missing.any():
        i = int(np.argmax(missing))
        raise ValueError(
            f"{loc(i)}: frame {frames[i]} is not in the TIME file {time_file} (it covers frames "
            f"{known.min()}-{known.max()}); expected a TIME file for this recording."
        )
    lookup = np.array([table[int(f)] for f in known])
    return lookup[np.searchsorted(known, frames)], f"TIME file {time_file}"
