"""Payoffs as division hazards: a spatial game's site payoffs and the probability that each site's
cell divides in a time step (`rules.hazard` holds the formulas)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from automata._checks import check_numbers, fail
from automata.lattice import Lattice
from automata.state import LatticeState, as_state
from rules.games.game import SpatialGame
from rules.games.neighbours import zero_fill
from rules.hazard import event_probability, payoff_hazard

__all__ = ["payoff_to_division", "site_payoffs"]


def _checked_state(game, lattice, state, owner: str) -> LatticeState:
    """`state` as a `LatticeState`, after checking that `game` can run on `lattice` with it."""
    if not isinstance(game, SpatialGame):
        raise fail(owner, f"game must be a rules.games.SpatialGame, got {type(game).__name__}.",
                   TypeError)
    if not isinstance(lattice, Lattice):
        raise fail(owner, f"lattice must be an automata.Lattice, got {type(lattice).__name__}.",
                   TypeError)
    state = as_state(state)
    game.check(lattice, state)
    return state


def site_payoffs(game: SpatialGame, lattice: Lattice, state, *, average: bool = False) -> jax.Array:
    """Each site's payoff under `game` in the current state (0 at empty sites).

    The same payoffs the game's update compares, so a division model can turn them into hazards
    with `rules.hazard.payoff_hazard` (see `payoff_to_division`).

    Args:
      game: a `SpatialGame` (its update rule is not used).
      lattice: the lattice.
      state: `LatticeState` (or array) of shape `(*lattice.shape, channels)` as the game expects.
      average: divide by the number of games played (partners present for pairwise games,
        groups for group games), giving the payoff per interaction.

    Returns:
      payoffs, shape `lattice.shape`.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> from rules.games import SpatialGame, prisoners_dilemma
      >>> lat = automata.Lattice((5, 5))
      >>> x = jnp.zeros((5, 5, 1), jnp.int32)  # all cooperate: 9 partners each, R = 1
      >>> float(site_payoffs(SpatialGame(prisoners_dilemma(1.9)), lat, x)[0, 0])
      9.0
    """
    state = _checked_state(game, lattice, state, "site_payoffs")
    return _site_payoffs(game, lattice, state.x, average=bool(average))


@functools.partial(jax.jit, static_argnames=("average",))
def _site_payoffs(game: SpatialGame, lattice: Lattice, x: jax.Array, *, average: bool) -> jax.Array:
    e, occ, _ = game.players(x)
    payoff, partners = game.payoffs(lattice, e, occ)
    if not average:
        return payoff
    if game.interaction == "pairwise":
        count = jnp.sum(partners, axis=-1)
    else:
        z = zero_fill(lattice)
        live = occ.astype(payoff.dtype)
        count = live + z.neighbour_sum(live)
    return jnp.where(occ & (count > 0), payoff / jnp.where(count > 0, count, 1), 0)


def payoff_to_division(
    game: SpatialGame,
    lattice: Lattice,
    state,
    *,
    base_rate,
    selection,
    dt,
    average: bool = True,
) -> jax.Array:
    """Per-site probability of dividing within `dt` minutes, driven by the game's payoffs.

    `h = base_rate * (1 - w + w * payoff)` (`rules.hazard.payoff_hazard`, clipped at 0) and
    `P = 1 - exp(-h dt)` (`rules.hazard.event_probability`); empty sites get 0. Nowak et al. 2004
    (doi:10.1038/nature02414) use the same fitness form.

    Args:
      game: a `SpatialGame` giving the payoffs.
      lattice, state: as for `site_payoffs`.
      base_rate: division hazard at payoff 1 (or w = 0), per minute; broadcasts to the lattice.
      selection: intensity of selection w in [0, 1].
      dt: time step in minutes.
      average: use the payoff per interaction (default), so the hazard does not grow with the
        number of neighbours; False uses the accumulated payoff.

    Returns:
      probabilities in [0, 1), shape `lattice.shape`.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> from rules.games import SpatialGame, prisoners_dilemma
      >>> lat = automata.Lattice((5, 5))
      >>> x = jnp.zeros((5, 5, 1), jnp.int32)
      >>> p = payoff_to_division(SpatialGame(prisoners_dilemma(1.9)), lat, x,
      ...                        base_rate=0.01, selection=0.5, dt=10.0)
      >>> round(float(p[0, 0]), 4)  # 1 - exp(-0.01 * 10)
      0.0952
    """
    owner = "payoff_to_division"
    state = _checked_state(game, lattice, state, owner)
    check_numbers(selection, "selection", minimum=0.0, maximum=1.0, owner=owner,
                  hint="It is w in fitness = 1 - w + w * payoff.")
    check_numbers(base_rate, "base_rate", minimum=0.0, owner=owner,
                  hint="It is a division hazard per minute.")
    check_numbers(dt, "dt", minimum=0.0, owner=owner, hint="It is a time step in minutes.")
    return _division_probability(game, lattice, state.x, base_rate, selection, dt, average=bool(average))


@functools.partial(jax.jit, static_argnames=("average",))
def _division_probability(game, lattice, x, base_rate, selection, dt, *, average):
    payoff = _site_payoffs(game, lattice, x, average=average)
    _, occ, _ = game.players(x)
    prob = event_probability(payoff_hazard(payoff, base_rate, selection), dt)
    return jnp.where(occ, prob, 0)
