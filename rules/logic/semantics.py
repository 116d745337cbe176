"""Fuzzy connectives: the t-norms, t-conorms, negation and implications of the three semantics.

=============  ========================  ========================  ===============================
semantics      And(a, b)                 Or(a, b)                  Implies(a, b) (default)
=============  ========================  ========================  ===============================
"product"      a b                       a + b - a b               Reichenbach: 1 - a + a b
"goedel"       min(a, b)                 max(a, b)                 Goedel residuum: 1 if a <= b
                                                                   else b
"lukasiewicz"  max(0, a + b - 1)         min(1, a + b)             Lukasiewicz: min(1, 1 - a + b)
=============  ========================  ========================  ===============================

The product default is the Reichenbach S-implication `Or(Not a, b)`, not the product residuum
(Goguen, `min(1, b / a)`), because the residuum's gradient vanishes whenever `a <= b` and blows
up as `a -> 0`; van Krieken, Acar & van Harmelen 2022 (doi:10.1016/j.artint.2021.103602,
arXiv:2002.06100) compare the choices for learning. The Lukasiewicz implication is both the
residuum and an S-implication. Any implication can be chosen by name (`IMPLICATIONS`).

The other connectives are built from these (`fuzzy_connective`): `Xor(a, b) = And(Or(a, b),
Not(And(a, b)))`, `Equivalent(a, b) = And(Implies(a, b), Implies(b, a))`, `ITE(c, a, b) =
Or(And(c, a), And(Not c, b))`, `Nand = Not And`, `Nor = Not Or`; n-ary forms fold from the left.

Example:
  >>> round(float(implication(0.7, 0.6, "lukasiewicz")), 6)
  0.9
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import sympy
from sympy.logic import boolalg

from automata._checks import check_choice

__all__ = [
    "DEFAULT_IMPLICATION",
    "IMPLICATIONS",
    "SEMANTICS",
    "check_semantics",
    "conjunction",
    "disjunction",
    "fuzzy_connective",
    "implication",
    "negation",
    "resolve_implication",
]

SEMANTICS = ("product", "goedel", "lukasiewicz")

#: Implications by name, `I(a, b)` for `Implies(a, b)`.
IMPLICATIONS = {
    # S-implications Or(Not a, b) under a t-conorm.
    "reichenbach": "1 - a + a b (product S-implication)",
    "kleene_dienes": "max(1 - a, b) (Goedel S-implication)",
    # Residua: sup {c : T(a, c) <= b}.
    "goguen": "1 if a <= b else b / a (product residuum)",
    "goedel": "1 if a <= b else b (Goedel residuum)",
    "lukasiewicz": "min(1, 1 - a + b) (Lukasiewicz residuum and S-implication)",
}

#: The implication each semantics uses when none is named.
DEFAULT_IMPLICATION = {"product": "reichenbach", "goedel": "goedel", "lukasiewicz": "lukasiewicz"}


def check_semantics(semantics: str, owner: str = "") -> str:
    """`semantics` if it is one of `SEMANTICS`, else a ValueError naming them.

    Example:
      >>> check_semantics("goedel")
      'goedel'
    """
    return check_choice(semantics, "semantics", SEMANTICS, owner=owner)


def resolve_implication(semantics: str, name: str | None, owner: str = "") -> str:
    """The implication's name: `name` checked against `IMPLICATIONS`, or the semantics' default.

    Example:
      >>> resolve_implication("product", None)
      'reichenbach'
    """
    check_semantics(semantics, owner)
    if name is None:
        return DEFAULT_IMPLICATION[semantics]
    return check_choice(
        name, "implication", IMPLICATIONS, owner=owner, hint="None picks the semantics' default."
    )


def conjunction(a, b, semantics: str = "product") -> jax.Array:
    """Fuzzy And (a t-norm) of truth values in [0, 1]: product, min, or max(0, a + b - 1).

    Example:
      >>> round(float(conjunction(0.7, 0.6, "lukasiewicz")), 6)
      0.3
    """
    check_semantics(semantics, "conjunction")
    a, b = jnp.asarray(a), jnp.asarray(b)
    if semantics == "product":
        return a * b
    if semantics == "goedel":
        return jnp.minimum(a, b)
    return jnp.maximum(a + b - 1, 0)


def disjunction(a, b, semantics: str = "product") -> jax.Array:
    """Fuzzy Or (the dual t-conorm): a + b - a b, max, or min(1, a + b).

    Example:
      >>> float(disjunction(0.5, 0.5, "product"))
      0.75
    """
    check_semantics(semantics, "disjunction")
    a, b = jnp.asarray(a), jnp.asarray(b)
    if semantics == "product":
        return a + b - a * b
    if semantics == "goedel":
        return jnp.maximum(a, b)
    return jnp.minimum(a + b, 1)


def negation(a) -> jax.Array:
    """Standard fuzzy negation `1 - a` (the same under every semantics here).

    Example:
      >>> float(negation(0.25))
      0.75
    """
    return 1 - jnp.asarray(a)


def implication(a, b, semantics: str = "product", name: str | None = None) -> jax.Array:
    """Fuzzy `Implies(a, b)`; `name` picks one of `IMPLICATIONS` (default: see the module docs).

    Example:
      >>> round(float(implication(0.8, 0.5, "product")), 6)  # Reichenbach 1 - 0.8 + 0.4
      0.6
    """
    name = resolve_implication(semantics, name, "implication")
    a, b = jnp.asarray(a), jnp.asarray(b)
    if name == "reichenbach":
        return 1 - a + a * b
    if name == "kleene_dienes":
        return jnp.maximum(1 - a, b)
    if name == "lukasiewicz":
        return jnp.minimum(1 - a + b, 1)
    if name == "goedel":
        return jnp.where(a <= b, jnp.ones_like(b), b)
    # Goguen: the inner `where` keeps b / a finite where it is not used, so its (discarded)
    # gradient is not nan.
    safe_a = jnp.where(a <= b, jnp.ones_like(a), a)
    return jnp.where(a <= b, jnp.ones_like(b), b / safe_a)


def _fold(args: list, op, semantics: str):
    out = args[0]
    for a in args[1:]:
        out = op(out, a, semantics)
    return out


def _xor(a, b, semantics: str):
    return conjunction(disjunction(a, b, semantics), negation(conjunction(a, b, semantics)), semantics)


def _equivalent(args: list, semantics: str, name: str):
    out = None
    for a, b in zip(args[:-1], args[1:]):
        eq = conjunction(implication(a, b, semantics, name), implication(b, a, semantics, name), semantics)
        out = eq if out is None else conjunction(out, eq, semantics)
    return jnp.ones_like(args[0]) if out is None else out


def fuzzy_connective(node: sympy.Basic, args: list, semantics: str, implication_name: str):
    """Combine already-evaluated truth values of `node.args` for one Boolean sympy node.

    Args:
      node: a sympy Boolean connective (And, Or, Not, Implies, Xor, Equivalent, ITE, Nand, Nor).
      args: the truth values of `node.args`, in order.
      semantics: one of `SEMANTICS`; implication_name: one of `IMPLICATIONS`.

    Returns:
      the node's truth value, or None when `node` is not a connective handled here (the caller
      decides).

    Example:
      >>> import sympy
      >>> a, b = sympy.symbols("a b")
      >>> float(fuzzy_connective(sympy.Nor(a, b, evaluate=False), [0.5, 0.5], "product", "reichenbach"))
      0.25
    """
    if isinstance(node, boolalg.And):
        return _fold(args, conjunction, semantics)
    if isinstance(node, boolalg.Or):
        return _fold(args, disjunction, semantics)
    if isinstance(node, boolalg.Not):
        return negation(args[0])
    if isinstance(node, boolalg.Implies):
        return implication(args[0], args[1], semantics, implication_name)
    if isinstance(node, boolalg.Xor):
        return _fold(args, _xor, semantics)
    if isinstance(node, boolalg.Equivalent):
        return _equivalent(args, semantics, implication_name)
    if isinstance(node, boolalg.ITE):
        c, a, b = args
        return disjunction(conjunction(c, a, semantics), conjunction(negation(c), b, semantics), semantics)
    if isinstance(node, boolalg.Nand):
        return negation(_fold(args, conjunction, semantics))
    if isinstance(node, boolalg.Nor):
        return negation(_fold(args, disjunction, semantics))
    return None
