"""Growing neural CA: reference maths, masking, transformations, gradients, training, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.test_util import check_grads

import automata
from automata.nca import (
    NCAParams,
    NCAUpdate,
    growing_nca,
    init_nca,
    perceive,
    perception_filters,
    seed_state,
)


def _random_params(key, channels=16, hidden=128, ndim=2, scale=0.1, dtype=jnp.float32):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    f = channels * (1 + ndim)
    return NCAParams(
        w1=jax.random.normal(k1, (f, hidden), dtype) * scale,
        b1=jax.random.normal(k2, (hidden,), dtype) * scale,
        w2=jax.random.normal(k3, (hidden, channels), dtype) * scale,
        b2=jax.random.normal(k4, (channels,), dtype) * scale,
    )


def _reference_update(params, x, boundary):
    """Explicit depthwise Sobel perception, then two dense layers (Mordvintsev et al. 2020)."""
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32) / 8
    ident = np.zeros((3, 3), np.float32)
    ident[1, 1] = 1
    filters = [ident, sobel_x, sobel_x.T]
    mode = {"fixed": "constant", "wrap": "wrap"}[boundary]
    xp = np.pad(np.asarray(x), ((1, 1), (1, 1), (0, 0)), mode=mode)
    n0, n1, c = x.shape
    feats = np.zeros((n0, n1, c, 3), np.float64)
    for f, k in enumerate(filters):
        for a in range(3):
            for b in range(3):
                feats[..., f] += k[a, b] * xp[a : a + n0, b : b + n1]
    feats = feats.reshape(n0, n1, 3 * c)  # index c * 3 + f
    h = np.maximum(feats @ np.asarray(params.w1, np.float64) + np.asarray(params.b1), 0)
    return np.asarray(x) + h @ np.asarray(params.w2, np.float64) + np.asarray(params.b2)


def test_perception_filters_are_the_papers_sobels():
    f = perception_filters(2)
    np.testing.assert_array_equal(f[1] * 8, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    np.testing.assert_array_equal(f[2], f[1].T)
    assert perception_filters(3).shape == (4, 3, 3, 3)
    np.testing.assert_allclose(np.abs(perception_filters(3)[1:]).sum(axis=(1, 2, 3)), 1.0)


@pytest.mark.parametrize("boundary", ["fixed", "wrap"])
def test_update_equals_reference(boundary):
    lat = automata.Lattice((12, 10), boundary=boundary)
    params = _random_params(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (12, 10, 16))
    out = NCAUpdate(params)(lat, automata.LatticeState(x=x))
    np.testing.assert_allclose(out, _reference_update(params, x, boundary), atol=2e-5)


@pytest.mark.parametrize("shape", [(7,), (6, 5), (5, 6, 4)])
def test_perceive_equals_correlation_with_the_filters(shape):
    lat = automata.Lattice(shape, boundary="wrap")
    x = jax.random.uniform(jax.random.key(1), shape + (3,))
    filters = perception_filters(len(shape))
    expected = jnp.stack(
        [lat.convolve(x, jnp.asarray(f)) for f in filters], axis=-1
    ).reshape(shape + (3 * len(filters),))
    np.testing.assert_allclose(perceive(lat, x), expected, atol=1e-6)


def test_3d_update_runs():
    params = _random_params(jax.random.key(0), channels=6, hidden=8, ndim=3)
    lat = automata.Lattice((5, 6, 7), boundary="fixed")
    x = jax.random.uniform(jax.random.key(1), (5, 6, 7, 6))
    assert automata.step(NCAUpdate(params), lat, automata.LatticeState(x=x)).x.shape == x.shape


def test_zero_last_layer_leaves_state_unchanged_apart_from_masking():
    lat = automata.Lattice((16, 16), boundary="fixed")
    params = init_nca(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (16, 16, 16))
    x = x.at[..., 3].set(jnp.where(jnp.arange(16)[:, None] < 6, 0.5, 0.0) * jnp.ones((16, 16)))
    s = automata.step(growing_nca(params), lat, automata.LatticeState(x=x), key=jax.random.key(2))
    alive = automata.alive_mask(lat, x, 3, 0.1)
    np.testing.assert_array_equal(s.x, x * alive[..., None])
    assert bool(alive[6].all()) and not bool(alive[7].any())  # the mask reaches one site out


def test_seed_state():
    lat = automata.Lattice((9, 8))
    s = seed_state(lat)
    assert s.x.shape == (9, 8, 16) and s.x.dtype == jnp.float32
    np.testing.assert_array_equal(s.x[4, 4], [0, 0, 0] + [1] * 13)
    assert float(s.x.sum()) == 13.0


def test_alive_masking_kills_cells_far_from_alive_cells():
    lat = automata.Lattice((20, 20), boundary="fixed")
    params = _random_params(jax.random.key(3), scale=0.01)
    x = jnp.zeros((20, 20, 16))
    x = x.at[10, 10, 3].set(1.0)  # one alive cell
    x = x.at[2, 2, :3].set(0.7).at[2, 2, 3].set(0.05)  # colour but below the alive threshold
    s = automata.step(growing_nca(params, fire_rate=1.0), lat, automata.LatticeState(x=x),
                      key=jax.random.key(0))
    np.testing.assert_array_equal(s.x[:7], 0.0)  # nowhere near the alive cell
    np.testing.assert_array_equal(s.x[:, :7], 0.0)
    assert float(jnp.abs(s.x[9:12, 9:12]).sum()) > 0


def test_jit_equals_eager():
    lat = automata.Lattice((16, 16), boundary="fixed")
    rule = growing_nca(_random_params(jax.random.key(0)))
    state = automata.LatticeState(x=jax.random.uniform(jax.random.key(1), (16, 16, 16)))
    key = jax.random.key(7)
    eager = rule(lat, state, key=key)
    jitted = jax.jit(lambda r, s, k: r(lat, s, key=k))(rule, state, key)
    np.testing.assert_allclose(eager, jitted, atol=1e-5)


def test_vmap_over_batch_equals_loop():
    lat = automata.Lattice((16, 16), boundary="fixed")
    rule = growing_nca(_random_params(jax.random.key(0), scale=0.05))
    xs = jax.random.uniform(jax.random.key(1), (3, 16, 16, 16))
    keys = jax.random.split(jax.random.key(2), 3)

    def run(x, k):
        return automata.rollout(rule, lat, automata.LatticeState(x=x), key=k, num_steps=3,
                                record=False)[0].x

    batched = jax.vmap(run)(xs, keys)
    for i in range(3):
        np.testing.assert_allclose(batched[i], run(xs[i], keys[i]), atol=1e-5)
    # The other documented way to run a batch, one lattice after another, gives the same states.
    mapped = jax.jit(lambda xs, keys: jax.lax.map(lambda xk: run(*xk), (xs, keys)))(xs, keys)
    np.testing.assert_allclose(mapped, batched, atol=1e-5)


@pytest.mark.slow
def test_gradient_through_steps_matches_finite_differences():
    with jax.enable_x64(True):
        lat = automata.Lattice((8, 8), boundary="fixed")
        params = _random_params(jax.random.key(0), channels=6, hidden=12, scale=0.3,
                                dtype=jnp.float64)
        x0 = jax.random.uniform(jax.random.key(1), (8, 8, 6), jnp.float64)
        x0 = x0.at[..., 3].set(0.5)  # everything alive: the mask stays fixed near these params
        target = jax.random.uniform(jax.random.key(2), (8, 8, 6), jnp.float64)

        def loss(params):
            rule = growing_nca(params, fire_rate=1.0)
            final, _ = automata.rollout(rule, lat, automata.LatticeState(x=x0),
                                        key=jax.random.key(3), num_steps=3, record=False,
                                        checkpoint=True)
            return jnp.mean((final.x - target) ** 2)

        check_grads(loss, (params,), order=1, modes=("rev",), eps=1e-6, atol=1e-6, rtol=1e-6)


@pytest.mark.slow
def test_short_training_run_lowers_the_loss():
    lat = automata.Lattice((16, 16), boundary="fixed")
    yy, xx = np.mgrid[:16, :16] - 7.5
    disc = (yy**2 + xx**2 < 5.0**2).astype(np.float32)
    target = jnp.asarray(np.stack([disc * 0.8, disc * 0.3, disc * 0.5, disc], -1))
    x0 = seed_state(lat, channels=8).x
    opt = optax.adam(1e-2)

    def loss(params, key):
        keys = jax.random.split(key, 4)
        run = lambda k: automata.rollout(growing_nca(params), lat, automata.LatticeState(x=x0),
                                         key=k, num_steps=16, record=False)[0].x
        return jnp.mean((jax.vmap(run)(keys)[..., :4] - target) ** 2)

    @jax.jit
    def train_step(params, opt_state, key):
        value, grads = jax.value_and_grad(loss)(params, key)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    params = init_nca(jax.random.key(0), channels=8, hidden=32)
    opt_state = opt.init(params)
    start = float(loss(params, jax.random.key(100)))
    for i in range(40):
        params, opt_state, _ = train_step(params, opt_state, jax.random.key(i))
    end = float(loss(params, jax.random.key(100)))
    assert end < start / 2, (start, end)


def test_errors():
    lat = automata.Lattice((8, 8), boundary="fixed")
    params = init_nca(jax.random.key(0))  # 16 channels
    with pytest.raises(ValueError, match="expects state.x with 16 channels"):
        automata.step(growing_nca(params), lat, seed_state(lat, channels=8), key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"NCAParams.w1 has shape \(48, 128\)"):
        automata.step(NCAUpdate(params), automata.Lattice((4, 4, 4)), seed_state(automata.Lattice((4, 4, 4))))
    with pytest.raises(TypeError, match="must be floating point"):
        automata.step(NCAUpdate(params), lat, automata.LatticeState(x=jnp.zeros((8, 8, 16), jnp.int32)))
    with pytest.raises(ValueError, match="at least 4 channels"):
        seed_state(lat, channels=3)
    with pytest.raises(ValueError, match="channels must be a positive integer"):
        init_nca(jax.random.key(0), channels=0)
    with pytest.raises(ValueError, match="is stochastic and needs a PRNG key"):
        automata.step(growing_nca(params), lat, seed_state(lat))
