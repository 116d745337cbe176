"""Payoffs as division hazards."""


import jax.numpy as jnp
import numpy as np
import pytest

from automata import Lattice
from rules import games
from rules.games import SpatialGame
from rules.hazard import event_probability, payoff_hazard


def random_strategies(seed, shape, probs):
    """Strategy indices drawn independently per site with the given probabilities."""
    rng = np.random.default_rng(seed)
    return rng.choice(len(probs), size=shape, p=probs).astype(np.int32)


def test_payoff_to_division_is_the_payoff_hazard():
    lat = Lattice((6, 6), neighbourhood="moore", boundary="fixed", fill=-1)
    s = random_strategies(21, lat.shape, [0.5, 0.4, 0.1])
    s = np.where(s == 2, -1, s)
    x = jnp.asarray(s)[..., None]
    game = SpatialGame(games.snowdrift(1.0, 0.6))
    per_game = games.site_payoffs(game, lat, x, average=True)
    total = games.site_payoffs(game, lat, x)
    count = np.asarray(lat.replace(fill=0.0).neighbour_sum(jnp.asarray(s >= 0, jnp.float32)[..., None]))[..., 0] + 1
    np.testing.assert_allclose(per_game, np.where(s >= 0, total / count, 0), rtol=1e-6)
    p = games.payoff_to_division(game, lat, x, base_rate=0.02, selection=0.5, dt=10.0)
    want = event_probability(payoff_hazard(per_game, 0.02, 0.5), 10.0)
    np.testing.assert_allclose(p, np.where(s >= 0, want, 0), rtol=1e-6)
    assert float(p[s < 0].max(initial=0)) == 0


def test_errors():
    lat = Lattice((8, 8))
    x = jnp.zeros((8, 8, 1), jnp.int32)
    pd = games.prisoners_dilemma(1.9)
    with pytest.raises(TypeError, match="game must be a rules.games.SpatialGame"):
        games.site_payoffs(pd, lat, x)
    with pytest.raises(TypeError, match="lattice must be an automata.Lattice"):
        games.site_payoffs(SpatialGame(pd), (8, 8), x)
    with pytest.raises(ValueError, match=r"selection must be a finite number in \[0.0, 1.0\], got -0.2"):
        games.payoff_to_division(SpatialGame(pd), lat, x, base_rate=0.1, selection=-0.2, dt=1.0)
    with pytest.raises(ValueError, match="base_rate must be a finite number >= 0.0, got -0.1"):
        games.payoff_to_division(SpatialGame(pd), lat, x, base_rate=-0.1, selection=0.5, dt=1.0)
    with pytest.raises(ValueError, match="base_rate must be a finite number"):
        games.payoff_to_division(SpatialGame(pd), lat, x, base_rate=jnp.array([0.1, jnp.nan]),
                                 selection=0.5, dt=1.0)
    with pytest.raises(ValueError, match="dt must be a finite number >= 0.0, got inf"):
        games.payoff_to_division(SpatialGame(pd), lat, x, base_rate=0.1, selection=0.5, dt=float("inf"))
