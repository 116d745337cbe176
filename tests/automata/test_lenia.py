"""Lenia: kernel, FFT against direct convolution, the orbium-like glider, gradients, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from automata.lenia import ORBIUM, Lenia, kernel_array, orbium, orbium_pattern


def _centre_of_mass(a):
    """Circular mean position per axis on a periodic lattice, in sites."""
    out = []
    for ax, n in enumerate(a.shape):
        w = a.sum(axis=1 - ax)
        z = (w * np.exp(2j * np.pi * np.arange(n) / n)).sum()
        out.append((np.angle(z) % (2 * np.pi)) * n / (2 * np.pi))
    return np.array(out)


def test_kernel_is_normalised_radial_ring():
    k = kernel_array(13, (1.0,), "exponential", 2)
    assert k.shape == (27, 27)
    np.testing.assert_allclose(k.sum(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(k, k.T)
    np.testing.assert_allclose(k, k[::-1])
    assert k[13, 13] == 0.0  # the centre is not part of the ring
    assert k[13, 0] == 0.0 and k[0, 0] == 0.0  # r >= 1 is outside the support
    # The exponential core peaks at r = 1/2, i.e. 6.5 sites away.
    assert np.argmax(k[13, 13:]) in (6, 7)


def test_two_ring_kernel_heights():
    k = kernel_array(20, (0.5, 1.0), "exponential", 2)
    row = k[20, 20:]
    # Ring peaks near r = 1/4 and r = 3/4 with heights in the ratio 1:2.
    inner, outer = row[:10].max(), row[10:].max()
    np.testing.assert_allclose(inner / outer, 0.5, rtol=0.05)


@pytest.mark.parametrize("shape", [(40, 36), (12, 14, 16)])
def test_fft_potential_equals_direct_convolution(shape):
    rule = Lenia(radius=5)
    lat = automata.Lattice(shape, boundary="wrap")
    x = jax.random.uniform(jax.random.key(0), shape + (2,))
    u_fft = rule.potential(lat, x)
    u_direct = lat.convolve(x, jnp.asarray(rule.kernel(lat.ndim), x.dtype))
    np.testing.assert_allclose(u_fft, u_direct, atol=2e-6)


def test_uniform_field_update_closed_form():
    # On a uniform field U equals the field value, so one step is A + dt * G(A).
    lat = automata.Lattice((32, 32), boundary="reflect")
    rule = Lenia()
    a = 0.16
    s = automata.step(rule, lat, automata.LatticeState(x=jnp.full((32, 32, 1), a)))
    expected = a + 0.1 * (2 * np.exp(-((a - 0.15) ** 2) / (2 * 0.015**2)) - 1)
    np.testing.assert_allclose(s.x, expected, rtol=1e-5)


def test_orbium_glider_keeps_mass_and_moves():
    lat = automata.Lattice((64, 64), boundary="wrap")
    state = orbium(lat)
    rule = Lenia(**{k: ORBIUM[k] for k in ("mu", "sigma", "dt", "radius", "beta")})
    _, traj = automata.rollout(rule, lat, state, num_steps=300)
    a = np.asarray(traj.x[..., 0])
    mass0 = float(state.x.sum())
    mass = a.sum(axis=(1, 2))
    # Tolerance: every step's total mass within +-5% of the initial mass.
    assert np.all(np.abs(mass / mass0 - 1) < 0.05), (mass.min() / mass0, mass.max() / mass0)
    com = np.array([_centre_of_mass(np.asarray(state.x[..., 0]))] + [_centre_of_mass(f) for f in a])
    step = (np.diff(com, axis=0) + 32) % 64 - 32  # per-step displacement, unwrapped
    path = step.sum(axis=0)
    # It glides along +axis 1 (about 0.6 sites per step), not a still or jiggling blob.
    assert path[1] > 60, path
    assert abs(path[0]) < 0.2 * path[1], path


def test_orbium_pattern_is_cached_copy():
    p = orbium_pattern()
    p[...] = 0
    assert orbium_pattern().sum() > 10


def test_nonperiodic_boundaries_run():
    lat = automata.Lattice((48, 48), boundary="fixed")
    final, _ = automata.rollout(Lenia(), lat, orbium(lat), num_steps=5, record=False)
    assert final.x.shape == (48, 48, 1)
    assert float(final.x.min()) >= 0.0 and float(final.x.max()) <= 1.0


def test_jit_equals_eager_and_vmap_equals_loop():
    lat = automata.Lattice((40, 40))
    rule = Lenia()
    xs = jax.random.uniform(jax.random.key(1), (3, 40, 40, 1)) * 0.3
    eager = rule(lat, automata.LatticeState(x=xs[0]))
    jitted = jax.jit(lambda x: rule(lat, automata.LatticeState(x=x)))(xs[0])
    np.testing.assert_allclose(eager, jitted, atol=1e-6)
    run = lambda x: automata.rollout(rule, lat, automata.LatticeState(x=x), num_steps=4, record=False)[0].x
    batched = jax.vmap(run)(xs)
    for i in range(3):
        np.testing.assert_allclose(batched[i], run(xs[i]), atol=1e-6)


def test_gradient_wrt_mu_sigma_dt_matches_finite_differences():
    with jax.enable_x64(True):
        lat = automata.Lattice((32, 32), boundary="wrap")
        # A smooth state whose potential sits near mu, so the growth map is far from the clip.
        yy, xx = np.mgrid[:32, :32] - 16.0
        x0 = jnp.asarray((0.3 * np.exp(-(yy**2 + xx**2) / 60.0))[..., None], jnp.float64)
        target = jnp.asarray(np.cos(xx / 5.0)[..., None] * 0.1 + 0.2, jnp.float64)

        def loss(theta):
            rule = Lenia(mu=theta[0], sigma=theta[1], dt=theta[2], radius=6)
            final, _ = automata.rollout(
                rule, lat, automata.LatticeState(x=x0), num_steps=3, record=False
            )
            return jnp.sum((final.x - target) ** 2)

        theta = jnp.array([0.15, 0.03, 0.1], jnp.float64)
        grad = jax.grad(loss)(theta)
        eps = 1e-6
        fd = np.array(
            [(loss(theta.at[i].add(eps)) - loss(theta.at[i].add(-eps))) / (2 * eps) for i in range(3)]
        )
        assert np.all(np.abs(grad) > 1e-3)  # the check is not vacuous
        np.testing.assert_allclose(grad, fd, rtol=1e-5)


def test_per_channel_parameters():
    lat = automata.Lattice((24, 24))
    x = jax.random.uniform(jax.random.key(2), (24, 24, 2)) * 0.3
    both = Lenia(mu=jnp.array([0.15, 0.25]), sigma=jnp.array([0.015, 0.03]), radius=4)
    out = both(lat, automata.LatticeState(x=x))
    for c, (mu, sigma) in enumerate([(0.15, 0.015), (0.25, 0.03)]):
        single = Lenia(mu=mu, sigma=sigma, radius=4)(lat, automata.LatticeState(x=x[..., c : c + 1]))
        np.testing.assert_allclose(out[..., c : c + 1], single, atol=1e-6)


def test_errors():
    lat = automata.Lattice((32, 32))
    with pytest.raises(ValueError, match="radius is a positive integer"):
        Lenia(radius=0)
    with pytest.raises(ValueError, match="Unknown Lenia core"):
        Lenia(core="gaussian")
    with pytest.raises(ValueError, match="Unknown Lenia growth"):
        Lenia(growth="linear")
    with pytest.raises(ValueError, match="ring height"):
        Lenia(beta=(0.0,))
    with pytest.raises(ValueError, match="sigma must be positive"):
        Lenia(sigma=0.0)
    with pytest.raises(TypeError, match="must be floating point"):
        automata.step(Lenia(), lat, automata.LatticeState(x=jnp.zeros((32, 32, 1), jnp.uint8)))
    with pytest.raises(ValueError, match="one value per channel"):
        automata.step(Lenia(mu=jnp.array([0.1, 0.2, 0.3])), lat,
                      automata.LatticeState(x=jnp.zeros((32, 32, 2))))
    with pytest.raises(ValueError, match="2D automata.Lattice"):
        orbium(automata.Lattice((64,)))
    with pytest.raises(ValueError, match="too small"):
        orbium(automata.Lattice((10, 10)))


def test_nan_site_refused_at_entry():
    lat = automata.Lattice((32, 32))
    x = jnp.full((32, 32, 1), 0.1).at[5, 7, 0].set(jnp.nan)
    with pytest.raises(ValueError, match=r"Lenia: state.x must hold finite numbers.*\(5, 7, 0\)"):
        automata.step(Lenia(radius=4), lat, automata.LatticeState(x=x))
    with pytest.raises(ValueError, match="Lenia: state.x must hold finite numbers"):
        automata.rollout(Lenia(radius=4), lat, automata.LatticeState(x=x.at[5, 7, 0].set(jnp.inf)), num_steps=5)


def test_nan_site_refused_when_the_state_is_traced():
    # Inside the caller's jit the state's values are unknown at trace time: the check runs with
    # the compiled program instead of being skipped.
    lat = automata.Lattice((16, 16))
    run = jax.jit(lambda x: automata.step(Lenia(radius=4), lat, automata.LatticeState(x=x)).x)
    x = jnp.full((16, 16, 1), 0.1)
    assert bool(jnp.isfinite(run(x)).all())
    with pytest.raises(jax.errors.JaxRuntimeError, match="Lenia: state.x must hold finite numbers"):
        jax.block_until_ready(run(x.at[3, 3, 0].set(jnp.nan)))
