"""The spatial game: every site plays its neighbours, then takes up a strategy by an update rule.

A spatial game is an `automata.Rule`. With the discrete updates channel 0 of the state holds each
site's strategy index (`0 .. n - 1`, or `-1` for an empty site that holds no player); the soft
update `ImitateBest(soft=True)` keeps one probability per strategy in channels `0 .. n - 1`
instead.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import check_choice, concrete, error_if, fail
from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState
from rules.games.neighbours import zero_fill
from rules.games.payoffs import check_payoff
from rules.games.updates import ImitateBest, as_update

__all__ = ["EMPTY", "INTERACTIONS", "SpatialGame"]

INTERACTIONS = ("pairwise", "group")
EMPTY = -1


class SpatialGame(Rule):
    """An evolutionary game on a lattice: payoffs from neighbours, then a strategy update.

    Each step, every site's payoff is `sum_j payoff[own, s_j]` over its neighbours `j` (and
    itself when `self_interaction`), all sites at once; then every site updates its strategy by
    `update`: `ImitateBest()` (Nowak & May 1992, doi:10.1038/359826a0; `soft=True` for its
    softmax relaxation), `Fermi(temperature)`, `MoranDeathBirth(selection)` or
    `MoranBirthDeath(selection)` (see `rules.games.updates`). The strings `"imitate_best"`,
    `"imitate_best_soft"`, `"fermi"`, `"moran_death_birth"` and `"moran_birth_death"` still work,
    with `temperature=` and `selection=` filling the object.

    Synchronous by default. Wrap in `automata.Asynchronous(game)` for random-sequential updating,
    where each visit is one imitation, one Moran death-birth or birth-death event at the visited
    site and later visits see earlier changes; or in `automata.Stochastic(game, fire_rate)` for a
    random fraction of sites per step. `reach` covers the neighbours' payoffs (2 sites for pairwise
    games on radius-1 neighbourhoods, 3 for group games), so both schemes and sharded rollouts see
    all they need.

    With `interaction="group"` every site plays in the groups centred on itself and on each of
    its neighbours, and its share of a group `g` of `|g|` players is
    `(1/|g|) sum_{j in g} payoff[own, s_j]` (the focal player included); `public_goods(r)` gives
    the matrix of the linear public goods game in this form.

    Empty sites (strategy -1, or all-zero probabilities in the soft update) hold no player: they
    neither play nor update nor are imitated. On a `"fixed"` boundary the sites beyond the edge
    are empty, which needs a fill value that cannot be a strategy: `fill=-1` (255 for uint8
    states) for the discrete updates, `fill=0` for the soft update.

    Args:
      payoff: `(n, n)` payoff matrix, row = focal strategy, column = opponent, `n >= 2`; an
        array leaf (trainable).
      update: an update object (default `ImitateBest()`), or one of the strings above; its array
        fields are leaves (trainable).
      self_interaction: also play against oneself (Nowak & May's convention; configuration).
      temperature: with a string update only: `Fermi`'s noise or the soft imitation's
        temperature, positive.
      selection: with a string update only: the Moran updates' intensity of selection in [0, 1].
      interaction: `"pairwise"` or `"group"` (configuration).

    Example:
      >>> import jax, jax.numpy as jnp, automata
      >>> from rules.games import prisoners_dilemma
      >>> lat = automata.Lattice((9, 9), neighbourhood="moore")
      >>> x = jnp.zeros((9, 9, 1), jnp.int32).at[4, 4, 0].set(1)  # one defector
      >>> s1 = automata.step(SpatialGame(prisoners_dilemma(1.9)), lat, automata.LatticeState(x=x))
      >>> int(s1.x.sum())  # the defector's 3x3 block turns to defection
      9
    """

    payoff: jax.Array
    update: Any = struct.field(default_factory=ImitateBest)
    self_interaction: bool = struct.field(pytree_node=False, default=True)
    temperature: dataclasses.InitVar[Any] = None
    selection: dataclasses.InitVar[Any] = None
    interaction: str = struct.field(pytree_node=False, default="pairwise")

    def __post_init__(self, temperature=None, selection=None):
        object.__setattr__(self, "update", as_update(self.update, temperature=temperature,
                                                     selection=selection))
        check_choice(self.interaction, "interaction", INTERACTIONS, owner="SpatialGame",
                     hint="'pairwise' is a matrix game with each neighbour, 'group' plays in the "
                          "groups centred on the site and its neighbours.")
        if self.interaction == "group" and not self.self_interaction:
            raise fail("SpatialGame", "self_interaction must be True with interaction='group': a "
                                      "group game always includes the focal player in its groups.")
        # jax rebuilds rules from placeholder leaves (e.g. when matching vmap axes); only real
        # arrays and Python numbers are checked here, and `check` sees the rule actually run.
        if isinstance(self.payoff, (list, tuple, str, np.ndarray, np.generic, numbers.Number, jax.Array)):
            object.__setattr__(self, "payoff", check_payoff(self.payoff, "SpatialGame"))

    # ------------------------------------------------------------------ configuration
    @property
    def stochastic(self):  # type: ignore[override]
        return self.update.stochastic

    @property
    def num_strategies(self) -> int:
        """Number of strategies `n` (the payoff matrix is `(n, n)`)."""
        return int(self.payoff.shape[0])

    @property
    def soft(self) -> bool:
        """True when the state holds strategy probabilities (`ImitateBest(soft=True)`)."""
        return bool(self.update.soft)

    def payoff_reach(self, lattice: Lattice) -> int:
        """How far (sites per axis) a site's payoff looks: the radius, twice it for group games."""
        return lattice.radius * (2 if self.interaction == "group" else 1)

    def reach(self, lattice: Lattice) -> int:
        """Payoff reach plus the radius: an update compares the payoffs of the neighbours."""
        return self.payoff_reach(lattice) + lattice.radius

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        """Raise a clear error unless the game can run on `lattice` with `state`."""
        lattice.check_field(state.x, "state.x")
        check_payoff(self.payoff, "SpatialGame")
        self.update.check()
        x, n = state.x, self.num_strategies
        if x.ndim != lattice.ndim + 1:
            raise fail("SpatialGame", f"state.x must have shape {lattice.shape} plus one channel "
                                      f"axis, e.g. {lattice.shape + ((n,) if self.soft else (1,))}, "
                                      f"got {x.shape}.")
        (_check_probabilities if self.soft else _check_strategies)(lattice, x, n)

    # ------------------------------------------------------------------ payoffs
    def players(self, x: jax.Array):
        """Strategy weights `(*shape, n)` (one-hot or probabilities), occupancy `(*shape,)` and
        strategy indices `(*shape,)` (None in the soft update) of state `x`."""
        dt = jnp.result_type(self.payoff)
        dt = dt if jnp.issubdtype(dt, jnp.inexact) else jnp.result_type(float)
        n = self.num_strategies
        if self.soft:
            e = x[..., :n].astype(dt)
            return e, jnp.sum(e, axis=-1) > 0, None
        s = x[..., 0]
        occ = (s >= 0) & (s < n)
        idx = jnp.where(occ, s, 0).astype(jnp.int32)
        return jax.nn.one_hot(idx, n, dtype=dt) * occ[..., None].astype(dt), occ, idx

    def payoffs(self, lattice: Lattice, e: jax.Array, occ: jax.Array):
        """Per-site payoff (0 at empty sites) and the per-strategy partner weights behind it."""
        # Derived fields are padded with 0 so that sites beyond a fixed edge are empty.
        z = zero_fill(lattice)
        a = self.payoff.astype(e.dtype)
        if self.interaction == "pairwise":
            partners = z.neighbour_sum(e)
            if self.self_interaction:
                partners = partners + e
        else:
            members = e + z.neighbour_sum(e)  # strategy counts of the group centred on each site
            size = jnp.sum(members, axis=-1, keepdims=True)
            live = occ[..., None] & (size > 0)
            share = jnp.where(live, members / jnp.where(live, size, 1), 0)
            partners = share + z.neighbour_sum(share)
        # Counts enter as integers and are contracted in a fixed order, so sites with the same
        # surroundings get bit-identical payoffs (mirror-symmetric patterns stay symmetric).
        payoff = jnp.einsum("...a,ab,...b->...", e, a, partners)
        return payoff, partners

    def __call__(self, lattice: Lattice, state: LatticeState, *, key) -> jax.Array:
        return self.update(self, lattice, state.x, key=key)


def _check_strategies(lattice: Lattice, x: jax.Array, n: int) -> None:
    """State checks of the discrete updates: strategy indices (or -1) in channel 0."""
    if not (jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.floating)
            or x.dtype == jnp.bool_):
        raise fail("SpatialGame", f"state.x must hold strategy indices (integers), got dtype "
                                  f"{x.dtype}.", TypeError)
    if lattice.boundary == "fixed":
        fill = lattice.fill
        fits = (np.iinfo(x.dtype).min <= fill <= np.iinfo(x.dtype).max
                if jnp.issubdtype(x.dtype, jnp.integer) else x.dtype != jnp.bool_)
        if 0 <= fill < n or not fits:
            raise fail("SpatialGame", f"the lattice fill must not be a strategy index 0..{n - 1} "
                       f"and must fit state.x's dtype {x.dtype} on a 'fixed' boundary, where the "
                       f"sites beyond the edge are empty; got fill={fill}. Use Lattice(..., "
                       "boundary='fixed', fill=-1) with a signed or float state (fill=255 for uint8).")
    s = concrete(x[..., 0])
    if s is None:
        v = x[..., 0]
        error_if(~((v == EMPTY) | ((v >= 0) & (v < n) & (v == jnp.round(v)))),
                 f"SpatialGame: state.x[..., 0] must hold strategy indices in 0..{n - 1} (or -1 for an "
                 "empty site) for this payoff matrix; some site holds another value.")
        return
    bad = ~((s == EMPTY) | ((s >= 0) & (s < n) & (s == np.round(s))))
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise fail("SpatialGame", f"state.x[..., 0] must hold strategy indices in 0..{n - 1} (or -1 "
                   f"for an empty site) for this {n}x{n} payoff matrix, but site {where} holds "
                   f"{s[where].item()!r}. Use a larger payoff matrix for more strategies, or fix "
                   "the state.")


def _check_probabilities(lattice: Lattice, x: jax.Array, n: int) -> None:
    """State checks of the soft update: one probability per strategy in channels 0..n-1."""
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise fail("SpatialGame", f"state.x must be floating point with the soft update, which keeps "
                   f"strategy probabilities; got dtype {x.dtype}. Use jax.nn.one_hot(strategies, "
                   f"{n}).", TypeError)
    if x.shape[-1] < n:
        raise fail("SpatialGame", f"state.x must have one probability channel per strategy "
                   f"(0..{n - 1}) with the soft update, got {x.shape[-1]} channels. Build the state "
                   f"with jax.nn.one_hot(strategies, {n}).")
    if lattice.boundary == "fixed" and lattice.fill != 0.0:
        raise fail("SpatialGame", "the lattice fill must be 0 on a 'fixed' boundary with the soft "
                   f"update, where the sites beyond the edge are empty; got fill={lattice.fill}.")
    p = concrete(x[..., :n])
    if p is None:
        q = x[..., :n]
        total = q.sum(-1)
        error_if(jnp.any(q < -1e-6, axis=-1) | ((jnp.abs(total - 1) > 1e-3) & (jnp.abs(total) > 1e-3)),
                 f"SpatialGame: state.x[..., :{n}] must hold strategy probabilities (non-negative, summing "
                 "to 1, or all 0 for an empty site); some site holds others.")
        return
    total = p.sum(-1)
    bad = np.any(p < -1e-6, axis=-1) | ((np.abs(total - 1) > 1e-3) & (np.abs(total) > 1e-3))
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise fail("SpatialGame", f"state.x[..., :{n}] must hold strategy probabilities "
                   f"(non-negative, summing to 1, or all 0 for an empty site); site {where} holds "
                   f"{p[where].tolist()}.")
