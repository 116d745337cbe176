"""neurosym.symbolise.api: a label image or a table at one time point to a Symbolised in one call."""

import networkx as nx
import numpy as np
import pytest

import automata
import neurosym.symbolise as symbolise_package
from neurosym.data import CellTable
from neurosym.symbolise import symbolise, symbolise_points

LAT2 = automata.Lattice((8, 8))


def test_every_public_name_is_importable_from_the_package():
    names = {"CellFeatures", "SymboliseReport", "Symbolised", "cell_features", "contact_graph",
             "point_features", "symbolise", "symbolise_points", "to_population"}
    assert names <= set(symbolise_package.__all__)
    assert all(callable(getattr(symbolise_package, n)) for n in names)


def test_symbolise_2d_image_end_to_end(voronoi):
    labels = voronoi((64, 64), 40, seed=1)
    intensity = labels.astype(np.float32) * 2
    out = symbolise(labels, automata.Lattice((16, 16)), intensity=intensity,
                    features=("mean_intensity", "elongation"))
    assert int(out.population.num_alive) == 40 == out.features.num_cells
    assert sorted(out.graph.nodes) == out.features.ids.tolist()
    assert nx.is_connected(out.graph)  # a Voronoi tiling without background
    np.testing.assert_allclose(out.population.features[:40, 0], out.features.ids * 2)
    assert out.population.features.shape == (40, 2)


def test_symbolise_3d_image(voronoi):
    labels = np.pad(voronoi((5, 10, 12), 25, seed=2), ((1, 0), (0, 0), (0, 0)))  # empty plane
    out = symbolise(labels, automata.Lattice((3, 5, 6)), spacing=(2.0, 1.0, 1.0))
    assert int(out.population.num_alive) == out.features.num_cells == 25
    assert out.features.covariance.shape == (25, 3, 3) and out.features.orientation.shape == (25, 3)
    np.testing.assert_allclose(np.linalg.norm(out.features.orientation, axis=1), 1.0)
    assert out.graph.number_of_nodes() == 25 and out.graph.number_of_edges() > 25
    assert symbolise(labels, automata.Lattice((3, 5, 6)), graph=False).graph is None


def test_symbolise_points_of_a_frame_of_a_cell_table():
    table = CellTable(
        embryo="e1", cell=["AB", "P1", "ABa", "ABp", "EMS", "P2"], time_min=[0, 0, 9, 9, 9, 9],
        frame=[1, 1, 4, 4, 4, 4], x=[0, 9, 0, 10, 10, 0], y=[0, 0, 0, 0, 10, 10], z=[0] * 6,
    )
    out = symbolise_points(table.at(4), automata.Lattice((4, 4)), symbols=("AB", "EMS", "P2"), match="prefix")
    assert out.graph is None and out.symbols == ("AB", "EMS", "P2")
    assert out.population.kind[:4].tolist() == [0, 0, 1, 2]
    assert out.population.position[:4].tolist() == [[0, 0], [3, 0], [3, 3], [0, 3]]
    with pytest.raises(ValueError, match="symbolise_points: cells must be one time point"):
        symbolise_points(table, automata.Lattice((4, 4)))


def test_errors_name_the_function_called():
    with pytest.raises(ValueError, match=r"symbolise: labels .* holds no cells"):
        symbolise(np.zeros((4, 4), np.int32), LAT2)
    with pytest.raises(TypeError, match="integer label image"):
        symbolise(np.ones((4, 4), np.float32), LAT2)
    with pytest.raises(ValueError, match=r"2D or 3D"):
        symbolise(np.ones((2, 2, 2, 2), np.int32), LAT2)
    with pytest.raises(ValueError, match=r"symbolise: lattice must have the cells' number of axes"):
        symbolise(np.ones((4, 4), np.int32), automata.Lattice((4, 4, 4)))
    with pytest.raises(ValueError, match="symbolise: spacing must be"):
        symbolise(np.ones((4, 4), np.int32), LAT2, spacing=-1.0)
    with pytest.raises(TypeError, match=r"symbolise_points: cells must be a CellTable.*CellTable\(embryo="):
        symbolise_points(object(), LAT2)
    with pytest.raises(ValueError, match="symbolise_points: capacity must be at least 2"):
        symbolise_points([[0.0, 0.0], [1.0, 1.0]], LAT2, capacity=1)
