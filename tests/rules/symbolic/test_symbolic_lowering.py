"""Lowering to JAX: crisp mode equals sympy, soft mode tends to crisp, ties, fuzzy semantics."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest
import sympy

from rules.symbolic import SymbolicExpression, evaluate
from rules.symbolic.lowering import check_config

CRISP_CASES = [
    "a * b - 3 * c + 2",
    "a / (b ** 2 + 1) + sqrt(Abs(c))",
    "exp(-a ** 2) * tanh(b) + log(1 + c ** 2)",
    "sin(a) + cos(b) - atan(c) + sinh(a / 4) + cosh(b / 4) + erf(c)",
    "Max(a, b, c) - Min(a, b) + floor(c) + ceiling(a) + Mod(b, 3)",
    "Piecewise((a, b > c), (b - 1, a < 0), (c ** 3, True))",
    "Piecewise((a + b, b >= 0), (2, True)) + Heaviside(c) + sign(a)",
    "theta * a + Abs(a - b) ** Rational(3, 2)",
    "(a + 1) ** -2 + 1 / sqrt(b ** 2 + 1)",
]
LOGIC_CASES = [
    "And(i > 0, j <= 2)",
    "Or(Eq(i, j), Ne(i, 1), Not(j < i))",
    "Xor(i > 0, j > 0, Eq(i + j, 2))",
    "Implies(i >= 1, Eq(j, 2))",
    "Equivalent(i > 0, j > 0)",
    "ITE(i > 1, j > 0, Eq(j, 0))",
    "Nand(i > 0, j > 0) & ~Nor(Eq(i, 2), Eq(j, 1))",
]


@pytest.mark.parametrize("text", CRISP_CASES)
def test_crisp_arithmetic_equals_sympy(text):
    f = SymbolicExpression(text, inputs=("a", "b", "c"), params={"theta": 0.7})
    rng = np.random.default_rng(0)
    vals = rng.uniform(-2, 2, (3, 25)).round(3)
    vals[:, :3] = [[0.0, 1.0, -1.0], [0.0, 1.0, 2.0], [0.0, -1.0, 0.0]]
    got = np.asarray(f({"a": vals[0], "b": vals[1], "c": vals[2]}))
    expr = f.to_sympy()
    syms = {s.name: s for s in expr.free_symbols}
    for i in range(vals.shape[1]):
        sub = {syms[k]: sympy.Float(v) for k, v in zip("abc", vals[:, i]) if k in syms}
        want = complex(expr.xreplace(sub).evalf())
        if want.imag != 0 or not np.isfinite(want.real):
            continue
        assert got[i] == pytest.approx(want.real, rel=1e-4, abs=1e-4), (text, vals[:, i])


@pytest.mark.parametrize("text", LOGIC_CASES)
def test_crisp_logic_equals_sympy(text):
    f = SymbolicExpression(text, inputs=("i", "j"), integer_inputs=("i", "j"))
    grid = np.array(list(itertools.product(range(-1, 4), repeat=2))).T
    got = np.asarray(f({"i": grid[0], "j": grid[1]}))
    assert got.dtype == np.bool_
    i, j = sympy.symbols("i j")
    for k in range(grid.shape[1]):
        want = bool(f.expr.xreplace({i: sympy.Integer(grid[0, k]), j: sympy.Integer(grid[1, k])}))
        assert got[k] == want, (text, grid[:, k])


@pytest.mark.parametrize("text", LOGIC_CASES + ["Piecewise((i + j, i > j), (i - j, Eq(i, 0)), (3, True))"])
def test_soft_tends_to_crisp_on_integers(text):
    crisp = SymbolicExpression(text, inputs=("i", "j"), integer_inputs=("i", "j"))
    soft = crisp.replace(mode="soft", temperature=0.02)
    grid = np.array(list(itertools.product(range(-1, 4), repeat=2)), np.float32).T
    inputs = {"i": grid[0], "j": grid[1]}
    np.testing.assert_allclose(
        np.asarray(soft(inputs)), np.asarray(crisp(inputs)).astype(np.float32), atol=1e-5
    )


def test_soft_strict_and_non_strict_comparisons_at_ties():
    n = jnp.arange(6.0)
    gt = SymbolicExpression("n > 2", inputs=("n",), integer_inputs=("n",), mode="soft", temperature=0.05)
    ge = gt.replace(expr="n >= 3")
    np.testing.assert_allclose(gt({"n": n}), [0, 0, 0, 1, 1, 1], atol=1e-4)
    np.testing.assert_allclose(ge({"n": n}), [0, 0, 0, 1, 1, 1], atol=1e-4)
    # Real-valued comparison: a plain sigmoid, 1/2 at the tie.
    real = SymbolicExpression("x > 2", inputs=("x",), mode="soft", temperature=0.05)
    assert float(real({"x": jnp.array(2.0)})) == pytest.approx(0.5)


def test_semantics_choice_changes_soft_logic():
    values = {"p": jnp.array(0.5), "q": jnp.array(0.5)}
    base = SymbolicExpression("And(p, q)", inputs=("p", "q"), mode="soft")
    assert float(base(values)) == pytest.approx(0.25)
    assert float(base.replace(semantics="goedel")(values)) == pytest.approx(0.5)
    assert float(base.replace(semantics="lukasiewicz")(values)) == pytest.approx(0.0)


def test_evaluate_reports_missing_values():
    with pytest.raises(ValueError, match=r"evaluate: values must cover every symbol of x \+ y: unknown y; known: x"):
        evaluate("x + y", {"x": jnp.ones(2)})


def test_configuration_is_checked():
    check_config("crisp", 0.5, "goedel", "kleene_dienes")
    with pytest.raises(ValueError, match="f: mode must be one of 'crisp', 'soft', got 'fuzzy'"):
        check_config("fuzzy", 0.5, "product", None, "f")
    with pytest.raises(ValueError, match="f: temperature must be a finite number > 0"):
        check_config("soft", -1.0, "product", None, "f")
    with pytest.raises(ValueError, match="evaluate: semantics must be one of"):
        evaluate("x > 0", {"x": jnp.ones(2)}, semantics="min")
