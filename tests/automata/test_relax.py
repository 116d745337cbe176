"""Relaxations: values, limits, and gradients against closed forms and finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from automata import relax


# ---------------------------------------------------------------------------- thresholds
def test_soft_threshold_gradient_is_closed_form():
    x = jnp.linspace(-2.0, 3.0, 11)
    threshold, temperature = 0.5, 0.7
    grad = jax.vmap(jax.grad(relax.soft_threshold), (0, None, None))(x, threshold, temperature)
    s = jax.nn.sigmoid((x - threshold) / temperature)
    np.testing.assert_allclose(grad, s * (1 - s) / temperature, rtol=1e-5)
    check_grads(lambda x: relax.soft_threshold(x, threshold, temperature), (x,), order=2, modes=["fwd", "rev"])
    # The threshold and the temperature are trainable too.
    check_grads(lambda a, t: relax.soft_threshold(x, a, t), (0.5, 0.7), order=1, modes=["rev"])


def test_soft_threshold_tends_to_hard_away_from_threshold():
    x = jnp.array([-1.0, -0.2, -0.05, 0.05, 0.2, 1.0])
    hard = relax.hard_threshold(x, 0.0)
    np.testing.assert_array_equal(hard, [0, 0, 0, 1, 1, 1])
    errors = [float(jnp.max(jnp.abs(relax.soft_threshold(x, 0.0, t) - hard))) for t in (1.0, 0.1, 0.01, 0.001)]
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 1e-6
    assert float(relax.soft_threshold(0.0, 0.0, 1e-3)) == 0.5


def test_hard_threshold_dtype_and_zero_gradient():
    assert relax.hard_threshold(jnp.arange(3), 1).dtype == jnp.result_type(float)
    assert relax.hard_threshold(jnp.arange(3.0, dtype=jnp.bfloat16), 1).dtype == jnp.bfloat16
    assert float(jax.grad(lambda x: relax.hard_threshold(x, 0.0))(0.3)) == 0.0


def test_straight_through_forward_is_hard_gradient_is_soft():
    x = jax.random.uniform(jax.random.key(0), (100,), minval=-2, maxval=2)
    soft = lambda x: relax.soft_threshold(x, 0.1, 0.3)
    out = relax.straight_through(relax.hard_threshold(x, 0.1), soft(x))
    np.testing.assert_array_equal(out, relax.hard_threshold(x, 0.1))  # exactly, bit for bit
    np.testing.assert_array_equal(relax.straight_through_threshold(x, 0.1, 0.3), relax.hard_threshold(x, 0.1))
    g = jax.grad(lambda x: jnp.sum(relax.straight_through_threshold(x, 0.1, 0.3) * jnp.arange(100)))(x)
    g_soft = jax.grad(lambda x: jnp.sum(soft(x) * jnp.arange(100)))(x)
    np.testing.assert_allclose(g, g_soft, rtol=1e-6)


def test_straight_through_round():
    x = jnp.array([-1.6, -0.4, 0.4, 1.5, 2.7])
    np.testing.assert_array_equal(relax.straight_through_round(x), jnp.round(x))
    np.testing.assert_array_equal(jax.grad(lambda x: relax.straight_through_round(x).sum())(x), jnp.ones(5))
    # Chain rule through the forward value: d/dx round(x)^2 -> 2 round(x).
    np.testing.assert_allclose(
        jax.vmap(jax.grad(lambda x: relax.straight_through_round(x) ** 2))(x), 2 * jnp.round(x)
    )


def test_soft_count_equals():
    n = jnp.arange(9)
    for k in (0, 3, 8):
        y = relax.soft_count_equals(n, k, 0.05)
        np.testing.assert_allclose(y, (n == k).astype(float), atol=1e-4)
    # At the default temperature it still peaks at k and is symmetric about it.
    y = relax.soft_count_equals(n, 4)
    assert int(jnp.argmax(y)) == 4
    np.testing.assert_allclose(y[3], y[5], rtol=1e-6)
    # Gradient in n vanishes at the peak and matches finite differences elsewhere.
    assert abs(float(jax.grad(relax.soft_count_equals)(4.0, 4, 0.3))) < 1e-6
    check_grads(lambda n: relax.soft_count_equals(n, 4, 0.3), (jnp.array([3.2, 4.4, 5.1]),), order=2)


# ---------------------------------------------------------------------------- samplers
def test_gumbel_softmax_sums_to_one_and_hard_is_one_hot():
    logits = jax.random.normal(jax.random.key(1), (50, 5))
    y = relax.gumbel_softmax(jax.random.key(2), logits, 0.5)
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-5)
    assert bool(jnp.all(y >= 0))
    h = relax.gumbel_softmax(jax.random.key(2), logits, 0.5, hard=True)
    np.testing.assert_array_equal(h.sum(-1), 1.0)
    assert bool(jnp.all((h == 0) | (h == 1)))
    np.testing.assert_array_equal(jnp.argmax(h, -1), jnp.argmax(y, -1))
    # Another class axis, with the same uniform numbers transposed.
    u = jax.random.uniform(jax.random.key(3), logits.shape)
    h1 = relax.gumbel_softmax(None, logits, 0.5, hard=True, uniform=u)
    h0 = relax.gumbel_softmax(None, logits.T, 0.5, hard=True, axis=0, uniform=u.T)
    np.testing.assert_array_equal(h0, h1.T)


def test_gumbel_softmax_argmax_frequencies_match_softmax():
    # 40000 draws: the standard error of each frequency is below 0.0025; tolerance 0.01 (4 SE).
    logits = jnp.array([1.0, 0.0, -1.0, 0.5])
    keys = jax.random.split(jax.random.key(3), 40000)
    samples = jax.vmap(lambda k: relax.gumbel_softmax(k, logits, 0.3, hard=True))(keys)
    np.testing.assert_allclose(samples.mean(0), jax.nn.softmax(logits), atol=0.01)


def test_gumbel_softmax_hard_gradient_is_soft_gradient():
    logits = jnp.array([0.2, -0.3, 0.1])
    w = jnp.array([1.0, 2.0, -1.0])
    key = jax.random.key(4)
    g_hard = jax.grad(lambda l: jnp.dot(relax.gumbel_softmax(key, l, 0.5, hard=True), w))(logits)
    g_soft = jax.grad(lambda l: jnp.dot(relax.gumbel_softmax(key, l, 0.5), w))(logits)
    np.testing.assert_allclose(g_hard, g_soft, rtol=1e-6)
    check_grads(lambda l: relax.gumbel_softmax(key, l, 0.5), (logits,), order=1)


def test_uniform_argument_replaces_key():
    logits = jnp.zeros((6, 3))
    u = jax.random.uniform(jax.random.key(5), (6, 3))
    y = relax.gumbel_softmax(None, logits, 0.5, uniform=u)
    np.testing.assert_allclose(y, jax.nn.softmax(-jnp.log(-jnp.log(u)) / 0.5), rtol=1e-5)
    b = relax.soft_bernoulli(None, 0.3, 0.5, shape=(4,), uniform=jnp.array([0.0, 0.69, 0.71, 0.99]))
    np.testing.assert_array_equal(b > 0.5, [False, False, True, True])  # u > 1 - p


def test_soft_bernoulli_frequency_limit_and_gradient():
    # 40000 draws: standard error 0.0023 at p = 0.3; tolerance 0.01.
    p = jnp.full((40000,), 0.3)
    hard = relax.soft_bernoulli(jax.random.key(6), p, 0.5, hard=True)
    assert bool(jnp.all((hard == 0) | (hard == 1)))
    assert abs(float(hard.mean()) - 0.3) < 0.01
    soft = relax.soft_bernoulli(jax.random.key(6), p, 0.5)
    assert bool(jnp.all((soft >= 0) & (soft <= 1)))  # (0, 1) up to float32 rounding
    np.testing.assert_array_equal(soft > 0.5, hard == 1)
    # As the temperature falls the relaxed samples approach the hard ones.
    cold = relax.soft_bernoulli(jax.random.key(6), p, 1e-3)
    assert float(jnp.mean(jnp.abs(cold - hard))) < 0.01
    # Gradient: sigmoid'(z / T) / T * dz/dp with dz/dp = 1 / (p (1 - p)); finite differences too.
    key = jax.random.key(7)
    u = jax.random.uniform(key, (), minval=jnp.finfo(jnp.float32).tiny)
    z = jnp.log(0.3 / 0.7) + jnp.log(u / (1 - u))
    s = jax.nn.sigmoid(z / 0.5)
    expected = s * (1 - s) / 0.5 / (0.3 * 0.7)
    np.testing.assert_allclose(jax.grad(lambda p: relax.soft_bernoulli(key, p, 0.5))(0.3), expected, rtol=1e-4)
    check_grads(lambda p: relax.soft_bernoulli(key, p, 0.5), (jnp.array([0.2, 0.5, 0.8]),), order=1, eps=1e-3)
    g_hard = jax.grad(lambda p: relax.soft_bernoulli(key, p, 0.5, hard=True))(0.3)
    np.testing.assert_allclose(g_hard, expected, rtol=1e-4)


# ---------------------------------------------------------------------------- score function
def test_bernoulli_and_categorical_log_prob():
    np.testing.assert_allclose(relax.bernoulli_log_prob(jnp.array([1, 0]), 0.2), jnp.log(jnp.array([0.2, 0.8])), rtol=1e-6)
    assert float(relax.bernoulli_log_prob(1, 1.0)) == 0.0
    assert float(relax.bernoulli_log_prob(0, 0.0)) == 0.0
    np.testing.assert_allclose(jax.grad(relax.bernoulli_log_prob, 1)(0.0, 0.0), -1.0)
    np.testing.assert_allclose(jax.grad(relax.bernoulli_log_prob, 1)(1.0, 0.25), 4.0)
    logits = jnp.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]])
    idx = jnp.array([2, 1])
    expected = jax.nn.log_softmax(logits)[jnp.arange(2), idx]
    np.testing.assert_allclose(relax.categorical_log_prob(idx, logits), expected, rtol=1e-6)
    np.testing.assert_allclose(relax.categorical_log_prob(jax.nn.one_hot(idx, 3), logits), expected, rtol=1e-6)
    np.testing.assert_allclose(relax.categorical_log_prob(idx, logits.T, axis=0), expected, rtol=1e-6)


def test_score_function_surrogate_value_and_baseline():
    lp, f = jnp.float32(-0.7), jnp.float32(2.5)
    assert float(relax.score_function_surrogate(lp, f)) == 2.5
    assert float(relax.score_function_surrogate(lp, f, baseline=1.0)) == 2.5
    # Gradient wrt log_prob is (f - b); the baseline itself gets none.
    np.testing.assert_allclose(jax.grad(relax.score_function_surrogate, 0)(lp, f, 1.0), 1.5)
    assert float(jax.grad(relax.score_function_surrogate, 2)(lp, f, 1.0)) == 0.0
    # Pathwise dependence of the value is kept: d/dv of the surrogate is 1.
    np.testing.assert_allclose(jax.grad(relax.score_function_surrogate, 1)(lp, f), 1.0)


@pytest.mark.parametrize("baseline", [None, 1.9])
def test_score_function_bernoulli_gradient(baseline):
    # f(b) = 3 b + 1 with b ~ Bernoulli(p): d/dp E[f] = 3. At p = 0.3 the per-sample estimate
    # has standard deviation 6.8 (no baseline) or 2.2 (baseline 1.9 = E f); with 50000 draws the
    # standard error is at most 0.031, and the tolerance is 0.15 (about 5 SE).
    def surrogate(p, key):
        b = jax.random.bernoulli(key, p).astype(jnp.float32)
        return relax.score_function_surrogate(relax.bernoulli_log_prob(b, p), 3 * b + 1, baseline)

    keys = jax.random.split(jax.random.key(8), 50000)
    grads = jax.vmap(jax.grad(surrogate), (None, 0))(jnp.float32(0.3), keys)
    assert abs(float(grads.mean()) - 3.0) < 0.15


def test_score_function_categorical_gradient():
    # f(c) = v[c] with c ~ Categorical(softmax(theta)): d/dtheta_j E[f] = p_j (v_j - E f).
    # Per-component standard deviations are below 2.5, so 50000 draws give a standard error
    # below 0.012; the tolerance is 0.05.
    theta = jnp.array([0.3, -0.5, 1.0])
    v = jnp.array([2.0, -1.0, 0.5])
    p = jax.nn.softmax(theta)
    exact = p * (v - jnp.dot(p, v))

    def surrogate(theta, key):
        c = jax.random.categorical(key, theta)
        return relax.score_function_surrogate(relax.categorical_log_prob(c, theta), v[c])

    keys = jax.random.split(jax.random.key(9), 50000)
    grads = jax.vmap(jax.grad(surrogate), (None, 0))(theta, keys)
    np.testing.assert_allclose(grads.mean(0), exact, atol=0.05)


def test_relaxations_compose_with_jit_and_vmap():
    f = jax.jit(lambda x, t: relax.straight_through_threshold(x, 0.0, t))
    x = jnp.array([-1.0, 1.0])
    np.testing.assert_array_equal(f(x, 0.5), relax.hard_threshold(x))
    # The temperature is traced here, so it is not checked; the value still comes out right.
    np.testing.assert_allclose(jax.vmap(lambda t: relax.soft_threshold(1.0, 0.0, t))(jnp.array([1.0, 2.0])), jax.nn.sigmoid(jnp.array([1.0, 0.5])))


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf"), [0.5, 0.0]])
def test_temperature_must_be_positive(temperature):
    with pytest.raises(ValueError, match="temperature must be positive and finite"):
        relax.soft_threshold(1.0, 0.0, temperature)
    with pytest.raises(ValueError, match="temperature must be positive and finite"):
        relax.gumbel_softmax(jax.random.key(0), jnp.zeros(3), temperature)
    with pytest.raises(ValueError, match="temperature must be positive and finite"):
        relax.soft_bernoulli(jax.random.key(0), 0.5, temperature)
    with pytest.raises(ValueError, match="temperature must be positive and finite"):
        relax.soft_count_equals(3, 3, temperature)
    with pytest.raises(ValueError, match="temperature must be positive and finite"):
        relax.straight_through_threshold(1.0, 0.0, temperature)


def test_temperature_type_error():
    with pytest.raises(TypeError, match="temperature must be a positive number"):
        relax.soft_threshold(1.0, 0.0, "hot")


def test_sampler_randomness_errors():
    with pytest.raises(ValueError, match="exactly one source of randomness"):
        relax.gumbel_softmax(None, jnp.zeros(3))
    with pytest.raises(ValueError, match="exactly one source of randomness"):
        relax.soft_bernoulli(jax.random.key(0), 0.5, uniform=jnp.array(0.5))
    with pytest.raises(ValueError, match=r"uniform has shape \(2,\).*shape \(3,\)"):
        relax.gumbel_softmax(None, jnp.zeros(3), uniform=jnp.zeros(2))


def test_categorical_log_prob_shape_errors():
    with pytest.raises(ValueError, match="Integer class indices must have logits' shape without"):
        relax.categorical_log_prob(jnp.array([0, 1, 2]), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="One-hot samples must have logits' shape"):
        relax.categorical_log_prob(jnp.ones((2, 2)), jnp.zeros((2, 3)))
