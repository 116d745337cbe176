"""Atomic file writing: a reader sees the old file or the whole new one, never half of it."""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from typing import Iterator

__all__ = ["atomic_path"]


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
