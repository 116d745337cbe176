"""Constraint: classical on 0/1, losses, gradients, counts on lattices and graphs, errors."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

from automata import Lattice
from rules.logic import SEMANTICS, AtLeast, Constraint

FORMULAS = [
    "And(a, b)",
    "Or(a, b, c)",
    "Not(a)",
    "Implies(a, b)",
    "Xor(a, b, c)",
    "Equivalent(a, b)",
    "ITE(a, b, c)",
    "Nand(a, b)",
    "Nor(a, c)",
    "Implies(And(a, Not(b)), Or(c, Xor(a, b)))",
    "a & ~(b | c) >> Equivalent(c, a)",
]


@pytest.mark.parametrize("semantics", SEMANTICS)
@pytest.mark.parametrize("text", FORMULAS)
def test_crisp_inputs_give_classical_truth_tables(semantics, text):
    c = Constraint(text, semantics=semantics)
    rows = np.array(list(itertools.product((0.0, 1.0), repeat=3)), np.float32).T
    got = np.asarray(c({"a": rows[0], "b": rows[1], "c": rows[2]}))
    syms = {s.name: s for s in c.expr.free_symbols}
    for i in range(rows.shape[1]):
        env = {syms[n]: bool(rows[k, i]) for k, n in enumerate("abc") if n in syms}
        want = bool(c.expr.xreplace({s: sympy.true if v else sympy.false for s, v in env.items()}))
        assert got[i] == float(want), (text, semantics, rows[:, i])


def test_known_value_through_a_constraint():
    c = Constraint("And(p, q)", semantics="lukasiewicz")
    assert float(c({"p": jnp.array(0.7), "q": jnp.array(0.6)})) == pytest.approx(0.3, abs=1e-6)


def test_constraints_satisfied_by_construction_have_zero_loss():
    key = jax.random.key(0)
    p = jax.random.uniform(key, (50,))
    u = jax.random.uniform(jax.random.fold_in(key, 1), (50,))
    # Excluded middle holds for every degree under Lukasiewicz.
    assert float(Constraint("Or(p, Not(p))", semantics="lukasiewicz").loss({"p": p})) == 0.0
    # b >= a makes the residual implications exactly 1.
    q = p + (1 - p) * u
    for sem in ("goedel", "lukasiewicz"):
        c = Constraint("Implies(p, q)", semantics=sem)
        assert float(c.loss({"p": p, "q": q})) == pytest.approx(0.0, abs=1e-6)
        assert float(c.loss({"p": p, "q": q}, reduction="log")) == pytest.approx(0.0, abs=1e-5)
    # One-hot kinds never overlap, under every semantics.
    kinds = jax.nn.one_hot(jax.random.randint(key, (40,), 0, 3), 3)
    truth = {f"k{i}": kinds[:, i] for i in range(3)}
    for sem in SEMANTICS:
        c = Constraint("Not(And(k0, k1)) & Or(k0, k1, k2)", semantics=sem)
        assert float(c.loss(truth)) == 0.0
    # A violated constraint has a positive loss.
    assert float(Constraint("Implies(p, q)").loss({"p": jnp.array(1.0), "q": jnp.array(0.2)})) == pytest.approx(0.8)


@pytest.mark.parametrize("semantics", SEMANTICS)
def test_gradients_match_finite_differences(semantics):
    c = Constraint("Implies(And(a, b), Or(c, Not(a)))", semantics=semantics)
    truth = {"a": jnp.array([0.8, 0.35]), "b": jnp.array([0.9, 0.55]), "c": jnp.array([0.15, 0.2])}
    loss = jax.jit(lambda t: c.loss(t, reduction="log"))
    g = jax.jit(jax.grad(loss))(truth)
    eps = 1e-3
    for name in truth:
        for i in range(2):
            up = {**truth, name: truth[name].at[i].add(eps)}
            down = {**truth, name: truth[name].at[i].add(-eps)}
            fd = float(loss(up) - loss(down)) / (2 * eps)
            assert float(g[name][i]) == pytest.approx(fd, rel=2e-2, abs=2e-3), (name, i)
    assert any(float(jnp.abs(v).sum()) > 0 for v in g.values())


def test_nested_count_formula_and_fixed_boundary():
    lat = Lattice((5, 5), boundary="fixed", fill=1.0)
    zeros = jnp.zeros(lat.shape)
    # Every edge site sees some out-of-lattice neighbours, which count as true when fill > 0.
    sat = Constraint("AtLeast(3, p)", semantics="goedel")({"p": zeros}, lattice=lat)
    assert float(sat[0, 0]) == 1.0 and float(sat[2, 2]) == 0.0
    c = Constraint("Implies(gut, AtLeast(1, And(gut, Not(skin))))", semantics="product")
    gut = jnp.zeros(lat.shape).at[2, 2].set(1.0).at[2, 3].set(1.0)
    assert float(c.loss({"gut": gut, "skin": zeros}, lattice=Lattice((5, 5)))) == 0.0


def test_counts_in_a_contact_graph():
    # A path 0 - 1 - 2; cells 0 and 2 have one padded slot, which counts as false.
    neighbours = jnp.array([[1, -1], [0, 2], [1, -1]])
    p = jnp.array([1.0, 0.0, 1.0])
    sat = Constraint(AtLeast(2, sympy.Symbol("p")), semantics="goedel")({"p": p}, neighbours=neighbours)
    np.testing.assert_array_equal(np.asarray(sat), [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="neighbours must have one row per cell"):
        Constraint("AtLeast(1, p)")({"p": p}, neighbours=neighbours[:2])
    with pytest.raises(ValueError, match=r"neighbours must be an \(num_cells, m\) integer array"):
        Constraint("AtLeast(1, p)")({"p": p}, neighbours=jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="lattice and neighbours must not both be given"):
        Constraint("AtLeast(1, p)")({"p": p}, neighbours=neighbours, lattice=Lattice((3,)))


def test_jit_equals_eager_and_mask():
    c = Constraint("Implies(a, b)", semantics="lukasiewicz")
    t = {"a": jnp.array([0.9, 0.1, 0.5]), "b": jnp.array([0.2, 0.3, 0.5])}
    np.testing.assert_allclose(jax.jit(c)(t), c(t))
    assert float(c.loss(t, mask=jnp.array([False, True, True]))) == 0.0
    assert float(c.loss(t, mask=jnp.array([True, False, False]))) == pytest.approx(0.7, abs=1e-6)
    with pytest.raises(ValueError, match="mask must have the satisfaction's shape"):
        c.loss(t, mask=jnp.ones(4))


def test_values_outside_unit_interval():
    c = Constraint("Or(a, b)")
    with pytest.raises(ValueError, match=r"truth\['a'\] must lie in \[0, 1\], got 1 value\(s\) outside \(e.g. 1.5\)"):
        c({"a": jnp.array([0.2, 1.5]), "b": jnp.array(0.5)})
    with pytest.raises(ValueError, match=r"truth\['b'\] must lie in"):
        c({"a": jnp.array(0.2), "b": jnp.array(np.nan)})
    with pytest.raises(TypeError, match=r"truth\['a'\] must be an array of truth values"):
        c({"a": "yes", "b": jnp.array(0.5)})
    with pytest.raises(TypeError, match="truth must be a dict"):
        c([0.5, 0.5])


def test_unknown_and_missing_predicates():
    with pytest.raises(ValueError, match="predicates must cover every symbol .*: unknown mucsle; known: gut, muscle"):
        Constraint("Implies(gut, Not(mucsle))", predicates=("gut", "muscle"))
    c = Constraint("Implies(gut, Not(muscle))")
    with pytest.raises(ValueError, match="truth must give values for muscle; given: gut, skin"):
        c({"gut": jnp.ones(2), "skin": jnp.ones(2)})


def test_structural_errors():
    with pytest.raises(TypeError, match="is not supported"):
        Constraint("And(a, x > 1)")
    with pytest.raises(TypeError, match="expr must be a Boolean formula"):
        Constraint("a + b")
    with pytest.raises(ValueError, match="Constraint: semantics must be one of .*got 'min'"):
        Constraint("a", semantics="min")
    with pytest.raises(ValueError, match="Constraint: implication must be one of .*got 'material'"):
        Constraint("Implies(a, b)", implication="material")
    with pytest.raises(ValueError, match="needs lattice=automata.Lattice"):
        Constraint("AtLeast(2, a)")({"a": jnp.ones((3, 3))})
    with pytest.raises(ValueError, match=r"must have the lattice's shape \(4, 4\)"):
        Constraint("AtLeast(2, a)")({"a": jnp.ones((3, 3))}, lattice=Lattice((4, 4)))
    with pytest.raises(ValueError, match="truth arrays must broadcast together"):
        Constraint("And(a, b)")({"a": jnp.ones(3), "b": jnp.ones(4)})
    with pytest.raises(ValueError, match="reduction must be one of"):
        Constraint("a").loss({"a": jnp.ones(2)}, reduction="sum")
