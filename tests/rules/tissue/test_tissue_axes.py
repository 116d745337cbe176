"""Division axes: von Mises-Fisher sampling, normalisation, gradients of log_prob, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from rules.tissue import DivisionAxes


def mean_resultant(kappa, d):
    """E[mu . x] under the vMF: I_1/I_0 on the circle, coth - 1/kappa on the sphere."""
    if d == 2:
        return float(jax.scipy.special.i1e(kappa) / jax.scipy.special.i0e(kappa))
    return 1 / np.tanh(kappa) - 1 / kappa


@pytest.mark.slow
@pytest.mark.parametrize("d", [2, 3])
def test_samples_are_unit_and_concentrate_around_the_mean(d):
    mean = np.zeros((3, d))
    mean[0, 0], mean[1, 1], mean[2, d - 1] = 1.0, -2.0, 1.0
    axes = DivisionAxes(jnp.asarray(mean), jnp.array([500.0, 4.0, 0.0]))
    keys = jax.random.split(jax.random.key(3), 4000)
    draw = jax.jit(jax.vmap(axes.sample, in_axes=(0, None)))  # one compilation for every kind
    for kind, kappa in ((0, 500.0), (1, 4.0)):
        v = draw(keys, kind)
        np.testing.assert_allclose(jnp.linalg.norm(v, axis=-1), 1.0, atol=1e-5)
        mu = mean[kind] / np.linalg.norm(mean[kind])
        cos = np.asarray(v) @ mu
        # Mean cosine within ~5 standard errors of the closed form (std of cos <= 0.5).
        assert abs(cos.mean() - mean_resultant(kappa, d)) < 0.04
        if kappa == 500.0:
            assert np.quantile(cos, 0.01) > 0.98
    # kappa = 0 is uniform: the mean vector is near zero.
    v = draw(keys, 2)
    assert np.linalg.norm(np.asarray(v).mean(axis=0)) < 0.06


@pytest.mark.slow
def test_sample_jit_and_traced_kind():
    axes = DivisionAxes(jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), jnp.array([30.0, 30.0]))
    key = jax.random.key(7)
    eager = axes.sample(key, 1)
    np.testing.assert_allclose(jax.jit(axes.sample)(key, 1), eager, atol=1e-6)
    both = jax.vmap(axes.sample, in_axes=(None, 0))(key, jnp.array([0, 1]))
    np.testing.assert_allclose(both[1], eager, atol=1e-6)
    assert float(both[0, 0]) > 0.7


@pytest.mark.parametrize("kappa", [0.0, 1e-5, 0.5, 20.0, 300.0])
def test_log_prob_is_normalised(kappa):
    # 2D: integrate over the angle; 3D: the density depends on t = mu . x only, dA = 2 pi dt.
    t = np.linspace(0, 2 * np.pi, 20001)
    axes2 = DivisionAxes(jnp.array([[0.6, 0.8]]), jnp.array([kappa]))
    p2 = np.exp(np.asarray(axes2.log_prob(jnp.stack([np.cos(t), np.sin(t)], -1), 0), float))
    assert abs(np.trapezoid(p2, t) - 1) < 1e-3
    c = np.linspace(-1, 1, 200001)
    axes3 = DivisionAxes(jnp.array([[0.0, 0.0, 2.0]]), jnp.array([kappa]))
    x = np.stack([np.sqrt(1 - c ** 2), np.zeros_like(c), c], -1)
    p3 = np.exp(np.asarray(axes3.log_prob(jnp.asarray(x, jnp.float32), 0), float))
    assert abs(np.trapezoid(2 * np.pi * p3, c) - 1) < 2e-3


@pytest.mark.parametrize("d", [2, 3])
def test_log_prob_gradient_matches_finite_differences(d):
    rng = np.random.default_rng(0)
    mean = jnp.asarray(rng.normal(size=(2, d)), jnp.float32)
    kappa = jnp.array([0.7, 3.0])
    data = rng.normal(size=(6, d))
    data = jnp.asarray(data / np.linalg.norm(data, axis=-1, keepdims=True), jnp.float32)
    kinds = jnp.array([0, 1, 0, 1, 1, 0])

    def loss(mean, kappa):
        return jnp.sum(DivisionAxes(mean, kappa).log_prob(data, kinds))

    check_grads(loss, (mean, kappa), order=1, modes=["rev"], eps=1e-2, atol=2e-2, rtol=2e-2)
    g = jax.grad(lambda a: loss(a.mean, a.concentration))(DivisionAxes(mean, kappa))
    assert isinstance(g, DivisionAxes) and np.all(np.isfinite(g.concentration))


@pytest.mark.slow
def test_maximum_likelihood_concentration_from_samples():
    # The score in kappa vanishes near the true kappa: E[mu . x] = A(kappa).
    axes = DivisionAxes(jnp.array([[0.0, 1.0, 0.0]]), jnp.array([8.0]))
    v = jax.vmap(lambda k: axes.sample(k, 0))(jax.random.split(jax.random.key(0), 3000))

    def nll(kappa):
        return -jnp.mean(DivisionAxes(axes.mean, kappa[None]).log_prob(v, 0))

    grid = jnp.linspace(4.0, 16.0, 49)
    best = float(grid[jnp.argmin(jax.vmap(nll)(grid))])
    assert abs(best - 8.0) < 1.0


def test_errors():
    with pytest.raises(ValueError, match="DivisionAxes.sample: mean must have shape"):
        DivisionAxes(jnp.ones((2, 4)), jnp.ones(2)).sample(jax.random.key(0), 0)
    with pytest.raises(ValueError, match="concentration must have one entry per kind"):
        DivisionAxes(jnp.ones((2, 3)), jnp.ones(3)).log_prob(jnp.ones(3), 0)
    with pytest.raises(ValueError, match="concentration must be finite and >= 0"):
        DivisionAxes(jnp.ones((1, 3)), jnp.array([-1.0])).sample(jax.random.key(0), 0)
    with pytest.raises(ValueError, match="mean must hold finite nonzero axes"):
        DivisionAxes(jnp.zeros((1, 2)), jnp.array([1.0])).sample(jax.random.key(0), 0)
    with pytest.raises(ValueError, match="kind must be an integer in 0..1"):
        DivisionAxes(jnp.ones((2, 2)), jnp.ones(2)).sample(jax.random.key(0), 2)
    with pytest.raises(ValueError, match="axis must have 2 components"):
        DivisionAxes(jnp.ones((2, 2)), jnp.ones(2)).log_prob(jnp.ones(3), 0)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        DivisionAxes(jnp.ones((2, 2)), jnp.ones(2)).sample(0, 0)
