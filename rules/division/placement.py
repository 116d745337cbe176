"""Where daughter B goes: into a free neighbour site (`Exclusion`) or by pushing a line of cells
(`Shove`)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import as_float
from automata.lattice import Lattice
from rules._perkind import check_param

__all__ = ["Exclusion", "Shove", "flat_index", "in_lattice"]


def in_lattice(lattice: Lattice, sites: jax.Array):
    """Apply the boundary to integer sites `(..., D)`: (valid mask, sites inside the lattice).

    Cells cannot sit beyond an edge, so only `"wrap"` maps such sites back in; `"fixed"` and
    `"reflect"` lattices have hard edges for placement.
    """
    shape = jnp.asarray(lattice.shape, jnp.int32)
    if lattice.boundary == "wrap":
        return jnp.ones(sites.shape[:-1], bool), jnp.mod(sites, shape)
    valid = jnp.all((sites >= 0) & (sites < shape), axis=-1)
    return valid, jnp.clip(sites, 0, shape - 1)


def flat_index(lattice: Lattice, sites: jax.Array) -> jax.Array:
    """Row-major flat index of integer sites `(..., D)` on `lattice`."""
    strides = np.cumprod((lattice.shape[1:] + (1,))[::-1])[::-1].astype(np.int32)
    return jnp.sum(sites * jnp.asarray(strides), axis=-1)


class Exclusion(struct.PyTreeNode):
    """Daughter B takes a free neighbour site of the mother; no free site blocks the division.

    Neighbours are the lattice's neighbourhood. Without `direction` the site is drawn uniformly
    among the free ones; with it (oriented division) daughter B takes the free neighbour whose
    offset makes the smallest angle with the kind's vector (ties drawn at random; a zero vector
    means random placement for that kind).

    Args:
      direction: optional `(num_kinds, lattice.ndim)` orientation vector per kind, in sites.

    Example:
      >>> oriented = Exclusion(direction=[[1.0, 0.0]])  # divide along +axis 0
    """

    direction: Any = None

    def place(self, lattice, occ, pos, cell, kind, uniform):
        """(ok, flat site of daughter B, occupancy, positions) for the division of `cell`;
        `uniform` holds at least `lattice.num_neighbours` numbers in [0, 1)."""
        offs = jnp.asarray(lattice.offsets, jnp.int32)
        valid, sites = in_lattice(lattice, pos[cell] + offs)
        flat = flat_index(lattice, sites)
        free = valid & (occ[flat] < 0)
        score = uniform[: free.shape[0]]
        if self.direction is not None:
            v = as_float(self.direction)[kind]
            o = offs.astype(v.dtype)
            norm_v = jnp.linalg.norm(v)
            cos = (o @ v) / (jnp.linalg.norm(o, axis=-1) * jnp.maximum(norm_v, 1e-30))
            best = jnp.max(jnp.where(free, cos, -jnp.inf))
            top = free & (cos >= best - 1e-6)
            score = jnp.where(norm_v > 0, score + 2.0 * top, score)
        j = jnp.argmax(jnp.where(free, score, -1.0))
        return jnp.any(free), flat[j], occ, pos

    def check(self, lattice: Lattice, num_kinds: int) -> None:
        """Raise a clear error unless `direction` has one vector per kind on `lattice`."""
        if self.direction is not None:
            check_param(self.direction, "direction", num_kinds, owner="Exclusion", low=-np.inf,
                        shape=(num_kinds, lattice.ndim))


class Shove(struct.PyTreeNode):
    """Daughter B takes the site next to the mother along an axis, pushing the line of cells
    beyond it one site further, up to the first empty site.

    The direction is `+-axis` with a random sign (and a random axis when `axis` is None). If the
    line reaches a hard edge (or, on a wrapped axis, fills the whole ring) without an empty site,
    the division is blocked.

    Args:
      axis: the axis to push along, or None for a random axis at each division.

    Example:
      >>> shove = Shove(axis=0)
    """

    axis: int | None = struct.field(pytree_node=False, default=None)

    def place(self, lattice, occ, pos, cell, kind, uniform):
        """(ok, flat site of daughter B, occupancy, positions) for the division of `cell`;
        `uniform` holds at least two numbers in [0, 1)."""
        ndim = lattice.ndim
        length = max(lattice.shape)
        if self.axis is not None:
            axis = self.axis
        else:
            axis = jnp.minimum((uniform[0] * ndim).astype(jnp.int32), ndim - 1)
        sign = jnp.where(uniform[1] < 0.5, 1, -1)
        step = jax.nn.one_hot(axis, ndim, dtype=jnp.int32) * sign
        k = jnp.arange(1, length + 1, dtype=jnp.int32)
        valid, sites = in_lattice(lattice, pos[cell] + k[:, None] * step)
        if lattice.boundary == "wrap":
            # k = axis length would come back to the mother's own site.
            valid = k < jnp.asarray(lattice.shape, jnp.int32)[axis]
        flat = flat_index(lattice, sites)
        ids = occ[flat]
        empty = valid & (ids < 0)
        first_empty = jnp.argmax(empty)
        moves = jnp.arange(length) < first_empty
        dest_flat = jnp.roll(flat, -1)
        dest = jnp.roll(sites, -1, axis=0)
        num_sites, cap = occ.shape[0], pos.shape[0]
        # Reads above happen before the writes, so each cell moves exactly one site.
        occ = occ.at[jnp.where(moves, dest_flat, num_sites)].set(ids, mode="drop")
        pos = pos.at[jnp.where(moves, ids, cap)].set(dest, mode="drop")
        return jnp.any(empty), flat[0], occ, pos

    def check(self, lattice: Lattice, num_kinds: int) -> None:
        """Raise a clear error unless `axis` is an axis of `lattice` (or None)."""
        if self.axis is not None and not (
            isinstance(self.axis, (int, np.integer)) and 0 <= self.axis < lattice.ndim
        ):
            raise ValueError(
                f"Shove: axis must be an axis of the lattice, 0 .. {lattice.ndim - 1}, or None "
                f"for a random axis; got {self.axis!r}."
            )
