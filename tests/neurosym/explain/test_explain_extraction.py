"""neurosym.explain.extraction: learned rules enumerated into tables, from functions and from board steps."""

import jax
import numpy as np
import pytest
import sympy
from explain_helpers import life_fn, random_board, step_board

import automata
from automata.multistate import BriansBrain
from neurosym.explain import RuleTable, extract_rule, rule_table, tabulate_rule

def test_rule_table_of_life_is_totalistic():
    t = extract_rule(automata.LIFE)
    assert isinstance(t, RuleTable)
    assert t.is_totalistic is True and t.to_bs() == "B3/S23"
    assert t.table.tolist() == [[0, 0, 0, 1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0, 0]]
    assert t.full.shape == (2,) * 9
    u = tabulate_rule(life_fn)
    np.testing.assert_array_equal(t.full, u.full)
    # Probabilities and logits give the same table as states.
    prob = tabulate_rule(lambda c, nb: 0.1 + 0.8 * life_fn(c, nb))
    logits = tabulate_rule(lambda c, nb: np.stack([np.zeros(len(c)), 4.0 * life_fn(c, nb) - 2.0], -1))
    np.testing.assert_array_equal(prob.full, t.full)
    np.testing.assert_array_equal(logits.full, t.full)
    # A table is a rule: calling it and applying it agree with the engine.
    x = random_board(jax.random.key(0), 0.4, 32)
    np.testing.assert_array_equal(t.apply(x), step_board(automata.LIFE, x))
    np.testing.assert_array_equal(tabulate_rule(t).full, t.full)


def test_representatives_when_too_many_configurations():
    t = tabulate_rule(life_fn, max_configurations=100)
    assert t.is_totalistic is None and t.full is None and t.to_bs() == "B3/S23"
    with pytest.raises(ValueError, match="full table was not enumerated"):
        t.to_sympy("full")
    with pytest.raises(ValueError, match="more than max_configurations=100. Pass totalistic=True"):
        tabulate_rule(life_fn, max_configurations=100, totalistic=False)


def test_von_neumann_table_and_lattice():
    def fn(c, nb):
        return (nb.sum(-1) == 1) | ((c == 1) & (nb.sum(-1) == 2))

    t = tabulate_rule(fn, neighbourhood="von_neumann")
    assert t.num_neighbours == 4 and t.to_bs() == "B1/S12"
    assert t.symbols("full")[1:] == sympy.symbols("north west east south")
    lat = automata.Lattice((8, 8), neighbourhood="von_neumann")
    assert extract_rule(automata.LifeLike("B1/S12"), lattice=lat).to_bs() == "B1/S12"


def test_rule_table_and_extract_errors():
    with pytest.raises(TypeError, match="use extract_rule"):
        tabulate_rule(automata.LIFE)
    with pytest.raises(ValueError, match="num_states must be at least 2"):
        tabulate_rule(life_fn, num_states=1)
    with pytest.raises(ValueError, match=r"gave the state\(s\) \[3\] outside 0..1"):
        tabulate_rule(lambda c, nb: np.full(len(c), 3))
    with pytest.raises(ValueError, match=r"returned shape \(5,\); expected next states of shape \(512,\)"):
        tabulate_rule(lambda c, nb: np.zeros(5))
    with pytest.raises(ValueError, match="scores for 3 states"):
        tabulate_rule(lambda c, nb: np.zeros((len(c), 3)))
    with pytest.raises(ValueError, match="produced the state 2 but num_states=2"):
        extract_rule(BriansBrain(), lattice=automata.Lattice((4, 4)))
    with pytest.raises(ValueError, match="neighbourhood='von_neumann' but the lattice has 'moore'"):
        extract_rule(automata.LIFE, neighbourhood="von_neumann", lattice=automata.Lattice((4, 4)))
    with pytest.raises(ValueError, match="radius-1 'moore' or 'von_neumann'"):
        extract_rule(automata.LIFE, lattice=automata.Lattice((4, 4), radius=2))
    with pytest.raises(TypeError, match="must be an automata.Rule, a B/S string"):
        extract_rule(42)
    t = tabulate_rule(life_fn)
    with pytest.raises(ValueError, match=r"neighbours must have shape \(3, 8\)"):
        t(np.zeros(3, int), np.zeros((3, 4), int))
    with pytest.raises(ValueError, match="board must be binary"):
        t.apply(np.full((4, 4), 2))
    with pytest.raises(ValueError, match="form must be 'auto', 'totalistic' or 'full'"):
        t.to_sympy("dnf")


def test_rule_table_is_the_earlier_name_of_tabulate_rule():
    assert rule_table is tabulate_rule
    with pytest.raises(TypeError, match="tabulate_rule: fn must be a function"):
        rule_table("B3/S23")


def test_extract_rule_with_margin_and_a_stochastic_rule():
    def step_beyond_radius_one(board):  # sees two sites north: empty margins hide it
        return np.roll(board, 2, axis=0) | board

    assert extract_rule(step_beyond_radius_one, margin=2).to_bs() == "B/S012345678"
    noisy = automata.Stochastic(automata.LIFE, fire_rate=1.0)
    assert extract_rule(noisy, key=jax.random.key(0)).to_bs() == "B3/S23"
