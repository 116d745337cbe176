"""SymbolicRule: Life equals LifeLike, soft Life tends to crisp, gradients, inputs, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

import automata
from automata import Lattice, LatticeState
from automata.lifelike import LifeLike
from rules.logic import AtLeast
from rules.symbolic import SymbolicRule

LIFE = "Or(Eq(n, 3), And(alive, Eq(n, 2)))"


def board(seed, shape, p=0.35, dtype=jnp.uint8):
    return jax.random.bernoulli(jax.random.key(seed), p, shape + (1,)).astype(dtype)


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


def test_rollout_does_not_recompile_for_new_parameter_values():
    lat = Lattice((8, 8))
    rule = SymbolicRule("n > theta", params={"theta": 2.5})
    state = LatticeState(x=board(0, lat.shape))
    automata.rollout(rule, lat, state, num_steps=2)
    size = automata.engine._rollout._cache_size()
    automata.rollout(rule.replace(params={"theta": jnp.asarray(3.5, jnp.float32)}), lat, state, num_steps=2)
    assert automata.engine._rollout._cache_size() == size


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


def test_rule_state_errors():
    lat = Lattice((8, 8))
    with pytest.raises(ValueError, match=r"SymbolicRule: state.x must have shape \(8, 8, 2\)"):
        automata.step(SymbolicRule("n > 2", channels=("a", "b")), lat, LatticeState(x=board(0, (8, 8))))
    with pytest.raises(TypeError, match="use x.astype"):
        automata.step(SymbolicRule(LIFE, mode="soft"), lat, LatticeState(x=board(0, (8, 8))))
    rule = SymbolicRule("n > theta", params={"theta": jnp.ones(3)})
    with pytest.raises(ValueError, match="does not broadcast to the lattice"):
        automata.step(rule, lat, LatticeState(x=board(0, (8, 8))))
    with pytest.raises(ValueError, match="SymbolicRule: channels must not clash with built-in inputs"):
        SymbolicRule("n > 1", channels=("alive",))
    with pytest.raises(ValueError, match="target must be one of the channels"):
        SymbolicRule("n > 1", target="y")
    with pytest.raises(ValueError, match="integer_channels must be among the channels"):
        SymbolicRule("n > 1", integer_channels=("y",))
