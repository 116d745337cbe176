"""Formulas: parsing strings to sympy, and the Boolean node check."""

import pytest
import sympy

from rules.logic import AtLeast
from rules.logic.formula import check_boolean_formula, parse_formula


def test_single_letters_are_symbols_and_counts_are_known():
    expr = parse_formula("Implies(E, AtLeast(2, And(I, Not(S))))")
    E, I, S = sympy.symbols("E I S")
    assert expr == sympy.Implies(E, AtLeast(2, sympy.And(I, sympy.Not(S))))
    assert parse_formula(True) is sympy.true
    theta = sympy.Symbol("theta", positive=True)
    assert parse_formula("x > theta", {"theta": theta}).rhs is theta


def test_parse_errors():
    with pytest.raises(ValueError, match="f: expr must be a valid expression; cannot parse"):
        parse_formula("a >", owner="f")
    with pytest.raises(TypeError, match="expr must be a sympy expression or a string"):
        parse_formula(3.0)


def test_boolean_formula_check():
    check_boolean_formula(parse_formula("Implies(a, AtMost(1, Xor(b, c)))"))
    with pytest.raises(TypeError, match="Constraint: expr must use And, Or"):
        check_boolean_formula(parse_formula("And(a, x > 1)"))
