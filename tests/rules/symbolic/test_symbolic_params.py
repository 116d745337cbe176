"""Names and parameters: checks, missing values, substitution into sympy."""

import jax
import jax.numpy as jnp
import pytest
import sympy

from rules.symbolic import SymbolicExpression, SymbolicRule
from rules.symbolic.params import as_names, normalise_params


def test_to_sympy_substitutes_fitted_values():
    f = SymbolicExpression("Or(n > theta, Eq(x, k * y))", inputs=("n", "x", "y"), params={"theta": 2.0, "k": 3})
    f2 = f.replace(params={"theta": jnp.asarray(2.71828), "k": f.params["k"] - 0.5})
    n, x, y = sympy.symbols("n x y")
    assert f2.to_sympy(digits=3) == sympy.Or(n > sympy.Float(2.72), sympy.Eq(x, sympy.Float(2.5) * y))
    rule = SymbolicRule("n > theta", params={"theta": 2.5})
    assert rule.to_sympy() == (sympy.Symbol("n") > sympy.Float(2.5))


def test_missing_parameter_values():
    with pytest.raises(ValueError, match=r"SymbolicExpression: params must give values: got only the name\(s\) theta"):
        SymbolicExpression("x > theta", inputs=("x",), params=("theta",))
    f = SymbolicExpression("x > theta", inputs=("x",), params={"theta": None})
    with pytest.raises(ValueError, match=r"parameter\(s\) theta have no value"):
        f({"x": jnp.zeros(3)})
    with pytest.raises(ValueError, match="parameter 'theta' has no value"):
        f.to_sympy()
    g = SymbolicExpression("x > theta", inputs=("x",), params={"theta": jnp.ones(2)})
    with pytest.raises(ValueError, match="params must be scalars"):
        g.to_sympy()
    with pytest.raises(TypeError, match="needs concrete parameter values"):
        jax.jit(lambda f: f.to_sympy() is None)(SymbolicExpression("x > t", inputs=("x",), params={"t": 1.0}))


def test_unknown_symbol_names_it_and_lists_known():
    with pytest.raises(ValueError, match=r"unknown symbol\(s\) m .*Known inputs: n, alive; parameters: theta"):
        SymbolicExpression("m > theta", inputs=("n", "alive"), params={"theta": 1.0})
    with pytest.raises(ValueError, match=r"unknown symbol\(s\) nn .*Known inputs: x, n_x, alive, n"):
        SymbolicRule("Eq(nn, 3)")


def test_names_and_params_are_checked():
    assert as_names(("a", "b"), "inputs") == ("a", "b")
    with pytest.raises(ValueError, match="f: inputs must be identifiers"):
        as_names(("a b",), "inputs", "f")
    with pytest.raises(ValueError, match="inputs must be distinct names"):
        as_names(("a", "a"), "inputs")
    with pytest.raises(TypeError, match="channels must be a sequence of names"):
        as_names(3, "channels")
    assert normalise_params({"w": 2}, "f")["w"].dtype == jnp.result_type(float)
    with pytest.raises(TypeError, match="f: params must be a dict"):
        normalise_params(2.0, "f")
    with pytest.raises(ValueError, match="params must have identifiers as names"):
        normalise_params({"1w": 2.0}, "f")
    with pytest.raises(ValueError, match="both an input and a parameter"):
        SymbolicExpression("x", inputs=("x",), params={"x": 1.0})
