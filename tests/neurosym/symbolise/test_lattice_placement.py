"""neurosym.symbolise.placement: sites for cells, collisions to the nearest free site."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import automata
from neurosym.symbolise import point_features, to_population
from neurosym.symbolise.placement import map_to_sites, place


def test_map_to_sites_scales_the_box_and_centres_a_flat_axis():
    box = np.array([[0.0, 2.0], [1.0, 2.0]])  # axis 1 has zero width
    sites = map_to_sites(np.array([[0.0, 2.0], [0.99, 2.0], [1.0, 2.0]]), box, (4, 5))
    assert sites.tolist() == [[0, 2], [3, 2], [3, 2]]


def test_collision_moves_the_later_cell_to_the_nearest_free_site():
    cells = point_features([[0.0, 0.0], [0.1, 0.1], [1.0, 1.0]])
    pop, report = to_population(cells, automata.Lattice((4, 4)))
    assert report.num_moved == 1 and report.moved.tolist() == [1]
    np.testing.assert_array_equal(report.requested[1], [0, 0])
    np.testing.assert_array_equal(pop.position[:3], [[0, 0], [0, 1], [3, 3]])
    assert report.displacement.tolist() == [0.0, 1.0, 0.0] and report.max_displacement == 1.0
    assert "1 moved" in str(report)


@pytest.mark.parametrize("boundary, expected", [("fixed", [0, 2]), ("wrap", [0, 3])])
def test_moves_cross_the_edge_only_on_a_periodic_lattice(boundary, expected):
    # (0, 0) is crowded and its neighbours inside the box are taken.
    pts = [[0.5, 0.5], [0.5, 1.5], [1.5, 0.5], [1.5, 1.5], [0.6, 0.6]]
    lat = automata.Lattice((4, 4), boundary=boundary)
    pop, report = to_population(point_features(pts), lat, bounds=[[0, 0], [4, 4]])
    assert report.moved.tolist() == [4]
    np.testing.assert_array_equal(report.position[4], expected)
    assert report.displacement[4] == (2.0 if boundary == "fixed" else 1.0)


def test_crowded_site_spreads_breadth_first():
    lat = automata.Lattice((5, 5), neighbourhood="von_neumann", boundary="fixed")
    cells = point_features(np.zeros((6, 2)))
    pop, report = to_population(cells, lat, bounds=[[0, 0], [1, 1]])
    assert report.num_moved == 5 and int(pop.num_alive) == 6
    # From the corner (0, 0): one cell stays, two sites are 1 hop away, three are 2 hops away.
    hops = np.abs(report.position - report.requested).sum(1)
    assert sorted(hops.tolist()) == [0, 1, 1, 2, 2, 2]


def test_unconnected_neighbourhood_falls_back_to_nearest_free_site():
    lat = automata.Lattice((5,), neighbourhood=((1,),), boundary="fixed")
    cells = point_features([[4.0], [4.0], [0.0]])
    pop, report = to_population(cells, lat)
    assert report.position[:, 0].tolist() == [4, 3, 0] and report.num_moved == 1


def test_full_lattice_places_every_cell():
    cells = point_features(np.zeros((16, 2)))
    pop, report = to_population(cells, automata.Lattice((4, 4)))
    assert int(pop.num_alive) == 16 and report.num_moved == 15
    assert bool(np.all(np.asarray(pop.occupancy) >= 0))


@settings(max_examples=20, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    boundary=st.sampled_from(["wrap", "fixed"]),
    neighbourhood=st.sampled_from(["moore", "von_neumann"]),
    data=st.data(),
)
def test_no_cell_is_lost_and_collisions_are_counted(shape, boundary, neighbourhood, data):
    lat = automata.Lattice(shape, neighbourhood=neighbourhood, boundary=boundary)
    n = data.draw(st.integers(1, lat.num_sites))
    pts = data.draw(
        st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=n, max_size=n)
    )
    cells = point_features(np.asarray(pts))
    pop, report = to_population(cells, lat, bounds=[[0, 0], [1, 1]])
    assert int(pop.num_alive) == n == report.num_cells
    flat = np.ravel_multi_index(tuple(report.position.T), shape)
    assert np.unique(flat).size == n  # one cell a site
    req = np.ravel_multi_index(tuple(report.requested.T), shape)
    _, first = np.unique(req, return_index=True)
    moved = np.setdiff1d(np.arange(n), first)
    assert report.num_moved == n - np.unique(req).size == moved.size
    assert report.moved.tolist() == moved.tolist()
    stayed = np.setdiff1d(np.arange(n), moved)
    np.testing.assert_array_equal(report.position[stayed], report.requested[stayed])
    occ = np.asarray(pop.occupancy).reshape(-1)
    np.testing.assert_array_equal(occ[flat], np.arange(n))
    again = place(report.requested, lat)[0]
    np.testing.assert_array_equal(again, report.position)  # deterministic


@settings(max_examples=30, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    boundary=st.sampled_from(["wrap", "fixed", "reflect"]),
    neighbourhood=st.sampled_from(["moore", "von_neumann", "hex"]),
    radius=st.integers(1, 2),
    data=st.data(),
)
def test_breadth_first_search_equals_the_closed_form_hop_scan(
    shape, boundary, neighbourhood, radius, data
):
    # The search hands over to a scan of all free sites by closed-form hop distance once its
    # budget is spent; both must pick the same sites.
    if boundary == "reflect" and radius > min(shape):
        radius = 1
    lat = automata.Lattice(shape, neighbourhood=neighbourhood, radius=radius, boundary=boundary)
    n = data.draw(st.integers(1, lat.num_sites))
    req = np.asarray(data.draw(st.lists(
        st.tuples(st.integers(0, shape[0] - 1), st.integers(0, shape[1] - 1)),
        min_size=n, max_size=n)))
    searched, moved, disp = place(req, lat, budget=10**9)
    scanned, moved2, disp2 = place(req, lat, budget=0)
    np.testing.assert_array_equal(searched, scanned)
    assert moved.tolist() == moved2.tolist()
    np.testing.assert_allclose(disp, disp2)
