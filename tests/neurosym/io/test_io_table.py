"""The cell table: columns, selections, sorting and refusals."""

import numpy as np
import pytest

from iofiles import table_of
from neurosym.io import CellTable


def test_cell_table_columns_and_selections():
    t = table_of(["AB", "P1", "ABa", "ABp", "P1"], [1, 1, 2, 2, 2])
    assert len(t) == 5 and t.embryos() == ["e"] and t.cells() == ["AB", "ABa", "ABp", "P1"]
    assert t.frames().tolist() == [1, 2]
    assert t.counts() == {1.0: 2, 2.0: 3}
    assert sorted(t.at(2).cell.tolist()) == ["ABa", "ABp", "P1"]
    assert t.track("P1").frame.tolist() == [1, 2]
    assert np.isnan(t.size).all() and (t.parent == "").all()
    rec = t.to_records()[0]
    assert set(rec) == set(t.columns) and rec["cell"] == "AB" and isinstance(rec["frame"], int)
    with pytest.raises(ValueError, match="read-only"):
        t.x[0] = 1.0
    both = CellTable.concat([t, table_of(["AB"], [1], embryo="f")])
    assert both.embryos() == ["e", "f"] and len(both.select(embryo="f")) == 1
    with pytest.raises(ValueError, match="holds 2 embryos"):
        both.counts()
    with pytest.raises(KeyError, match="no cell"):
        t.track("MS")


def test_cell_table_refuses_bad_columns():
    with pytest.raises(ValueError, match=r"column 'x' has shape \(1,\), expected \(2,\)"):
        CellTable(embryo="e", cell=["a", "b"], time_min=[0, 0], frame=[0, 0], x=[0], y=[0, 0], z=[0, 0])
    with pytest.raises(ValueError, match="column 'y' has 1 non-finite value"):
        CellTable(embryo="e", cell=["a"], time_min=[0], frame=[0], x=[0], y=[np.nan], z=[0])
    with pytest.raises(ValueError, match="'frame' must hold whole numbers"):
        CellTable(embryo="e", cell=["a"], time_min=[0], frame=[1.5], x=[0], y=[0], z=[0])


def test_sorted_orders_rows_by_embryo_frame_and_cell():
    t = CellTable.concat([table_of(["b", "a", "a"], [2, 2, 1], embryo="f"), table_of(["c"], [5], embryo="e")])
    s = t.sorted()
    assert list(zip(s.embryo.tolist(), s.frame.tolist(), s.cell.tolist())) == [
        ("e", 5, "c"), ("f", 1, "a"), ("f", 2, "a"), ("f", 2, "b")]
    assert len(CellTable(embryo="e", cell=[], time_min=[], frame=[], x=[], y=[], z=[]).sorted()) == 0
