"""Payoff matrix -> CPM contact energies: sign convention, symmetry, medium, Potts compatibility."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automata.potts_energy import PottsParams, check_params
from rules import games
from rules.tissue import payoff_to_contact


def test_properties_on_classic_games():
    for payoff in (games.prisoners_dilemma(1.9), games.snowdrift(1.0, 0.6), games.hawk_dove(2.0, 3.0),
                   jnp.array([[3.0, 1.0, 0.0], [2.0, 2.0, 1.0], [0.5, 0.0, 4.0]])):
        j = np.asarray(payoff_to_contact(payoff, scale=2.0))
        n = payoff.shape[0]
        assert j.shape == (n + 1, n + 1)
        np.testing.assert_allclose(j, j.T)
        sym = (np.asarray(payoff) + np.asarray(payoff).T) / 2
        cells = j[1:, 1:]
        # Higher payoff, lower J: J is a decreasing affine map of the symmetrised payoff.
        np.testing.assert_allclose(cells, 2.0 * (sym.max() - sym), atol=1e-6)
        assert cells.min() == 0.0 and j[0, 0] == 0.0
        np.testing.assert_allclose(j[0, 1:], cells.max())
        check_params(PottsParams(contact=jnp.asarray(j), lambda_volume=1.0, target_volume=20.0), owner="t")


def test_explicit_offset_and_medium():
    p = games.stag_hunt(4.0, 3.0, 1.0)   # [[4, 1], [3, 3]] -> symmetrised [[4, 2], [2, 3]]
    j = payoff_to_contact(p, scale=0.5, offset=10.0, medium=jnp.array([7.0, 9.0]))
    np.testing.assert_allclose(j, [[0, 7, 9], [7, 8, 9], [9, 9, 8.5]])
    j = payoff_to_contact(p, offset=0.0, medium=3.0)
    np.testing.assert_allclose(j, [[0, 3, 3], [3, -4, -2], [3, -2, -3]])


def test_differentiable_in_the_payoff_and_jittable():
    f = lambda b: payoff_to_contact(games.prisoners_dilemma(b), offset=5.0, medium=6.0)[1, 2]
    # J[1, 2] = 5 - (0 + b) / 2.
    assert abs(float(jax.grad(f)(1.9)) + 0.5) < 1e-6
    p = games.snowdrift(1.0, 0.6)
    np.testing.assert_allclose(jax.jit(payoff_to_contact)(p), payoff_to_contact(p), atol=1e-6)


def test_errors():
    p = games.prisoners_dilemma(1.9)
    with pytest.raises(ValueError, match="payoff_to_contact: scale must be a finite number > 0"):
        payoff_to_contact(p, scale=0.0)
    with pytest.raises(ValueError, match="medium must be a scalar or have one entry per strategy"):
        payoff_to_contact(p, medium=jnp.ones(3))
    with pytest.raises(ValueError, match="medium must hold finite numbers"):
        payoff_to_contact(p, medium=jnp.array([1.0, jnp.nan]))
    with pytest.raises(ValueError, match="payoff_to_contact: payoff must be a square"):
        payoff_to_contact(jnp.ones((2, 3)))
