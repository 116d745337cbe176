"""neurosym.symbolise.kinds: kinds from names, columns, arrays and classifiers."""

import numpy as np
import pytest

import automata
from neurosym.symbolise import point_features, symbolise, symbolise_points, to_population
from neurosym.symbolise.kinds import kinds_from_names, vocabulary

LAT2 = automata.Lattice((8, 8))


def test_kinds_from_names_with_a_vocabulary():
    cells = point_features([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], names=["E", "MS", "E"])
    pop, report = to_population(cells, automata.Lattice((2, 2)), symbols=("MS", "E", "C"))
    assert pop.kind[:3].tolist() == [1, 0, 1] and report.symbols == ("MS", "E", "C")
    assert report.kind_source == "names"
    _, report = to_population(cells, automata.Lattice((2, 2)))
    assert report.symbols == ("E", "MS")  # no vocabulary given: sorted names
    pop, _ = to_population(cells, automata.Lattice((2, 2)), symbols={"E": 5, "MS": 2})
    assert pop.kind[:3].tolist() == [5, 2, 5]


def test_vocabulary_of_a_mapping_fills_gaps():
    assert vocabulary({"E": 2, "MS": 0}, owner="x") == ({"E": 2, "MS": 0}, ("MS", "", "E"))
    assert vocabulary(["a", "b"], owner="x")[1] == ("a", "b")


def test_unknown_symbol_lists_the_vocabulary():
    cells = point_features([[0.0, 0.0], [1.0, 0.0]], names=["E", "ABa"])
    with pytest.raises(ValueError, match=r"'ABa' is not one of the 2 symbols: 'E', 'MS'.*prefix"):
        to_population(cells, automata.Lattice((2, 2)), symbols=("E", "MS"))
    with pytest.raises(ValueError, match="starts with none of"):
        to_population(cells, automata.Lattice((2, 2)), symbols=("E", "MS"), match="prefix")


def test_prefix_match_takes_the_longest_symbol():
    codes, vocab = kinds_from_names(np.array(["ABalp", "Ea", "MSp", "P2"]), ("AB", "E", "MS", "P", "P2"),
                                    "prefix", owner="x")
    assert codes.tolist() == [0, 1, 2, 4] and vocab == ("AB", "E", "MS", "P", "P2")


def test_kinds_from_a_table_column_array_and_classifier():
    table = {"x": [0.0, 2.0, 4.0], "y": [0.0, 1.0, 2.0], "cell": ["a", "b", "c"], "type": [2, 0, 1],
             "size": [3.0, 4.0, 5.0]}
    out = symbolise_points(table, automata.Lattice((3, 3)), kinds="type")
    assert out.population.kind[:3].tolist() == [2, 0, 1] and out.report.kind_source == "column 'type'"
    assert out.graph is None and out.features.size.tolist() == [3.0, 4.0, 5.0]
    out = symbolise_points(table, automata.Lattice((3, 3)), kinds=[1, 1, 0], symbols=("u", "v"))
    assert out.population.kind[:3].tolist() == [1, 1, 0] and out.symbols == ("u", "v")
    assert out.report.kind_source == "array"
    out = symbolise_points(table, automata.Lattice((3, 3)), kinds=[1.0, 0.0, 1.0])
    assert out.population.kind[:3].tolist() == [1, 0, 1]

    def by_x(cells):
        return (cells.centroid[:, 0] > 1).astype(int)

    out = symbolise_points(table, automata.Lattice((3, 3)), kinds=by_x)
    assert out.population.kind[:3].tolist() == [0, 1, 1] and out.report.kind_source == "classifier"
    big = symbolise(np.array([[1, 1, 2, 0], [3, 3, 3, 3]]), automata.Lattice((2, 4)),
                    kinds=lambda f: np.where(f.elongation > 2, "long", "round"),
                    symbols=("round", "long"))
    assert big.population.kind[:3].tolist() == [0, 0, 1]


def test_no_names_no_kinds_gives_one_constant_kind():
    pop, report = to_population(point_features(np.zeros((2, 1))), automata.Lattice((2,)), symbols=("a",))
    assert pop.kind[:2].tolist() == [0, 0] and report.kind_source == "constant" and report.symbols == ("a",)


def test_kind_errors():
    cells = point_features([[0.0, 0.0], [1.0, 1.0]], names=["a", "b"])
    with pytest.raises(ValueError, match=r"go up to 3 but symbols has 2 entries"):
        to_population(cells, LAT2, kinds=[0, 3], symbols=("a", "b"))
    with pytest.raises(ValueError, match=r"to_population: kinds from array must be non-negative"):
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
    with pytest.raises(ValueError, match="to_population: match must be one of 'exact', 'prefix'"):
        to_population(cells, LAT2, match="fuzzy")
    with pytest.raises(ValueError, match="symbols must map names to indices >= 0"):
        symbolise_points({"x": [0.0, 1.0], "y": [0.0, 1.0], "cell": ["a", "b"]}, LAT2, symbols={"a": -1, "b": 0})
