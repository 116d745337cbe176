"""Differentiation tables: helpers, asymmetric division, the C. elegans founders."""

import jax
import jax.numpy as jnp
import numpy as np

import automata
from rules.division import (
    C_ELEGANS_FOUNDERS,
    CellCycle,
    DifferentiationTable,
    DivisionModel,
    c_elegans_founders,
    simulate,
)
from rules.lineage import lineage_graph
from rules.population import Population

LAT = automata.Lattice((8, 8))
KEY = jax.random.key(0)


def run(model, pop, num_steps, key=KEY, lattice=LAT):
    return simulate(model, lattice, pop, key=key, num_steps=num_steps)


def test_table_helpers_and_asymmetric_division():
    t = DifferentiationTable.from_names(["stem", "diff"], {"stem": ("stem", "diff")})
    assert t.daughters == ((0, 1), (1, 1)) and t.num_kinds == 2
    model = DivisionModel(table=t, cycle=CellCycle(period=jnp.array([1.0, jnp.inf])))
    pop = Population.create(LAT, [[4, 4]], [0], capacity=16)
    _, h = run(model, pop, 3)
    np.testing.assert_array_equal(h.count, [[1, 1], [1, 2], [1, 3]])


def test_c_elegans_founders_from_p0():
    table = c_elegans_founders()
    assert table.names == C_ELEGANS_FOUNDERS
    period = np.full(table.num_kinds, np.inf, np.float32)
    for name in ("P0", "P1", "EMS", "P2", "P3"):
        period[C_ELEGANS_FOUNDERS.index(name)] = 2.0
    model = DivisionModel(table=table, cycle=CellCycle(period=jnp.asarray(period)))
    pop = Population.create(LAT, [[4, 4]], [C_ELEGANS_FOUNDERS.index("P0")], capacity=16)
    final, _ = run(model, pop, 9)
    alive = sorted(C_ELEGANS_FOUNDERS[k] for k in np.asarray(final.kind)[np.asarray(final.alive)])
    assert alive == sorted(["AB", "MS", "E", "C", "D", "P4"])
    g = lineage_graph(final, names=table.names)
    children = {n: sorted(g.successors(n)) for n in g}
    assert children["P0"] == ["AB", "P1"] and children["P1"] == ["EMS", "P2"]
    assert children["EMS"] == ["E", "MS"] and children["P2"] == ["C", "P3"]
    assert children["P3"] == ["D", "P4"]
    # Daughter A (the table's first kind) takes the lower of the two new slots.
    for n in g:
        kids = sorted(g.successors(n), key=lambda k: g.nodes[k]["slot"])
        if kids:
            assert g.nodes[kids[0]]["kind"] == table.daughters[g.nodes[n]["kind"]][0]
