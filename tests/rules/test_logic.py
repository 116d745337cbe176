"""Fuzzy-logic constraints: classical on 0/1, known values, counts, losses, gradients, errors."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

from automata import Lattice
from rules import logic
from rules.logic import (
    IMPLICATIONS,
    SEMANTICS,
    AtLeast,
    AtMost,
    Constraint,
    Exactly,
    conjunction,
    count_truth,
    disjunction,
    implication,
)

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


@pytest.mark.parametrize("name", sorted(IMPLICATIONS))
def test_every_implication_is_classical_on_crisp_inputs(name):
    for a, b in itertools.product((0.0, 1.0), repeat=2):
        assert float(implication(a, b, "product", name)) == float((not a) or b)


def test_known_values():
    a, b = 0.7, 0.6
    expect = {
        ("product", "and"): 0.42,
        ("product", "or"): 0.88,
        ("goedel", "and"): 0.6,
        ("goedel", "or"): 0.7,
        ("lukasiewicz", "and"): 0.3,
        ("lukasiewicz", "or"): 1.0,
    }
    for (sem, op), want in expect.items():
        fn = conjunction if op == "and" else disjunction
        assert float(fn(a, b, sem)) == pytest.approx(want, abs=1e-6), (sem, op)
    assert float(implication(a, b, "product")) == pytest.approx(1 - a + a * b)  # Reichenbach
    assert float(implication(a, b, "goedel")) == pytest.approx(0.6)  # residuum: b when a > b
    assert float(implication(0.5, b, "goedel")) == 1.0
    assert float(implication(a, b, "lukasiewicz")) == pytest.approx(0.9)
    assert float(implication(a, b, "product", "goguen")) == pytest.approx(b / a)
    assert float(implication(a, b, "goedel", "kleene_dienes")) == pytest.approx(0.6)
    # Through a Constraint too.
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


# ---------------------------------------------------------------------------- counts
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


def test_nested_count_formula_and_fixed_boundary():
    lat = Lattice((5, 5), boundary="fixed", fill=1.0)
    zeros = jnp.zeros(lat.shape)
    # Every edge site sees some out-of-lattice neighbours, which count as true when fill > 0.
    sat = Constraint("AtLeast(3, p)", semantics="goedel")({"p": zeros}, lattice=lat)
    assert float(sat[0, 0]) == 1.0 and float(sat[2, 2]) == 0.0
    c = Constraint("Implies(gut, AtLeast(1, And(gut, Not(skin))))", semantics="product")
    gut = jnp.zeros(lat.shape).at[2, 2].set(1.0).at[2, 3].set(1.0)
    assert float(c.loss({"gut": gut, "skin": zeros}, lattice=Lattice((5, 5)))) == 0.0


def test_jit_equals_eager_and_mask():
    c = Constraint("Implies(a, b)", semantics="lukasiewicz")
    t = {"a": jnp.array([0.9, 0.1, 0.5]), "b": jnp.array([0.2, 0.3, 0.5])}
    np.testing.assert_allclose(jax.jit(c)(t), c(t))
    assert float(c.loss(t, mask=jnp.array([False, True, True]))) == 0.0
    assert float(c.loss(t, mask=jnp.array([True, False, False]))) == pytest.approx(0.7, abs=1e-6)


# ---------------------------------------------------------------------------- errors
def test_values_outside_unit_interval():
    c = Constraint("Or(a, b)")
    with pytest.raises(ValueError, match=r"Predicate 'a' has 1 value\(s\) outside \[0, 1\] \(e.g. 1.5\)"):
        c({"a": jnp.array([0.2, 1.5]), "b": jnp.array(0.5)})
    with pytest.raises(ValueError, match="Predicate 'b' has 1 value"):
        c({"a": jnp.array(0.2), "b": jnp.array(np.nan)})


def test_unknown_and_missing_predicates():
    with pytest.raises(ValueError, match=r"unknown predicate\(s\) mucsle; known predicates: gut, muscle"):
        Constraint("Implies(gut, Not(mucsle))", predicates=("gut", "muscle"))
    c = Constraint("Implies(gut, Not(muscle))")
    with pytest.raises(ValueError, match="needs truth values for muscle; given: gut, skin"):
        c({"gut": jnp.ones(2), "skin": jnp.ones(2)})


def test_structural_errors():
    with pytest.raises(TypeError, match="is not supported"):
        Constraint("And(a, x > 1)")
    with pytest.raises(TypeError, match="A constraint is a Boolean formula"):
        Constraint("a + b")
    with pytest.raises(ValueError, match="Unknown semantics 'min'"):
        Constraint("a", semantics="min")
    with pytest.raises(ValueError, match="Unknown implication 'material'"):
        Constraint("Implies(a, b)", implication="material")
    with pytest.raises(ValueError, match="needs lattice=automata.Lattice"):
        Constraint("AtLeast(2, a)")({"a": jnp.ones((3, 3))})
    with pytest.raises(ValueError, match=r"needs truth arrays of shape \(4, 4\)"):
        Constraint("AtLeast(2, a)")({"a": jnp.ones((3, 3))}, lattice=Lattice((4, 4)))
    with pytest.raises(ValueError, match="do not broadcast together"):
        Constraint("And(a, b)")({"a": jnp.ones(3), "b": jnp.ones(4)})
    with pytest.raises(TypeError, match="non-negative integer k"):
        AtLeast(-1, sympy.Symbol("a"))
    with pytest.raises(ValueError, match="Unknown reduction"):
        Constraint("a").loss({"a": jnp.ones(2)}, reduction="sum")


def test_count_law_matches_enumeration():
    import itertools

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
