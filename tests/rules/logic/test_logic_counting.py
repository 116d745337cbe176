"""Neighbour counts: exact on crisp boards, the documented soft degrees, the count law."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

from automata import Lattice
from rules import logic
from rules.logic import SEMANTICS, AtLeast, AtMost, Constraint, Exactly, count_truth
from rules.logic.counting import neighbour_values


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_counts_on_crisp_boards_are_exact(semantics):
    lat = Lattice((9, 11))
    board = jax.random.bernoulli(jax.random.key(1), 0.4, lat.shape).astype(jnp.float32)
    n = np.asarray(lat.neighbour_sum(board))
    p = sympy.Symbol("p")
    for k in (0, 3, 9):
        for cls, want in ((AtLeast, n >= k), (AtMost, n <= k), (Exactly, n == k)):
            got = Constraint(cls(k, p), semantics=semantics)({"p": board}, lattice=lat)
            np.testing.assert_allclose(np.asarray(got), want.astype(np.float32), atol=1e-6, err_msg=f"{cls} {k}")


def test_soft_counts_have_documented_values():
    rng = np.random.default_rng(0)
    v = rng.uniform(size=(5, 4)).astype(np.float32)
    # product: the Poisson-binomial law, checked by enumerating all 2^4 outcomes.
    probs = np.zeros((5, 5))
    for bits in itertools.product((0, 1), repeat=4):
        b = np.array(bits)
        probs[:, b.sum()] += np.prod(np.where(b, v, 1 - v), axis=1)
    for k in range(5):
        np.testing.assert_allclose(count_truth("AtLeast", k, v, "product"), probs[:, k:].sum(1), rtol=1e-5)
        np.testing.assert_allclose(count_truth("Exactly", k, v, "product"), probs[:, k], atol=1e-6)
        np.testing.assert_allclose(count_truth("AtMost", k, v, "product"), probs[:, : k + 1].sum(1), rtol=1e-5)
    # goedel: the k-th largest value.
    np.testing.assert_allclose(count_truth("AtLeast", 2, v, "goedel"), np.sort(v, 1)[:, -2])
    # lukasiewicz: clip(sum - k + 1, 0, 1).
    np.testing.assert_allclose(count_truth("AtLeast", 2, v, "lukasiewicz"), np.clip(v.sum(1) - 1, 0, 1), rtol=1e-6)
    assert float(count_truth("AtLeast", 5, v[0], "goedel")) == 0.0


def test_count_law_matches_enumeration():
    p = np.array([[0.1, 0.7, 0.4, 0.9], [0.5, 0.0, 1.0, 0.3]])
    exact = np.zeros((2, 5))
    for bits in itertools.product((0, 1), repeat=4):
        weight = np.prod(np.where(np.array(bits) == 1, p, 1 - p), axis=-1)
        exact[:, sum(bits)] += weight
    np.testing.assert_allclose(logic.count_law(p), exact, atol=1e-6)
    lumped = logic.count_law(p, cap=2)
    np.testing.assert_allclose(lumped, np.concatenate([exact[:, :2], exact[:, 2:].sum(-1, keepdims=True)], -1), atol=1e-6)
    # a cap above the number of values leaves the impossible counts at 0
    np.testing.assert_allclose(logic.count_law(p, cap=6)[:, 5:], 0.0, atol=1e-7)
    with pytest.raises(ValueError, match="cap must be at least 1"):
        logic.count_law(p, cap=0)


def test_count_errors():
    with pytest.raises(TypeError, match="AtLeast: k must be a non-negative integer"):
        AtLeast(-1, sympy.Symbol("a"))
    with pytest.raises(TypeError, match="AtMost: p must be a Boolean"):
        AtMost(1, sympy.Symbol("a") + 1)
    with pytest.raises(ValueError, match="count_truth: kind must be one of"):
        count_truth("Most", 1, jnp.ones(3))
    with pytest.raises(ValueError, match="count_truth: k must be at least 0"):
        count_truth("AtLeast", -1, jnp.ones(3))


def test_fixed_edge_neighbours_follow_fill():
    lat = Lattice((3,), neighbourhood=((-1,), (1,)), boundary="fixed", fill=0.5)
    nb = neighbour_values(lat, jnp.zeros(3))
    np.testing.assert_array_equal(np.asarray(nb), [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
