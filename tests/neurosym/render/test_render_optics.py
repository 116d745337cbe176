"""neurosym.render.optics: blur, illumination ramp and shot noise against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurosym.render.optics import gaussian_blur, gaussian_weights, illumination_ramp, shot_noise, uniform_and_normal


def test_gaussian_weights_are_normalised_and_sigma_zero_is_the_identity():
    w = np.asarray(gaussian_weights(1.5, 6))
    np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(w, w[::-1])
    x = np.arange(-6, 7)
    np.testing.assert_allclose(np.sum(w * x**2), 1.5**2, rtol=1e-3)       # variance sigma^2
    np.testing.assert_array_equal(np.asarray(gaussian_weights(0.0, 3)), [0, 0, 0, 1, 0, 0, 0])


def test_blur_keeps_the_mean_and_leaves_unblurred_axes_exact():
    x = jax.random.normal(jax.random.key(0), (3, 16, 16))
    y = np.asarray(gaussian_blur(x, [0.0, 1.0, 2.0], 6))
    np.testing.assert_allclose(y.mean(), float(x.mean()), atol=1e-5)      # mirror boundary
    assert y.std() < 0.5 * float(x.std())
    np.testing.assert_array_equal(np.asarray(gaussian_blur(x, [0.0, 0.0, 0.0], 6)), np.asarray(x))


def test_illumination_ramp_goes_from_minus_to_plus_one_half():
    r2 = np.asarray(illumination_ramp((4, 5), np.pi / 2))
    np.testing.assert_allclose(r2[:, 0], [-0.5, -1 / 6, 1 / 6, 0.5], atol=1e-6)   # along rows
    r3 = np.asarray(illumination_ramp((3, 4, 5), 0.0))
    assert r3.shape == (3, 1, 1)
    np.testing.assert_allclose(r3.ravel(), [-0.5, 0.0, 0.5])


@pytest.mark.parametrize("lam", [0.5, 5.0, 100.0])
def test_shot_noise_has_poisson_mean_and_variance(lam):
    """200,000 draws: mean and variance within 4 standard errors of lam."""
    n = 200_000
    u, z = uniform_and_normal(jax.random.key(1), n)
    counts = np.asarray(shot_noise(u, z, jnp.full(n, lam)))
    np.testing.assert_array_equal(counts, np.round(counts))
    assert counts.min() >= 0
    se_mean = np.sqrt(lam / n)
    assert abs(counts.mean() - lam) < 4 * se_mean
    se_var = np.sqrt((2 * lam**2 + lam) / n)              # Var of the sample variance, Poisson
    assert abs(counts.var() - lam) < 4 * se_var + 0.02 * lam * (lam > 30)
