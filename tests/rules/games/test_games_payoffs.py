"""Payoff matrices and the replicator equation: closed forms and bad parameters."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rules import games


def test_payoff_matrices_closed_form():
    np.testing.assert_allclose(games.prisoners_dilemma(1.9), [[1, 0], [1.9, 0]], rtol=1e-6)
    b, c = 1.0, 0.6
    np.testing.assert_allclose(games.snowdrift(b, c), [[b - c / 2, b - c], [b, 0]], rtol=1e-6)
    np.testing.assert_allclose(games.hawk_dove(2.0, 3.0), [[1.0, 0.0], [2.0, -0.5]], rtol=1e-6)
    np.testing.assert_allclose(games.stag_hunt(4.0, 3.0, 1.0), [[4, 1], [3, 3]], rtol=1e-6)
    np.testing.assert_allclose(games.public_goods(3.0, 2.0), [[4, -2], [6, 0]], rtol=1e-6)
    for m in (games.prisoners_dilemma(2), games.snowdrift(2, 1), games.public_goods(2)):
        assert m.shape == (2, 2) and jnp.issubdtype(m.dtype, jnp.floating)
    # Mixed equilibria of the well-mixed games: 1 - c/(2b - c) cooperators, v/c hawks.
    x_star = 1 - c / (2 * b - c)
    assert abs(float(games.replicator(games.snowdrift(b, c), jnp.array([x_star, 1 - x_star]))[0])) < 1e-6
    hawks = 2.0 / 3.0
    assert abs(float(games.replicator(games.hawk_dove(2.0, 3.0), jnp.array([1 - hawks, hawks]))[0])) < 1e-6
    # The payoff functions are differentiable in their parameters.
    assert float(jax.grad(lambda b: games.prisoners_dilemma(b)[1, 0])(1.9)) == 1.0


def test_replicator_two_strategies_closed_form():
    a = games.snowdrift(1.0, 0.6)
    for x in (0.1, 0.5, 0.9):
        f_c = x * a[0, 0] + (1 - x) * a[0, 1]
        f_d = x * a[1, 0] + (1 - x) * a[1, 1]
        dx = games.replicator(a, jnp.array([x, 1 - x]))
        np.testing.assert_allclose(dx, [x * (1 - x) * (f_c - f_d), -x * (1 - x) * (f_c - f_d)], atol=1e-6)


CONSTRUCTORS = [
    (games.prisoners_dilemma, dict(b=1.9)),
    (games.snowdrift, dict(b=1.0, c=0.5)),
    (games.hawk_dove, dict(v=2.0, c=3.0)),
    (games.stag_hunt, dict(stag=4.0, hare=3.0, alone=0.0)),
    (games.public_goods, dict(r=3.0, cost=1.0)),
]


@pytest.mark.parametrize("make, good", CONSTRUCTORS, ids=[m.__name__ for m, _ in CONSTRUCTORS])
def test_every_payoff_parameter_refuses_nan_inf_and_non_numbers(make, good):
    assert make(**good).shape == (2, 2)
    for name in good:
        for bad in (float("nan"), float("inf"), -float("inf")):
            with pytest.raises(ValueError, match=f"{make.__name__}: {name} must be a finite number"):
                make(**{**good, name: bad})
        for bad in ("x", None, True):
            with pytest.raises(TypeError, match=f"{make.__name__}: {name} must be a finite number"):
                make(**{**good, name: bad})
        with pytest.raises(ValueError, match=f"{name} must be a scalar"):
            make(**{**good, name: jnp.array([1.2, 1.9])})


def test_payoffs_trace_under_jit_and_vmap():
    b = jnp.array([1.2, 1.9])
    np.testing.assert_allclose(jax.vmap(games.prisoners_dilemma)(b)[:, 1, 0], b)
    assert float(jax.jit(games.snowdrift)(1.0, 0.5)[0, 0]) == 0.75


def test_replicator_errors():
    pd = games.prisoners_dilemma(1.9)
    with pytest.raises(ValueError, match="x must have one frequency per strategy"):
        games.replicator(pd, jnp.ones(3) / 3)
    with pytest.raises(TypeError, match="payoff must hold numbers"):
        games.replicator(np.array([["a", "b"], ["c", "d"]]), jnp.ones(2) / 2)
    with pytest.raises(ValueError, match="payoff must hold finite numbers"):
        games.replicator(np.array([[1.0, np.inf], [0.0, 0.0]]), jnp.ones(2) / 2)
