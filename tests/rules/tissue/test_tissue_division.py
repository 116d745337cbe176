"""Plane division of lattice cells: sizes and sides on known blobs, fallback, jit, vmap, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rules.tissue import divide_cell, divide_cells


def disk(shape, centre, radius, value=1):
    grid = np.indices(shape).astype(float)
    r2 = sum((g - c) ** 2 for g, c in zip(grid, centre))
    return np.where(r2 <= radius ** 2, value, 0).astype(np.int32)


def test_2d_disk_halves_by_axis():
    x = disk((20, 20), (9.5, 9.5), 6.0) + disk((20, 20), (2, 2), 1.5, value=5)
    x = np.where(x > 5, 5, x)
    n = int((x == 1).sum())
    for normal, axis in (([1.0, 0.0], 0), ([0.0, -2.0], 1)):
        y = np.asarray(divide_cell(jnp.asarray(x), 1, jnp.array(normal), 7))
        # Symmetric disk with centre between sites: exactly half on each side.
        assert (y == 7).sum() == n // 2 and (y == 1).sum() == n - n // 2
        idx = np.argwhere(y == 7)[:, axis]
        sign = np.sign(normal[axis])
        assert np.all(sign * (idx - 9.5) > 0)
        # Everything else unchanged.
        np.testing.assert_array_equal(y[(x != 1)], x[(x != 1)])


def test_3d_ball_halves_and_oblique_plane():
    x = jnp.asarray(disk((16, 16, 16), (7.5, 7.5, 7.5), 5.0))
    n = int((x == 1).sum())
    y = divide_cell(x, 1, jnp.array([0.0, 0.0, 1.0]), 2)
    assert int((y == 2).sum()) == n // 2
    assert bool(jnp.all(jnp.argwhere(y == 2)[:, 2] >= 8))
    # Oblique normal: daughter sites are those with positive projection on the normal.
    normal = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
    y = np.asarray(divide_cell(x, 1, jnp.asarray(normal), 2))
    pts = np.argwhere(np.asarray(x) == 1) - 7.5
    expect = int(((pts @ normal) > 1e-6).sum())
    assert (y == 2).sum() == expect and 0 < expect < n


def test_odd_width_keeps_plane_sites_with_mother():
    x = jnp.zeros((7, 7), jnp.int32).at[1:6, 1:6].set(3)
    y = divide_cell(x, 3, jnp.array([1.0, 0.0]), 4)
    assert int((y == 4).sum()) == 10 and int((y == 3).sum()) == 15
    assert bool(jnp.all(y[4:6, 1:6] == 4))


def test_median_fallback_when_plane_leaves_one_side_empty():
    # A one-site-thick line divided by a plane along it: all projections are 0.
    x = jnp.zeros((5, 9), jnp.int32).at[2, 1:8].set(1)
    y = divide_cell(x, 1, jnp.array([1.0, 0.0]), 2)
    assert int((y == 2).sum()) == 3 and int((y == 1).sum()) == 4
    # A one-site cell cannot be split and stays as it is.
    x1 = jnp.zeros((4, 4), jnp.int32).at[1, 1].set(1)
    np.testing.assert_array_equal(divide_cell(x1, 1, jnp.array([0.0, 1.0]), 2), x1)


def test_periodic_cell_across_the_edge():
    x = jnp.zeros((12, 12), jnp.int32).at[:, :2].set(1).at[:, 10:].set(1)  # cols 10,11,0,1
    y = divide_cell(x, 1, jnp.array([0.0, 1.0]), 2, periodic=True)
    assert set(np.argwhere(np.asarray(y) == 2)[:, 1].tolist()) == {0, 1}
    # Without periodic the centroid is column 5.5 and the split differs.
    y2 = divide_cell(x, 1, jnp.array([0.0, 1.0]), 2)
    assert set(np.argwhere(np.asarray(y2) == 2)[:, 1].tolist()) == {10, 11}


def test_jit_equals_eager_and_vmap_equals_loop():
    x = jnp.asarray(disk((16, 16), (7.0, 8.0), 5.0))
    angles = jnp.linspace(0.0, 3.0, 5)
    normals = jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=-1)
    eager = [divide_cell(x, 1, n, 9) for n in normals]
    jitted = jax.jit(lambda n: divide_cell(x, 1, n, 9))
    for n, e in zip(normals, eager):
        np.testing.assert_array_equal(jitted(n), e)
    batch = jax.vmap(lambda n: divide_cell(x, 1, n, 9))(normals)
    np.testing.assert_array_equal(batch, jnp.stack(eager))


def test_divide_cells_equals_sequential_and_skips_padding():
    x = (disk((24, 24), (6, 6), 4.0) + disk((24, 24), (16, 16), 5.0, value=2)
         + disk((24, 24), (5, 17), 3.0, value=3))
    x = jnp.asarray(x)
    cells = jnp.array([1, 2, 0, 3])
    normals = jnp.array([[1.0, 0.0], [0.6, 0.8], [1.0, 0.0], [0.0, -1.0]])
    new = jnp.array([4, 5, 0, 6])
    y = divide_cells(x, cells, normals, new)
    seq = x
    for c, n, i in zip(cells.tolist(), normals, new.tolist()):
        if c:
            seq = divide_cell(seq, c, n, i)
    np.testing.assert_array_equal(y, seq)
    np.testing.assert_array_equal(jax.jit(divide_cells)(x, cells, normals, new), y)
    assert all(int((y == i).sum()) > 0 for i in (1, 2, 3, 4, 5, 6))


def test_errors():
    x = jnp.zeros((6, 6), jnp.int32).at[1:5, 1:5].set(1).at[0, 0].set(2)
    with pytest.raises(ValueError, match="divide_cell: new ids must not be on the lattice already"):
        divide_cell(x, 1, jnp.array([1.0, 0.0]), 2)
    with pytest.raises(ValueError, match="normal must be a finite nonzero vector"):
        divide_cell(x, 1, jnp.array([0.0, 0.0]), 3)
    with pytest.raises(ValueError, match="normal must have one component per lattice axis"):
        divide_cell(x, 1, jnp.array([1.0, 0.0, 0.0]), 3)
    with pytest.raises(TypeError, match="x must be an integer lattice"):
        divide_cell(x.astype(float), 1, jnp.array([1.0, 0.0]), 3)
    with pytest.raises(ValueError, match="divide_cells: new ids must be distinct"):
        divide_cells(x, jnp.array([1, 2]), jnp.ones((2, 2)), jnp.array([3, 3]))
    with pytest.raises(ValueError, match="divide_cells: cells must be distinct"):
        divide_cells(x, jnp.array([1, 1]), jnp.ones((2, 2)), jnp.array([3, 4]))
    with pytest.raises(ValueError, match="must agree"):
        divide_cells(x, jnp.array([1, 2]), jnp.ones((3, 2)), jnp.array([3, 4]))


def test_cell_must_be_a_cell_id():
    x = jnp.zeros((6, 6), jnp.int32).at[1:5, 1:5].set(1)
    with pytest.raises(ValueError, match="divide_cell: cell must be one cell id >= 1"):
        divide_cell(x, 0, jnp.array([1.0, 0.0]), 3)


def test_divide_cells_mixes_plane_and_median_splits_under_jit():
    x = jnp.zeros((12, 12), jnp.int32).at[1, 1:10].set(1).at[4:10, 3:9].set(2)
    cells, new = jnp.array([1, 2]), jnp.array([3, 4])
    normals = jnp.array([[1.0, 0.0], [1.0, 0.0]])  # the line's plane has no site on its + side
    y = jax.jit(divide_cells)(x, cells, normals, new)
    assert int((y == 3).sum()) == 4 and int((y == 1).sum()) == 5
    assert int((y == 4).sum()) == 18 and bool(jnp.all(y[7:10, 3:9] == 4))
    seq = divide_cell(divide_cell(x, 1, normals[0], 3), 2, normals[1], 4)
    np.testing.assert_array_equal(y, seq)
