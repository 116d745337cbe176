import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from jax.test_util import check_grads

import automata
from neurosym.constraints import (
    kind_probabilities,
    life_like_expectation,
    lineage_loss,
    logic_loss,
    neighbour_index,
    prior_loss,
    reachability,
    rule_table,
    temporal_loss,
)
from rules import DifferentiationTable, GeneExpressionPrior
from rules.logic import Constraint

KINDS = ("stem", "gut", "skin")


def _logits(kinds, n=None, sharp=20.0):
    return sharp * (jax.nn.one_hot(jnp.asarray(kinds), len(KINDS)) - 0.5)


def test_logic_loss_is_zero_when_satisfied_and_positive_when_not():
    c = Constraint("Implies(gut, Not(skin))")
    assert float(logic_loss(c, _logits([0, 1, 2]), KINDS)) < 1e-6
    c2 = Constraint("Not(skin)")
    assert float(logic_loss(c2, _logits([0, 2]), KINDS)) > 0.4


def test_logic_loss_on_a_contact_graph_equals_the_lattice():
    lat = automata.Lattice((4, 5), neighbourhood="von_neumann", boundary="wrap")
    graph = nx.grid_2d_graph(4, 5, periodic=True)
    nodes = [(i, j) for i in range(4) for j in range(5)]
    nbrs = neighbour_index(graph, nodes)
    logits = jax.random.normal(jax.random.key(0), (4, 5, 3))
    c = Constraint("Implies(gut, AtLeast(2, gut))")
    on_lattice = logic_loss(c, logits, KINDS, lattice=lat)
    on_graph = logic_loss(c, logits.reshape(20, 3), KINDS, neighbours=nbrs)
    np.testing.assert_allclose(on_graph, on_lattice, rtol=1e-5)


def test_neighbour_index_pads():
    g = nx.star_graph(3)
    idx = neighbour_index(g, [0, 1, 2, 3])
    assert idx.tolist() == [[1, 2, 3], [0, -1, -1], [0, -1, -1], [0, -1, -1]]
    with pytest.raises(ValueError, match="not in the contact graph"):
        neighbour_index(g, [0, 9])


def test_logic_loss_gradient_matches_finite_differences():
    c = Constraint("Or(And(gut, Not(stem)), skin)", semantics="product")
    logits = jax.random.normal(jax.random.key(1), (6, 3), dtype=jnp.float32)
    check_grads(lambda l: logic_loss(c, l, KINDS), (logits,), order=1, modes=("rev",), atol=2e-2, rtol=2e-2)


def test_reachability_and_lineage_loss():
    table = DifferentiationTable(((0, 1), (1, 1), (2, 2)), names=KINDS)
    r = reachability(table)
    assert r.tolist() == [[True, True, False], [False, True, False], [False, False, True]]
    chain = DifferentiationTable(((1, 1), (2, 2), (2, 2)))
    assert reachability(chain, closure=True)[0].tolist() == [True, True, True]
    assert reachability(chain)[0].tolist() == [False, True, False]
    # stem -> gut daughter is allowed; gut -> stem is not
    parents = jnp.array([-1, 0, 1])
    ok = lineage_loss(_logits([0, 1, 1]), parents, table)
    bad = lineage_loss(_logits([0, 1, 0]), parents, table)
    assert float(ok) < 1e-5 and float(bad) > 5.0
    logits = jax.random.normal(jax.random.key(2), (3, 3))
    check_grads(lambda l: lineage_loss(l, parents, table), (logits,), order=1, modes=("rev",), atol=2e-2, rtol=2e-2)
    with pytest.raises(ValueError, match="one row per kind"):
        lineage_loss(logits[:, :2], parents, table)
    with pytest.raises(ValueError, match="one parent row per cell"):
        lineage_loss(logits, parents[:2], table)


def test_life_like_expectation_equals_crisp_life_on_boards():
    lat = automata.Lattice((16, 16))
    board = jax.random.bernoulli(jax.random.key(0), 0.4, (16, 16))
    crisp = automata.step(automata.LIFE, lat, automata.LatticeState(x=board[..., None].astype(jnp.uint8)), key=jax.random.key(0))
    soft = life_like_expectation(rule_table("B3/S23"), lat, board.astype(jnp.float32))
    np.testing.assert_array_equal(np.asarray(soft) > 0.5, np.asarray(crisp.x[..., 0]).astype(bool))
    np.testing.assert_allclose(np.minimum(soft, 1 - soft), 0, atol=1e-6)


def test_life_like_expectation_matches_monte_carlo():
    lat = automata.Lattice((6, 6))
    p = jax.random.uniform(jax.random.key(3), (6, 6))
    table = jnp.asarray(rule_table("B36/S23"))
    exact = life_like_expectation(table, lat, p)
    keys = jax.random.split(jax.random.key(4), 4000)
    samples = jax.vmap(lambda k: jax.random.bernoulli(k, p).astype(jnp.float32))(keys)
    mc = jax.vmap(lambda b: life_like_expectation(table, lat, b))(samples).mean(0)
    # 4000 samples: standard error <= 0.008
    np.testing.assert_allclose(exact, mc, atol=0.035)


@pytest.mark.slow
def test_temporal_loss_zero_on_a_rollout_and_gradients():
    lat = automata.Lattice((12, 12))
    board = jax.random.bernoulli(jax.random.key(5), 0.35, (12, 12))
    _, traj = automata.rollout(automata.LIFE, lat, automata.LatticeState(x=board[..., None].astype(jnp.uint8)), key=jax.random.key(0), num_steps=4)
    probs = jnp.concatenate([board[None], traj.x[..., 0].astype(bool)]).astype(jnp.float32)
    table = jnp.asarray(rule_table("B3/S23"))
    step = lambda p: life_like_expectation(table, lat, p)
    assert float(temporal_loss(step, probs)) < 1e-4
    assert float(temporal_loss(lambda p: life_like_expectation(rule_table("B36/S23"), lat, p), probs)) >= 0
    wrong = jnp.asarray(rule_table("B2/S23"))
    assert float(temporal_loss(lambda p: life_like_expectation(wrong, lat, p), probs)) > 0.1
    soft = jax.random.uniform(jax.random.key(6), (3, 6, 6), minval=0.1, maxval=0.9)
    small = automata.Lattice((6, 6))
    logits = jax.random.normal(jax.random.key(7), (2, 9))
    check_grads(
        lambda l, s: temporal_loss(lambda p: life_like_expectation(jax.nn.sigmoid(l), small, p), s),
        (logits, soft), order=1, modes=("rev",), atol=3e-2, rtol=3e-2,
    )
    with pytest.raises(ValueError, match="at least two time points"):
        temporal_loss(step, probs[:1])


def test_prior_loss_checks_the_alphabet():
    prior = GeneExpressionPrior.from_table(
        {"stem": {"g1": 1.0, "g2": 0.0}, "gut": {"g1": 0.0, "g2": 1.0}, "skin": {"g1": 0.5, "g2": 0.5}},
    )
    expr = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    logits = jax.random.normal(jax.random.key(0), (2, 3))
    assert float(prior_loss(prior, logits, expr, prior.kinds)) >= 0
    np.testing.assert_allclose(prior_loss(prior, logits, expr, prior.kinds, target="posterior"),
                               prior.loss(logits, expr, target="posterior"), rtol=1e-6)
    with pytest.raises(ValueError, match="the alphabet is"):
        prior_loss(prior, logits, expr, ("a", "b", "c"))


def test_alphabet_mismatch_is_named():
    with pytest.raises(ValueError, match="the encoder head and the alphabet must match"):
        kind_probabilities(jnp.zeros((4, 2)), KINDS)
    with pytest.raises(ValueError, match="not kinds of the alphabet"):
        logic_loss(Constraint("Implies(neuron, gut)"), jnp.zeros((4, 3)), KINDS)
    with pytest.raises(TypeError, match="rules.logic.Constraint"):
        logic_loss("Implies(gut, stem)", jnp.zeros((4, 3)), KINDS)
