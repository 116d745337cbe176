"""The renewal solution of the relaxed model equals the step-by-step recursion."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from rules.division import CellCycle, DifferentiationTable, DivisionModel, expected_counts
from rules.division import meanfield, renewal
from rules.population import Population

LAT = automata.Lattice((32,))


def both(model, pop, steps, temperature=0.05):
    fast = expected_counts(model, pop, num_steps=steps, temperature=temperature)
    slow = meanfield._expected(model, pop, jnp.float32(temperature), num_steps=steps)[0]
    return fast, slow


def close(fast, slow):
    for name in ("count", "num_divisions", "num_deaths"):
        a, b = np.asarray(getattr(fast, name)), np.asarray(getattr(slow, name))
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4 * max(1.0, np.abs(b).max()))


def test_rounds_of_tables():
    assert renewal.rounds(((0, 0),)) == 1
    assert renewal.rounds(((1, 2), (3, 3), (2, 2), (3, 3))) == 3
    assert renewal.rounds(((1, 1), (2, 2), (0, 0))) is None


def test_renewal_equals_the_recursion_with_every_fate():
    # P0 -> (A, B); A -> (A, C) with exit and apoptosis; B renews; C terminal-ish; hazard, death.
    table = DifferentiationTable(daughters=((1, 2), (1, 3), (2, 2), (3, 3)))
    model = DivisionModel(
        table=table,
        cycle=CellCycle(period=jnp.array([6.0, 9.0, 7.5, 14.0]), cv=jnp.array([0.0, 0.1, 0.2, 0.05]),
                        terminal=jnp.array([0.0, 0.2, 0.0, 0.5]), apoptosis=jnp.array([0.0, 0.1, 0.05, 0.2])),
        hazard=jnp.array([0.0, 0.01, 0.0, 0.02]), death=jnp.array([0.0, 0.0, 0.005, 0.01]), dt=1.5)
    pop = Population.create(LAT, [[3], [9], [20]], [0, 1, 2], capacity=3)
    pop = pop.replace(clock=jnp.array([2.0, 0.0, 5.0]), period=jnp.array([jnp.nan, 12.0, jnp.nan]))
    fast, slow = both(model, pop, 60)
    close(fast, slow)
    assert float(fast.count[-1].sum()) > 10 and float(fast.num_deaths.sum()) > 0.5


def test_renewal_gradients_equal_the_recursion():
    table = DifferentiationTable(daughters=((1, 2), (1, 1), (2, 2)))
    pop = Population.create(LAT, [[3]], [0], capacity=1)

    def loss(period, path):
        model = DivisionModel(table=table, cycle=CellCycle(period=period, cv=0.1, terminal=0.1))
        if path == "fast":
            h = expected_counts(model, pop, num_steps=40, temperature=0.1)
        else:
            h = meanfield._expected(model, pop, jnp.float32(0.1), num_steps=40)[0]
        return jnp.sum(jnp.log1p(h.count))

    p = jnp.array([5.0, 8.0, 11.0])
    np.testing.assert_allclose(jax.grad(loss)(p, "fast"), jax.grad(loss)(p, "slow"), rtol=1e-3, atol=1e-5)


def test_cycles_between_kinds_use_the_recursion():
    model = DivisionModel(table=DifferentiationTable(daughters=((1, 1), (0, 0))), cycle=CellCycle(period=4.0))
    pop = Population.create(LAT, [[3]], [0], capacity=1)
    fast, slow = both(model, pop, 22)  # divisions at 4, 8, ..., 20 minutes
    close(fast, slow)
    assert float(fast.count[-1].sum()) > 16.0


@pytest.mark.parametrize("steps", [1, 2, 7, 129])
def test_renewal_at_odd_lengths(steps):
    model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=30.0, cv=0.2))
    pop = Population.create(LAT, [[3], [5]], [0, 0], capacity=2)
    close(*both(model, pop, steps))
