"""Event hazards: from rates and game payoffs to the probability of an event in a time step."""

from __future__ import annotations

import jax
import jax.numpy as jnp


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
