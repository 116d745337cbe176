"""Event hazards, the one home of rates per minute: event probabilities in a time step, the
payoff-to-hazard map of games, and `PayoffHazard`, the game term of a division model.

`rules.division` (division and death hazards) and `rules.games` (payoffs as division hazards)
both take their formulas from here.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import as_float
from automata.lattice import Lattice
from rules._perkind import check_param, per_kind
from rules.population import Population

__all__ = ["PayoffHazard", "event_probability", "payoff_hazard"]


def event_probability(hazard, dt) -> jax.Array:
    """Probability that an event with constant hazard `hazard` (per minute) happens within `dt`
    minutes: `1 - exp(-hazard * dt)` (a Poisson process).

    Example:
      >>> float(event_probability(0.0, 5.0))
      0.0
    """
    return -jnp.expm1(-jnp.asarray(hazard) * jnp.asarray(dt))


def payoff_hazard(payoff, base_rate, selection) -> jax.Array:
    """Division hazard from a game payoff: `base_rate * (1 - w + w * payoff)`.

    `selection` (w in [0, 1]) is the intensity of selection: w = 0 ignores the game, w = 1 makes
    the hazard proportional to the payoff (Nowak et al. 2004, doi:10.1038/nature02414, use the same
    fitness form). The hazard is clipped at zero, since a rate cannot be negative.

    Example:
      >>> round(float(payoff_hazard(2.0, base_rate=0.1, selection=0.5)), 6)
      0.15
    """
    w = jnp.asarray(selection)
    return jnp.maximum(jnp.asarray(base_rate) * (1.0 - w + w * jnp.asarray(payoff)), 0.0)


class PayoffHazard(struct.PyTreeNode):
    """Division hazard from a spatial game: `h = base_rate * (1 - w + w * payoff)`.

    A cell's payoff is the mean of `payoff[own kind, neighbour kind]` over its occupied
    neighbour sites (0 for a cell with no neighbours); the hazard follows
    `payoff_hazard` (Nowak et al. 2004, doi:10.1038/nature02414). In
    `expected_counts` the population is taken as well mixed: the payoff of kind `k` is
    `sum_j payoff[k, j] * n_j / sum(n)`.

    Args:
      payoff: `(num_kinds, num_kinds)` payoff matrix, row = focal kind, column = partner kind.
      base_rate: division hazard per minute at neutral payoff, scalar or `(num_kinds,)`, >= 0.
      selection: intensity of selection `w` in [0, 1].

    Example:
      >>> import jax.numpy as jnp
      >>> game = PayoffHazard(payoff=jnp.array([[1.0, 0.0], [1.5, 0.2]]), base_rate=0.05,
      ...                     selection=0.5)
    """

    payoff: Any
    base_rate: Any
    selection: Any = 1.0

    def __call__(self, lattice: Lattice, population: Population) -> jax.Array:
        """Hazard per minute for every slot, `(capacity,)` (meaningful for alive cells)."""
        payoff = as_float(self.payoff)
        k = payoff.shape[0]
        occ = population.occupancy
        kinds_at = jnp.where((occ >= 0)[..., None],
                             jax.nn.one_hot(population.kind[jnp.maximum(occ, 0)], k, dtype=payoff.dtype), 0.0)
        # Sites beyond a hard edge hold no cells: count with an empty fixed boundary.
        lat = lattice if lattice.boundary == "wrap" else lattice.replace(boundary="fixed", fill=0.0)
        counts = lat.neighbour_sum(kinds_at)
        cell_counts = counts[tuple(population.position.T)]
        total = jnp.sum(cell_counts, axis=-1)
        mean_payoff = jnp.sum(payoff[population.kind] * cell_counts, axis=-1) / jnp.maximum(total, 1.0)
        base = per_kind(self.base_rate, k)[population.kind]
        return payoff_hazard(mean_payoff, base, self.selection)

    def mean_field(self, counts: jax.Array) -> jax.Array:
        """Hazard per minute of each kind in a well-mixed population with `counts` `(K,)`."""
        payoff = as_float(self.payoff)
        k = payoff.shape[0]
        x = counts / jnp.maximum(jnp.sum(counts), 1e-12)
        return payoff_hazard(payoff @ x, per_kind(self.base_rate, k), self.selection)

    def check(self, num_kinds: int) -> None:
        """Raise a clear error unless the fields fit `num_kinds` kinds (values when concrete)."""
        check_param(self.payoff, "payoff", num_kinds, owner="PayoffHazard", low=-np.inf,
                    shape=(num_kinds, num_kinds))
        check_param(self.base_rate, "base_rate", num_kinds, owner="PayoffHazard")
        check_param(self.selection, "selection", num_kinds, owner="PayoffHazard", high=1.0, shape=())
