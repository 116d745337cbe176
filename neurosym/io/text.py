"""Delimited text tables: reading files (plain or gzip), finding columns by name, parsing numbers.

Every error names the file and, where there is one, the line and column, and says what was
expected. The readers of CD tables and track tables are built on these steps.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from automata._checks import fail

__all__ = [
    "CORE_COLUMNS", "MISSING", "check_path", "decode", "delimited", "extra_column", "extra_name",
    "find_columns", "is_number", "norm", "numbers", "read_bytes", "read_text", "stem", "strings",
]

CORE_COLUMNS = ("embryo", "cell", "time_min", "frame", "x", "y", "z", "size", "parent")
"""The columns every `CellTable` has, in order."""

MISSING = frozenset({"", "na", "nan", "none", "null"})
"""Fields that mean "no value" in an optional numeric column (compared in lower case)."""


def check_path(path, what: str, *, owner: str) -> Path:
    """`path` as a `Path` to an existing file, or a clear error.

    Args:
      path: a str or path-like naming the file.
      what: what the file should hold, for the messages (e.g. "a CD table").
      owner: the public function that was given the path.

    Raises:
      TypeError: `path` is not a str or path-like.
      ValueError: `path` is empty or names a folder.
      FileNotFoundError: nothing is there.

    Example:
      >>> check_path("", "a CD table", owner="read_cd")  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: read_cd: path must name a file, got the empty string ''; pass path=... ...
    """
    if not isinstance(path, (str, os.PathLike)):
        got = f"{type(path).__name__} {path!r}"
        raise fail(owner, f"path must be a file path (str or pathlib.Path), got {got}.", TypeError)
    if os.fspath(path) == "":
        raise fail(owner, f"path must name a file, got the empty string ''; pass path=... with the file "
                          f"holding {what}.")
    p = Path(path)
    if p.is_dir():
        inside = sorted(q.name for q in p.iterdir() if q.is_file() and not q.name.startswith("."))[:5]
        listed = f" It holds {', '.join(inside)}." if inside else " It holds no files."
        raise ValueError(f"{path}: is a folder, not a file; expected {what}. Pass the path of a file in it."
                         + listed)
    if not p.exists():
        raise FileNotFoundError(f"{path}: no such file (expected {what}).")
    return p


def read_bytes(path, what: str, *, owner: str) -> bytes:
    """The bytes of the file at `path`, after `check_path`."""
    return check_path(path, what, owner=owner).read_bytes()


def read_text(path, what: str, *, owner: str) -> str:
    """The text of the file at `path` (UTF-8, optionally gzip-compressed).

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
      >>> _ = p.write_text("t,x\\n0,1\\n")
      >>> read_text(p, "a table", owner="demo")
      't,x\\n0,1\\n'
    """
    raw = read_bytes(path, what, owner=owner)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zipfile.BadZipFile) as e:
            raise ValueError(f"{path}: looks gzip-compressed but does not decompress ({e}); expected {what}.") from None
    return decode(str(path), raw, what)


def decode(name: str, raw: bytes, what: str) -> str:
    """`raw` as UTF-8 text (a byte-order mark is dropped), or an error naming the line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ValueError(
            f"{name}, line {line}: not UTF-8 text (byte {raw[e.start]:#04x}); expected {what}."
        ) from None


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            return s
    return None


def delimited(name: str, text: str, what: str, delimiter: str | None = None):
    """Header, rows of stripped fields and their line numbers. Blank and '#' lines are skipped.

    The delimiter is sniffed from the header (tab, comma or semicolon) unless given. A table with
    a header and no rows is refused: there is nothing to read.

    Returns:
      (header, header_line, rows, lines): the header fields, its line number, the rows as lists of
      fields, and each row's line number.

    Example:
      >>> delimited("a.csv", "t;x\\n0;1\\n", "a table")
      (['t', 'x'], 1, [['0', '1']], [2])
    """
    first = _first_line(text)
    if first is None:
        raise ValueError(f"{name}: the file is empty; expected {what} with a header line.")
    if delimiter is None:
        delimiter = "\t" if "\t" in first else "," if "," in first else ";" if ";" in first else ","
    header, header_line, rows, lines = _split_rows(name, text, what, delimiter)
    if not rows:
        raise ValueError(
            f"{name}: the file has a header (line {header_line}) but no rows; expected {what} with one "
            "row per cell per frame."
        )
    return header, header_line, rows, lines


def _split_rows(name: str, text: str, what: str, delimiter: str):
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    # Stripping every field is the slow part of reading; skip it when there is nothing to strip.
    strip = (" " in text) or (delimiter != "\t" and "\t" in text)
    header, header_line, rows, lines = None, 0, [], []
    try:
        for row in reader:
            fields = [f.strip() for f in row] if strip else row
            if not fields or (not fields[0] and not any(fields)) or fields[0][:1] == "#":
                continue
            if header is None:
                header, header_line = fields, reader.line_num
                while header and header[-1] == "":
                    header.pop()
                continue
            if len(fields) > len(header) and not any(fields[len(header):]):
                fields = fields[: len(header)]
            if len(fields) != len(header):
                raise ValueError(
                    f"{name}, line {reader.line_num}: expected {len(header)} fields as in the header "
                    f"(line {header_line}), got {len(fields)}."
                )
            rows.append(fields)
            lines.append(reader.line_num)
    except csv.Error as e:
        raise ValueError(f"{name}, line {reader.line_num}: not a readable {what} ({e}).") from None
    return header, header_line, rows, lines


def norm(header: str) -> str:
    """A column name compared without case, spaces, underscores or hyphens: "Cell_ID" -> "cellid"."""
    return re.sub(r"[\s_\-]+", "", header.strip().lower())


def find_columns(name: str, header: list[str], header_line: int, spec: Mapping[str, tuple[str, ...]],
                 required: Sequence[str], user: Mapping[str, str] | None = None, *, owner: str,
                 hint: str = "") -> dict[str, int]:
    """Map canonical column names to header indices (case, spaces and underscores ignored).

    Args:
      name: the file, for messages.
      header, header_line: the header fields and their line.
      spec: {canonical name: accepted aliases}.
      required: canonical names that must be found.
      user: {canonical name: header name} given by the caller (`columns=`), which win.
      owner: the public function, for errors in `user`.
      hint: a sentence appended to the "missing column" error.

    Example:
      >>> find_columns("a.csv", ["Frame", "X"], 1, {"t": ("t", "frame"), "x": ("x",)}, ("t", "x"), owner="demo")
      {'t': 0, 'x': 1}
    """
    out = _user_columns(name, header, header_line, spec, user or {}, owner)
    normed = [norm(h) for h in header]
    for canon, aliases in spec.items():
        if canon in out:
            continue
        for alias in aliases:
            hits = [i for i, h in enumerate(normed) if h == norm(alias)]
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
        raise ValueError(
            f"{name}, line {header_line}: missing column {c!r} (expected a column named one of: "
            f"{', '.join(spec[c])}); the header has {', '.join(map(repr, header))}.{hint}"
        )
    return out


def _user_columns(name, header, header_line, spec, user, owner) -> dict[str, int]:
    out = {}
    for canon, given in dict(user).items():
        if canon not in spec:
            raise fail(owner, f"columns has the unknown column {canon!r}; known: {', '.join(spec)}; "
                              "pass columns={canonical name: header name}.")
        if given not in header:
            raise ValueError(
                f"{name}, line {header_line}: no column {given!r} (given for {canon!r} in columns=); "
                f"the header has {', '.join(map(repr, header))}."
            )
        out[canon] = header.index(given)
    return out


def strings(name: str, col: str, values: list[str], lines: Sequence[int], what: str) -> np.ndarray:
    """A column of non-empty text fields, or an error naming the first empty one."""
    for v, ln in zip(values, lines):
        if v == "":
            raise ValueError(f"{name}, line {ln}, column {col!r}: expected {what}, got an empty field.")
    return np.array(values, dtype=str)


def _parse(values: list[str], required: bool) -> tuple[np.ndarray | None, list[str]]:
    try:
        return np.array(values, dtype=np.float64), values
    except ValueError:
        pass
    if required:
        return None, values
    vals = ["nan" if v.lower() in MISSING else v for v in values]
    try:
        return np.array(vals, dtype=np.float64), vals
    except ValueError:
        return None, vals


def numbers(name: str, col: str, values: list[str], lines: Sequence[int], *,
            required: bool = True, integer: bool = False, minimum: float | None = None,
            why: str = "") -> np.ndarray:
    """Parse a column of numbers; required columns must be finite, optional ones may be missing.

    Args:
      name, col: the file and column, for messages.
      values, lines: the fields and their line numbers.
      required: refuse missing fields (else they become NaN).
      integer: refuse fractions.
      minimum: refuse values below it, saying `why` (e.g. "times cannot be negative").

    Example:
      >>> numbers("a.csv", "t", ["0", "2"], [2, 3], integer=True)
      array([0., 2.])
    """
    what = "a whole number" if integer else "a number"
    arr, vals = _parse(values, required)
    if arr is None:
        for v, ln in zip(vals, lines):
            if not is_number(v):
                got = "an empty field" if v == "" else repr(v)
                raise ValueError(f"{name}, line {ln}, column {col!r}: expected {what}, got {got}.")
        raise ValueError(f"{name}, column {col!r}: expected {what} in every row.")
    bad = ~np.isfinite(arr) if required else np.isinf(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}, line {lines[i]}, column {col!r}: expected a finite number, got {values[i]!r}.")
    if integer:
        _refuse(name, col, values, lines, np.isfinite(arr) & (arr != np.round(arr)), f"expected {what}")
    if minimum is not None:
        _refuse(name, col, values, lines, arr < minimum, f"expected a number >= {minimum:g} ({why})")
    return arr


def _refuse(name, col, values, lines, bad: np.ndarray, expected: str) -> None:
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name}, line {lines[i]}, column {col!r}: {expected}, got {values[i]!r}.")


def is_number(s: str) -> bool:
    """Whether `float(s)` reads `s`."""
    try:
        float(s)
        return True
    except ValueError:
        return False


def extra_name(header: str) -> str:
    """A file's own column keeps its name in `extra`, unless that is a core column's name."""
    return f"{header}_in_file" if header in CORE_COLUMNS else header


def extra_column(name: str, col: str, values: list[str], lines: Sequence[int]) -> np.ndarray:
    """Numbers if every field is a number or missing, else text."""
    try:
        return numbers(name, col, values, lines, required=False)
    except ValueError:
        return np.array(values, dtype=str)


def stem(path) -> str:
    """The file name without the extensions the readers know: "CDe1.csv.gz" -> "CDe1"."""
    n = Path(path).name
    for ext in (".gz", ".csv", ".tsv", ".txt", ".zip"):
        if n.lower().endswith(ext):
            n = n[: -len(ext)]
    return n
