"""neurosym.symbolise.population: cells to a rules.Population, and the report of the placement."""

import numpy as np
import pytest

import automata
from neurosym.data import CellTable
from neurosym.symbolise import cell_features, point_features, symbolise_points, to_population

LAT2 = automata.Lattice((8, 8))


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


def test_a_3d_cell_table_with_population_features_and_room_to_grow():
    table = CellTable(
        embryo="e1", cell=["ABa", "ABp", "EMS", "P2"], time_min=[12.0] * 4, frame=[5] * 4,
        x=[0.0, 10.0, 0.0, 10.0], y=[0.0, 0.0, 10.0, 10.0], z=[0.0, 5.0, 5.0, 10.0], size=[6.0, 6.0, 5.0, 4.0],
    )
    pop, report = to_population(table, automata.Lattice((2, 2, 3)), features=("size", "centroid"), capacity=10)
    assert pop.capacity == 10 and int(pop.num_alive) == 4 and report.num_moved == 0
    np.testing.assert_array_equal(pop.position[:4], [[0, 0, 0], [1, 0, 1], [0, 1, 1], [1, 1, 2]])
    np.testing.assert_allclose(pop.features[:4, 0], [6, 6, 5, 4])
    np.testing.assert_allclose(pop.features[1, 1:], [10, 0, 5])
    assert report.symbols == ("ABa", "ABp", "EMS", "P2")
    flat = symbolise_points(table, automata.Lattice((2, 2)), columns=("x", "y"))
    assert int(flat.population.num_alive) == 4
    pop, _ = to_population(table, automata.Lattice((2, 2, 3)), features=np.arange(4.0))
    assert pop.features[:4, 0].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_report_string_says_what_happened():
    _, report = to_population([[0.0, 0.0], [0.0, 0.0]], automata.Lattice((2, 2)), symbols=("a",))
    assert str(report) == (
        "2 cells on a 2x2 lattice (4 sites); 1 moved to the nearest free site (max 1.00 sites); "
        "kinds from constant over 1 symbols"
    )


def test_lattice_errors():
    cells = point_features(np.random.default_rng(0).random((10, 2)))
    with pytest.raises(ValueError, match=r"2 spatial axes but the lattice has 3.*Use a 2D lattice"):
        to_population(cells, automata.Lattice((4, 4, 4)))
    with pytest.raises(ValueError, match=r"columns=\('x', 'y'\)"):
        symbolise_points({"x": [0.0], "y": [0.0], "z": [1.0]}, LAT2)
    with pytest.raises(ValueError, match=r"has 9 sites but there are 10 cells.*Lattice\(\(4, 4\)\)"):
        to_population(cells, automata.Lattice((3, 3)))
    with pytest.raises(TypeError, match="to_population: lattice must be an automata.Lattice"):
        to_population(cells, (8, 8))


def test_capacity_bounds_and_feature_errors():
    cells = point_features(np.random.default_rng(0).random((10, 2)))
    with pytest.raises(ValueError, match="to_population: capacity must be at least 10"):
        to_population(cells, LAT2, capacity=5)
    with pytest.raises(TypeError, match="capacity must be an integer"):
        to_population(cells, LAT2, capacity=12.5)
    with pytest.raises(ValueError, match="bounds must hold every cell"):
        to_population(cells, LAT2, bounds=[[0, 0], [0.1, 0.1]])
    with pytest.raises(ValueError, match=r"bounds must be a \(2, 2\) box"):
        to_population(cells, LAT2, bounds=[0, 1])
    with pytest.raises(ValueError, match="Unknown cell feature 'speed'"):
        to_population(cells, LAT2, features=("speed",))
    with pytest.raises(ValueError, match="no 'elongation'"):
        to_population(cells, LAT2, features=("elongation",))
    table = {"x": [0.0, 1.0], "y": [0.0, 1.0], "cell": ["a", "b"]}
    with pytest.raises(TypeError, match="'cell' is not numeric"):
        symbolise_points(table, LAT2, features=("cell",))
    with pytest.raises(ValueError, match=r"features must be names of cell features or an \(2, F\)"):
        symbolise_points(table, LAT2, features=np.zeros((3, 1)))
