"""Per-kind parameters of division models: float arrays, broadcasting and their checks.

A per-kind parameter (a period, a hazard, a death rate) is a scalar or one value per kind;
`check_param` checks its shape always and its values when they are concrete (the tier-2 check at
a public entry point).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import as_float, concrete, fail

__all__ = ["check_param", "per_kind"]


def per_kind(x, num_kinds: int) -> jax.Array:
    """A scalar or `(num_kinds,)` parameter as a `(num_kinds,)` float array.

    Example:
      >>> per_kind(2.0, 3).tolist()
      [2.0, 2.0, 2.0]
    """
    return jnp.broadcast_to(as_float(x), (num_kinds,))


def _check_shape(x, name, num_kinds, shape, owner) -> None:
    got = tuple(np.shape(x))
    if shape is not None:
        if got != shape:
            raise fail(owner, f"{name} must have shape {shape}, got shape {got}. The "
                              f"differentiation table defines {num_kinds} kinds.")
    elif got not in ((), (num_kinds,)):
        raise fail(owner, f"{name} must be a scalar or shape ({num_kinds},), one value per kind, "
                          f"got shape {got}. The differentiation table defines {num_kinds} kinds.")


def check_param(x, name: str, num_kinds: int, *, owner: str = "", low=0.0, allow_inf=False,
                strict=False, high=None, shape=None) -> None:
    """Check a per-kind parameter: its shape always, its values when concrete.

    Args:
      x: the parameter.
      name: its name as the caller spells it; owner: the class it belongs to.
      num_kinds: number of kinds of the model.
      low, strict: lower bound, exclusive when `strict`; high: upper bound (inclusive).
      allow_inf: accept `+inf` (e.g. a period that switches clock division off).
      shape: the one shape allowed (default: a scalar or `(num_kinds,)`).

    Example:
      >>> check_param([1.0, 2.0], "hazard", 2, owner="DivisionModel")
    """
    _check_shape(x, name, num_kinds, shape, owner)
    v = concrete(x)
    if v is None or v.dtype == object:
        return
    if not (np.issubdtype(v.dtype, np.number) or v.dtype == np.bool_):
        raise fail(owner, f"{name} must hold numbers, got dtype {v.dtype}.", TypeError)
    v = v.astype(np.float64)
    bad = np.isnan(v) | (~np.isfinite(v) & ~(allow_inf & (v > 0)))
    bad |= (v <= low) if strict else (v < low)
    if high is not None:
        bad |= v > high
    if np.any(bad):
        lo = f"> {low}" if strict else f">= {low}"
        wanted = f"in [{low}, {high}]" if high is not None else lo
        inf = " (inf allowed)" if allow_inf else ""
        raise fail(owner, f"{name} must be {wanted}{inf}, got {v.tolist()}.")
