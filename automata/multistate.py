"""Multi-state automata: Brian's Brain, Wireworld and the Greenberg-Hastings excitable medium.

The state is one integer channel: `x` of shape `(*lattice.shape, 1)` holding state indices. The
rules run on any lattice (1D to 3D, any neighbourhood and boundary); under `boundary="fixed"` the
sites beyond the edge hold the state `lattice.fill`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from automata._checks import check_int
from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState


def _check_states(rule: Rule, lattice: Lattice, state: LatticeState, num_states: int) -> None:
    lattice.check_field(state.x, "state.x")
    x = state.x
    name = type(rule).__name__
    if x.ndim != lattice.ndim + 1 or x.shape[-1] != 1:
        raise ValueError(
            f"{name} needs one channel of state indices, state.x of shape "
            f"{lattice.shape + (1,)}; got {tuple(x.shape)}. Add the channel axis with x[..., None]."
        )
    if not (jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.floating)):
        raise TypeError(
            f"{name} needs integer state indices 0..{num_states - 1}, got dtype {x.dtype}. "
            "Use e.g. x.astype(jnp.int8)."
        )


def _count(lattice: Lattice, x: jax.Array, value: int) -> jax.Array:
    """Number of neighbours in state `value` (sites beyond a fixed edge hold `lattice.fill`)."""
    if lattice.boundary == "fixed":
        lattice = lattice.replace(fill=float(lattice.fill == value))
    dtype = jnp.uint8 if lattice.num_neighbours <= 255 else jnp.int32
    return lattice.neighbour_sum((x == value).astype(dtype))


class BriansBrain(Rule):
    """Brian's Brain: ready (0) sites fire (1) when exactly two neighbours fire; firing sites
    become refractory (2), refractory sites become ready again.

    Brian Silverman's rule (Toffoli & Margolus, Cellular Automata Machines, MIT Press 1987); on
    the Moore neighbourhood it teems with small moving patterns. Values outside 0..2 are treated
    as ready.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> from automata.multistate import BriansBrain
      >>> lat = automata.Lattice((6, 6))
      >>> x = jnp.zeros((6, 6, 1), jnp.int8).at[2, 2:4, 0].set(1)
      >>> s1 = automata.step(BriansBrain(), lat, automata.LatticeState(x=x))
      >>> s1.x[1:4, :, 0].tolist()  # the pair fires sideways and turns refractory
      [[0, 0, 1, 1, 0, 0], [0, 0, 2, 2, 0, 0], [0, 0, 1, 1, 0, 0]]
    """

    num_states = 3

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        _check_states(self, lattice, state, self.num_states)

    def __call__(self, lattice: Lattice, state: LatticeState, *, key=None) -> jax.Array:
        x = state.x
        firing = _count(lattice, x, 1)
        nxt = jnp.where(x == 1, 2, jnp.where((x != 2) & (firing == 2), 1, 0))
        return nxt.astype(x.dtype)


class Wireworld(Rule):
    """Wireworld: electrons (head 1, tail 2) run along conductor (3) through empty space (0).

    Head -> tail, tail -> conductor, conductor -> head when one or two neighbours are heads, and
    empty stays empty (Silverman 1987; Dewdney, Scientific American, January 1990). With the
    Moore neighbourhood it builds wires, diodes and logic gates. Values outside 0..3 stay as they
    are.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> from automata.multistate import Wireworld
      >>> lat = automata.Lattice((1, 6), boundary="fixed")
      >>> x = jnp.asarray([[2, 1, 3, 3, 3, 3]], jnp.int8)[..., None]  # tail, head, wire
      >>> automata.step(Wireworld(), lat, automata.LatticeState(x=x)).x[0, :, 0].tolist()
      [3, 2, 1, 3, 3, 3]
    """

    num_states = 4

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        _check_states(self, lattice, state, self.num_states)

    def __call__(self, lattice: Lattice, state: LatticeState, *, key=None) -> jax.Array:
        x = state.x
        heads = _count(lattice, x, 1)
        spark = (heads == 1) | (heads == 2)
        nxt = jnp.where(
            x == 1, 2, jnp.where(x == 2, 3, jnp.where((x == 3) & spark, 1, x))
        )
        return nxt.astype(x.dtype)


class GreenbergHastings(Rule):
    """The Greenberg-Hastings excitable medium.

    State 0 is resting, 1 excited and 2..num_states-1 refractory. A resting site becomes excited
    when at least `threshold` neighbours are excited; an excited or refractory site `k` moves to
    `(k + 1) mod num_states`, so it returns to rest after `num_states - 1` steps (Greenberg &
    Hastings 1978, SIAM J. Appl. Math. 34:515, doi:10.1137/0134040). Waves spread from excited
    sites and annihilate where they meet. Values outside 0..num_states-1 are treated as resting.

    Args:
      num_states: number of states, at least 3 (resting, excited and one refractory state).
      threshold: excited neighbours needed to excite a resting site, at least 1 and at most the
        lattice's number of neighbours (checked when the rule runs).

    Example:
      >>> import jax.numpy as jnp, automata
      >>> from automata.multistate import GreenbergHastings
      >>> lat = automata.Lattice((7,))
      >>> x = jnp.zeros((7, 1), jnp.int8).at[3, 0].set(1)
      >>> rule = GreenbergHastings(num_states=3, threshold=1)
      >>> automata.step(rule, lat, automata.LatticeState(x=x)).x[:, 0].tolist()
      [0, 0, 1, 2, 1, 0, 0]
    """

    num_states: int = struct.field(pytree_node=False, default=3)
    threshold: int = struct.field(pytree_node=False, default=1)

    def __post_init__(self):
        object.__setattr__(self, "num_states", check_int(self.num_states, "num_states", 3, owner="GreenbergHastings"))
        object.__setattr__(self, "threshold", check_int(self.threshold, "threshold", 1, owner="GreenbergHastings"))

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        _check_states(self, lattice, state, self.num_states)
        if self.threshold > lattice.num_neighbours:
            raise ValueError(
                f"GreenbergHastings threshold={self.threshold} exceeds the "
                f"{lattice.num_neighbours} neighbours of a site on this lattice, so no site "
                f"could ever be excited. Use a threshold of at most {lattice.num_neighbours}."
            )
        dtype = state.x.dtype
        if jnp.issubdtype(dtype, jnp.integer) and jnp.iinfo(dtype).max < self.num_states - 1:
            raise TypeError(
                f"GreenbergHastings with {self.num_states} states needs a dtype that holds "
                f"{self.num_states - 1}, got {state.x.dtype}."
            )

    def __call__(self, lattice: Lattice, state: LatticeState, *, key=None) -> jax.Array:
        x = state.x
        excited = _count(lattice, x, 1)
        active = (x >= 1) & (x < self.num_states)
        nxt = jnp.where(
            active,
            jnp.where(x == self.num_states - 1, 0, x + 1),
            jnp.where(excited >= self.threshold, 1, 0),
        )
        return nxt.astype(x.dtype)
