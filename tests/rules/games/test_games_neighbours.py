"""Neighbour gathers of spatial games."""


import jax.numpy as jnp
import numpy as np
import pytest

from automata import Lattice
from rules.games.neighbours import at_offset


@pytest.mark.parametrize(
    "lattice",
    [
        Lattice((7, 9), neighbourhood="moore", radius=2, boundary="wrap"),
        Lattice((7, 9), neighbourhood="von_neumann", boundary="fixed", fill=-1),
        Lattice((7, 9), neighbourhood="hex", boundary="reflect"),
        Lattice((11,), neighbourhood="moore", radius=3, boundary="fixed", fill=0),
        Lattice((4, 5, 3), neighbourhood="moore", boundary="wrap"),
    ],
    ids=["moore-r2-wrap", "von-neumann-fixed", "hex-reflect", "1d-fixed", "3d-wrap"],
)
def test_one_neighbour_gather_equals_the_neighbour_stack(lattice):
    # Fermi and Moran birth-death read only the chosen neighbour; the direct gather they use
    # must agree with lattice.neighbours for every neighbourhood and boundary.
    rng = np.random.default_rng(24)
    field = jnp.asarray(rng.integers(-1, 5, lattice.shape), jnp.int32)
    pick = jnp.asarray(rng.integers(0, lattice.num_neighbours, lattice.shape), jnp.int32)
    want = jnp.take_along_axis(lattice.neighbours(field), pick[..., None], axis=-1)[..., 0]
    np.testing.assert_array_equal(at_offset(lattice, field, pick), want)
