"""Cells on a lattice: a fixed-capacity population that keeps every cell ever born."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import check_int, concrete, fail
from automata.lattice import Lattice

__all__ = ["CapacityError", "Population", "PopulationStatus"]


class CapacityError(RuntimeError):
    """A simulation needed more cell slots than the population's capacity."""


class PopulationStatus(struct.PyTreeNode):
    """Events a simulation reports instead of failing inside `jit`.

    Attributes:
      overflow: scalar bool, True once a division was refused because every slot was in use
        (raise `capacity` in `Population.create`).
      num_dropped: scalar int32, divisions refused for lack of slots (cumulative).
      num_blocked: scalar int32, divisions refused for lack of room on the lattice (cumulative):
        no free neighbour site (`Exclusion`) or no empty site along the push line (`Shove`).
    """

    overflow: jax.Array
    num_dropped: jax.Array
    num_blocked: jax.Array

    @classmethod
    def ok(cls) -> "PopulationStatus":
        """A status with no events recorded."""
        return cls(
            overflow=jnp.asarray(False),
            num_dropped=jnp.asarray(0, jnp.int32),
            num_blocked=jnp.asarray(0, jnp.int32),
        )


class Population(struct.PyTreeNode):
    """Cells on a lattice with a fixed number of slots, one slot for every cell ever born.

    A cell that divides stops being alive and its two daughters take two new slots, so the whole
    lineage stays in the arrays: slots `0 .. num_cells - 1` are cells (alive, divided or dead),
    slots from `num_cells` on are unused. Shapes never change, so a population can be carried
    through `jax.lax.scan`, `jit` and `vmap`. Build one with `Population.create`.

    Attributes (C = capacity, the number of slots; D = lattice.ndim):
      alive: `(C,)` bool, the cell exists now (not divided, not dead, slot in use).
      kind: `(C,)` int32 symbol index (e.g. into a list of cell names).
      parent: `(C,)` int32 slot of the mother cell, -1 for roots.
      birth: `(C,)` int32 step at which the cell was born (0 for roots of a new population).
      generation: `(C,)` int32, 0 for roots, the mother's plus one for daughters.
      clock: `(C,)` float32 minutes since birth (the cell-cycle clock).
      period: `(C,)` float32 cell-cycle period in minutes drawn for this cell; NaN until the
        cell's first step (each cell draws its own, see `rules.CellCycle`).
      features: `(C, F)` float32 per-cell features (e.g. gene expression), copied to daughters.
      position: `(C, D)` int32 lattice site of the cell (kept for cells no longer alive).
      occupancy: `lattice.shape` int32 slot of the alive cell at each site, -1 where empty.
      division: `(C,)` int32 step at which the cell divided, -1 if it has not.
      death: `(C,)` int32 step at which the cell died, -1 if it has not.
      num_cells: scalar int32, the next free slot (the number of cells ever born).
      t: scalar int32 step counter; step keys are `jax.random.fold_in(key, t)`.
      status: `PopulationStatus` flags (capacity overflow, blocked divisions).

    Example:
      >>> import automata
      >>> lat = automata.Lattice((8, 8))
      >>> pop = Population.create(lat, [[2, 2], [5, 5]], [0, 1], capacity=16)
      >>> int(pop.num_alive), pop.capacity
      (2, 16)
    """

    alive: jax.Array
    kind: jax.Array
    parent: jax.Array
    birth: jax.Array
    generation: jax.Array
    clock: jax.Array
    period: jax.Array
    features: jax.Array
    position: jax.Array
    occupancy: jax.Array
    division: jax.Array
    death: jax.Array
    num_cells: jax.Array
    t: jax.Array
    status: PopulationStatus

    # ------------------------------------------------------------------ sizes
    @property
    def capacity(self) -> int:
        """Number of slots (the most cells that can ever be born, roots included)."""
        return int(self.alive.shape[-1])

    @property
    def num_features(self) -> int:
        """Length of each cell's feature vector."""
        return int(self.features.shape[-1])

    @property
    def num_alive(self) -> jax.Array:
        """Number of cells alive now."""
        return jnp.sum(self.alive, axis=-1)

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(
        cls,
        lattice: Lattice,
        positions,
        kinds,
        capacity: int,
        features=None,
        clocks=None,
    ) -> "Population":
        """A population of root cells at the given sites, with room for `capacity` cells in all.

        Args:
          lattice: the `automata.Lattice` the cells live on.
          positions: `(N, D)` integer sites, one row per cell, each inside `lattice.shape`, no
            two on the same site.
          kinds: `(N,)` non-negative integer kinds (symbol indices).
          capacity: number of slots, at least N. Each division uses two new slots, so a run
            with `num_divisions` divisions needs `N + 2 * num_divisions` slots.
          features: optional `(N, F)` per-cell features (default: `F = 0`).
          clocks: optional `(N,)` minutes each cell has spent in its cycle already (default 0).

        Returns:
          a `Population` with `num_cells = N`, `t = 0`, roots born at step 0.

        Example:
          >>> import automata
          >>> pop = Population.create(automata.Lattice((4,)), [[0], [3]], [0, 0], capacity=8,
          ...                         features=[[1.0], [2.0]])
          >>> pop.occupancy.tolist()
          [0, -1, -1, 1]
        """
        if not isinstance(lattice, Lattice):
            raise fail(_OWNER, f"lattice must be an automata.Lattice, got {type(lattice).__name__}. "
                               "Build one with automata.Lattice(shape).", TypeError)
        pos, flat = _positions(lattice, positions)
        n = pos.shape[0]
        kind = _kinds(kinds, n)
        capacity = check_int(capacity, "capacity", max(n, 1), owner=_OWNER, hint=(
            f"It must hold every cell ever born: the {n} roots plus two slots per division you "
            "expect."))
        feat = _features(features, n)
        clock = _clocks(clocks, n)

        def slots(values, fill, dtype):
            out = np.full((capacity,) + values.shape[1:], fill, dtype)
            out[:n] = values
            return jnp.asarray(out)

        occupancy = np.full(lattice.shape, -1, np.int32)
        occupancy.reshape(-1)[flat] = np.arange(n, dtype=np.int32)
        return cls(
            alive=slots(np.ones(n, bool), False, bool),
            kind=slots(kind.astype(np.int32), 0, np.int32),
            parent=slots(np.full(n, -1), -1, np.int32),
            birth=slots(np.zeros(n), 0, np.int32),
            generation=slots(np.zeros(n), 0, np.int32),
            clock=slots(clock, 0.0, np.float32),
            period=slots(np.full(n, np.nan), np.nan, np.float32),
            features=slots(feat, 0.0, np.float32),
            position=slots(pos.astype(np.int32), 0, np.int32),
            occupancy=jnp.asarray(occupancy),
            division=slots(np.full(n, -1), -1, np.int32),
            death=slots(np.full(n, -1), -1, np.int32),
            num_cells=jnp.asarray(n, jnp.int32),
            t=jnp.asarray(0, jnp.int32),
            status=PopulationStatus.ok(),
        )

    # ------------------------------------------------------------------ checks
    def check(self, lattice: Lattice, num_kinds: int | None = None) -> None:
        """Raise a clear error unless this population fits `lattice` (and kinds `< num_kinds`).

        Shapes are checked always; values (kinds in range) only when they are concrete, i.e.
        outside `jit`.
        """
        if not isinstance(lattice, Lattice):
            raise fail("Population.check", f"lattice must be an automata.Lattice, got "
                                           f"{type(lattice).__name__}.", TypeError)
        cap = self.alive.shape[-1:]
        if tuple(self.occupancy.shape) != lattice.shape:
            raise ValueError(
                f"population.occupancy has shape {tuple(self.occupancy.shape)}, but the lattice "
                f"has shape {lattice.shape}. Build the population with Population.create on "
                "the same lattice you simulate on."
            )
        if tuple(self.position.shape) != cap + (lattice.ndim,):
            raise ValueError(
                f"population.position has shape {tuple(self.position.shape)}, expected "
                f"{cap + (lattice.ndim,)} (capacity, lattice.ndim)."
            )
        for name in ("kind", "parent", "birth", "generation", "clock", "period", "division", "death"):
            if tuple(getattr(self, name).shape) != cap:
                raise ValueError(
                    f"population.{name} has shape {tuple(getattr(self, name).shape)}, expected "
                    f"{cap} (one entry per slot)."
                )
        if tuple(self.features.shape[:1]) != cap or self.features.ndim != 2:
            raise ValueError(
                f"population.features has shape {tuple(self.features.shape)}, expected "
                f"{cap + ('num_features',)}."
            )
        if num_kinds is not None:
            self.check_kinds(num_kinds)

    def check_kinds(self, num_kinds: int) -> None:
        """Raise a clear error if a cell's kind is not one of `0 .. num_kinds - 1` (when concrete).

        Example:
          >>> import automata
          >>> Population.create(automata.Lattice((4,)), [[1]], [0], capacity=2).check_kinds(1)
        """
        kind = concrete(self.kind)
        n = concrete(self.num_cells)
        if kind is None or n is None or int(n) <= 0:
            return
        used = kind[: int(n)]
        if used.size and (used.max() >= num_kinds or used.min() < 0):
            bad = int(used[(used >= num_kinds) | (used < 0)][0])
            raise ValueError(
                f"The population has a cell of kind {bad}, but the model knows {num_kinds} kinds "
                f"(0 .. {num_kinds - 1}). Add the kind to the differentiation table or fix the "
                "cells' kinds."
            )


_OWNER = "Population.create"


def _positions(lattice: Lattice, positions):
    """Root sites as an `(N, D)` int64 array and their flat indices, each checked: one row of
    integer coordinates per cell, inside the lattice, no two on one site."""
    ndim = lattice.ndim
    pos = np.asarray(positions)
    if pos.ndim == 1 and ndim == 1:
        pos = pos[:, None]
    if pos.ndim != 2 or pos.shape[1] != ndim:
        raise fail(_OWNER, f"positions must have shape (num_cells, {ndim}) for a {ndim}D lattice, "
                           f"got {pos.shape}. Give one row of {ndim} integer site coordinates per cell.")
    if pos.size and not np.issubdtype(pos.dtype, np.integer):
        if not (np.issubdtype(pos.dtype, np.number) and np.all(np.equal(np.mod(pos, 1), 0))):
            raise fail(_OWNER, "positions must be integer site coordinates, got non-integers.")
    pos = pos.astype(np.int64)
    outside = np.any((pos < 0) | (pos >= np.asarray(lattice.shape)), axis=1)
    if np.any(outside):
        i = int(np.argmax(outside))
        raise fail(_OWNER, f"positions must lie inside the lattice, but cell {i} sits at "
                           f"{tuple(pos[i].tolist())}, outside the lattice of shape {lattice.shape}; "
                           "each coordinate must lie in [0, size). Move the cell or use a larger "
                           "lattice.")
    flat = np.ravel_multi_index(tuple(pos.T), lattice.shape) if len(pos) else np.zeros(0, np.int64)
    uniq, counts = np.unique(flat, return_counts=True)
    if np.any(counts > 1):
        shared = uniq[np.argmax(counts > 1)]
        site = tuple(int(s) for s in np.unravel_index(shared, lattice.shape))
        cells = np.flatnonzero(flat == shared).tolist()
        raise fail(_OWNER, f"positions must be distinct, but cells {cells} share the site {site}; a "
                           "site holds at most one cell. Give each cell its own site.")
    return pos, flat


def _kinds(kinds, n: int) -> np.ndarray:
    """Root kinds as an `(N,)` array of non-negative integers."""
    kind = np.asarray(kinds)
    if kind.shape != (n,):
        raise fail(_OWNER, f"kinds must have shape ({n},), one kind per cell, got {kind.shape}.")
    if n and not np.issubdtype(kind.dtype, np.integer):
        if not (np.issubdtype(kind.dtype, np.number) and np.all(np.equal(np.mod(kind, 1), 0))):
            raise fail(_OWNER, "kinds must be integer symbol indices, got non-integers.")
    if n and np.any(kind < 0):
        raise fail(_OWNER, f"kinds must be non-negative symbol indices, got {kind.min()}. Map cell "
                           "names to indices 0, 1, ... first.")
    return kind


def _features(features, n: int) -> np.ndarray:
    """Per-cell features as an `(N, F)` float32 array (`F = 0` when None)."""
    if features is None:
        return np.zeros((n, 0), np.float32)
    feat = np.asarray(features, np.float32)
    if feat.ndim == 1 and n:
        feat = feat[:, None]
    if feat.ndim != 2 or feat.shape[0] != n:
        raise fail(_OWNER, f"features must have shape ({n}, num_features), one row per cell, got "
                           f"{feat.shape}.")
    return feat


def _clocks(clocks, n: int) -> np.ndarray:
    """Minutes each root has spent in its cycle, `(N,)` float32 (0 when None)."""
    if clocks is None:
        return np.zeros(n, np.float32)
    clock = np.asarray(clocks, np.float32)
    if clock.shape != (n,):
        raise fail(_OWNER, f"clocks must have shape ({n},), got {clock.shape}.")
    if not np.all(np.isfinite(clock) & (clock >= 0)):
        raise fail(_OWNER, "clocks must be finite and >= 0 (minutes since birth), got "
                           f"{clock.tolist()}.")
    return clock
