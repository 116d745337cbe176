"""Placement of daughter B: oriented exclusion, blocking, shoving."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from rules.division import CellCycle, DifferentiationTable, DivisionModel, Exclusion, Shove, simulate
from rules.lineage import check_lineage
from rules.population import Population

LAT = automata.Lattice((8, 8))
KEY = jax.random.key(0)


def run(model, pop, num_steps, key=KEY, lattice=LAT):
    return simulate(model, lattice, pop, key=key, num_steps=num_steps)


@pytest.mark.parametrize("direction, offset", [((0.0, 1.0), (0, 1)), ((-1.0, 0.0), (-1, 0)),
                                               ((1.0, 1.0), (1, 1))])
def test_oriented_division_goes_along_the_vector(direction, offset):
    model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=1.0),
                          placement=Exclusion(direction=jnp.array([direction])))
    pop = Population.create(LAT, [[4, 4]], [0], capacity=4)
    final, _ = run(model, pop, 1)
    np.testing.assert_array_equal(final.position[1], [4, 4])
    np.testing.assert_array_equal(final.position[2], np.add([4, 4], offset))


def test_oriented_division_takes_the_best_free_site():
    model = DivisionModel(table=DifferentiationTable.symmetric(2),
                          cycle=CellCycle(period=jnp.array([1.0, jnp.inf])),
                          placement=Exclusion(direction=jnp.array([[0.0, 1.0], [0.0, 1.0]])))
    # The site along the vector is taken, so the next best (a diagonal) is used.
    pop = Population.create(LAT, [[4, 4], [4, 5]], [0, 1], capacity=8)
    final, _ = run(model, pop, 1)
    assert tuple(np.asarray(final.position[3])) in {(3, 5), (5, 5)}


def test_exclusion_blocks_when_crowded_and_never_stacks_cells():
    lat = automata.Lattice((3, 3), boundary="fixed")
    model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=1.0))
    pop = Population.create(lat, [[1, 1]], [0], capacity=64)
    final, h = run(model, pop, 5, lattice=lat)
    assert int(final.num_alive) == 9  # the lattice is full, one cell per site
    assert int(final.status.num_blocked) > 0 and int(h.num_blocked.sum()) == int(final.status.num_blocked)
    check_lineage(final)


def test_shove_pushes_the_line():
    lat = automata.Lattice((6,), boundary="fixed")
    table = DifferentiationTable(daughters=((1, 1), (1, 1)))
    model = DivisionModel(table=table, cycle=CellCycle(period=jnp.array([1.0, jnp.inf])),
                          placement=Shove(axis=0))
    # Cell 0 at the left edge divides; pushing left is blocked, pushing right moves cells 1, 2.
    pop = Population.create(lat, [[0], [1], [2]], [0, 1, 1], capacity=8)
    final, h = run(model, pop, 8, lattice=lat)
    assert int(h.num_divisions.sum()) == 1
    np.testing.assert_array_equal(np.asarray(final.occupancy), [3, 4, 1, 2, -1, -1])
    np.testing.assert_array_equal(final.position[:5, 0], [0, 2, 3, 0, 1])
    check_lineage(final)


def test_shove_is_blocked_by_a_full_line():
    lat = automata.Lattice((6,), boundary="fixed")
    table = DifferentiationTable(daughters=((1, 1), (1, 1)))
    model = DivisionModel(table=table, cycle=CellCycle(period=jnp.array([1.0, jnp.inf])),
                          placement=Shove(axis=0))
    pop = Population.create(lat, [[i] for i in range(6)], [1, 0, 1, 1, 1, 1], capacity=8)
    final, h = run(model, pop, 8, lattice=lat)
    assert int(h.num_divisions.sum()) == 0 and int(final.status.num_blocked) == 8
    np.testing.assert_array_equal(np.asarray(final.occupancy), np.arange(6))


def test_shove_wraps_around_a_ring():
    lat = automata.Lattice((5,), boundary="wrap")
    table = DifferentiationTable(daughters=((1, 1), (1, 1)))
    model = DivisionModel(table=table, cycle=CellCycle(period=jnp.array([1.0, jnp.inf])),
                          placement=Shove(axis=0))
    pop = Population.create(lat, [[0], [1], [4]], [0, 1, 1], capacity=8)
    final, _ = run(model, pop, 1, lattice=lat)
    assert int(final.num_alive) == 4
    check_lineage(final)
