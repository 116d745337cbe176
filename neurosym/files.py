"""Files the toolkit writes: atomically (a reader sees the old file or the whole new one, never
half of it), and JSON strictly (no NaN or Infinity, which other JSON readers refuse)."""

from __future__ import annotations

import contextlib
import shutil
import json
import math
import os
import pathlib
import tempfile
from typing import Iterator

__all__ = ["atomic_path", "check_out_folder", "staged_folder", "write_json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, *, fsync: bool = False) -> Iterator[pathlib.Path]:
    """Yield a temporary path beside `path`; on success it is renamed onto `path`.

    The folder is created if needed. On any error the temporary file is removed and `path` is
    left as it was. The new file gets the permissions a plain `open(path, "w")` would give.

    Example:
      >>> import pathlib, tempfile
      >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
      >>> with atomic_path(target) as tmp:
      ...     _ = tmp.write_text("done")
      >>> target.read_text()
      'done'
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp = pathlib.Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        if fsync:
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _non_finite(data, where="") -> str | None:
    """The path of the first NaN or infinite float in nested dicts and lists, or None."""
    if isinstance(data, float) and not math.isfinite(data):
        return where or "the value"
    if isinstance(data, dict):
        items = ((f"{where}.{k}" if where else str(k), v) for k, v in data.items())
    elif isinstance(data, (list, tuple)):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(data))
    else:
        return None
    for path, value in items:
        found = _non_finite(value, path)
        if found is not None:
            return found
    return None


def write_json(path, data, *, default=None) -> pathlib.Path:
    """Write `data` as strict JSON, atomically; returns the path.

    Args:
      path: the file to write (its folder is created if needed).
      data: dicts, lists, strings, numbers, bools and None.
      default: converts objects JSON cannot hold (as for `json.dump`), e.g. `float` for numpy
        scalars.

    Raises:
      ValueError: `data` holds NaN or an infinity (named by its path in `data`); nothing is
        written.

    Example:
      >>> import pathlib, tempfile
      >>> target = pathlib.Path(tempfile.mkdtemp()) / "r.json"
      >>> _ = write_json(target, {"loss": 0.5})
      >>> json.loads(target.read_text())
      {'loss': 0.5}
    """
    path = pathlib.Path(path)
    text = json.dumps(data, indent=2, sort_keys=True, default=default, allow_nan=True)
    bad = _non_finite(json.loads(text))
    if bad is not None:
        raise ValueError(
            f"cannot write {path}: {bad} is not a finite number, and strict JSON holds only finite "
            "numbers. Write None where a value is missing."
        )
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")
    return path


def check_out_folder(out) -> pathlib.Path:
    """`out` as a path, refused at once if it names a file: a job checks its output folder before
    its long work, not only when it writes (`staged_folder` makes the folder at the end).

    Example:
      >>> import pathlib, tempfile
      >>> check_out_folder(pathlib.Path(tempfile.mkdtemp()) / "new").name
      'new'
    """
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} is a file, not a folder; give a folder path.")
    return out


@contextlib.contextmanager
def staged_folder(path) -> Iterator[pathlib.Path]:
    """Yield a new hidden folder beside `path`; on success its files move into `path`.

    The output folder is created only when everything in it has been written: on any error the
    staging folder is removed and `path` is left as it was (not created if it did not exist).
    Each file is moved with a rename, so a reader sees a file's old version or its new one.

    Example:
      >>> import pathlib, tempfile
      >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
      >>> with staged_folder(out) as tmp:
      ...     _ = (tmp / "a.txt").write_text("done")
      >>> sorted(p.name for p in out.iterdir())
      ['a.txt']
    """
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} is a file, not a folder; give a folder path for the outputs.")
    missing = next((p for p in reversed(path.parents) if not p.exists()), None)  # the outermost
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    done = False
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if not path.exists():
            os.replace(tmp, path)
        else:
            for item in tmp.iterdir():
                os.replace(item, path / item.name)
        done = True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not done and missing is not None:
            shutil.rmtree(missing, ignore_errors=True)
