"""Names and trainable parameters of symbolic expressions: checks, values, substitution.

Example:
  >>> import sympy
  >>> params = normalise_params({"theta": 2}, "SymbolicExpression")
  >>> substitute(sympy.sympify("x > theta"), params, None, "SymbolicExpression")
  x > 2.0
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from automata._checks import concrete, fail

__all__ = ["as_names", "check_symbols", "normalise_params", "param_values", "substitute"]


def as_names(value, what: str, owner: str = "") -> tuple[str, ...]:
    """`value` (one name or a sequence of them) as a tuple of distinct identifiers.

    Example:
      >>> as_names("n", "inputs")
      ('n',)
    """
    if isinstance(value, str):
        value = (value,)
    try:
        names = tuple(value)
    except TypeError as err:
        raise fail(owner, f"{what} must be a sequence of names, got {type(value).__name__}.", TypeError) from err
    for n in names:
        if not (isinstance(n, str) and n.isidentifier()):
            raise fail(owner, f"{what} must be identifiers such as 'n' or 'gfp', got {n!r}.")
    if len(set(names)) != len(names):
        raise fail(owner, f"{what} must be distinct names, got duplicates in {names}.")
    return names


def normalise_params(params, owner: str) -> dict:
    """`params` as a dict name -> value, concrete numbers as float arrays (the trainable leaves).

    Example:
      >>> normalise_params({"w": 1}, "SymbolicExpression")["w"].dtype
      dtype('float32')
    """
    if params is None:
        return {}
    if isinstance(params, (list, tuple, set, str)):
        names = [params] if isinstance(params, str) else list(params)
        raise fail(
            owner,
            f"params must give values: got only the name(s) {', '.join(map(str, names))}. "
            f"Pass a dict such as params={{{str(names[0])!r}: 2.5}}.",
        )
    if not isinstance(params, Mapping):
        raise fail(owner, f"params must be a dict of name -> value, got {type(params).__name__}.", TypeError)
    out = {}
    for name, value in params.items():
        if not (isinstance(name, str) and name.isidentifier()):
            raise fail(owner, f"params must have identifiers as names, got {name!r}.")
        # Concrete numbers become float arrays (trainable); anything else (arrays, tracers,
        # placeholders JAX puts in while rebuilding the pytree) is kept as it is.
        if isinstance(value, (bool, int, float, np.ndarray, np.number, list)):
            value = jnp.asarray(value, jnp.result_type(float))
        out[name] = value
    return out


def check_symbols(expr: sympy.Basic, inputs: tuple, param_names: tuple, owner: str) -> None:
    """Every free symbol of `expr` is an input or a parameter, and no name is both.

    Example:
      >>> check_symbols(sympy.sympify("x > theta"), ("x",), ("theta",), "SymbolicExpression")
    """
    clash = sorted(set(inputs) & set(param_names))
    if clash:
        raise fail(
            owner, f"params must not repeat inputs: {', '.join(clash)} cannot be both an input and a parameter."
        )
    unknown = sorted(s.name for s in expr.free_symbols if s.name not in inputs and s.name not in param_names)
    if unknown:
        raise fail(
            owner,
            f"expr must use declared names: unknown symbol(s) {', '.join(unknown)} in {expr}. Known "
            f"inputs: {', '.join(inputs) or '(none)'}; parameters: {', '.join(param_names) or '(none)'}. "
            "Declare each symbol as an input or give it a parameter value.",
        )


def param_values(params: dict, owner: str) -> dict:
    """The parameters as arrays, refusing parameters that have no value.

    Example:
      >>> param_values({"w": 1.5}, "SymbolicRule")["w"].shape
      ()
    """
    missing = sorted(n for n, v in params.items() if v is None)
    if missing:
        raise fail(
            owner,
            f"params must all have values: parameter(s) {', '.join(missing)} have no value; set "
            f"them, e.g. obj.replace(params={{**obj.params, {missing[0]!r}: 1.0}}).",
        )
    return {n: jnp.asarray(v) for n, v in params.items()}


def _scalar(name: str, value, owner: str) -> float:
    if value is None:
        raise fail(owner, f"params must all have values: parameter {name!r} has no value to substitute.")
    if isinstance(value, jax.core.Tracer) or concrete(value) is None:
        raise fail(owner, "to_sympy() needs concrete parameter values; call it outside jit/grad.", TypeError)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 0:
        raise fail(
            owner,
            f"params must be scalars to be written into a sympy expression: {name!r} has shape {arr.shape}.",
        )
    return float(arr)


def substitute(expr: sympy.Basic, params: dict, digits: int | None, owner: str) -> sympy.Basic:
    """`expr` with the parameter values written in (rounded to `digits` significant digits).

    Example:
      >>> substitute(sympy.sympify("k * x"), {"k": 2.71828}, 3, "SymbolicExpression")
      2.72*x
    """
    reps = {}
    symbols = {s.name: s for s in expr.free_symbols}
    for name, value in params.items():
        v = _scalar(name, value, owner)
        if digits is not None:
            v = float(f"{v:.{int(digits)}g}")
        if name in symbols:
            reps[symbols[name]] = sympy.Float(v)
    return expr.xreplace(reps)
