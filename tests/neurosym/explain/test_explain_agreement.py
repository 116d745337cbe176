"""neurosym.explain.agreement: how often an extracted rule reproduces a network (fidelity)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from explain_helpers import random_board

import automata
from neurosym.explain import extract_rule, fidelity

def mlp_life(board):
    """A small ReLU network over (centre, count) that computes Life: a stand-in for a trained NCA.

    The logit is 8 * (0.75 - |s - 3|) with s = n + c / 2, written with two hidden ReLU units.
    """
    b = jnp.asarray(board, jnp.float32)
    n = sum(jnp.roll(b, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - b
    s = n + 0.5 * b
    hidden = jax.nn.relu(jnp.stack([s - 3.0, 3.0 - s], -1))
    logit = 8.0 * (0.75 - hidden @ jnp.array([1.0, 1.0]))
    return jax.nn.sigmoid(logit)


@pytest.mark.slow
def test_extract_rule_from_a_network_and_fidelity():
    t = extract_rule(mlp_life)
    assert t.is_totalistic and t.to_bs() == "B3/S23"
    boards = np.stack([random_board(jax.random.key(60 + i), 0.4, 24) for i in range(2)])
    f = fidelity(t, mlp_life, boards, num_steps=5)
    assert f.overall == 1.0 and float(f) == 1.0
    np.testing.assert_array_equal(f.per_step, np.ones(5))
    np.testing.assert_array_equal(f.rollout_per_step, np.ones(5))
    assert f.num_sites == 2 * 24 * 24
    wrong = fidelity("B36/S23", mlp_life, boards, num_steps=5)
    assert wrong.overall < 1.0 and wrong.per_step.min() < 1.0
    seeds = fidelity("B2/S", automata.LIFE, boards[0], num_steps=3)
    assert seeds.overall < 0.95 and seeds.per_step.shape == (3,)
    # An automata Rule as the reference and a B/S string as the candidate.
    assert fidelity("B3/S23", automata.LIFE, boards, num_steps=3).overall == 1.0


def test_fidelity_errors():
    boards = np.zeros((2, 8, 8), int)
    with pytest.raises(ValueError, match=r"one \(H, W\) board or a \(B, H, W\) stack"):
        fidelity("B3/S23", automata.LIFE, boards[..., None], 2)
    with pytest.raises(ValueError, match=r"the lattice has shape \(9, 9\) but the boards are \(8, 8\)"):
        fidelity("B3/S23", automata.LIFE, boards, 2, lattice=automata.Lattice((9, 9)))
    with pytest.raises(ValueError, match="num_steps must be at least 1"):
        fidelity("B3/S23", automata.LIFE, boards, 0)
