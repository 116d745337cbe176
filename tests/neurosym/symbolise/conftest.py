"""Shared test images for the symbolise tests."""

import numpy as np
import pytest


def _voronoi(shape, num_cells, seed=0):
    """Nearest-seed labels 1..num_cells on a grid (every seed owns at least its own pixel)."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(int(np.prod(shape)), num_cells, replace=False)
    seeds = np.stack(np.unravel_index(flat, shape), 1).astype(np.float64)
    grid = np.stack(np.indices(shape), -1).reshape(-1, len(shape))
    d = ((grid[:, None, :] - seeds[None]) ** 2).sum(-1)
    return (d.argmin(1) + 1).reshape(shape).astype(np.int32)


@pytest.fixture
def voronoi():
    """`voronoi(shape, num_cells, seed)`: a label image tiled by nearest-seed cells."""
    return _voronoi
