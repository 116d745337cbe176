"""One embryo read for fitting: a file or an embedded embryo, checked before anything is fitted.

`read_embryo` reads through `neurosym.io` (which refuses folders, empty paths, header-only
tables, parent cycles, negative times, unknown embedded embryos and a frame interval given
where a TIME file already gives the times); `check_fittable` is `neurosym.io.check_fittable`
(a single frame, frames all at one time, no division). Both raise `ValueError` naming the
argument to change (`path=`/`data=`, `format=`, `minutes_per_frame=`, `embryo=`), which the
command line translates into its flags.
"""

from __future__ import annotations

from automata._checks import check_number
from neurosym import io
from neurosym.io import check_fittable

__all__ = ["MAX_MINUTES_PER_FRAME", "check_fittable", "read_embryo"]

MAX_MINUTES_PER_FRAME = 24 * 60.0
"""The longest frame interval accepted (a day): development is not filmed more sparsely."""


def read_embryo(data=None, *, format: str | None = None, minutes_per_frame: float | None = None,
                embryo: str | None = None, strict: bool = False) -> tuple[io.CellTable, str]:
    """One embryo's `CellTable` and where it came from: a file, or an embedded embryo.

    Args:
      data: a CD table, AceTree archive or track table (None: the embedded embryo `embryo`,
        default `neurosym.io.DEFAULT_CELEGANS`).
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
        name = embryo or io.DEFAULT_CELEGANS
        return io.load_celegans(name, minutes_per_frame=minutes_per_frame, strict=strict), f"embedded:{name}"
    table = io.read(data, format=format, minutes_per_frame=minutes_per_frame, strict=strict)
    embryos = table.embryos()
    if embryo is not None and embryo not in embryos:
        raise ValueError(f"embryo={embryo!r} is not in {data}; it holds {', '.join(map(str, embryos))}.")
    if len(embryos) > 1:
        table = table.select(embryo=embryo or embryos[0])
    return table, str(data)
