"""Supported sympy nodes: refused at construction, and how far an expression reaches."""

import pytest
import sympy

from rules.logic import AtLeast
from rules.symbolic import SymbolicExpression
from rules.symbolic.nodes import check_supported, reach_units


def test_unsupported_function():
    with pytest.raises(TypeError, match="SymbolicExpression: expr must use supported nodes: .* node f"):
        SymbolicExpression("f(x) + 1", inputs=("x",))
    with pytest.raises(TypeError, match="unsupported sympy function or node besselj"):
        SymbolicExpression(sympy.besselj(0, sympy.Symbol("x")), inputs=("x",))


def test_piecewise_and_constants():
    x = sympy.Symbol("x")
    check_supported(sympy.Piecewise((1, x > 0)), "crisp")
    with pytest.raises(ValueError, match="default branch"):
        check_supported(sympy.Piecewise((1, x > 0)), "soft")
    with pytest.raises(TypeError, match="complex constant"):
        check_supported(x + sympy.I, "crisp")


def test_reach_counts_nesting():
    n, p = sympy.symbols("n p")
    names = frozenset({"n"})
    assert reach_units(p > 1, names) == 0
    assert reach_units(n > 1, names) == 1
    assert reach_units(AtLeast(1, AtLeast(2, p)), names) == 2
    assert reach_units(AtLeast(1, n > 3), names) == 2
