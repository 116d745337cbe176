"""SymbolicExpression: gradients, jit and vmap, inputs and configuration errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

from rules.logic import AtLeast
from rules.symbolic import SymbolicExpression


def test_soft_gradients_are_nonzero_and_match_finite_differences():
    f = SymbolicExpression(
        "Piecewise((k * x, And(x > a, Ne(x, b))), (exp(-x), True))",
        inputs=("x",), params={"a": 0.3, "b": 1.0, "k": 2.0}, mode="soft", temperature=0.3,
    )
    x = jnp.linspace(-1.0, 2.0, 7)

    @jax.jit
    def loss(params):
        return jnp.sum(f.replace(params=params)({"x": x}))

    params = dict(f.params)
    g = jax.jit(jax.grad(loss))(params)
    assert all(float(jnp.abs(v)) > 1e-4 for v in g.values())
    eps = 1e-2
    for name in params:
        up = {**params, name: params[name] + eps}
        down = {**params, name: params[name] - eps}
        fd = float(loss(up) - loss(down)) / (2 * eps)
        assert float(g[name]) == pytest.approx(fd, rel=2e-2, abs=1e-4), name


def test_jit_equals_eager_and_vmap_over_params():
    f = SymbolicExpression("tanh(w * x) > theta", inputs=("x",), params={"w": 1.5, "theta": 0.1}, mode="soft")
    x = jnp.linspace(-1, 1, 11)
    np.testing.assert_allclose(jax.jit(lambda f: f({"x": x}))(f), f({"x": x}), rtol=1e-6)
    thetas = jnp.array([0.0, 0.2, 0.4])
    batched = jax.vmap(lambda t: f.replace(params={**f.params, "theta": t})({"x": x}))(thetas)
    for i, t in enumerate(thetas):
        np.testing.assert_allclose(batched[i], f.replace(params={**f.params, "theta": t})({"x": x}), rtol=1e-6)


def test_wrong_inputs_and_shapes():
    f = SymbolicExpression("a + b", inputs=("a", "b"), params={"w": jnp.ones(4)})
    with pytest.raises(ValueError, match="missing: b"):
        f({"a": jnp.zeros(4)})
    with pytest.raises(ValueError, match="unknown: c"):
        f({"a": jnp.zeros(4), "b": jnp.zeros(4), "c": 1.0})
    with pytest.raises(ValueError, match=r"do not broadcast together \(a: \(3,\), b: \(4,\), w: \(4,\)\)"):
        f({"a": jnp.zeros(3), "b": jnp.zeros(4)})
    with pytest.raises(TypeError, match="inputs must be a dict"):
        f(jnp.zeros(4))


def test_configuration_errors():
    with pytest.raises(ValueError, match="SymbolicExpression: mode must be one of .*got 'fuzzy'"):
        SymbolicExpression("x", inputs=("x",), mode="fuzzy")
    with pytest.raises(ValueError, match="SymbolicExpression: temperature must be a finite number > 0"):
        SymbolicExpression("x > 0", inputs=("x",), mode="soft", temperature=0.0)
    with pytest.raises(ValueError, match="a default branch in soft mode"):
        SymbolicExpression("Piecewise((1, x > 0))", inputs=("x",), mode="soft")
    with pytest.raises(ValueError, match="evaluate: lattice must be given"):
        SymbolicExpression(AtLeast(1, sympy.Symbol("p")), inputs=("p",))({"p": jnp.ones(3)})
    with pytest.raises(ValueError, match="SymbolicExpression: expr must be a valid expression; cannot parse"):
        SymbolicExpression("x >", inputs=("x",))
    with pytest.raises(ValueError, match="integer_inputs must be among the inputs"):
        SymbolicExpression("x", inputs=("x",), integer_inputs=("y",))
