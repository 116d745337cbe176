"""Argument checks shared by the three packages, so the same mistake reads the same everywhere.

Every check takes the argument's `name` as the caller spells it and `owner`, the public function
or class the argument belongs to (named at the start of the message), and returns the checked
value in a canonical form. Messages say what was expected, what came, and how to fix it; each
starts with "{owner}: {name} must" so tests can match that stable phrase.

Checks run once, at the public entry point. On concrete values they raise at once; a check of a
traced value's contents (an entry point called inside the user's `jax.jit`) goes through
`error_if`, which raises when the compiled program runs, so a bad value is never skipped
silently. `concrete` tells whether a value is known at trace time.
"""

from __future__ import annotations

import functools
import operator

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "as_float",
    "error_if",
    "check_choice", "check_finite_array", "check_int", "check_key", "check_number", "check_numbers",
    "concrete", "fail",
]


def _prefix(owner: str) -> str:
    return f"{owner}: " if owner else ""


def as_float(x) -> jax.Array:
    """`x` as a JAX array of a floating dtype (integers and bools become the default float).

    Example:
      >>> as_float(3).dtype == jnp.result_type(float)
      True
    """
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.result_type(float))


def fail(owner: str, message: str, error: type[Exception] = ValueError) -> Exception:
    """The error to raise, with `owner` in front: `raise fail("Lattice", "shape must ...")`."""
    return error(_prefix(owner) + message)


def concrete(value) -> np.ndarray | None:
    """`value` as a NumPy array when it is known now (outside jit), else None (a tracer).

    Example:
      >>> concrete(3.0).item(), jax.jit(lambda x: concrete(x) is None)(1.0).item()
      (3.0, True)
    """
    if isinstance(value, jax.core.Tracer):
        return None
    try:
        return np.asarray(value)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError, TypeError, ValueError):
        return None


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


def check_number(
    value, name: str, *, minimum: float | None = None, maximum: float | None = None,
    open_minimum: bool = False, owner: str = "", hint: str = "",
) -> float:
    """`value` as a finite Python float within the bounds, or a clear error.

    Accepts Python and NumPy numbers and 0-d arrays; refuses bools, strings, NaN and infinities.

    Args:
      value, name, owner, hint: as for `check_int`.
      minimum, maximum: inclusive bounds (None: unbounded).
      open_minimum: if True the value must be strictly greater than `minimum`.

    Example:
      >>> check_number(0.5, "temperature", minimum=0.0, open_minimum=True)
      0.5
    """
    prefix, suffix = _prefix(owner), f" {hint}" if hint else ""
    if minimum is not None and maximum is not None:
        wanted = f"a finite number in {'(' if open_minimum else '['}{minimum}, {maximum}]"
    elif minimum is not None:
        wanted = f"a finite number {'>' if open_minimum else '>='} {minimum}"
    else:
        wanted = "a finite number" + (f" <= {maximum}" if maximum is not None else "")
    array = None if isinstance(value, (bool, str, bytes)) else concrete(value)
    if array is None or array.shape != () or not (
        np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype, np.complexfloating)
    ) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{prefix}{name} must be {wanted}, got {type(value).__name__} {value!r}.{suffix}")
    number = float(array)
    low_bad = minimum is not None and (number <= minimum if open_minimum else number < minimum)
    if not np.isfinite(number) or low_bad or (maximum is not None and number > maximum):
        raise ValueError(f"{prefix}{name} must be {wanted}, got {number!r}.{suffix}")
    return number


def _raise_if(bad, *, message: str, error: type[Exception]) -> None:
    if np.any(bad):
        raise error(message)


def error_if(bad, message: str, *, error: type[Exception] = ValueError) -> None:
    """Raise `error(message)` if `bad` is true: now when `bad` is known, else when it is computed.

    Inside `jax.jit` (and `vmap`, `grad`, `scan`) the check becomes part of the compiled program
    through `jax.debug.callback`; a true `bad` then stops the call with a
    `jax.errors.JaxRuntimeError` whose message ends with `message`. The cost is one scalar
    sent to the host per call.

    Args:
      bad: a boolean (array); any true entry raises.
      message: the error's message, in the checks' usual form ("owner: name must ...").
      error: the exception class (ValueError by default).

    Example:
      >>> error_if(np.array([False, False]), "x must be positive")
      >>> error_if(True, "x must be positive")
      Traceback (most recent call last):
      ...
      ValueError: x must be positive
    """
    known = concrete(bad)
    if known is not None:
        _raise_if(known, message=message, error=error)
        return
    jax.debug.callback(functools.partial(_raise_if, message=message, error=error), jnp.any(bad))


def check_finite_array(value, name: str, *, owner: str = "", hint: str = "") -> None:
    """Refuse NaN or infinite entries: at once for a concrete array (naming the first), and when
    the program runs for a traced one (`error_if`).

    Example:
      >>> check_finite_array(np.zeros(3), "x")
    """
    suffix = f" {hint}" if hint else ""
    if not jnp.issubdtype(jnp.result_type(value), jnp.inexact):
        return
    array = concrete(value)
    if array is None:
        error_if(~jnp.isfinite(value), f"{_prefix(owner)}{name} must hold finite numbers, got NaN or "
                 f"infinite entries.{suffix}")
        return
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{_prefix(owner)}{name} must hold finite numbers, got {int(bad.sum())} NaN or infinite "
            f"entries (the first at index {where}).{suffix}"
        )


def check_choice(value, name: str, choices, *, owner: str = "", hint: str = ""):
    """`value` if it is one of `choices`, else a clear error listing them.

    Example:
      >>> check_choice("wrap", "boundary", ("wrap", "fixed", "reflect"))
      'wrap'
    """
    try:
        ok = value in choices
    except TypeError:
        ok = False
    if not ok:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(
            f"{_prefix(owner)}{name} must be one of {listed}, got {value!r}.{' ' + hint if hint else ''}"
        )
    return value


def check_key(key, *, name: str = "key", owner: str = "") -> jax.Array:
    """A single JAX PRNG key (typed, or a raw `uint32[2]` key, which is wrapped), or a clear error.

    Example:
      >>> check_key(jax.random.key(0)).shape
      ()
    """
    prefix = _prefix(owner)
    if key is None or not hasattr(key, "dtype"):
        raise TypeError(
            f"{prefix}{name} must be a JAX PRNG key such as jax.random.key(0), got {type(key).__name__}."
        )
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(
                f"{prefix}{name} must be a single PRNG key, got a batch of shape {key.shape}; "
                "jax.vmap over the call for a batch."
            )
        return key
    if key.dtype == jnp.uint32 and key.shape == (2,):
        return jax.random.wrap_key_data(key)
    raise TypeError(
        f"{prefix}{name} must be a JAX PRNG key such as jax.random.key(0), got an array of dtype "
        f"{key.dtype} and shape {key.shape}."
    )


def check_numbers(
    value, name: str, *, minimum: float | None = None, maximum: float | None = None,
    open_minimum: bool = False, owner: str = "", hint: str = "",
) -> None:
    """Every entry of `value` (a number or an array) a finite number within the bounds, or a clear
    error naming the first bad entry; a traced value passes (check it where it is concrete).

    Args: as for `check_number`.

    Example:
      >>> check_numbers(np.array([0.1, 0.5]), "rate", minimum=0.0)
    """
    if isinstance(value, jax.core.Tracer):
        return
    array = None if isinstance(value, (bool, str, bytes)) else concrete(value)
    if array is None or array.ndim == 0 or not np.issubdtype(array.dtype, np.number):
        check_number(value, name, minimum=minimum, maximum=maximum, open_minimum=open_minimum,
                     owner=owner, hint=hint)
        return
    flat = array.reshape(-1).astype(np.float64)
    bad = ~np.isfinite(flat)
    if minimum is not None:
        bad |= flat <= minimum if open_minimum else flat < minimum
    if maximum is not None:
        bad |= flat > maximum
    if bad.any():
        check_number(flat[int(np.argmax(bad))], name, minimum=minimum, maximum=maximum,
                     open_minimum=open_minimum, owner=owner, hint=hint)
