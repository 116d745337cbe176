"""The sympy nodes a symbolic expression may use, and the checks made before any array is seen.

Example:
  >>> import sympy
  >>> check_supported(sympy.sympify("exp(x) > 1"), "soft")
  >>> reach_units(sympy.sympify("n > 2"), frozenset({"n"}))
  1
"""

from __future__ import annotations

import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import sympy
from sympy.core import relational
from sympy.logic import boolalg

from automata._checks import fail
from rules.logic import CONNECTIVES, Count

__all__ = ["CONNECTIVES", "FUNCTIONS", "RELATIONS", "SUPPORTED", "check_supported", "reach_units"]

#: sympy function -> its JAX function (None: lowered by hand, see `rules.symbolic.lowering`).
FUNCTIONS = {
    sympy.exp: jnp.exp,
    sympy.log: jnp.log,
    sympy.sin: jnp.sin,
    sympy.cos: jnp.cos,
    sympy.tan: jnp.tan,
    sympy.asin: jnp.arcsin,
    sympy.acos: jnp.arccos,
    sympy.atan: jnp.arctan,
    sympy.atan2: jnp.arctan2,
    sympy.sinh: jnp.sinh,
    sympy.cosh: jnp.cosh,
    sympy.tanh: jnp.tanh,
    sympy.asinh: jnp.arcsinh,
    sympy.acosh: jnp.arccosh,
    sympy.atanh: jnp.arctanh,
    sympy.Abs: jnp.abs,
    sympy.floor: jnp.floor,
    sympy.ceiling: jnp.ceil,
    sympy.Mod: jnp.mod,
    sympy.erf: jsp.erf,
    sympy.erfc: jsp.erfc,
    sympy.loggamma: jsp.gammaln,
    sympy.sign: jnp.sign,
    sympy.Heaviside: None,  # it has a value at 0 (its second argument)
    sympy.Min: None,
    sympy.Max: None,
}

#: What an expression may contain, for error messages.
SUPPORTED = (
    "numbers, symbols, +, *, ** (sqrt), "
    + ", ".join(sorted(f.__name__ for f in FUNCTIONS))
    + ", Eq, Ne, <, <=, >, >=, And, Or, Not, Implies, Xor, Equivalent, ITE, Nand, Nor, "
    "Piecewise, true, false, and (on a lattice) AtLeast/AtMost/Exactly(k, p)"
)

#: The comparisons, each crisp or soft (see `rules.symbolic`).
RELATIONS = (
    relational.Equality,
    relational.Unequality,
    relational.StrictGreaterThan,
    relational.GreaterThan,
    relational.StrictLessThan,
    relational.LessThan,
)


def _check_constant(node: sympy.Basic, owner: str) -> None:
    try:
        value = complex(node)
    except (TypeError, ValueError) as err:
        raise fail(owner, f"expr must hold real numbers; cannot evaluate the constant {node}.", TypeError) from err
    if value.imag != 0 and not np.isnan(value.imag):
        raise fail(owner, f"expr must be real-valued; the complex constant {node} is not supported.", TypeError)


def _check_piecewise(node: sympy.Piecewise, mode: str, owner: str) -> None:
    if mode == "soft" and node.args[-1].cond != sympy.true:
        raise fail(
            owner,
            f"expr must give {node} a default branch in soft mode: with none it is nan where no "
            "condition holds and has no soft relaxation; add a final (value, True) branch.",
        )
    for pair in node.args:
        check_supported(pair.expr, mode, owner)
        check_supported(pair.cond, mode, owner)


def check_supported(node: sympy.Basic, mode: str, owner: str = "") -> None:
    """Raise at construction for nodes that cannot be lowered to JAX (before any array is seen).

    Args:
      node: a sympy expression.
      mode: `"crisp"` or `"soft"` (soft needs every Piecewise to end in a `(value, True)` branch).
      owner: the public caller, named at the start of error messages.
    """
    if isinstance(node, (sympy.Symbol, boolalg.BooleanTrue, boolalg.BooleanFalse)):
        return
    if node.is_number and not isinstance(node, boolalg.Boolean):
        _check_constant(node, owner)
    elif isinstance(node, sympy.Piecewise):
        _check_piecewise(node, mode, owner)
    elif isinstance(node, Count):
        check_supported(node.args[1], mode, owner)
    elif isinstance(node, (sympy.Add, sympy.Mul, sympy.Pow) + RELATIONS + CONNECTIVES) or type(node) in FUNCTIONS:
        for a in node.args:
            check_supported(a, mode, owner)
    else:
        name = type(node).__name__ if isinstance(node, sympy.Function) else node.func.__name__
        raise fail(
            owner, f"expr must use supported nodes: unsupported sympy function or node {name} (in {node}); "
            f"supported: {SUPPORTED}.", TypeError,
        )


def reach_units(node: sympy.Basic, neighbour_names: frozenset) -> int:
    """How many neighbourhood radii away an expression looks (counts nest).

    Args:
      node: a sympy expression.
      neighbour_names: the input names that already sum over the neighbours (such as `n`).
    """
    if isinstance(node, sympy.Symbol):
        return int(node.name in neighbour_names)
    if isinstance(node, Count):
        return 1 + reach_units(node.args[1], neighbour_names)
    return max((reach_units(a, neighbour_names) for a in node.args), default=0)
