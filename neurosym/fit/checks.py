"""Checks of what `fit` and `sweep` are given: observations, parameters, terms, devices, optimiser."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from neurosym.fit.batch import host

__all__ = ["check_devices", "check_finite", "check_optimizer", "check_params", "check_terms"]


def check_finite(name: str, array):
    """Raise `ValueError` if `array` holds NaN or infinite values; return it unchanged otherwise.

    Use it where observations enter (`fit` calls it on every leaf of `data=`). Integer and
    boolean arrays are always finite.

    Args:
      name: how the array is called in the message (e.g. `"counts"`).
      array: a concrete array (not a tracer: call this outside `jit`).

    Returns:
      `array`, unchanged.

    Example:
      >>> import numpy as np
      >>> check_finite("counts", np.array([1.0, np.nan, np.inf]))  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: counts has 2 non-finite entries of 3 (1 NaN, 1 inf), the first at index (1,). ...
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string naming the array, got {type(name).__name__}.")
    try:
        values = np.asarray(array)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError) as err:
        raise TypeError(
            f"check_finite({name!r}) needs concrete values but got a traced array; call it "
            "outside jit/vmap/grad, where the data enter."
        ) from err
    if values.dtype == object or not (
        jnp.issubdtype(values.dtype, jnp.number) or values.dtype == np.bool_
    ):
        raise TypeError(f"{name} must be a numeric array, got dtype {values.dtype}.")
    if not jnp.issubdtype(values.dtype, jnp.inexact):
        return array
    bad = ~np.isfinite(values)
    num_bad = int(bad.sum())
    if num_bad:
        num_nan = int(np.isnan(values).sum())
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has {num_bad} non-finite entr{'y' if num_bad == 1 else 'ies'} of "
            f"{values.size} ({num_nan} NaN, {num_bad - num_nan} inf), the first at index {first}. "
            "Drop or mask them before fitting (e.g. fill them and pass a 0/1 mask in data= that "
            "the loss multiplies by)."
        )
    return array


def check_devices(devices) -> list:
    """`devices` as a non-empty list of `jax.Device` (default: all of them)."""
    if devices is None:
        return list(jax.devices())
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise TypeError(
            "devices must be a non-empty sequence of jax.Device (e.g. jax.devices()[:2]), got "
            f"{devices!r}."
        )
    return devices


def check_params(params, what: str) -> Any:
    """numpy copies of a pytree of floating-point parameters, or a clear error."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    if not leaves:
        raise ValueError(f"{what} has no array leaves: there is nothing to fit.")
    for path, leaf in leaves:
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(
                f"{what}{jax.tree_util.keystr(path)} has dtype {dtype}; fit trains floating-point "
                "parameters only. Keep integer configuration out of params (in a closure, in "
                "data=, or in a static field of a flax.struct pytree)."
            )
    return host(params)


def check_terms(constraints, priors) -> tuple[list, list]:
    """`constraints` as `[(weight, fn), ...]` with finite weights >= 0 and `priors` as functions."""
    one_pair = isinstance(constraints, tuple) and len(constraints) == 2 and callable(constraints[1])
    if callable(constraints) or one_pair:
        raise TypeError(
            "constraints must be a sequence of (weight, fn) pairs, e.g. [(10.0, penalty)]; wrap a "
            "single pair in a list."
        )
    checked = []
    for i, item in enumerate(constraints):
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and callable(item[1])):
            raise TypeError(
                f"constraints[{i}] must be a (weight, fn) pair with fn(params) -> scalar penalty, "
                f"got {item!r}."
            )
        weight = item[0]
        try:
            w = float(weight)
        except (TypeError, ValueError) as err:
            raise TypeError(f"constraints[{i}]: the weight must be a number, got {weight!r}.") from err
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"constraints[{i}]: the weight must be finite and >= 0, got {weight!r}.")
        checked.append((w, item[1]))
    if callable(priors):
        raise TypeError("priors must be a sequence of functions params -> log density; wrap one in a list.")
    priors = list(priors)
    for i, fn in enumerate(priors):
        if not callable(fn):
            raise TypeError(f"priors[{i}] must be a function params -> scalar log density, got {fn!r}.")
    return checked, priors


def check_optimizer(optimizer, learning_rate):
    """The optax optimiser to use, or the default Adam's learning rate as a float.

    A float stands for `optax.adam(rate)`: the compile cache keys on it, so fits with the
    default optimiser share one compiled loop.
    """
    if optimizer is None:
        learning_rate = 1e-2 if learning_rate is None else learning_rate
        try:
            rate = float(learning_rate)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"learning_rate must be a number, got {learning_rate!r}; for a schedule pass "
                "optimizer=optax.adam(schedule)."
            ) from err
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"learning_rate must be positive and finite, got {learning_rate!r}.")
        return rate
    if learning_rate is not None:
        raise ValueError(
            "Pass learning_rate only without optimizer= (it sets the default Adam's rate); "
            "give your optimizer its own rate, e.g. optimizer=optax.sgd(0.1)."
        )
    if not isinstance(optimizer, optax.GradientTransformation) and not (
        hasattr(optimizer, "init") and hasattr(optimizer, "update")
    ):
        raise TypeError(
            f"optimizer must be an optax GradientTransformation (e.g. optax.adam(1e-2)), got "
            f"{type(optimizer).__name__}."
        )
    return optimizer
