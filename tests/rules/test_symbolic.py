"""Symbolic rules: crisp mode equals sympy and Life, soft mode tends to crisp and has gradients."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

import automata
from automata import Lattice, LatticeState
from automata.lifelike import LifeLike
from rules.logic import AtLeast
from rules.symbolic import SymbolicExpression, SymbolicRule, evaluate

LIFE = "Or(Eq(n, 3), And(alive, Eq(n, 2)))"


def board(seed, shape, p=0.35, dtype=jnp.uint8):
    return jax.random.bernoulli(jax.random.key(seed), p, shape + (1,)).astype(dtype)


# ---------------------------------------------------------------------------- Life, crisp
@pytest.mark.parametrize(
    "lattice",
    [
        Lattice((40, 40)),
        Lattice((24, 64), boundary="fixed"),
    ],
    ids=["wrap", "fixed"],
)
def test_life_matches_lifelike_exactly(lattice):
    rule = SymbolicRule(LIFE)
    reference = LifeLike("B3/S23")
    for seed in range(3):
        state = LatticeState(x=board(seed, lattice.shape))
        _, ours = automata.rollout(rule, lattice, state, num_steps=40)
        _, theirs = automata.rollout(reference, lattice, state, num_steps=40)
        np.testing.assert_array_equal(np.asarray(ours.x), np.asarray(theirs.x))


def test_life_from_sympy_objects_and_blinker():
    n, alive = sympy.symbols("n alive")
    rule = SymbolicRule(sympy.Or(sympy.Eq(n, 3), sympy.And(alive, sympy.Eq(n, 2))))
    lat = Lattice((8, 8))
    x = jnp.zeros((8, 8, 1), jnp.float32).at[3, 2:5, 0].set(1)
    s1 = automata.step(rule, lat, LatticeState(x=x))
    np.testing.assert_array_equal(np.asarray(s1.x[2:5, 3, 0]), [1, 1, 1])
    s2 = automata.step(rule, lat, s1)
    np.testing.assert_array_equal(np.asarray(s2.x), np.asarray(x))


def test_life_soft_low_temperature_matches_on_binary_boards():
    lat = Lattice((48, 48))
    soft = SymbolicRule(LIFE, mode="soft", temperature=0.05)
    crisp = LifeLike("B3/S23")
    x = board(7, lat.shape, dtype=jnp.float32)
    _, traj_soft = automata.rollout(soft, lat, LatticeState(x=x), num_steps=30)
    _, traj_crisp = automata.rollout(crisp, lat, LatticeState(x=x), num_steps=30)
    # One step from a binary board: every site within 1e-3 of the crisp value.
    assert float(jnp.max(jnp.abs(traj_soft.x[0] - traj_crisp.x[0]))) < 1e-3
    assert float(jnp.max(jnp.abs(traj_soft.x - traj_crisp.x))) < 1e-2
    np.testing.assert_array_equal(np.asarray(jnp.round(traj_soft.x)), np.asarray(traj_crisp.x))


def test_soft_rollout_gradient_matches_finite_differences():
    lat = Lattice((12, 12))
    rule = SymbolicRule(
        "Or(And(n > theta, n < 3.5), And(alive, Eq(n, 2)))",
        params={"theta": 2.4},
        mode="soft",
        temperature=0.5,
    )
    x = jax.random.uniform(jax.random.key(3), (12, 12, 1))
    target = board(4, lat.shape, dtype=jnp.float32)

    # The whole rule is a pytree: jax.grad gives the parameter gradient in the same structure.
    def loss(rule):
        final, _ = automata.rollout(rule, lat, LatticeState(x=x), num_steps=3, record=False)
        return jnp.mean((final.x - target) ** 2)

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    _, grads = value_and_grad(rule)
    assert set(grads.params) == {"theta"}
    g = float(grads.params["theta"])
    eps = 1e-2
    up, down = (rule.replace(params={"theta": jnp.asarray(2.4 + s * eps, jnp.float32)}) for s in (1, -1))
    fd = float(value_and_grad(up)[0] - value_and_grad(down)[0]) / (2 * eps)
    assert abs(g) > 1e-4
    assert g == pytest.approx(fd, rel=2e-2, abs=1e-5)


# ---------------------------------------------------------------------------- crisp == sympy
CRISP_CASES = [
    "a * b - 3 * c + 2",
    "a / (b ** 2 + 1) + sqrt(Abs(c))",
    "exp(-a ** 2) * tanh(b) + log(1 + c ** 2)",
    "sin(a) + cos(b) - atan(c) + sinh(a / 4) + cosh(b / 4) + erf(c)",
    "Max(a, b, c) - Min(a, b) + floor(c) + ceiling(a) + Mod(b, 3)",
    "Piecewise((a, b > c), (b - 1, a < 0), (c ** 3, True))",
    "Piecewise((a + b, b >= 0), (2, True)) + Heaviside(c) + sign(a)",
    "theta * a + Abs(a - b) ** Rational(3, 2)",
    "(a + 1) ** -2 + 1 / sqrt(b ** 2 + 1)",
]
LOGIC_CASES = [
    "And(i > 0, j <= 2)",
    "Or(Eq(i, j), Ne(i, 1), Not(j < i))",
    "Xor(i > 0, j > 0, Eq(i + j, 2))",
    "Implies(i >= 1, Eq(j, 2))",
    "Equivalent(i > 0, j > 0)",
    "ITE(i > 1, j > 0, Eq(j, 0))",
    "Nand(i > 0, j > 0) & ~Nor(Eq(i, 2), Eq(j, 1))",
]


@pytest.mark.parametrize("text", CRISP_CASES)
def test_crisp_arithmetic_equals_sympy(text):
    f = SymbolicExpression(text, inputs=("a", "b", "c"), params={"theta": 0.7})
    rng = np.random.default_rng(0)
    vals = rng.uniform(-2, 2, (3, 25)).round(3)
    vals[:, :3] = [[0.0, 1.0, -1.0], [0.0, 1.0, 2.0], [0.0, -1.0, 0.0]]
    got = np.asarray(f({"a": vals[0], "b": vals[1], "c": vals[2]}))
    expr = f.to_sympy()
    syms = {s.name: s for s in expr.free_symbols}
    for i in range(vals.shape[1]):
        sub = {syms[k]: sympy.Float(v) for k, v in zip("abc", vals[:, i]) if k in syms}
        want = complex(expr.xreplace(sub).evalf())
        if want.imag != 0 or not np.isfinite(want.real):
            continue
        assert got[i] == pytest.approx(want.real, rel=1e-4, abs=1e-4), (text, vals[:, i])


@pytest.mark.parametrize("text", LOGIC_CASES)
def test_crisp_logic_equals_sympy(text):
    f = SymbolicExpression(text, inputs=("i", "j"), integer_inputs=("i", "j"))
    grid = np.array(list(itertools.product(range(-1, 4), repeat=2))).T
    got = np.asarray(f({"i": grid[0], "j": grid[1]}))
    assert got.dtype == np.bool_
    i, j = sympy.symbols("i j")
    for k in range(grid.shape[1]):
        want = bool(f.expr.xreplace({i: sympy.Integer(grid[0, k]), j: sympy.Integer(grid[1, k])}))
        assert got[k] == want, (text, grid[:, k])


@pytest.mark.parametrize("text", LOGIC_CASES + ["Piecewise((i + j, i > j), (i - j, Eq(i, 0)), (3, True))"])
def test_soft_tends_to_crisp_on_integers(text):
    crisp = SymbolicExpression(text, inputs=("i", "j"), integer_inputs=("i", "j"))
    soft = crisp.replace(mode="soft", temperature=0.02)
    grid = np.array(list(itertools.product(range(-1, 4), repeat=2)), np.float32).T
    inputs = {"i": grid[0], "j": grid[1]}
    np.testing.assert_allclose(
        np.asarray(soft(inputs)), np.asarray(crisp(inputs)).astype(np.float32), atol=1e-5
    )


def test_soft_strict_and_non_strict_comparisons_at_ties():
    n = jnp.arange(6.0)
    gt = SymbolicExpression("n > 2", inputs=("n",), integer_inputs=("n",), mode="soft", temperature=0.05)
    ge = gt.replace(expr="n >= 3")
    np.testing.assert_allclose(gt({"n": n}), [0, 0, 0, 1, 1, 1], atol=1e-4)
    np.testing.assert_allclose(ge({"n": n}), [0, 0, 0, 1, 1, 1], atol=1e-4)
    # Real-valued comparison: a plain sigmoid, 1/2 at the tie.
    real = SymbolicExpression("x > 2", inputs=("x",), mode="soft", temperature=0.05)
    assert float(real({"x": jnp.array(2.0)})) == pytest.approx(0.5)


def test_soft_gradients_are_nonzero_and_match_finite_differences():
    f = SymbolicExpression(
        "Piecewise((k * x, And(x > a, Ne(x, b))), (exp(-x), True))",
        inputs=("x",), params={"a": 0.3, "b": 1.0, "k": 2.0}, mode="soft", temperature=0.3,
    )
    x = jnp.linspace(-1.0, 2.0, 7)

    @jax.jit
    def loss(params):
        return jnp.sum(f.replace(params=params)({"x": x}))

    params = dict(f.params)
    g = jax.jit(jax.grad(loss))(params)
    assert all(float(jnp.abs(v)) > 1e-4 for v in g.values())
    eps = 1e-2
    for name in params:
        up = {**params, name: params[name] + eps}
        down = {**params, name: params[name] - eps}
        fd = float(loss(up) - loss(down)) / (2 * eps)
        assert float(g[name]) == pytest.approx(fd, rel=2e-2, abs=1e-4), name


def test_semantics_choice_changes_soft_logic():
    values = {"p": jnp.array(0.5), "q": jnp.array(0.5)}
    base = SymbolicExpression("And(p, q)", inputs=("p", "q"), mode="soft")
    assert float(base(values)) == pytest.approx(0.25)
    assert float(base.replace(semantics="goedel")(values)) == pytest.approx(0.5)
    assert float(base.replace(semantics="lukasiewicz")(values)) == pytest.approx(0.0)


def test_jit_equals_eager_and_vmap_over_params():
    f = SymbolicExpression("tanh(w * x) > theta", inputs=("x",), params={"w": 1.5, "theta": 0.1}, mode="soft")
    x = jnp.linspace(-1, 1, 11)
    np.testing.assert_allclose(jax.jit(lambda f: f({"x": x}))(f), f({"x": x}), rtol=1e-6)
    thetas = jnp.array([0.0, 0.2, 0.4])
    batched = jax.vmap(lambda t: f.replace(params={**f.params, "theta": t})({"x": x}))(thetas)
    for i, t in enumerate(thetas):
        np.testing.assert_allclose(batched[i], f.replace(params={**f.params, "theta": t})({"x": x}), rtol=1e-6)


def test_rollout_does_not_recompile_for_new_parameter_values():
    lat = Lattice((8, 8))
    rule = SymbolicRule("n > theta", params={"theta": 2.5})
    state = LatticeState(x=board(0, lat.shape))
    automata.rollout(rule, lat, state, num_steps=2)
    size = automata.engine._rollout._cache_size()
    automata.rollout(rule.replace(params={"theta": jnp.asarray(3.5, jnp.float32)}), lat, state, num_steps=2)
    assert automata.engine._rollout._cache_size() == size


def test_to_sympy_substitutes_fitted_values():
    f = SymbolicExpression("Or(n > theta, Eq(x, k * y))", inputs=("n", "x", "y"), params={"theta": 2.0, "k": 3})
    f2 = f.replace(params={"theta": jnp.asarray(2.71828), "k": f.params["k"] - 0.5})
    n, x, y = sympy.symbols("n x y")
    assert f2.to_sympy(digits=3) == sympy.Or(n > sympy.Float(2.72), sympy.Eq(x, sympy.Float(2.5) * y))
    rule = SymbolicRule("n > theta", params={"theta": 2.5})
    assert rule.to_sympy() == (sympy.Symbol("n") > sympy.Float(2.5))


# ---------------------------------------------------------------------------- rule inputs
def test_named_channels_neighbour_sums_and_target():
    lat = Lattice((6, 7), boundary="fixed", fill=0.0)
    key1, key2 = jax.random.split(jax.random.key(0))
    a = jax.random.bernoulli(key1, 0.5, lat.shape).astype(jnp.float32)
    morphogen = jax.random.uniform(key2, lat.shape)
    x = jnp.stack([a, morphogen], -1)
    rule = SymbolicRule(
        "Piecewise((n_morphogen / num_neighbours + t, cell > 0), (n_cell + 10 * n, True))",
        channels=("cell", "morphogen"), target="morphogen", integer_channels=("cell",),
    )
    out = rule(lat, LatticeState(x=x, t=jnp.asarray(2)), key=None)
    np.testing.assert_array_equal(out[..., 0], a)
    # `alive` and `n` refer to the target channel: here every morphogen value is positive.
    n = lat.neighbour_sum((morphogen > 0).astype(jnp.float32))
    want = jnp.where(a > 0, lat.neighbour_sum(morphogen) / 8 + 2, lat.neighbour_sum(a) + 10 * n)
    np.testing.assert_allclose(out[..., 1], want, rtol=1e-6)
    assert "n_cell" in rule.inputs and "n_cell" in rule.integer_inputs


def test_neighbour_counts_inside_rule():
    lat = Lattice((16, 16))
    x = board(5, lat.shape)
    at_least = SymbolicRule(AtLeast(3, sympy.Symbol("alive")))
    direct = SymbolicRule("n >= 3")
    np.testing.assert_array_equal(at_least(lat, LatticeState(x=x), key=None), direct(lat, LatticeState(x=x), key=None))
    nested = SymbolicRule(AtLeast(1, sympy.Symbol("n") > 3))
    assert nested.reach(lat) == 2 and direct.reach(lat) == 1


# ---------------------------------------------------------------------------- errors
def test_unknown_symbol_names_it_and_lists_known():
    with pytest.raises(ValueError, match=r"unknown symbol\(s\) m .*Known inputs: n, alive; parameters: theta"):
        SymbolicExpression("m > theta", inputs=("n", "alive"), params={"theta": 1.0})
    with pytest.raises(ValueError, match=r"unknown symbol\(s\) nn .*Known inputs: x, n_x, alive, n"):
        SymbolicRule("Eq(nn, 3)")


def test_unsupported_function():
    with pytest.raises(TypeError, match="Unsupported sympy function or node f"):
        SymbolicExpression("f(x) + 1", inputs=("x",))
    with pytest.raises(TypeError, match="Unsupported sympy function or node besselj"):
        SymbolicExpression(sympy.besselj(0, sympy.Symbol("x")), inputs=("x",))


def test_missing_parameter_values():
    with pytest.raises(ValueError, match=r"parameters need values: got only the name\(s\) theta"):
        SymbolicExpression("x > theta", inputs=("x",), params=("theta",))
    f = SymbolicExpression("x > theta", inputs=("x",), params={"theta": None})
    with pytest.raises(ValueError, match=r"parameter\(s\) theta have no value"):
        f({"x": jnp.zeros(3)})
    with pytest.raises(ValueError, match="parameter 'theta' has no value"):
        f.to_sympy()


def test_wrong_inputs_and_shapes():
    f = SymbolicExpression("a + b", inputs=("a", "b"), params={"w": jnp.ones(4)})
    with pytest.raises(ValueError, match="missing: b"):
        f({"a": jnp.zeros(4)})
    with pytest.raises(ValueError, match="unknown: c"):
        f({"a": jnp.zeros(4), "b": jnp.zeros(4), "c": 1.0})
    with pytest.raises(ValueError, match=r"do not broadcast together \(a: \(3,\), b: \(4,\), w: \(4,\)\)"):
        f({"a": jnp.zeros(3), "b": jnp.zeros(4)})
    with pytest.raises(TypeError, match="called with a dict"):
        f(jnp.zeros(4))


def test_configuration_errors():
    with pytest.raises(ValueError, match="Unknown mode 'fuzzy'"):
        SymbolicExpression("x", inputs=("x",), mode="fuzzy")
    with pytest.raises(ValueError, match="temperature must be positive"):
        SymbolicExpression("x > 0", inputs=("x",), mode="soft", temperature=0.0)
    with pytest.raises(ValueError, match="no default branch"):
        SymbolicExpression("Piecewise((1, x > 0))", inputs=("x",), mode="soft")
    with pytest.raises(ValueError, match="both an input and a parameter"):
        SymbolicExpression("x", inputs=("x",), params={"x": 1.0})
    with pytest.raises(ValueError, match="needs a lattice"):
        SymbolicExpression(AtLeast(1, sympy.Symbol("p")), inputs=("p",))({"p": jnp.ones(3)})
    with pytest.raises(ValueError, match="clash with built-in inputs"):
        SymbolicRule("n > 1", channels=("alive",))
    with pytest.raises(ValueError, match="target 'y' is not one of the channels"):
        SymbolicRule("n > 1", target="y")
    with pytest.raises(ValueError, match="Cannot parse the expression"):
        SymbolicExpression("x >", inputs=("x",))


def test_rule_state_errors():
    lat = Lattice((8, 8))
    with pytest.raises(ValueError, match=r"needs state.x of shape \(8, 8, 2\)"):
        automata.step(SymbolicRule("n > 2", channels=("a", "b")), lat, LatticeState(x=board(0, (8, 8))))
    with pytest.raises(TypeError, match="use x.astype"):
        automata.step(SymbolicRule(LIFE, mode="soft"), lat, LatticeState(x=board(0, (8, 8))))
    rule = SymbolicRule("n > theta", params={"theta": jnp.ones(3)})
    with pytest.raises(ValueError, match="does not broadcast to the lattice"):
        automata.step(rule, lat, LatticeState(x=board(0, (8, 8))))


def test_evaluate_reports_missing_values():
    with pytest.raises(ValueError, match=r"No value for symbol\(s\) y"):
        evaluate("x + y", {"x": jnp.ones(2)})
