"""Lineage bookkeeping: property-based invariants, the lineage graph, and the checker."""

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import automata
from rules.division import CellCycle, DifferentiationTable, DivisionModel, Exclusion, Shove, simulate
from rules.celegans import founder_table
from rules.lineage import check_lineage, lineage_graph
from rules.population import Population

# One static structure (lattice, capacity, steps, model layout) so every example reuses one
# compilation; hypothesis varies the values: cells, kinds, periods, hazards, death rates, keys.
LAT = automata.Lattice((6, 6))
CAPACITY, STEPS = 40, 6
TABLE = DifferentiationTable(daughters=((0, 1), (2, 2), (1, 1)), names=("stem", "a", "b"))
SITES = [(i, j) for i in range(6) for j in range(6)]


@st.composite
def scenarios(draw):
    sites = draw(st.lists(st.sampled_from(SITES), min_size=1, max_size=8, unique=True))
    kinds = draw(st.lists(st.integers(0, 2), min_size=len(sites), max_size=len(sites)))
    rate = st.floats(0.0, 0.6)
    params = dict(
        period=draw(st.lists(st.floats(1.0, 8.0), min_size=3, max_size=3)),
        cv=draw(st.floats(0.0, 0.5)),
        hazard=draw(st.lists(rate, min_size=3, max_size=3)),
        death=draw(st.lists(st.floats(0.0, 0.2), min_size=3, max_size=3)),
    )
    return sites, kinds, params, draw(st.integers(0, 2**31 - 1))


def build(params, placement):
    return DivisionModel(
        table=TABLE,
        cycle=CellCycle(period=jnp.asarray(params["period"], jnp.float32),
                        cv=jnp.asarray(params["cv"], jnp.float32)),
        hazard=jnp.asarray(params["hazard"], jnp.float32),
        death=jnp.asarray(params["death"], jnp.float32),
        placement=placement,
    )


def assert_invariants(pop, history, num_roots):
    n = int(pop.num_cells)
    alive, parent = np.asarray(pop.alive), np.asarray(pop.parent)
    birth, division = np.asarray(pop.birth), np.asarray(pop.division)
    generation, death = np.asarray(pop.generation), np.asarray(pop.death)
    assert num_roots <= n <= CAPACITY
    # No id lost: every slot below the next free one is a cell, none beyond it is.
    assert not alive[n:].any()
    assert np.all((birth[:n] >= 0))
    roots = parent[:n] < 0
    assert roots.sum() == num_roots and np.all(roots[:num_roots])
    # Every non-root cell has exactly one parent, an earlier slot, born at its division step.
    for i in np.flatnonzero(~roots):
        p = parent[i]
        assert 0 <= p < i
        assert division[p] == birth[i]
        assert generation[i] == generation[p] + 1
    num_divisions = int((division[:n] >= 0).sum())
    assert (~roots).sum() == 2 * num_divisions == 2 * int(history.num_divisions.sum())
    assert np.all(np.bincount(parent[:n][~roots], minlength=n)[division[:n] >= 0] == 2)
    # Cells that divided or died are not alive.
    assert not np.any(alive[:n] & ((division[:n] >= 0) | (death[:n] >= 0)))
    # Occupancy holds exactly the alive cells, one per site, each at its position.
    occ = np.asarray(pop.occupancy)
    assert np.count_nonzero(occ >= 0) == alive.sum()
    for i in np.flatnonzero(alive):
        assert occ[tuple(np.asarray(pop.position[i]))] == i
    assert int(history.count[-1].sum()) == alive.sum()
    np.testing.assert_array_equal(np.asarray(history.alive[-1]), alive)
    check_lineage(pop)


@pytest.mark.parametrize("placement", [Exclusion(), Shove(axis=None)], ids=["exclusion", "shove"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_lineage_invariants(placement, scenario):
    sites, kinds, params, seed = scenario
    pop = Population.create(LAT, sites, kinds, capacity=CAPACITY)
    final, history = simulate(build(params, placement), LAT, pop, key=jax.random.key(seed),
                              num_steps=STEPS)
    assert_invariants(final, history, len(sites))


def test_lineage_graph_attributes_and_edges():
    params = dict(period=[2.0, 3.0, 100.0], cv=0.0, hazard=[0.0] * 3, death=[0.0] * 3)
    pop = Population.create(LAT, [(1, 1), (4, 4)], [0, 2], capacity=CAPACITY)
    final, _ = simulate(build(params, Exclusion()), LAT, pop, key=jax.random.key(0), num_steps=STEPS)
    g = lineage_graph(final, names=TABLE.names, dt=0.5)
    assert isinstance(g, nx.DiGraph) and g.number_of_nodes() == int(final.num_cells)
    assert g.graph["minutes_per_step"] == 0.5
    roots = [v for v in g if g.in_degree(v) == 0]
    assert roots == ["stem", "b"]
    assert all(g.in_degree(v) == 1 for v in g if v not in roots)
    assert g.number_of_edges() == 2 * sum(g.nodes[v]["division_min"] is not None for v in g)
    stem = g.nodes["stem"]
    assert stem["kind_name"] == stem["name"] == "stem" and stem["slot"] == 0
    assert stem["division"] == 2 and stem["birth"] == 0 and stem["death"] is None
    # Minutes: the root's birth is not in the run; it divides after 2 steps of 0.5 minutes.
    assert stem["birth_min"] is None and stem["division_min"] == 1.0 and stem["cycle_min"] is None
    assert (stem["first_min"], stem["last_min"], stem["first_frame"], stem["last_frame"]) == (0.0, 0.5, 0, 1)
    assert stem["num_frames"] == 2 and stem["founder"] == "stem" and stem["generation"] == 0
    assert not stem["alive"]
    # Daughter A keeps the kind (mother's name + "a"); B is the first cell of kind "a".
    assert sorted(g.successors("stem")) == ["a", "stema"]
    a = g.nodes["a"]
    assert a["kind_name"] == "a" and a["birth_min"] == 1.0 and a["generation"] == 1
    assert a["founder"] == "stem" and a["division_min"] == 2.5 and a["cycle_min"] == 1.5
    assert g.nodes["stema"]["slot"] < a["slot"]
    assert sorted(g.successors("stema")) == ["stemaa", "stemap"]  # "a" is taken: named by place
    b = g.nodes["b"]
    assert b["division_min"] is None and b["alive"] and b["last_frame"] == STEPS
    assert b["last_min"] == STEPS * 0.5
    assert len(set(g)) == g.number_of_nodes() and nx.is_forest(g)


def test_lineage_graph_names_c_elegans_cells_like_sulston():
    table = founder_table()
    lat = automata.Lattice((12, 12))
    pop = Population.create(lat, [(6, 6)], [table.names.index("P0")], capacity=64)
    model = DivisionModel(table=table, cycle=CellCycle(period=2.0), placement=Shove(axis=0), dt=3.0)
    final, _ = simulate(model, lat, pop, key=jax.random.key(1), num_steps=4)
    g = lineage_graph(final, names=table.names, dt=model.dt)
    for parent, kids in (("P0", ["AB", "P1"]), ("AB", ["ABa", "ABp"]), ("P1", ["EMS", "P2"]),
                         ("EMS", ["E", "MS"]), ("ABa", ["ABaa", "ABap"])):
        assert sorted(g.successors(parent)) == kids
    assert g.nodes["ABa"]["founder"] == "AB" and g.nodes["ABa"]["generation"] == 2
    assert g.nodes["MS"]["founder"] == "MS" and g.nodes["EMS"]["generation"] == 2
    assert g.nodes["AB"]["birth_min"] == 3.0 and g.nodes["AB"]["cycle_min"] == 3.0


def test_lineage_graph_without_names_uses_slots_and_repeated_kinds_get_slots():
    params = dict(period=[2.0, 3.0, 100.0], cv=0.0, hazard=[0.0] * 3, death=[0.0] * 3)
    pop = Population.create(LAT, [(1, 1), (4, 4)], [2, 2], capacity=CAPACITY)
    final, _ = simulate(build(params, Exclusion()), LAT, pop, key=jax.random.key(0), num_steps=2)
    assert sorted(lineage_graph(final)) == [0, 1]
    assert lineage_graph(final).nodes[1]["founder"] == 1
    assert sorted(lineage_graph(final, names=TABLE.names)) == ["b.0", "b.1"]


def test_lineage_graph_errors():
    pop = Population.create(LAT, [(1, 1)], [2], capacity=4)
    with pytest.raises(ValueError, match="lineage_graph: names must give one name per kind"):
        lineage_graph(pop, names=["x", "y"])
    with pytest.raises(TypeError, match="names must be a sequence of kind names"):
        lineage_graph(pop, names="xyz")
    with pytest.raises(ValueError, match="lineage_graph: dt must be a finite number > 0"):
        lineage_graph(pop, dt=0.0)
    params = dict(period=[2.0] * 3, cv=0.0, hazard=[0.0] * 3, death=[0.0] * 3)
    _, history = simulate(build(params, Exclusion()), LAT,
                          Population.create(LAT, [(1, 1)], [0], capacity=CAPACITY),
                          key=jax.random.key(0), num_steps=STEPS)
    with pytest.raises(TypeError, match="pass the final population"):
        lineage_graph(history)


def test_check_lineage_catches_broken_bookkeeping():
    pop = Population.create(LAT, [(1, 1), (2, 2)], [0, 0], capacity=4)
    with pytest.raises(ValueError, match="occupancy grid"):
        check_lineage(pop.replace(occupancy=pop.occupancy.at[3, 3].set(1)))
    with pytest.raises(ValueError, match="exactly two daughters"):
        check_lineage(pop.replace(parent=pop.parent.at[1].set(0), division=pop.division.at[0].set(0),
                                generation=pop.generation.at[1].set(1)))
    with pytest.raises(ValueError, match="beyond num_cells"):
        check_lineage(pop.replace(alive=pop.alive.at[3].set(True)))


SCHEMA = ("birth_min", "division_min", "cycle_min", "first_min", "last_min", "first_frame",
          "last_frame", "num_frames", "founder", "generation")


def test_simulated_lineage_matches_the_reader_of_its_own_tracks():
    # Write the run out as tracks (one row per cell per step) and read them back with the
    # tracking-data reader: the schema's attributes agree node for node.
    from neurosym.data import CellTable, lineage

    table = founder_table()
    lat = automata.Lattice((12, 12))
    pop = Population.create(lat, [(6, 6)], [table.names.index("P0")], capacity=64)
    model = DivisionModel(table=table, cycle=CellCycle(period=2.0), placement=Shove(axis=0), dt=3.0)
    final, _ = simulate(model, lat, pop, key=jax.random.key(1), num_steps=4)
    g = lineage_graph(final, names=table.names, dt=model.dt)
    rows = [(n, f, next(iter(g.predecessors(n)), ""))
            for n in g for f in range(g.nodes[n]["first_frame"], g.nodes[n]["last_frame"] + 1)]
    cells, frames, parents = map(list, zip(*rows))
    t = CellTable(embryo="sim", cell=cells, time_min=[f * model.dt for f in frames], frame=frames,
                  x=[0.0] * len(rows), y=[0.0] * len(rows), z=[0.0] * len(rows), parent=parents)
    read = lineage(t)
    assert set(read.edges) == set(g.edges)
    for n in g:
        assert {k: read.nodes[n][k] for k in SCHEMA} == {k: g.nodes[n][k] for k in SCHEMA}, n
