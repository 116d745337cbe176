"""The rule protocol: a frozen pytree that maps a state to the next site values."""

from __future__ import annotations

from typing import ClassVar

import jax
from flax import struct

from automata.lattice import Lattice
from automata.state import LatticeState


class Rule(struct.PyTreeNode):
    """Base class for rules.

    A rule is a frozen pytree: array fields are its parameters (trainable, differentiable),
    fields declared with `struct.field(pytree_node=False)` are configuration. Subclasses
    implement `__call__(lattice, state, *, key) -> x_next`, returning new site values of the same
    shape as `state.x`. Update schemes (`Stochastic`, `AliveMasked`, `Asynchronous`) wrap a rule
    and are rules themselves.

    Rules draw per-site randomness with `lattice.uniform(key, ...)`; deterministic rules ignore
    `key`. A rule may also run a rollout in a private representation (e.g. bit-packed words) by
    overriding `encode`, `step_encoded` and `decode`.
    """

    #: True when the rule needs a PRNG key.
    stochastic: ClassVar[bool] = False

    def __call__(self, lattice: Lattice, state: LatticeState, *, key: jax.Array | None) -> jax.Array:
        raise NotImplementedError(f"{type(self).__name__} does not implement __call__.")

    def reach(self, lattice: Lattice) -> int:
        """How many sites away (per axis) one step can look; used for halos when sharding."""
        return lattice.radius

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        """Raise a clear error if this rule cannot run on `lattice` with `state` (trace time)."""
        lattice.check_field(state.x, "state.x")

    # Private representation for rollouts; the identity by default.
    def encode(self, lattice: Lattice, x: jax.Array):
        return x

    def decode(self, lattice: Lattice, carry) -> jax.Array:
        return carry

    def step_encoded(self, lattice: Lattice, carry, t: jax.Array, key: jax.Array | None):
        return self(lattice, LatticeState(x=carry, t=t), key=key).astype(carry.dtype)
