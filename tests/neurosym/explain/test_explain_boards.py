"""neurosym.explain.boards and steps: boards, pairs and outputs read as states; anything as a board step."""

import jax.numpy as jnp
import numpy as np
import pytest

import automata
from neurosym.explain.boards import (
    as_board,
    as_boards,
    as_pairs,
    check_boundary,
    check_lattice,
    fold_key,
    neighbourhood_offsets,
    to_states,
)
from neurosym.explain.steps import board_step


def test_as_pairs_reads_every_form():
    x = np.arange(3 * 16).reshape(3, 4, 4) % 2
    as_list = as_pairs([(x[0], x[1]), (x[1], x[2])], "t", num_states=2)
    as_array = as_pairs(jnp.asarray(x), "t", num_states=2)
    one = as_pairs((x[0], x[1]), "t", num_states=2)
    assert len(as_list) == len(as_array) == 2 and len(one) == 1
    for (a, b), (c, d) in zip(as_list, as_array):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
        assert a.dtype == np.int64


def test_as_board_checks_states():
    assert as_board(np.eye(3, dtype=bool), "t", "here", "board", 2).dtype == np.int64
    np.testing.assert_array_equal(as_board(np.full((2, 2), 2.0), "t", "here", "board", 3), np.full((2, 2), 2))
    with pytest.raises(ValueError, match=r"t: here: board must be binary .* \[0.5\]"):
        as_board(np.full((2, 2), 0.5), "t", "here", "board", 2)
    with pytest.raises(ValueError, match="must hold non-negative integer states"):
        as_board(np.full((2, 2), np.nan), "t", "here", "board", None)
    with pytest.raises(TypeError, match="must hold numbers"):
        as_board(np.full((2, 2), "a"), "t", "here", "board", None)
    with pytest.raises(ValueError, match=r"one \(H, W\) board or a \(B, H, W\) stack"):
        as_boards(np.zeros((1, 2, 3, 4)), "t")


def test_to_states_reads_states_probabilities_and_scores():
    np.testing.assert_array_equal(to_states(np.array([True, False]), 2, (2,), "t", "fn"), [1, 0])
    np.testing.assert_array_equal(to_states(np.array([[0.2], [0.9]]), 2, (2,), "t", "fn"), [0, 1])
    np.testing.assert_array_equal(to_states(np.array([[0.1, 0.5, 0.4]]), 3, (1,), "t", "fn"), [1])
    with pytest.raises(ValueError, match="t: fn returned non-finite values"):
        to_states(np.array([np.nan]), 2, (1,), "t", "fn")
    with pytest.raises(TypeError, match="expected numbers or booleans"):
        to_states(np.array(["a"]), 2, (1,), "t", "fn")


def test_geometry_checks():
    assert neighbourhood_offsets("moore", "t") == automata.Lattice((3, 3)).offsets
    with pytest.raises(ValueError, match="t: neighbourhood must be 'moore'"):
        neighbourhood_offsets("hex", "t")
    assert check_boundary("reflect", "t") == "reflect"
    with pytest.raises(ValueError, match="t: boundary must be one of 'wrap', 'fixed', 'reflect'"):
        check_boundary("torus", "t")
    assert check_lattice(None, "t") is None
    with pytest.raises(TypeError, match="t: lattice must be an automata.Lattice or None"):
        check_lattice((4, 4), "t")
    with pytest.raises(ValueError, match="radius-1 'moore' or 'von_neumann'"):
        check_lattice(automata.Lattice((4, 4, 4)), "t")
    assert fold_key(None, 1, 2) is None


def test_board_step_accepts_every_kind_of_rule():
    x = np.zeros((6, 6), np.int64)
    x[2, 1:4] = 1
    for rule in ("B3/S23", automata.LIFE, lambda b: b.T):
        np.testing.assert_array_equal(board_step(rule, None, "t", "rule")(x, None), x.T)
    with pytest.raises(TypeError, match="t: rule must be an automata.Rule, a B/S string"):
        board_step(3, None, "t", "rule")
