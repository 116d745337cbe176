"""Symbolise: per-cell features, contact graphs and populations from label images and tables."""

import doctest

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import automata
from neurosym import symbolise as symbolise_module
from neurosym.symbolise import (
    CellFeatures,
    cell_features,
    contact_graph,
    point_features,
    symbolise,
    symbolise_points,
    to_population,
)


def voronoi(shape, num_cells, seed=0):
    """Nearest-seed labels 1..num_cells on a grid (every seed owns at least its own pixel)."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(int(np.prod(shape)), num_cells, replace=False)
    seeds = np.stack(np.unravel_index(flat, shape), 1).astype(np.float64)
    grid = np.stack(np.indices(shape), -1).reshape(-1, len(shape))
    d = ((grid[:, None, :] - seeds[None]) ** 2).sum(-1)
    return (d.argmin(1) + 1).reshape(shape).astype(np.int32)


def reference_features(labels, intensity=None):
    """Per-label loop: what the vectorised code must reproduce."""
    out = {}
    for i in np.unique(labels[labels > 0]):
        pts = np.argwhere(labels == i).astype(np.float64)
        c = pts.mean(0)
        cov = (pts - c).T @ (pts - c) / len(pts) + np.eye(labels.ndim) / 12
        mean = None if intensity is None else intensity[labels == i].mean(0)
        out[int(i)] = (len(pts), c, cov, mean)
    return out


# ---------------------------------------------------------------------------------------- features
def test_features_of_hand_made_shapes():
    labels = np.zeros((6, 8), np.int32)
    labels[1:3, 1:5] = 7   # 2 x 4 rectangle, lying along the columns
    labels[4, 6] = 3       # one pixel
    labels[3:6, 0] = 12    # 3 x 1 bar, standing along the rows
    f = cell_features(labels)
    assert isinstance(f, CellFeatures) and f.num_cells == 3 and f.ndim == 2
    assert f.ids.tolist() == [3, 7, 12]
    assert f.size.tolist() == [1, 8, 3]
    np.testing.assert_allclose(f.centroid, [[4, 6], [1.5, 2.5], [4, 0]])
    # Union of unit squares: a x b rectangle has variances a**2/12, b**2/12.
    np.testing.assert_allclose(f.covariance[0], np.eye(2) / 12)
    np.testing.assert_allclose(f.covariance[1], np.diag([4 / 12, 16 / 12]), atol=1e-12)
    np.testing.assert_allclose(f.covariance[2], np.diag([9 / 12, 1 / 12]), atol=1e-12)
    np.testing.assert_allclose(f.elongation, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(f.orientation[1:], [[0, 1], [1, 0]], atol=1e-12)
    assert f.mean_intensity is None and f.names is None and f.shape == (6, 8)
    np.testing.assert_allclose(f.bounds, [[-0.5, -0.5], [5.5, 7.5]])


def test_diagonal_cell_is_oriented_along_the_diagonal():
    labels = np.eye(5, dtype=np.int32)
    f = cell_features(labels)
    np.testing.assert_allclose(f.orientation[0], [2**-0.5, 2**-0.5])
    assert f.elongation[0] > 4


def test_spacing_scales_centroid_moments_volume_and_bounds():
    labels = np.zeros((4, 6), np.int32)
    labels[1:3, 1:5] = 1
    f = cell_features(labels, spacing=(2.0, 0.5))
    np.testing.assert_allclose(f.centroid, [[3.0, 1.25]])
    np.testing.assert_allclose(np.diag(f.covariance[0]), [4 / 12 * 4, 16 / 12 * 0.25])
    np.testing.assert_allclose(f.volume, [8 * 1.0])
    # 4 micrometres along the rows by 2 along the columns: the long axis flips to the rows.
    np.testing.assert_allclose(f.elongation, [2.0])
    np.testing.assert_allclose(f.orientation, [[1.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(f.bounds, [[-1.0, -0.25], [7.0, 2.75]])


@pytest.mark.parametrize("shape, n", [((24, 30), 20), ((8, 10, 12), 15)])
def test_features_match_a_per_label_loop(shape, n):
    labels = voronoi(shape, n, seed=3)
    labels[labels % 5 == 0] = 0  # some background, non-consecutive ids
    rng = np.random.default_rng(4)
    intensity = rng.random(shape)
    f = cell_features(labels, intensity)
    ref = reference_features(labels, intensity)
    assert f.ids.tolist() == sorted(ref)
    for row, i in enumerate(f.ids.tolist()):
        size, c, cov, mean = ref[i]
        assert f.size[row] == size
        np.testing.assert_allclose(f.centroid[row], c, atol=1e-12)
        np.testing.assert_allclose(f.covariance[row], cov, atol=1e-12)
        np.testing.assert_allclose(f.mean_intensity[row], mean, rtol=1e-12)
        w = np.linalg.eigvalsh(cov)
        np.testing.assert_allclose(f.elongation[row], np.sqrt(w[-1] / w[0]), rtol=1e-10)


def test_multichannel_intensity_and_sparse_huge_ids():
    labels = np.array([[0, 5, 5], [9, 9, 0]], np.int64)
    intensity = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    f = cell_features(labels, intensity)
    np.testing.assert_allclose(f.mean_intensity, [[3.0, 4.0], [7.0, 8.0]])
    big = np.where(labels > 0, labels + 10**12, 0)  # ids far above the pixel count: sort path
    g = cell_features(big, intensity)
    assert g.ids.tolist() == [10**12 + 5, 10**12 + 9]
    np.testing.assert_allclose(g.centroid, f.centroid)
    assert g.size.tolist() == f.size.tolist()
    assert sorted(contact_graph(big).edges) == [(10**12 + 5, 10**12 + 9)]


def test_names_by_label_id_or_in_id_order():
    labels = np.array([[4, 4, 2]])
    assert cell_features(labels, names={2: "P1", 4: "AB"}).names.tolist() == ["P1", "AB"]
    assert cell_features(labels, names=["P1", "AB"]).names.tolist() == ["P1", "AB"]
    with pytest.raises(ValueError, match=r"no entry for the label ids \[4\]"):
        cell_features(labels, names={2: "P1"})
    with pytest.raises(ValueError, match=r"one name per cell, shape \(2,\)"):
        cell_features(labels, names=["P1"])


# ---------------------------------------------------------------------------------------- graph
def test_contact_graph_of_a_known_layout():
    labels = np.array(
        [[1, 1, 2, 2, 0, 5],
         [1, 1, 2, 2, 0, 0],
         [3, 3, 3, 4, 4, 0]]
    )
    g = contact_graph(labels)
    assert sorted(g.nodes) == [1, 2, 3, 4, 5]
    assert {i: g.nodes[i]["index"] for i in g} == {1: 0, 2: 1, 3: 2, 4: 3, 5: 4}
    faces = {tuple(sorted(e[:2])): e[2] for e in g.edges(data="faces")}
    # 2 touches 4 at one face (2 over 4); 3 and 4 side by side; 5 only touches background.
    assert faces == {(1, 2): 2, (1, 3): 2, (2, 3): 1, (2, 4): 1, (3, 4): 1}
    assert g.degree(5) == 0
    assert all(d["area"] == d["faces"] for *_, d in g.edges(data=True))


def test_corners_do_not_touch_and_spacing_sets_area():
    labels = np.array([[1, 0], [0, 2]])
    assert contact_graph(labels).number_of_edges() == 0
    two = np.array([[1, 1], [2, 2]])  # contact across axis 0: face length = spacing[1]
    g = contact_graph(two, spacing=(3.0, 0.5))
    assert g.edges[1, 2]["faces"] == 2 and g.edges[1, 2]["area"] == pytest.approx(1.0)


def test_contact_graph_3d_face_areas():
    labels = np.zeros((2, 3, 3), np.int32)
    labels[0] = 1
    labels[1, :, :2] = 2
    labels[1, :, 2] = 3
    g = contact_graph(labels, spacing=(1.0, 2.0, 3.0))
    assert g.edges[1, 2]["faces"] == 6 and g.edges[1, 3]["faces"] == 3
    assert g.edges[2, 3]["faces"] == 3
    assert g.edges[1, 2]["area"] == pytest.approx(6 * 6.0)  # z faces: 2 x 3
    assert g.edges[2, 3]["area"] == pytest.approx(3 * 2.0)  # x faces: 1 x 2


# ---------------------------------------------------------------------------------------- population
def test_image_pixels_map_onto_an_equal_lattice_exactly():
    labels = np.zeros((5, 7), np.int32)
    labels[0, 0], labels[4, 6], labels[2, 3] = 1, 2, 3
    pop, report = to_population(cell_features(labels), automata.Lattice((5, 7)))
    assert int(pop.num_alive) == 3 and pop.capacity == 3 and report.num_moved == 0
    np.testing.assert_array_equal(pop.position, [[0, 0], [4, 6], [2, 3]])
    assert report.kind_source == "constant" and pop.kind.tolist() == [0, 0, 0]


def test_scaling_to_a_coarser_lattice():
    labels = np.zeros((8, 8), np.int32)
    labels[0:2, 0:2], labels[6:8, 6:8], labels[0:2, 6:8] = 1, 2, 3
    pop, report = to_population(cell_features(labels), automata.Lattice((4, 2)))
    np.testing.assert_array_equal(report.requested, [[0, 0], [3, 1], [0, 1]])
    np.testing.assert_array_equal(pop.position, report.requested)


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
    again = symbolise_module._place(report.requested, lat)[0]
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
    searched, moved, disp = symbolise_module._place(req, lat, budget=10**9)
    scanned, moved2, disp2 = symbolise_module._place(req, lat, budget=0)
    np.testing.assert_array_equal(searched, scanned)
    assert moved.tolist() == moved2.tolist()


def test_full_lattice_places_every_cell():
    cells = point_features(np.zeros((16, 2)))
    pop, report = to_population(cells, automata.Lattice((4, 4)))
    assert int(pop.num_alive) == 16 and report.num_moved == 15
    assert bool(np.all(np.asarray(pop.occupancy) >= 0))


# ---------------------------------------------------------------------------------------- kinds
def test_kinds_from_names_with_a_vocabulary():
    cells = point_features([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], names=["E", "MS", "E"])
    pop, report = to_population(cells, automata.Lattice((2, 2)), symbols=("MS", "E", "C"))
    assert pop.kind[:3].tolist() == [1, 0, 1] and report.symbols == ("MS", "E", "C")
    assert report.kind_source == "names"
    _, report = to_population(cells, automata.Lattice((2, 2)))
    assert report.symbols == ("E", "MS")  # no vocabulary given: sorted names
    pop, _ = to_population(cells, automata.Lattice((2, 2)), symbols={"E": 5, "MS": 2})
    assert pop.kind[:3].tolist() == [5, 2, 5]


def test_unknown_symbol_lists_the_vocabulary():
    cells = point_features([[0.0, 0.0], [1.0, 0.0]], names=["E", "ABa"])
    with pytest.raises(ValueError, match=r"'ABa' is not one of the 2 symbols: 'E', 'MS'.*prefix"):
        to_population(cells, automata.Lattice((2, 2)), symbols=("E", "MS"))
    with pytest.raises(ValueError, match="starts with none of"):
        to_population(cells, automata.Lattice((2, 2)), symbols=("E", "MS"), match="prefix")


def test_prefix_match_takes_the_longest_symbol():
    cells = point_features(np.arange(8.0).reshape(4, 2), names=["ABalp", "Ea", "MSp", "P2"])
    pop, _ = to_population(cells, automata.Lattice((4, 4)), symbols=("AB", "E", "MS", "P", "P2"),
                           match="prefix")
    assert pop.kind[:4].tolist() == [0, 1, 2, 4]


def test_kinds_from_a_table_column_array_and_classifier():
    table = {"x": [0.0, 2.0, 4.0], "y": [0.0, 1.0, 2.0], "t": [7, 7, 7],
             "cell": ["a", "b", "c"], "type": [2, 0, 1], "size": [3.0, 4.0, 5.0]}
    out = symbolise_points(table, automata.Lattice((3, 3)), kinds="type")
    assert out.population.kind[:3].tolist() == [2, 0, 1] and out.report.kind_source == "column 'type'"
    assert out.graph is None and out.features.size.tolist() == [3.0, 4.0, 5.0]
    out = symbolise_points(table, automata.Lattice((3, 3)), kinds=[1, 1, 0], symbols=("u", "v"))
    assert out.population.kind[:3].tolist() == [1, 1, 0] and out.symbols == ("u", "v")

    def by_x(cells):
        return (cells.centroid[:, 0] > 1).astype(int)

    out = symbolise_points(table, automata.Lattice((3, 3)), kinds=by_x)
    assert out.population.kind[:3].tolist() == [0, 1, 1] and out.report.kind_source == "classifier"
    big = symbolise(np.array([[1, 1, 2, 0], [3, 3, 3, 3]]), automata.Lattice((2, 4)),
                    kinds=lambda f: np.where(f.elongation > 2, "long", "round"),
                    symbols=("round", "long"))
    assert big.population.kind[:3].tolist() == [0, 0, 1]


def test_object_table_3d_and_population_features():
    class Nuclei:  # any object with x, y, z attributes works (e.g. a CellTable row set)
        def __init__(self):
            self.x = np.array([0.0, 10.0, 0.0, 10.0])
            self.y = np.array([0.0, 0.0, 10.0, 10.0])
            self.z = np.array([0.0, 5.0, 5.0, 10.0])
            self.cell_name = np.array(["ABa", "ABp", "EMS", "P2"])
            self.diameter = np.array([6.0, 6.0, 5.0, 4.0])

    out = symbolise_points(Nuclei(), automata.Lattice((2, 2, 3)), features=("size", "centroid"),
                           capacity=10)
    pop = out.population
    assert pop.capacity == 10 and int(pop.num_alive) == 4 and out.report.num_moved == 0
    np.testing.assert_array_equal(pop.position[:4], [[0, 0, 0], [1, 0, 1], [0, 1, 1], [1, 1, 2]])
    np.testing.assert_allclose(pop.features[:4, 0], [6, 6, 5, 4])
    np.testing.assert_allclose(pop.features[1, 1:], [10, 0, 5])
    assert out.symbols == ("ABa", "ABp", "EMS", "P2")
    flat = symbolise_points(Nuclei(), automata.Lattice((2, 2)), columns=("x", "y"))
    assert int(flat.population.num_alive) == 4


# ---------------------------------------------------------------------------------------- one call
def test_symbolise_2d_image_end_to_end():
    labels = voronoi((64, 64), 40, seed=1)
    intensity = labels.astype(np.float32) * 2
    out = symbolise(labels, automata.Lattice((16, 16)), intensity=intensity,
                    features=("mean_intensity", "elongation"))
    assert int(out.population.num_alive) == 40 == out.features.num_cells
    assert sorted(out.graph.nodes) == out.features.ids.tolist()
    assert nx.is_connected(out.graph)  # a Voronoi tiling without background
    np.testing.assert_allclose(out.population.features[:40, 0], out.features.ids * 2)
    assert out.population.features.shape == (40, 2)


def test_symbolise_3d_image():
    labels = np.pad(voronoi((5, 10, 12), 25, seed=2), ((1, 0), (0, 0), (0, 0)))  # empty plane
    out = symbolise(labels, automata.Lattice((3, 5, 6)), spacing=(2.0, 1.0, 1.0))
    assert int(out.population.num_alive) == out.features.num_cells == 25
    assert out.features.covariance.shape == (25, 3, 3) and out.features.orientation.shape == (25, 3)
    np.testing.assert_allclose(np.linalg.norm(out.features.orientation, axis=1), 1.0)
    assert out.graph.number_of_nodes() == 25 and out.graph.number_of_edges() > 25
    assert symbolise(labels, automata.Lattice((3, 5, 6)), graph=False).graph is None


# ---------------------------------------------------------------------------------------- errors
LAT2 = automata.Lattice((8, 8))


@pytest.mark.parametrize(
    "labels, error, match",
    [
        (np.ones((4, 4), np.float32), TypeError, r"integer label image.*float32.*astype"),
        (np.ones((4, 4), bool), TypeError, r"dtype bool"),
        (np.zeros((4, 4), np.int32), ValueError, r"holds no cells: every pixel is background"),
        (np.zeros((0, 4), np.int32), ValueError, r"labels is empty"),
        (np.array([[1, -2]]), ValueError, r"negative label -2"),
        (np.ones((2, 2, 2, 2), np.int32), ValueError, r"2D or 3D.*labels\[t\]"),
    ],
)
def test_label_errors(labels, error, match):
    with pytest.raises(error, match=match):
        cell_features(labels)
    with pytest.raises(error, match=match):
        symbolise(labels, LAT2)


def test_intensity_errors():
    labels = np.ones((4, 4), np.int32)
    with pytest.raises(ValueError, match=r"intensity must have the label image's shape \(4, 4\)"):
        cell_features(labels, np.ones((4, 5)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        cell_features(labels, np.full((4, 4), np.nan))
    with pytest.raises(TypeError, match="real numeric image"):
        cell_features(labels, np.full((4, 4), "a"))
    with pytest.raises(ValueError, match="spacing must be 2 positive numbers"):
        cell_features(labels, spacing=(1.0, -1.0))


def test_lattice_errors():
    labels = np.ones((4, 4), np.int32)
    with pytest.raises(ValueError, match=r"2 spatial axes but the lattice has 3.*Use a 2D lattice"):
        symbolise(labels, automata.Lattice((4, 4, 4)))
    with pytest.raises(ValueError, match=r"columns=\('x', 'y'\)"):
        symbolise_points({"x": [0.0], "y": [0.0], "z": [0.0]}, LAT2)
    cells = point_features(np.random.default_rng(0).random((10, 2)))
    with pytest.raises(ValueError, match=r"has 9 sites but there are 10 cells.*Lattice\(\(4, 4\)\)"):
        to_population(cells, automata.Lattice((3, 3)))
    with pytest.raises(TypeError, match="must be an automata.Lattice"):
        to_population(cells, (8, 8))
    with pytest.raises(ValueError, match="capacity 5 is smaller than the number of cells"):
        to_population(cells, LAT2, capacity=5)
    with pytest.raises(ValueError, match="cells lie outside bounds"):
        to_population(cells, LAT2, bounds=[[0, 0], [0.1, 0.1]])
    with pytest.raises(ValueError, match=r"bounds must be a \(2, 2\) box"):
        to_population(cells, LAT2, bounds=[0, 1])


def test_kind_errors():
    cells = point_features([[0.0, 0.0], [1.0, 1.0]], names=["a", "b"])
    with pytest.raises(ValueError, match=r"go up to 3 but symbols has 2 entries"):
        to_population(cells, LAT2, kinds=[0, 3], symbols=("a", "b"))
    with pytest.raises(ValueError, match=r"non-negative"):
        to_population(cells, LAT2, kinds=[0, -1])
    with pytest.raises(ValueError, match=r"one kind per cell, shape \(2,\)"):
        to_population(cells, LAT2, kinds=lambda f: [0])
    with pytest.raises(TypeError, match="integer kind indices or cell names"):
        to_population(cells, LAT2, kinds=[0.5, 1.0])
    with pytest.raises(ValueError, match=r"kinds='type' names no column.*\['names'\]"):
        to_population(cells, LAT2, kinds="type")
    with pytest.raises(ValueError, match="symbols must be distinct"):
        to_population(cells, LAT2, symbols=("a", "a"))
    with pytest.raises(TypeError, match="single string"):
        to_population(cells, LAT2, symbols="ab")
    with pytest.raises(ValueError, match=r"match='prefix' needs symbols"):
        to_population(cells, LAT2, match="prefix")
    with pytest.raises(ValueError, match="match must be 'exact' or 'prefix'"):
        to_population(cells, LAT2, match="fuzzy")
    with pytest.raises(ValueError, match="Unknown cell feature 'speed'"):
        to_population(cells, LAT2, features=("speed",))
    with pytest.raises(ValueError, match="no 'elongation'"):
        to_population(cells, LAT2, features=("elongation",))


def test_table_errors():
    with pytest.raises(ValueError, match=r"2 time points \(t = 0 .. 1\).*one time point"):
        point_features({"x": [0.0, 1.0], "y": [0.0, 1.0], "t": [0, 1]})
    with pytest.raises(ValueError, match="no column 'y'"):
        point_features({"x": [0.0, 1.0]})
    with pytest.raises(ValueError, match="NaN or infinite positions"):
        point_features([[0.0, np.nan]])
    with pytest.raises(ValueError, match="positions is empty"):
        point_features(np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"shape \(num_cells, D\)"):
        point_features(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"sizes must hold one value per cell"):
        point_features(np.zeros((3, 2)), sizes=[1.0])


def test_argument_type_errors():
    with pytest.raises(TypeError, match="columns= only applies to a table"):
        point_features(np.zeros((2, 2)), columns=("x", "y"))
    with pytest.raises(TypeError, match=r"\(N, D\) array of numbers or a table"):
        point_features([["a", "b"]])
    with pytest.raises(TypeError, match="names must be a sequence"):
        point_features(np.zeros((2, 2)), names={0: "a", 1: "b"})
    table = {"x": [0.0, 1.0], "y": [0.0, 1.0], "cell": ["a", "b"]}
    with pytest.raises(TypeError, match="'cell' is not numeric"):
        symbolise_points(table, LAT2, features=("cell",))
    with pytest.raises(ValueError, match=r"features must be names of cell features or an \(2, F\)"):
        symbolise_points(table, LAT2, features=np.zeros((3, 1)))
    with pytest.raises(ValueError, match="negative indices"):
        symbolise_points(table, LAT2, symbols={"a": -1, "b": 0})


def test_docstring_examples():
    failures, attempted = doctest.testmod(symbolise_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 10 and failures == 0
