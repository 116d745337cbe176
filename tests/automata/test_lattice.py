"""Lattice geometry and field operations against numpy references."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automata import Lattice


def numpy_shift(x, offset, boundary, fill=0.0):
    """Reference: y[i] = x[i + offset] with the boundary applied, in plain numpy."""
    nd = len(offset)
    out = np.empty_like(x)
    for idx in itertools.product(*(range(n) for n in x.shape[:nd])):
        src = []
        inside = True
        for i, o, n in zip(idx, offset, x.shape[:nd]):
            j = i + o
            if boundary == "wrap":
                j %= n
            elif boundary == "reflect":
                while not 0 <= j < n:
                    j = -j - 1 if j < 0 else 2 * n - 1 - j
            elif not 0 <= j < n:
                inside = False
            src.append(j)
        out[idx] = x[tuple(src)] if inside else fill
    return out


@pytest.mark.parametrize("boundary", ["wrap", "fixed", "reflect"])
@pytest.mark.parametrize("shape", [(7,), (5, 6), (3, 4, 5)])
def test_shift_matches_numpy(boundary, shape):
    x = np.random.default_rng(0).normal(size=shape + (2,)).astype(np.float32)
    lat = Lattice(shape, boundary=boundary, fill=-3.0)
    for off in itertools.product((-2, 0, 1), repeat=len(shape)):
        if boundary == "reflect" and max(map(abs, off)) > min(shape):
            continue
        np.testing.assert_array_equal(lat.shift(jnp.asarray(x), off), numpy_shift(x, off, boundary, -3.0))


@pytest.mark.parametrize("neighbourhood", ["moore", "von_neumann"])
@pytest.mark.parametrize("boundary", ["wrap", "fixed", "reflect"])
@pytest.mark.parametrize("radius", [1, 2])
def test_neighbour_sum_equals_sum_of_neighbours(neighbourhood, boundary, radius):
    x = jax.random.normal(jax.random.key(1), (9, 8, 3))
    lat = Lattice((9, 8), neighbourhood, radius=radius, boundary=boundary, fill=0.5)
    expected = sum(numpy_shift(np.asarray(x), off, boundary, 0.5) for off in lat.offsets)
    np.testing.assert_allclose(lat.neighbour_sum(x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lat.neighbours(x).sum(axis=2), expected, rtol=1e-5, atol=1e-5)


def test_neighbour_counts():
    assert Lattice((8, 8)).num_neighbours == 8
    assert Lattice((8, 8), "von_neumann").num_neighbours == 4
    assert Lattice((8, 8), "hex").num_neighbours == 6
    assert Lattice((8, 8), "hex", radius=2).num_neighbours == 18
    assert Lattice((8, 8, 8)).num_neighbours == 26
    assert Lattice((8, 8, 8), "von_neumann").num_neighbours == 6
    assert Lattice((8,)).num_neighbours == 2
    assert Lattice((8, 8), radius=2).num_neighbours == 24


def test_hex_offsets_are_the_six_axial_neighbours():
    assert set(Lattice((4, 4), "hex").offsets) == {(0, 1), (0, -1), (1, 0), (-1, 0), (1, -1), (-1, 1)}


def test_explicit_offsets_set_radius_and_are_hashable():
    lat = Lattice((10, 10), neighbourhood=[(0, 2), (-1, 0)])
    assert lat.radius == 2 and lat.offsets == ((0, 2), (-1, 0))
    assert hash(lat) == hash(Lattice((10, 10), neighbourhood=((0, 2), (-1, 0))))


def test_weighted_neighbour_sum():
    lat = Lattice((6,), neighbourhood=((-1,), (1,)))
    x = jnp.arange(6.0)
    np.testing.assert_allclose(lat.neighbour_sum(x, weights=[1.0, 10.0]), np.roll(x, 1) + 10 * np.roll(x, -1))


@pytest.mark.parametrize("boundary", ["wrap", "fixed", "reflect"])
def test_convolve_matches_shift_sum(boundary):
    x = jax.random.normal(jax.random.key(2), (8, 7, 2))
    k = jax.random.normal(jax.random.key(3), (5, 5))
    lat = Lattice((8, 7), boundary=boundary)
    expected = sum(
        k[i + 2, j + 2] * numpy_shift(np.asarray(x), (i, j), boundary) for i in range(-2, 3) for j in range(-2, 3)
    )
    np.testing.assert_allclose(lat.convolve(x, k), expected, rtol=1e-4, atol=1e-4)


def test_convolve_full_linear_map():
    x = jax.random.normal(jax.random.key(2), (6, 6, 2))
    k = jax.random.normal(jax.random.key(3), (3, 3, 2, 4))
    lat = Lattice((6, 6))
    expected = sum(
        np.einsum("hwc,co->hwo", numpy_shift(np.asarray(x), (i, j), "wrap"), k[i + 1, j + 1])
        for i in (-1, 0, 1) for j in (-1, 0, 1)
    )
    np.testing.assert_allclose(lat.convolve(x, k), expected, rtol=1e-4, atol=1e-4)


def test_uniform_shape_range_and_key_dependence():
    lat = Lattice((16, 8))
    u = lat.uniform(jax.random.key(0), (3,))
    assert u.shape == (16, 8, 3) and float(u.min()) >= 0 and float(u.max()) < 1
    assert not np.array_equal(u, lat.uniform(jax.random.key(1), (3,)))
    # Each row depends only on the key and its row index, not on the lattice's length.
    np.testing.assert_array_equal(Lattice((4, 8)).uniform(jax.random.key(0), (3,)), u[:4])
    b = lat.bernoulli(jax.random.key(5), 0.25)
    assert b.dtype == jnp.bool_ and abs(float(b.mean()) - 0.25) < 0.1


def test_lattice_passes_through_jit_as_static():
    lat = Lattice((5, 5), boundary="fixed", fill=1.0)
    out = jax.jit(lambda lat, x: lat.neighbour_sum(x))(lat, jnp.zeros((5, 5)))
    assert float(out[0, 0]) == 5.0 and float(out[2, 2]) == 0.0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(shape=(4, 4, 4, 4)), ValueError, "1 to 3 axes"),
        (dict(shape=(0, 4)), ValueError, "positive size"),
        (dict(shape="ab"), TypeError, "tuple of 1 to 3 positive integers"),
        (dict(shape=(8.5, 8)), TypeError, "tuple of 1 to 3 positive integers"),
        (dict(shape=(8.0, 8)), TypeError, "not rounded"),
        (dict(shape=(True, 8)), TypeError, "tuple of 1 to 3 positive integers"),
        (dict(shape=(4, 4), neighbourhood="square"), ValueError, "Unknown neighbourhood 'square'"),
        (dict(shape=(4, 4, 4), neighbourhood="hex"), ValueError, "2D lattices only"),
        (dict(shape=(4, 4), boundary="torus"), ValueError, "Unknown boundary 'torus'"),
        (dict(shape=(4, 4), radius=0), ValueError, "radius must be a positive integer"),
        (dict(shape=(4, 4), neighbourhood=[(1,)]), ValueError, "has 1 components but the lattice has 2"),
        (dict(shape=(4, 4), neighbourhood=[(0, 0)]), ValueError, "is the centre site"),
        (dict(shape=(4, 4), neighbourhood=[]), ValueError, "at least one neighbour"),
        (dict(shape=(4, 4), neighbourhood=[(0, 1), (0, 1)]), ValueError, "duplicates"),
        (dict(shape=(4, 4), neighbourhood=[("a", 1)]), TypeError, "sequence of integer tuples"),
        (dict(shape=(2, 4), radius=3, boundary="reflect"), ValueError, "at least as long as the radius"),
    ],
)
def test_lattice_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        Lattice(**kwargs)


def test_convolve_errors():
    lat = Lattice((6, 6))
    with pytest.raises(ValueError, match="same odd size"):
        lat.convolve(jnp.zeros((6, 6, 1)), jnp.ones((4, 4)))
    with pytest.raises(ValueError, match="input channels"):
        lat.convolve(jnp.zeros((6, 6, 2)), jnp.ones((3, 3, 3, 1)))
    with pytest.raises(ValueError, match="must have 2 or 4 axes"):
        lat.convolve(jnp.zeros((6, 6, 2)), jnp.ones((3, 3, 2)))


def test_check_field_error():
    with pytest.raises(ValueError, match=r"leading axes to be \(6, 6\)"):
        Lattice((6, 6)).check_field(jnp.zeros((5, 6, 1)))


def test_shape_accepts_numpy_integers():
    lat = Lattice((np.int64(6), 4))
    assert lat.shape == (6, 4) and all(type(s) is int for s in lat.shape)
    assert Lattice(5).shape == (5,)


def test_whole_lattice_is_not_sharded():
    lat = Lattice((8, 8))
    assert lat.shard is None and not lat.sharded
    with pytest.raises(TypeError, match="shard must be"):
        Lattice((8, 8), shard="rows")


@pytest.mark.parametrize("boundary", ["wrap", "fixed", "reflect"])
def test_pad_selected_axes(boundary):
    lat = Lattice((4, 5), boundary=boundary, fill=7.0)
    x = jnp.arange(20.0).reshape(4, 5, 1)
    rows = lat.pad(x, 1, axes=(0,))
    assert rows.shape == (6, 5, 1)
    np.testing.assert_array_equal(rows, lat.pad(x, 1)[:, 1:-1])
