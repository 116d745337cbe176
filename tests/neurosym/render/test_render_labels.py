"""neurosym.render.labels: exact label images from lattices and populations, boundaries, outer cells."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from neurosym.render import lattice_labels, outer_cells, population_labels
from neurosym.render.labels import boundary_pixels, check_label_grid
from rules.population import Population

KEY = jax.random.key(0)
SHAPE, SP = (4, 4), 8                     # 16 sites of 8 x 8 pixels: a 32 x 32 image


def reference_blocks(shape, site_pixels, gap):
    """Square-cell labels built the obvious way, site by site."""
    nd = len(shape)
    sp = (site_pixels,) * nd if np.isscalar(site_pixels) else tuple(site_pixels)
    gp = (gap,) * nd if np.isscalar(gap) else tuple(gap)
    out = np.zeros([s * p for s, p in zip(shape, sp)], np.int32)
    for flat, site in enumerate(np.ndindex(*shape)):
        box = []
        for a in range(nd):
            lo = site[a] * sp[a] + gp[a] // 2
            hi = (site[a] + 1) * sp[a] - (gp[a] - gp[a] // 2)
            box.append(slice(lo, hi))
        out[tuple(box)] = flat + 1
    return out


def reference_boundary(lab: np.ndarray) -> np.ndarray:
    """Cell pixels with a face neighbour of another label (the frame edge does not count)."""
    edge = np.zeros(lab.shape, bool)
    for a in range(lab.ndim):
        p = np.pad(lab, [(1, 1) if b == a else (0, 0) for b in range(lab.ndim)], mode="edge")
        n = lab.shape[a]
        edge |= np.take(p, range(0, n), axis=a) != lab
        edge |= np.take(p, range(2, n + 2), axis=a) != lab
    return edge & (lab > 0)


def reference_outer(lab: np.ndarray) -> set:
    """Labels with a face neighbour that is background or outside the frame, pixel by pixel."""
    out = set()
    for idx in zip(*np.nonzero(lab)):
        for a in range(lab.ndim):
            for d in (-1, 1):
                j = list(idx)
                j[a] += d
                if not 0 <= j[a] < lab.shape[a] or lab[tuple(j)] == 0:
                    out.add(int(lab[idx]))
    return out


@pytest.mark.parametrize(
    "shape, site_pixels, gap",
    [((3, 4), 5, 1), ((3, 4), 5, 0), ((3, 4), 5, 2), ((2, 3, 2), (2, 3, 4), (1, 1, 2))],
)
def test_square_labels_are_exact_blocks(shape, site_pixels, gap):
    lab = np.asarray(lattice_labels(shape, site_pixels, gap=gap))
    assert lab.dtype == np.int32
    np.testing.assert_array_equal(lab, reference_blocks(shape, site_pixels, gap))
    # One label per site, plus the background when there is a gap.
    assert len(np.unique(lab)) == int(np.prod(shape)) + (1 if np.any(np.asarray(gap)) else 0)


def test_jittered_labels_keep_every_site_and_differ_from_squares():
    square = np.asarray(lattice_labels(SHAPE, SP))
    lab = np.asarray(lattice_labels(SHAPE, SP, key=KEY, jitter=1.0))
    again = np.asarray(lattice_labels(SHAPE, SP, key=KEY, jitter=1.0))
    np.testing.assert_array_equal(lab, again)
    assert lab.shape == (32, 32) and lab.dtype == np.int32
    np.testing.assert_array_equal(np.unique(lab), np.arange(17))
    assert np.mean(lab != square) > 0.05          # outlines moved
    # Each cell still lies mostly on its own site.
    sites = np.asarray(lattice_labels(SHAPE, SP, gap=0))
    for label in range(1, 17):
        assert np.mean(sites[lab == label] == label) > 0.5
    # jitter 0 with a key is the square tessellation.
    np.testing.assert_array_equal(np.asarray(lattice_labels(SHAPE, SP, key=KEY, jitter=0.0)), square)
    other = np.asarray(lattice_labels(SHAPE, SP, key=jax.random.key(1), jitter=1.0))
    assert not np.array_equal(other, lab)


def test_jittered_labels_under_jit_and_vmap_equal_eager():
    keys = jax.random.split(KEY, 2)
    batch = jax.jit(jax.vmap(lambda k, j: lattice_labels(SHAPE, SP, key=k, jitter=j)))(keys, jnp.array([1.0, 0.5]))
    for i, j in enumerate([1.0, 0.5]):
        np.testing.assert_array_equal(np.asarray(batch[i]), np.asarray(lattice_labels(SHAPE, SP, key=keys[i], jitter=j)))


def test_jittered_3d_labels_with_thin_z_stay_in_their_layer():
    # z has 2 pixels per site: too thin to jitter, so each z layer is a 2D Voronoi tessellation.
    lab = np.asarray(lattice_labels((2, 3, 3), (2, 8, 8), key=KEY, jitter=1.0))
    assert lab.shape == (4, 24, 24)
    np.testing.assert_array_equal(np.unique(lab), np.arange(19))
    np.testing.assert_array_equal(lab[1::2], 0)   # the gap slice of each z block
    assert set(np.unique(lab[0])) == set(range(0, 10))
    assert set(np.unique(lab[2])) == {0} | set(range(10, 19))


def test_population_labels_map_alive_cells_only():
    lat = automata.Lattice(SHAPE)
    pop = Population.create(lat, [[0, 0], [1, 2], [3, 3], [2, 0]], [2, 0, 1, 1], capacity=16)
    # Slot 1 dies: it keeps its slot but leaves the lattice.
    pop = pop.replace(alive=pop.alive.at[1].set(False), occupancy=pop.occupancy.at[1, 2].set(-1))
    labels, kinds = population_labels(lat, pop, SP, key=KEY, jitter=1.0)
    labels = np.asarray(labels)
    np.testing.assert_array_equal(np.asarray(kinds), [-1, 2, -1, 1, 1] + [-1] * 12)
    # The outlines are lattice_labels' with the same key; alive slot i on site s: s -> i + 1.
    sites = np.asarray(lattice_labels(SHAPE, SP, key=KEY, jitter=1.0))
    lut = np.zeros(17, np.int32)
    lut[[1, 16, 9]] = [1, 3, 4]                   # sites (0, 0), (3, 3), (2, 0)
    np.testing.assert_array_equal(labels, lut[sites])
    np.testing.assert_array_equal(np.unique(labels), [0, 1, 3, 4])


@pytest.mark.parametrize("shape", [(6, 7), (3, 4, 5)])
def test_boundary_and_outer_cells_match_pixel_by_pixel_references(shape):
    rng = np.random.default_rng(len(shape))
    for _ in range(5):
        lab = rng.integers(0, 6, shape) * (rng.random(shape) < 0.8)
        np.testing.assert_array_equal(np.asarray(boundary_pixels(jnp.asarray(lab))), reference_boundary(lab))
        got = np.flatnonzero(np.asarray(outer_cells(jnp.asarray(lab), 8)))
        assert set(got.tolist()) == reference_outer(lab)


def test_check_label_grid_returns_one_size_per_axis_and_a_typed_key():
    shape, sp, gap, key = check_label_grid(automata.Lattice((2, 3, 4)), (1, 4, 4), 0, key=jax.random.PRNGKey(0), jitter=0.5)
    assert (shape, sp, gap) == ((2, 3, 4), (1, 4, 4), (0, 0, 0))
    assert jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: lattice_labels(SHAPE, SP, jitter=0.5), ValueError, "key must be a PRNG key when jitter > 0"),
        (lambda: lattice_labels(SHAPE, SP, key=KEY, jitter=1.5), ValueError, r"jitter must be a finite number in \[0.0, 1.0\]"),
        (lambda: lattice_labels(SHAPE, SP, key=KEY, jitter="lots"), TypeError, "jitter must be a finite number"),
        (lambda: lattice_labels(SHAPE, SP, key=KEY, jitter=0.5 * np.ones(2)), TypeError, "jitter must be a finite number"),
        (lambda: lattice_labels(SHAPE, SP, key=3, jitter=0.5), TypeError, "key must be a JAX PRNG key"),
        (lambda: lattice_labels(SHAPE, 2, gap=2), ValueError, "site_pixels must exceed gap"),
        (lambda: lattice_labels((8,), 4), ValueError, r"shape must be 2D \(rows, cols\) or 3D"),
        (lambda: lattice_labels((8.5, 8), 4), TypeError, "shape must be an integer"),
        (lambda: lattice_labels((0, 8), 4), ValueError, "shape must be at least 1"),
        (lambda: lattice_labels("big", SP), TypeError, "shape must be a lattice shape"),
        (lambda: lattice_labels(SHAPE, (4, 4, 4)), ValueError, "site_pixels must be an integer >= 1 or 2 of them"),
        (lambda: lattice_labels(SHAPE, 4.0), ValueError, "site_pixels must be an integer >= 1 or 2 of them"),
        (lambda: lattice_labels(SHAPE, (4, 2.5)), TypeError, "site_pixels must be an integer"),
        (lambda: lattice_labels(SHAPE, SP, gap=-1), ValueError, "gap must be at least 0"),
        (lambda: population_labels(SHAPE, None, SP), TypeError, "population_labels: lattice must be an automata.Lattice"),
        (lambda: population_labels(automata.Lattice(SHAPE), "cells", SP), TypeError,
         "population must be a rules.Population"),
        (lambda: outer_cells(np.ones((4, 4), np.float32), 2), TypeError, "labels must be an integer label image"),
        (lambda: outer_cells(np.ones((4, 4), np.int32), 0), ValueError, "outer_cells: num_labels must be at least 1"),
    ],
)
def test_label_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
