"""Argument checks shared by the three packages, so the same mistake reads the same everywhere."""

from __future__ import annotations

import operator

__all__ = ["check_int"]


def check_int(value, name: str, minimum: int, *, maximum: int | None = None, owner: str = "", hint: str = "") -> int:
    """`value` as a Python int in `minimum..maximum`, or a clear error.

    Accepts Python and NumPy integers (anything `operator.index` takes) but not bools.

    Args:
      value: the value to check.
      name: the argument's name, as the caller spells it.
      minimum: the least allowed value.
      maximum: the greatest allowed value (default: no bound).
      owner: the function or class the argument belongs to, named at the start of the message.
      hint: a sentence appended to either error (for example, where the value comes from).

    Raises:
      TypeError: `value` is not an integer.
      ValueError: `value` is out of range.

    Example:
      >>> check_int(3, "num_steps", 1)
      3
    """
    prefix = f"{owner}: " if owner else ""
    suffix = f" {hint}" if hint else ""
    wanted = f"in {minimum}..{maximum}" if maximum is not None else f">= {minimum}"
    if isinstance(value, bool):
        raise TypeError(f"{prefix}{name} must be an integer {wanted}, got the bool {value}.{suffix}")
    try:
        number = operator.index(value)
    except TypeError as err:
        raise TypeError(f"{prefix}{name} must be an integer {wanted}, got {type(value).__name__} {value!r}.{suffix}") from err
    if number < minimum or (maximum is not None and number > maximum):
        raise ValueError(
            f"{prefix}{name} must " + (f"lie in {minimum}..{maximum}" if maximum is not None else f"be at least {minimum}")
            + f", got {number}.{suffix}"
        )
    return number
