"""Neighbour gathers shared by a spatial game's payoffs and its update rules."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from automata.lattice import Lattice

__all__ = ["at_offset", "take", "zero_fill"]


def zero_fill(lattice: Lattice) -> Lattice:
    """`lattice` with fill 0 on a fixed boundary, so derived fields read sites beyond the edge as
    empty."""
    return lattice.replace(fill=0.0) if lattice.boundary == "fixed" else lattice


def take(values: jax.Array, pick: jax.Array) -> jax.Array:
    """`values[..., pick]` per site: `values` `(*shape, k)`, `pick` `(*shape,)` ints."""
    return jnp.take_along_axis(values, pick[..., None], axis=-1)[..., 0]


def at_offset(lattice: Lattice, field: jax.Array, pick: jax.Array) -> jax.Array:
    """`field` at each site's neighbour number `pick` (an index into `lattice.offsets`), with the
    boundary applied: the same values as `lattice.neighbours(field)[..., pick]`, gathered
    directly, so the cost does not grow with the size of the neighbourhood.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> lat = automata.Lattice((4,), neighbourhood="moore")
      >>> at_offset(lat, jnp.arange(4), jnp.zeros(4, jnp.int32)).tolist()  # offset -1, wrapped
      [3, 0, 1, 2]
    """
    r = lattice.radius
    padded = lattice.pad(field, r)
    offsets = jnp.asarray(np.asarray(lattice.offsets, np.int32).reshape(-1, lattice.ndim))
    chosen = offsets[pick]  # (*shape, ndim)
    grid = jnp.indices(lattice.shape, dtype=jnp.int32)
    return padded[tuple(grid[d] + r + chosen[..., d] for d in range(lattice.ndim))]
