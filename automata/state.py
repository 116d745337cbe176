"""The evolving state of a lattice: a frozen pytree of arrays."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct


class LatticeState(struct.PyTreeNode):
    """Site values and the step counter.

    Attributes:
      x: site values, shape `(*lattice.shape, channels)`.
      t: number of steps taken so far (an integer scalar). Step keys are derived from it with
        `jax.random.fold_in(key, t)`, so a rollout cut into chunks reproduces an uncut one.

    Example:
      >>> import jax.numpy as jnp
      >>> state = LatticeState(x=jnp.zeros((32, 32, 1), jnp.uint8))
      >>> int(state.t)
      0
    """

    x: jax.Array
    t: jax.Array = 0

    def with_t(self, t) -> "LatticeState":
        """The same state with the step counter set to `t`."""
        return self.replace(t=jnp.asarray(t, jnp.int32))


def as_state(state) -> LatticeState:
    """Accept a `LatticeState` or a bare array; normalise `t` to an int32 array."""
    if not isinstance(state, LatticeState):
        if hasattr(state, "shape") and hasattr(state, "dtype"):
            state = LatticeState(x=state)
        else:
            raise TypeError(
                f"Expected a LatticeState (or an array of site values), got {type(state).__name__}. "
                "Build one with automata.LatticeState(x=array) where array has shape "
                "(*lattice.shape, channels)."
            )
    return state.replace(x=jnp.asarray(state.x), t=jnp.asarray(state.t, jnp.int32))
