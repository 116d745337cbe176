"""Spatial evolutionary games: payoff matrices, strategy update rules, and payoffs as hazards.

A spatial game is an `automata.Rule`. In the discrete updates channel 0 of the state holds each
site's strategy index (`0 .. n - 1`, or `-1` for an empty site that holds no player); the soft
update `ImitateBest(soft=True)` keeps one probability per strategy in channels `0 .. n - 1`
instead. Each step every site collects a payoff from the games it plays with its neighbours, then
takes up a strategy by an update rule object (Szabó & Fáth 2007,
doi:10.1016/j.physrep.2007.04.004).

Modules: `payoffs` (payoff matrices, the replicator equation), `updates` (`ImitateBest`,
`Fermi`, `MoranDeathBirth`, `MoranBirthDeath`), `game` (`SpatialGame`), `division_hazard`
(`site_payoffs`, `payoff_to_division`).

Payoff matrices are `(n, n)` arrays, row = the focal player's strategy, column = the opponent's;
for two strategies, strategy 0 cooperates and strategy 1 defects. The matrix is an array leaf of
the rule, so it can be differentiated and fitted.

Example:
  >>> import jax, jax.numpy as jnp, automata
  >>> from rules import games
  >>> lat = automata.Lattice((64, 64), neighbourhood="moore")
  >>> game = games.SpatialGame(games.prisoners_dilemma(1.9), update=games.ImitateBest())
  >>> x = jax.random.bernoulli(jax.random.key(0), 0.1, (64, 64, 1)).astype(jnp.int32)
  >>> final, traj = automata.rollout(game, lat, automata.LatticeState(x=x), num_steps=50)
  >>> coop = (traj.x[..., 0] == 0).mean(axis=(1, 2))  # cooperator fraction per step
"""

from rules.games.division_hazard import payoff_to_division, site_payoffs
from rules.games.game import EMPTY, INTERACTIONS, SpatialGame
from rules.games.payoffs import (
    hawk_dove,
    prisoners_dilemma,
    public_goods,
    replicator,
    snowdrift,
    stag_hunt,
)
from rules.games.updates import UPDATES, Fermi, ImitateBest, MoranBirthDeath, MoranDeathBirth

__all__ = [
    "Fermi",
    "ImitateBest",
    "MoranBirthDeath",
    "MoranDeathBirth",
    "SpatialGame",
    "hawk_dove",
    "payoff_to_division",
    "prisoners_dilemma",
    "public_goods",
    "replicator",
    "site_payoffs",
    "snowdrift",
    "stag_hunt",
]
