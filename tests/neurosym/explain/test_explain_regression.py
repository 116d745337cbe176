"""neurosym.explain.regression: sparse equations over libraries of sympy terms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

from neurosym.explain import Equation, polynomial_library, sparse_regression

def test_polynomial_library():
    u = sympy.Symbol("u")
    assert polynomial_library(["u"], 3) == (1, u, u**2, u**3)
    assert len(polynomial_library(["u", "v"], 2, include_bias=False)) == 5
    with pytest.raises(ValueError, match="degree must be at least 1"):
        polynomial_library(["u"], 0)
    with pytest.raises(ValueError, match="names must be a non-empty sequence of identifiers"):
        polynomial_library(["1u"], 2)


def test_sparse_regression_recovers_a_polynomial_from_noisy_samples():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, 400)
    y = 0.3 + 0.5 * u - 1.2 * u**2 + rng.normal(0, 0.02, u.shape)
    eq = sparse_regression({"u": u}, y, polynomial_library(["u"], 4))
    assert isinstance(eq, Equation)
    us = sympy.Symbol("u")
    coef = eq.coefficients
    assert list(coef) == [1, us, us**2, us**3, us**4]
    assert coef[1] == pytest.approx(0.3, abs=0.01)
    assert coef[us] == pytest.approx(0.5, abs=0.03)
    assert coef[us**2] == pytest.approx(-1.2, abs=0.03)
    assert coef[us**3] == 0.0 and coef[us**4] == 0.0
    assert eq.terms == (1, us, us**2)
    assert eq.r2 > 0.99 and eq.residual_rms == pytest.approx(0.02, rel=0.15)
    # Evaluation: numpy in, numpy out; JAX in, JAX out and differentiable.
    np.testing.assert_allclose(eq({"u": u}), y, atol=0.1)
    grad = jax.grad(lambda v: eq({"u": v}).sum())(jnp.array([0.5]))
    assert float(grad[0]) == pytest.approx(coef[us] + 2 * coef[us**2] * 0.5, rel=1e-4)
    assert set(eq.expr.free_symbols) == {us}


def test_sparse_regression_division_hazard_zeroes_spurious_inputs():
    # h = 0.1 * (1 - w + w * payoff) with selection w = 0.4 is 0.06 + 0.04 * payoff; crowding
    # plays no part.
    rng = np.random.default_rng(1)
    payoff = rng.uniform(0, 3, 300)
    crowding = rng.uniform(0, 8, 300)
    h = 0.1 * (1 - 0.4 + 0.4 * payoff) + rng.normal(0, 0.001, 300)
    eq = sparse_regression({"payoff": payoff, "crowding": crowding}, h,
                           polynomial_library(["payoff", "crowding"], 2), digits=2)
    p = sympy.Symbol("payoff")
    assert eq.coefficients[1] == pytest.approx(0.06, abs=0.002)
    assert eq.coefficients[p] == pytest.approx(0.04, abs=0.002)
    assert eq.terms == (1, p)
    assert eq.expr == sympy.Float(0.04) * p + sympy.Float(0.06)
    assert str(eq) == "0.04*payoff + 0.06"


def test_sparse_regression_with_nonlinear_features():
    # Lenia's growth 2 exp(-(u - 0.15)^2 / (2 0.015^2)) - 1 is linear in a library holding the bump.
    u = np.linspace(0, 0.4, 300)
    bump = "exp(-(u - 0.15)**2 / (2 * 0.015**2))"
    target = 2 * np.exp(-((u - 0.15) ** 2) / (2 * 0.015**2)) - 1
    eq = sparse_regression({"u": u}, target, ["1", "u", "u**2", bump])
    values = list(eq.coefficients.values())
    assert values[0] == pytest.approx(-1, abs=1e-9) and values[3] == pytest.approx(2, abs=1e-9)
    assert values[1] == 0.0 and values[2] == 0.0
    assert eq.r2 == pytest.approx(1.0)


def test_sparse_regression_errors():
    u = np.linspace(0.0, 1.0, 20)
    lib = polynomial_library(["u"], 2)
    with pytest.raises(ValueError, match="inputs must be a non-empty mapping"):
        sparse_regression({}, u, lib)
    with pytest.raises(ValueError, match=r"input 'u' has shape \(20,\) but the target has \(19,\)"):
        sparse_regression({"u": u}, u[:-1], lib)
    with pytest.raises(ValueError, match=r"uses \['v'\], which are not inputs"):
        sparse_regression({"u": u}, u, ["u", "v**2"])
    with pytest.raises(ValueError, match="log\\(u\\) is not finite at some samples"):
        sparse_regression({"u": u}, u, ["u", "log(u)"])
    with pytest.raises(ValueError, match=r"the term\(s\) \['u', 'u\*\*2'\] are 0 at every sample"):
        sparse_regression({"u": np.zeros(20)}, u, lib)
    with pytest.raises(ValueError, match="contains the term u twice"):
        sparse_regression({"u": u}, u, ["u", "u"])
    with pytest.raises(ValueError, match="threshold must be a number >= 0"):
        sparse_regression({"u": u}, u, lib, threshold=-1)
    with pytest.raises(ValueError, match="3 samples cannot determine 4 library terms"):
        sparse_regression({"u": u[:3]}, u[:3], polynomial_library(["u"], 3))
    with pytest.raises(ValueError, match="the target has non-finite values"):
        sparse_regression({"u": u}, np.full(20, np.nan), lib)
    with pytest.raises(ValueError, match="the library is empty"):
        sparse_regression({"u": u}, u, [])
    with pytest.raises(ValueError, match="the target is 0 at every sample"):
        sparse_regression({"u": u}, np.zeros(20), lib)
