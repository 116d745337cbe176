"""neurosym.symbolise.points: CellTables, dicts of columns and position arrays as CellFeatures."""

import numpy as np
import pytest

from neurosym.data import CellTable
from neurosym.symbolise import point_features, table_from_columns


def nuclei(**changes):
    """Four named nuclei of one embryo at one frame, in 3D."""
    columns = dict(
        embryo="e1", cell=["ABa", "ABp", "EMS", "P2"], time_min=[12.0] * 4, frame=[5] * 4,
        x=[0.0, 10.0, 0.0, 10.0], y=[0.0, 0.0, 10.0, 10.0], z=[0.0, 5.0, 5.0, 10.0],
        size=[6.0, 6.0, 5.0, 4.0], extra={"type": [2, 0, 1, 1]},
    )
    return CellTable(**{**columns, **changes})


def test_a_cell_table_gives_positions_names_sizes_and_columns():
    f = point_features(nuclei())
    np.testing.assert_array_equal(f.centroid[1], [10.0, 0.0, 5.0])
    assert f.names.tolist() == ["ABa", "ABp", "EMS", "P2"] and f.size.tolist() == [6.0, 6.0, 5.0, 4.0]
    np.testing.assert_array_equal(f.bounds, [[0, 0, 0], [10, 10, 10]])
    assert f.columns["type"].tolist() == [2, 0, 1, 1] and f.columns["frame"].tolist() == [5] * 4
    assert not {"x", "y", "z"} & set(f.columns) and f.covariance is None and f.shape is None


def test_a_table_with_every_z_zero_is_2d_unless_columns_say_otherwise():
    flat = nuclei(z=[0.0] * 4)
    assert point_features(flat).ndim == 2
    assert point_features(flat, columns=("x", "y", "z")).ndim == 3
    f = point_features(nuclei(), columns=("z", "x"))
    np.testing.assert_array_equal(f.centroid[:, 0], [0.0, 5.0, 5.0, 10.0])
    assert "y" in f.columns


def test_names_and_sizes_override_the_table():
    f = point_features(nuclei(), names=list("abcd"), sizes=[1.0, 2.0, 3.0, 4.0])
    assert f.names.tolist() == list("abcd") and f.size.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert np.isnan(point_features(nuclei(size=None)).size).all()


def test_table_from_columns_is_the_one_conversion_of_a_dict():
    t = table_from_columns({"x": [0.0, 2.0], "y": [1.0, 1.0], "cell": ["a", "b"], "kind": [3, 4]})
    assert isinstance(t, CellTable) and t.cell.tolist() == ["a", "b"] and t.z.tolist() == [0.0, 0.0]
    assert t.extra["kind"].tolist() == [3, 4] and t.frame.tolist() == [0, 0]
    f = point_features({"x": [0.0, 2.0], "y": [1.0, 1.0], "kind": [3, 4]})
    assert f.ndim == 2 and f.names is None and f.columns["kind"].tolist() == [3, 4]
    with pytest.raises(ValueError, match="table_from_columns: the table must have columns 'x' and 'y'"):
        table_from_columns({"x": [0.0]})
    with pytest.raises(ValueError, match="columns must use CellTable's column names: rename 'cell_name' to 'cell'"):
        table_from_columns({"x": [0.0], "y": [0.0], "cell_name": ["AB"]})
    with pytest.raises(ValueError, match="rename 't' to 'frame'"):
        point_features({"x": [0.0], "y": [0.0], "t": [3]})
    both = table_from_columns({"x": [0.0], "y": [0.0], "cell": ["AB"], "name": ["AB"]})
    assert both.cell.tolist() == ["AB"] and both.extra["name"].tolist() == ["AB"]
    with pytest.raises(TypeError, match="table_from_columns: columns must be a mapping"):
        table_from_columns([[0.0, 1.0]])


def test_positions_array():
    f = point_features([[1.0, 2.0], [3.0, 5.0], [2.0, 0.0]])
    assert f.names is None and f.columns == {} and np.isnan(f.size).all()
    np.testing.assert_array_equal(f.bounds, [[1, 0], [3, 5]])
    assert point_features(np.arange(3.0)).ndim == 1


def test_anything_else_is_refused_with_how_to_build_a_cell_table():
    class Nuclei:  # attributes x, y are no longer guessed
        x = np.zeros(2)
        y = np.zeros(2)

    with pytest.raises(TypeError, match=r"point_features: cells must be a CellTable.*neurosym.data.read"):
        point_features(Nuclei())
    with pytest.raises(TypeError, match=r"cells must be an \(N, D\) array of numbers or a CellTable"):
        point_features([["a", "b"]])


def test_table_errors():
    two_frames = nuclei(frame=[5, 5, 6, 6])
    with pytest.raises(ValueError, match=r"cells must be one time point.*table.at\(frame\)"):
        point_features(two_frames)
    with pytest.raises(ValueError, match=r"cells must be one embryo.*select\(embryo=...\)"):
        point_features(nuclei(embryo=["a", "a", "b", "b"]))
    with pytest.raises(ValueError, match=r"cells must be one time point"):
        point_features({"x": [0.0, 1.0], "y": [0.0, 1.0], "frame": [0, 1]})
    with pytest.raises(ValueError, match="at least one cell"):
        point_features(nuclei().take(np.zeros(0, int)))
    with pytest.raises(ValueError, match="columns must name 1 to 3 coordinate columns"):
        point_features(nuclei(), columns=("x", "q"))
    with pytest.raises(TypeError, match="columns must name numeric columns"):
        point_features(nuclei(), columns=("x", "cell"))
    with pytest.raises(TypeError, match="columns must be a sequence of column names"):
        point_features(nuclei(), columns="xy")


def test_array_errors():
    with pytest.raises(ValueError, match="positions must be finite"):
        point_features([[0.0, np.nan]])
    with pytest.raises(ValueError, match="at least one cell"):
        point_features(np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"shape \(num_cells, D\)"):
        point_features(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"sizes must hold one value per cell"):
        point_features(np.zeros((3, 2)), sizes=[1.0])
    with pytest.raises(TypeError, match="columns must be None for an array"):
        point_features(np.zeros((2, 2)), columns=("x", "y"))
    with pytest.raises(TypeError, match="names must be a sequence"):
        point_features(np.zeros((2, 2)), names={0: "a", 1: "b"})
    with pytest.raises(ValueError, match=r"point_features: names must hold one name per cell"):
        point_features(np.zeros((2, 2)), names=["a"])
