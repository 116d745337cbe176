"""Formulas: strings parsed to sympy with the count predicates known, and the Boolean node check.

Example:
  >>> parse_formula("Implies(E, AtLeast(2, gut))")
  Implies(E, AtLeast(2, gut))
"""

from __future__ import annotations

import ast
from typing import Mapping, Sequence

import sympy
from sympy.logic import boolalg

from automata._checks import fail
from rules.logic.counting import COUNTS, Count

__all__ = ["BOOLEAN_NODES", "CONNECTIVES", "check_boolean_formula", "check_known_symbols", "parse_formula"]

#: The sympy Boolean connectives with a fuzzy meaning (see `rules.logic.semantics`).
CONNECTIVES = (
    boolalg.And, boolalg.Or, boolalg.Not, boolalg.Implies, boolalg.Xor,
    boolalg.Equivalent, boolalg.ITE, boolalg.Nand, boolalg.Nor,
)

#: What a Boolean formula may contain, for error messages.
BOOLEAN_NODES = (
    "And, Or, Not, Implies, Xor, Equivalent, ITE, Nand, Nor, true, false, "
    "AtLeast/AtMost/Exactly(k, p)"
)

# sympy names that stay sympy's objects in a string, even when not called.
_CONSTANTS = ("true", "false", "oo", "pi", "nan", "zoo")


def _symbol_locals(tree: ast.AST, local: dict) -> dict:
    """`local` plus a plain symbol for every name in `tree` that is not called or already known.

    Names that are called stay sympy functions (Eq, exp, ...); every other name is a symbol, so
    that single letters such as E, I, N, S, Q are not taken for sympy's objects.
    """
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and node.id not in local
            and id(node) not in called
            and node.id not in _CONSTANTS
        ):
            local[node.id] = sympy.Symbol(node.id)
    return local


def parse_formula(expr, names: Mapping[str, sympy.Basic] | None = None, *, owner: str = "") -> sympy.Basic:
    """A sympy expression from `expr` (sympy, or a string parsed with the count predicates known).

    Every identifier in a string becomes a plain symbol of that name (so `E`, `I`, `N`, `S` or
    `Q` are names, not sympy's constants), except sympy's function names and `names`.

    Args:
      expr: a sympy expression, a bool, or a string such as `"Implies(a, Not(b))"`.
      names: extra name -> sympy object bindings for the string.
      owner: the public caller, named at the start of error messages.

    Example:
      >>> parse_formula("x > theta", {"theta": sympy.Symbol("theta")})
      x > theta
    """
    if isinstance(expr, sympy.Basic):
        return expr
    if isinstance(expr, bool):
        return sympy.true if expr else sympy.false
    if not isinstance(expr, str):
        raise fail(
            owner,
            f"expr must be a sympy expression or a string such as 'Implies(a, Not(b))', got "
            f"{type(expr).__name__}.",
            TypeError,
        )
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as err:
        raise fail(owner, f"expr must be a valid expression; cannot parse {expr!r}: {err.msg}.") from err
    local = _symbol_locals(tree, {**COUNTS, **(names or {})})
    try:
        return sympy.sympify(expr, locals=local)
    except (sympy.SympifyError, TypeError, SyntaxError) as err:
        raise fail(owner, f"expr must be a valid expression; cannot parse {expr!r}: {err}") from err


def check_boolean_formula(node: sympy.Basic, owner: str = "Constraint") -> None:
    """Refuse node types with no fuzzy meaning (numbers, comparisons, functions) with a TypeError.

    Example:
      >>> check_boolean_formula(parse_formula("Implies(a, AtMost(1, b))"))
    """
    if isinstance(node, (sympy.Symbol, boolalg.BooleanTrue, boolalg.BooleanFalse)):
        return
    if isinstance(node, Count):
        check_boolean_formula(node.args[1], owner)
        return
    if not isinstance(node, CONNECTIVES):
        raise fail(
            owner,
            f"expr must use {BOOLEAN_NODES} over predicate symbols; {type(node).__name__} ({node}) "
            "is not supported. For comparisons of numbers use rules.symbolic.SymbolicExpression in "
            "soft mode.",
            TypeError,
        )
    for a in node.args:
        check_boolean_formula(a, owner)


def check_known_symbols(expr: sympy.Basic, known: Sequence[str], name: str, owner: str = "") -> None:
    """Refuse free symbols of `expr` outside `known`, naming them and listing `known`.

    Args:
      expr: a sympy expression.
      known: the names it may use, in the order to list them.
      name: the argument that supplies them (e.g. `"predicates"`), named in the message.
      owner: the public caller, named at the start of the message.

    Example:
      >>> check_known_symbols(parse_formula("And(a, b)"), ("a", "b", "c"), "predicates")
    """
    unknown = sorted(s.name for s in expr.free_symbols if s.name not in known)
    if unknown:
        raise fail(
            owner,
            f"{name} must cover every symbol of {expr}: unknown {', '.join(unknown)}; known: "
            f"{', '.join(known) or '(none)'}.",
        )
