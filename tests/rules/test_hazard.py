"""Hazards: event probabilities, the payoff hazard, PayoffHazard on a lattice."""


import jax.numpy as jnp
import numpy as np

import automata
from rules.hazard import PayoffHazard, event_probability, payoff_hazard
from rules.population import Population


def test_payoff_hazard_counts_neighbours():
    lat = automata.Lattice((6, 6), neighbourhood="von_neumann", boundary="fixed")
    game = PayoffHazard(payoff=jnp.array([[1.0, 3.0], [0.5, 2.0]]), base_rate=0.1, selection=1.0)
    pop = Population.create(lat, [[0, 0], [0, 1], [1, 0], [4, 4]], [0, 1, 0, 1], capacity=8)
    h = game(lat, pop)
    # cell 0: neighbours kinds 1 and 0 -> mean(3, 1) = 2; cell 1: neighbour 0 -> 0.5;
    # cell 2: neighbour 0 -> 1; cell 3: alone -> payoff 0.
    np.testing.assert_allclose(h[:4], 0.1 * np.array([2.0, 0.5, 1.0, 0.0]), rtol=1e-6)
    np.testing.assert_allclose(game.mean_field(jnp.array([1.0, 3.0])), 0.1 * np.array([2.5, 1.625]))


def test_event_probability_and_payoff_hazard_closed_forms():
    np.testing.assert_allclose(event_probability(0.1, 5.0), 1 - np.exp(-0.5), rtol=1e-6)
    # Clipped at zero: a rate cannot be negative.
    assert float(payoff_hazard(-10.0, base_rate=0.1, selection=1.0)) == 0.0
    assert float(payoff_hazard(3.0, base_rate=0.1, selection=0.0)) == np.float32(0.1)
