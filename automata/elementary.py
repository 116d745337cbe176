"""Elementary cellular automata: the 256 two-state radius-1 rules in Wolfram's numbering."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from automata._checks import check_int
from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState

_LEFT, _RIGHT = (-1,), (1,)


class Elementary(Rule):
    """An elementary cellular automaton given by its Wolfram number.

    The site `i` reads its left neighbour `l = x[i - 1]`, itself `c = x[i]` and its right
    neighbour `r = x[i + 1]`; its next value is bit `4 l + 2 c + r` of `number`, so the binary
    digits of `number` list the outputs for the neighbourhoods 111, 110, ..., 000 (Wolfram 1983,
    Rev. Mod. Phys. 55:601, doi:10.1103/RevModPhys.55.601).

    Runs on a 1D lattice whose neighbourhood is exactly the two nearest sites (`"moore"` or
    `"von_neumann"` with radius 1, or offsets `((-1,), (1,))`), with any boundary; under
    `boundary="fixed"` the sites beyond the edge are 1 when `lattice.fill` is nonzero, else 0.
    The state has shape `(n, 1)`; a site is 1 when its value is nonzero, and the next values are
    0 or 1 in the state's dtype.

    Args:
      number: the rule number, an integer in 0..255 (e.g. 30, 90, 110).

    Example:
      >>> import jax.numpy as jnp, automata
      >>> from automata.elementary import Elementary
      >>> lat = automata.Lattice((9,))
      >>> x = jnp.zeros((9, 1), jnp.uint8).at[4, 0].set(1)
      >>> _, traj = automata.rollout(Elementary(30), lat, automata.LatticeState(x=x), num_steps=2)
      >>> "".join(".#"[int(v)] for v in traj.x[1, :, 0])
      '..##..#..'
    """

    number: int = struct.field(pytree_node=False)

    def __post_init__(self):
        number = check_int(self.number, "Elementary rule number", 0, maximum=255, hint="Rules follow Wolfram's numbering.")
        object.__setattr__(self, "number", number)

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        if lattice.ndim != 1:
            raise ValueError(
                f"Elementary({self.number}) runs on a 1D lattice, got a {lattice.ndim}D lattice of "
                f"shape {lattice.shape}. Use e.g. Lattice((256,))."
            )
        if set(lattice.offsets) != {_LEFT, _RIGHT}:
            raise ValueError(
                f"Elementary({self.number}) reads the left and right nearest neighbours, but the "
                f"lattice's neighbourhood has offsets {lattice.offsets}. Use "
                "Lattice((n,), neighbourhood='moore', radius=1)."
            )
        super().check(lattice, state)
        x = state.x
        if x.ndim != 2 or x.shape[-1] != 1:
            raise ValueError(
                f"Elementary({self.number}) needs state.x of shape {lattice.shape + (1,)} (one "
                f"channel), got {tuple(x.shape)}. Add the channel axis with x[:, None]."
            )
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            raise TypeError(f"Elementary needs real or boolean site values, got dtype {x.dtype}.")

    def __call__(self, lattice: Lattice, state: LatticeState, *, key=None) -> jax.Array:
        x = state.x
        # Sum the three bits as uint8 so the fixed-edge fill also enters as 0 or 1.
        edge = lattice
        if lattice.boundary == "fixed":
            edge = lattice.replace(fill=float(lattice.fill != 0))
        c = (x != 0).astype(jnp.uint8)
        pattern = (edge.shift(c, _LEFT) << 2) | (c << 1) | edge.shift(c, _RIGHT)
        return ((jnp.uint8(self.number) >> pattern) & 1).astype(x.dtype)
