"""`SymbolicRule`: a cellular-automaton rule written as a sympy expression over site inputs.

Example:
  >>> import automata
  >>> rule = SymbolicRule("n >= 3")
  >>> rule.inputs[:4], rule.reach(automata.Lattice((8, 8)))
  (('x', 'n_x', 'alive', 'n'), 1)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import sympy
from flax import struct

from automata._checks import fail
from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState
from rules.symbolic.expression import settle_fields
from rules.symbolic.lowering import evaluate
from rules.symbolic.nodes import reach_units
from rules.symbolic.params import as_names, param_values, substitute

__all__ = ["RESERVED", "SymbolicRule"]

#: Built-in input names a channel may not take.
RESERVED = ("alive", "n", "num_neighbours", "t")

_OWNER = "SymbolicRule"


def _check_channels(channels, target, integer_channels) -> tuple[tuple, str, tuple]:
    """The channel names, the target channel and the integer channels, checked."""
    channels = as_names(channels, "channels", _OWNER)
    if not channels:
        raise fail(_OWNER, "channels must name at least one channel, e.g. channels=('x',).")
    bad = [c for c in channels if c in RESERVED or (c.startswith("n_") and c[2:] in channels)]
    if bad:
        raise fail(
            _OWNER,
            f"channels must not clash with built-in inputs ({', '.join(RESERVED)}, n_<channel>): "
            f"rename {', '.join(bad)}.",
        )
    target = channels[0] if target is None else target
    if target not in channels:
        raise fail(_OWNER, f"target must be one of the channels {channels}, got {target!r}.")
    integer = as_names(integer_channels, "integer_channels", _OWNER)
    stray = [c for c in integer if c not in channels]
    if stray:
        raise fail(_OWNER, f"integer_channels must be among the channels {channels}, got {stray}.")
    return channels, target, integer


class SymbolicRule(Rule):
    """A cellular-automaton rule written as a sympy expression over built-in site inputs.

    The expression gives the next value of one channel (`target`) at every site; the other
    channels are carried over unchanged. Built-in inputs, for state channels named by
    `channels` (default one channel named `x`):

    - `<c>`: the site's own value of channel `c` (e.g. `x`);
    - `n_<c>`: the sum of channel `c` over the lattice neighbours (for one-hot kind channels:
      the number of neighbours of that kind);
    - `alive`: the target channel as a live flag: crisp `x > 0` (0 or 1); soft: the value itself
      (read as the probability of being alive, in [0, 1]);
    - `n`: the number of live neighbours, `lattice.neighbour_sum(alive)`; beyond a `"fixed"`
      edge a site is alive when `lattice.fill > 0`;
    - `num_neighbours`: the lattice's neighbour count; `t`: the step counter.

    Extra per-site data (expression levels, a morphogen) go in their own channels and are read
    by name. `alive`, `n`, `num_neighbours`, `t`, and `c`, `n_c` for `c` in `integer_channels`,
    are integer-valued (see the soft relaxations in `rules.symbolic`). Counts over neighbours of
    any sub-expression are available as `rules.logic.AtLeast/AtMost/Exactly(k, p)`.

    Args:
      expr: sympy expression or string over the built-in inputs and `params`.
      params: parameter name -> initial value (trainable array leaves).
      channels: names of the state's channels, in order (identifiers, not built-in names).
      target: the channel the expression writes (default: the first).
      integer_channels: channels whose values are integers (0/1 flags, one-hot kinds).
      mode: `"crisp"` (exact) or `"soft"` (smooth; needs a floating state).
      temperature: soft-mode width (static; changing it re-traces).
      semantics, implication: soft-mode fuzzy logic, see `rules.logic`.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> life = SymbolicRule("Or(Eq(n, 3), And(alive, Eq(n, 2)))")
      >>> lat = automata.Lattice((8, 8))
      >>> x = jnp.zeros((8, 8, 1), jnp.uint8).at[3, 2:5, 0].set(1)  # a blinker
      >>> final, _ = automata.rollout(life, lat, automata.LatticeState(x=x), num_steps=2)
      >>> bool((final.x == x).all())
      True
    """

    expr: sympy.Basic = struct.field(pytree_node=False)
    params: dict = struct.field(default_factory=dict)
    channels: tuple[str, ...] = struct.field(pytree_node=False, default=("x",))
    target: str | None = struct.field(pytree_node=False, default=None)
    integer_channels: tuple[str, ...] = struct.field(pytree_node=False, default=())
    mode: str = struct.field(pytree_node=False, default="crisp")
    temperature: float = struct.field(pytree_node=False, default=0.1)
    semantics: str = struct.field(pytree_node=False, default="product")
    implication: str | None = struct.field(pytree_node=False, default=None)

    def __post_init__(self):
        channels, target, integer = _check_channels(self.channels, self.target, self.integer_channels)
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "integer_channels", integer)
        settle_fields(self, self.inputs, _OWNER)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The built-in input names available to the expression."""
        return self.channels + tuple(f"n_{c}" for c in self.channels) + RESERVED

    @property
    def integer_inputs(self) -> tuple[str, ...]:
        """Input names treated as integer-valued."""
        return RESERVED + self.integer_channels + tuple(f"n_{c}" for c in self.integer_channels)

    def reach(self, lattice: Lattice) -> int:
        names = frozenset(("n",) + tuple(f"n_{c}" for c in self.channels))
        return lattice.radius * max(1, reach_units(self.expr, names))

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        super().check(lattice, state)
        x = state.x
        want = lattice.shape + (len(self.channels),)
        if tuple(x.shape) != want:
            raise fail(
                _OWNER, f"state.x must have shape {want} for the channels {self.channels}; got {tuple(x.shape)}."
            )
        if x.dtype != jnp.bool_ and not jnp.issubdtype(x.dtype, jnp.number) or jnp.issubdtype(
            x.dtype, jnp.complexfloating
        ):
            raise fail(_OWNER, f"state.x must hold real or boolean site values, got dtype {x.dtype}.", TypeError)
        if self.mode == "soft" and not jnp.issubdtype(x.dtype, jnp.floating):
            raise fail(
                _OWNER,
                f"state.x must be floating in soft mode: the rule produces values between 0 and 1, "
                f"which dtype {x.dtype} would truncate; use x.astype(jnp.float32).",
                TypeError,
            )

    def values(self, lattice: Lattice, state: LatticeState) -> dict:
        """The built-in inputs at every site (name -> array of shape `lattice.shape`)."""
        x = state.x
        if not jnp.issubdtype(x.dtype, jnp.floating):
            # Exact integer arithmetic without uint8 overflow in sums.
            x = x.astype(jnp.int32)
        env = {}
        for i, c in enumerate(self.channels):
            env[c] = x[..., i]
            env[f"n_{c}"] = lattice.neighbour_sum(x[..., i])
        own = x[..., self.channels.index(self.target)]
        live_lattice = lattice
        if lattice.boundary == "fixed":
            live_lattice = lattice.replace(fill=1.0 if lattice.fill > 0 else 0.0)
        alive = own if self.mode == "soft" else (own > 0).astype(jnp.int32)
        env["alive"] = alive
        env["n"] = live_lattice.neighbour_sum(alive)
        env["num_neighbours"] = lattice.num_neighbours
        env["t"] = jnp.asarray(state.t)
        return env

    def _params_on(self, lattice: Lattice) -> dict:
        """The parameter arrays, each checked to broadcast to the lattice."""
        params = param_values(self.params, _OWNER)
        for name, v in params.items():
            try:
                jnp.broadcast_shapes(v.shape, lattice.shape)
            except ValueError as err:
                raise fail(
                    _OWNER,
                    f"params must broadcast to the lattice {lattice.shape}: {name!r} has shape "
                    f"{tuple(v.shape)}, which does not broadcast to the lattice; use a scalar or a "
                    "per-site array.",
                ) from err
        return params

    def __call__(self, lattice: Lattice, state: LatticeState, *, key: jax.Array | None = None) -> jax.Array:
        env = self.values(lattice, state)
        params = self._params_on(lattice)
        env.update(params)
        out = evaluate(
            self.expr, env, mode=self.mode, temperature=self.temperature,
            semantics=self.semantics, implication=self.implication,
            integer=self.integer_inputs, params=tuple(params), lattice=lattice,
        )
        out = jnp.broadcast_to(out, lattice.shape).astype(state.x.dtype)
        i = self.channels.index(self.target)
        if len(self.channels) == 1:
            return out[..., None]
        return state.x.at[..., i].set(out)

    def to_sympy(self, digits: int | None = None) -> sympy.Basic:
        """The rule's expression with the current parameter values substituted."""
        return substitute(self.expr, self.params, digits, _OWNER)
