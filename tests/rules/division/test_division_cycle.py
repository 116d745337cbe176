"""Clock-driven division: exact and lognormal periods."""

import jax
import jax.numpy as jnp
import pytest
import numpy as np

import automata
from rules.division import CellCycle, DifferentiationTable, DivisionModel, simulate
from rules.lineage import check_lineage
from rules.population import Population

LAT = automata.Lattice((8, 8))
KEY = jax.random.key(0)


def run(model, pop, num_steps, key=KEY, lattice=LAT):
    return simulate(model, lattice, pop, key=key, num_steps=num_steps)


def test_zero_noise_cycle_divides_exactly_at_its_period():
    model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=1.5),
                          dt=0.5)
    pop = Population.create(LAT, [[4, 4]], [0], capacity=16)
    final, h = run(model, pop, 7)
    # 1.5 minutes = 3 steps of 0.5: divisions at steps 3 and 6.
    np.testing.assert_array_equal(h.num_divisions, [0, 0, 1, 0, 0, 2, 0])
    np.testing.assert_array_equal(h.count[:, 0], [1, 1, 2, 2, 2, 4, 4])
    assert int(final.division[0]) == 3
    np.testing.assert_array_equal(final.birth[1:3], [3, 3])
    np.testing.assert_array_equal(final.division[1:3], [6, 6])
    np.testing.assert_allclose(final.period[:3], 1.5)
    np.testing.assert_allclose(final.clock[3:7], 0.5)  # born at step 6, one step old
    check_lineage(final)


def test_noisy_cycle_draws_a_period_per_cell():
    model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=1.5, cv=0.3),
                          dt=0.5)
    roots = [[i, j] for i in range(0, 8, 2) for j in range(0, 8, 2)]
    pop = Population.create(LAT, roots, [0] * 16, capacity=16)
    final, _ = run(model, pop, 7)
    periods = np.asarray(final.period)
    assert np.all(np.isfinite(periods)) and len(np.unique(periods)) == 16
    assert 0.8 < np.median(periods) < 2.5


def test_terminal_cells_never_divide_and_survival_floors_at_the_terminal_share():
    cycle = CellCycle(period=10.0, cv=0.2, terminal=[0.0, 0.3, 1.0])
    u = jnp.linspace(0.01, 0.99, 99)
    for k, share in enumerate((0.0, 0.3, 1.0)):
        period, lp = cycle.draw(u, jnp.full(99, k), 3)
        assert np.isclose(np.mean(np.isinf(np.asarray(period))), share, atol=0.02)
        assert np.all(np.isfinite(np.asarray(lp)))
    late = cycle.log_survival(jnp.array(1e4), jnp.arange(3), 3, 0.05)
    np.testing.assert_allclose(np.exp(np.asarray(late)), [0.0, 0.3, 1.0], atol=1e-5)
    # The finite periods of a terminal-0.3 kind are the lognormal's, rescaled: their median is 10.
    period, _ = cycle.draw(u, jnp.full(99, 1), 3)
    assert abs(np.median(np.asarray(period)[np.isfinite(np.asarray(period))]) - 10.0) < 0.5


def test_apoptosis_share_and_fate_errors():
    cycle = CellCycle(period=10.0, terminal=[0.0, 0.5, 1.0], apoptosis=[0.2, 0.25, 0.0])
    np.testing.assert_allclose(np.asarray(cycle.death_share(3)), [0.2, 0.5, 0.0])
    with pytest.raises(ValueError, match="terminal \\+ apoptosis must be <= 1"):
        CellCycle(period=10.0, terminal=0.7, apoptosis=0.5).check(1)
    with pytest.raises(ValueError, match="terminal must be in"):
        CellCycle(period=10.0, terminal=1.5).check(1)
