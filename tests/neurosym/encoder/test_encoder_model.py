"""Tests of neurosym.encoder.model: the network, per-cell pooling and input checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from neurosym.encoder import Encoder, check_inputs, pool_cells


def _blocks(key, batch=1, size=24, cell=6):
    """Images of square cells; kind 1 cells are bright, kind 0 dim."""
    n = size // cell
    labels = jnp.arange(1, n * n + 1).reshape(n, n).repeat(cell, 0).repeat(cell, 1)
    kinds = jax.random.bernoulli(key, 0.5, (batch, n * n + 1)).astype(jnp.int32)
    noise = jax.random.normal(jax.random.fold_in(key, 1), (batch, size, size)) * 0.1
    image = 0.2 + 0.6 * jax.vmap(lambda k: k[labels])(kinds) + noise
    return image.astype(jnp.float32), jnp.broadcast_to(labels, (batch, size, size))


def test_pool_cells_matches_numpy():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(10, 12, 3)).astype(np.float32)
    labels = rng.integers(0, 5, size=(10, 12))
    means, counts = pool_cells(feats, labels, 6)
    for l in range(6):
        sel = labels == l
        assert counts[l] == sel.sum()
        if sel.any():
            np.testing.assert_allclose(means[l], feats[sel].mean(0), rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(means[l], 0)


@pytest.mark.slow
@pytest.mark.parametrize("ndim,shape", [(2, (2, 20, 18)), (3, (1, 6, 10, 12))])
def test_encoder_shapes_and_jit(ndim, shape):
    enc = Encoder(("a", "b", "c"), ndim=ndim, features=(4, 8), head_hidden=8, rngs=nnx.Rngs(0))
    image = jax.random.normal(jax.random.key(0), shape)
    labels = jnp.zeros(shape, jnp.int32).at[..., :3, :3].set(1).at[..., 5:, 5:].set(2)
    out = enc(image, labels, num_labels=3)
    assert out.shape == (shape[0], 3, 3)
    assert enc.pixel_features(image).shape == shape + (4,)
    graphdef, state = nnx.split(enc)

    @jax.jit
    def f(state, image, labels):
        return nnx.merge(graphdef, state)(image, labels, num_labels=3)

    np.testing.assert_allclose(f(state, image, labels), out, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_normalised_encoder_ignores_gain_and_offset():
    enc = Encoder(("a", "b"), features=(4, 8), rngs=nnx.Rngs(1))
    image, labels = _blocks(jax.random.key(0))
    a = enc(image, labels, num_labels=17)
    b = enc(3.0 * image + 5.0, labels, num_labels=17)
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)
    assert not np.allclose(a, Encoder(("a", "b"), features=(4, 8), rngs=nnx.Rngs(2))(image, labels, num_labels=17))


@pytest.mark.slow
def test_odd_sizes_are_padded_inside_and_cropped_back():
    enc = Encoder(("a", "b"), features=(2, 4), head_hidden=2, rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(enc)
    features = jax.jit(lambda s, x: nnx.merge(graphdef, s).pixel_features(x))(state, jnp.ones((1, 7, 5)))
    assert features.shape == (1, 7, 5, 2) and bool(jnp.all(jnp.isfinite(features)))


def test_config_rebuilds_the_same_architecture():
    enc = Encoder(("a", "b"), features=(4, 8), head_hidden=5, normalise=False, rngs=nnx.Rngs(0))
    again = Encoder(rngs=nnx.Rngs(1), **enc.config)
    shapes = lambda m: [x.shape for x in jax.tree_util.tree_leaves(nnx.state(m))]
    assert shapes(again) == shapes(enc) and again.config == enc.config


def test_encoder_bad_arguments():
    with pytest.raises(ValueError, match="at least 2 kinds"):
        Encoder(("only",), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="distinct"):
        Encoder(("a", "a"), rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match="sequence of kind names"):
        Encoder("ab", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="Encoder: ndim must be one of"):
        Encoder(("a", "b"), ndim=1, rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="features must be positive channel counts"):
        Encoder(("a", "b"), features=(4, 0), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="in_channels must be at least 1"):
        Encoder(("a", "b"), in_channels=0, rngs=nnx.Rngs(0))
    enc = Encoder(("a", "b"), features=(4,), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="Add a batch axis"):
        enc(jnp.zeros((8, 8)), jnp.zeros((8, 8), jnp.int32), num_labels=2)
    with pytest.raises(ValueError, match="pixel for pixel"):
        enc(jnp.zeros((1, 8, 8)), jnp.zeros((1, 8, 9), jnp.int32), num_labels=2)


def test_check_inputs_names_the_problem():
    image = np.zeros((1, 8, 8))
    image[0, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN or infinite entries \(the first at index \(0, 2, 3\)\)"):
        check_inputs(image, np.zeros((1, 8, 8), int))
    with pytest.raises(ValueError, match="must match the image pixel for pixel"):
        check_inputs(np.zeros((1, 8, 8)), np.zeros((1, 8, 7), int))
    with pytest.raises(TypeError, match="labels must be integers"):
        check_inputs(np.zeros((8, 8)), np.full((8, 8), 0.5))
    with pytest.raises(ValueError, match="labels must be >= 0"):
        check_inputs(np.zeros((8, 8)), -np.ones((8, 8), int))
    with pytest.raises(ValueError, match="labels must be 3D label images"):
        check_inputs(np.zeros((8, 8)), np.zeros((8, 8), int), ndim=3)
    with pytest.raises(TypeError, match="mine: image must be numeric"):
        check_inputs(np.array([["a"]]), np.zeros((1, 1), int), owner="mine")
    image, labels = check_inputs(np.ones((2, 4, 4)), np.ones((2, 4, 4)))
    assert labels.dtype == np.int32 and image.shape == (2, 4, 4)
