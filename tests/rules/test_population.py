"""Population construction, its checks, and capacity overflow reporting."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from rules.division import CellCycle, DifferentiationTable, DivisionModel, simulate
from rules.lineage import check_lineage
from rules.population import CapacityError, Population

LAT = automata.Lattice((6, 6))


def test_create_fills_slots_and_occupancy():
    pop = Population.create(LAT, [[0, 1], [5, 5], [2, 3]], [0, 2, 1], capacity=8,
                            features=[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], clocks=[0.0, 3.0, 1.5])
    assert pop.capacity == 8 and pop.num_features == 2
    assert int(pop.num_cells) == 3 and int(pop.num_alive) == 3 and int(pop.t) == 0
    np.testing.assert_array_equal(pop.alive, [1, 1, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(pop.kind[:3], [0, 2, 1])
    np.testing.assert_array_equal(pop.parent, -1)
    np.testing.assert_array_equal(pop.division, -1)
    np.testing.assert_array_equal(pop.death, -1)
    np.testing.assert_allclose(pop.clock[:3], [0.0, 3.0, 1.5])
    assert np.all(np.isnan(pop.period))
    assert int(pop.occupancy[0, 1]) == 0 and int(pop.occupancy[5, 5]) == 1
    assert int(pop.occupancy[2, 3]) == 2 and int(jnp.sum(pop.occupancy >= 0)) == 3
    assert not bool(pop.status.overflow)
    check_lineage(pop)


def test_create_1d_accepts_flat_positions():
    pop = Population.create(automata.Lattice((5,)), [0, 4], [0, 0], capacity=2)
    np.testing.assert_array_equal(pop.occupancy, [0, -1, -1, -1, 1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(positions=[[0, 6]], kinds=[0], capacity=4), "outside the lattice"),
        (dict(positions=[[-1, 0]], kinds=[0], capacity=4), "outside the lattice"),
        (dict(positions=[[1, 1], [1, 1]], kinds=[0, 0], capacity=4), "share the site"),
        (dict(positions=[[1, 1]], kinds=[-1], capacity=4), "non-negative"),
        (dict(positions=[[1, 1], [2, 2]], kinds=[0], capacity=4), r"kinds must have shape \(2,\)"),
        (dict(positions=[[1, 1], [2, 2]], kinds=[0, 0], capacity=1), "Population.create: capacity must be at least 2"),
        (dict(positions=[[1, 1, 1]], kinds=[0], capacity=4), r"shape \(num_cells, 2\)"),
        (dict(positions=[[1, 1]], kinds=[0], capacity=4, features=[[1.0], [2.0]]),
         r"features must have shape \(1, num_features\)"),
        (dict(positions=[[1, 1]], kinds=[0], capacity=4, clocks=[-1.0]), "clocks must be finite and >= 0"),
        (dict(positions=[[1.5, 1]], kinds=[0], capacity=4), "integer site"),
    ],
)
def test_create_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Population.create(LAT, **kwargs)


def test_create_needs_a_lattice():
    with pytest.raises(TypeError, match="automata.Lattice"):
        Population.create((6, 6), [[0, 0]], [0], capacity=2)


FAST = DivisionModel(table=DifferentiationTable.symmetric(2), cycle=CellCycle(period=1.0))


def test_capacity_overflow_sets_flag_and_throw_raises():
    pop = Population.create(LAT, [[1, 1], [4, 4]], [0, 1], capacity=9)
    final, history = simulate(FAST, LAT, pop, key=jax.random.key(0), num_steps=3)
    # 2 roots + 2 divisions fill 6 slots; a third needs 2 more than the 3 left, then none fit.
    assert bool(final.status.overflow)
    assert int(final.status.num_dropped) > 0
    assert int(final.num_cells) <= 9
    check_lineage(final)  # nothing written out of bounds or lost
    assert int(history.count[-1].sum()) == int(final.num_alive)
    with pytest.raises(CapacityError, match="capacity=9"):
        simulate(FAST, LAT, pop, key=jax.random.key(0), num_steps=3, throw=True)


def test_no_overflow_does_not_raise():
    pop = Population.create(LAT, [[1, 1], [4, 4]], [0, 1], capacity=40)
    final, history = simulate(FAST, LAT, pop, key=jax.random.key(0), num_steps=3, throw=True)
    assert not bool(final.status.overflow)
    assert int(final.num_cells) == 2 + 2 * int(history.num_divisions.sum())


def test_simulate_checks_population_against_lattice_and_model():
    pop = Population.create(LAT, [[1, 1]], [0], capacity=4)
    with pytest.raises(ValueError, match="occupancy has shape"):
        simulate(FAST, automata.Lattice((5, 5)), pop, key=jax.random.key(0), num_steps=1)
    stranger = Population.create(LAT, [[1, 1]], [5], capacity=4)
    with pytest.raises(ValueError, match="kind 5, but the model knows 2 kinds"):
        simulate(FAST, LAT, stranger, key=jax.random.key(0), num_steps=1)
    with pytest.raises(TypeError, match="rules.Population"):
        simulate(FAST, LAT, {"alive": pop.alive}, key=jax.random.key(0), num_steps=1)


def test_create_type_errors_name_the_argument():
    with pytest.raises(TypeError, match="Population.create: capacity must be an integer"):
        Population.create(LAT, [[1, 1]], [0], capacity=2.5)
    with pytest.raises(ValueError, match="Population.create: positions must be integer site coordinates"):
        Population.create(LAT, [["a", "b"]], [0], capacity=2)
    with pytest.raises(ValueError, match="Population.create: kinds must be integer symbol indices"):
        Population.create(LAT, [[1, 1]], ["stem"], capacity=2)
    empty = Population.create(LAT, np.zeros((0, 2), int), [], capacity=1)
    assert int(empty.num_cells) == 0 and int(empty.occupancy.max()) == -1
