"""Track tables: any case and separator, embryos, parents, and errors naming line and column."""

import re

import pytest

import neurosym.io as nio
from iofiles import write
from neurosym.io import LineageWarning


def test_read_tracks_any_case_and_separator(tmp_path):
    text = "# exported by a tracker\nT\tX\tY\tCell\tParent\tArea\n0\t0\t0\t1\t-1\t5\n1\t0\t1\t1\t\t6\n" \
           "2\t1\t0\t2\t1\t3\n2\t-1\t0\t3\t1\t3\n3\t1\t1\t2\t1\t3\n"
    t = nio.read_tracks(write(tmp_path / "tracks.tsv", text, gz=True), minutes_per_frame=2.5)
    assert t.embryos() == ["tracks"] and (t.z == 0).all() and t.extra["Area"].tolist() == [5, 6, 3, 3, 3]
    assert t.counts() == {0.0: 1, 2.5: 1, 5.0: 2, 7.5: 1}
    g = nio.lineage(t)
    assert set(g.successors("1")) == {"2", "3"} and g.nodes["2"]["birth_min"] == 5.0
    assert g.nodes["1"]["cycle_min"] is None and g.nodes["1"]["division_min"] == 5.0


def test_read_tracks_with_embryos_and_column_map(tmp_path):
    text = "FRAME;px;py;pz;track;mother;embryo\n0;0;0;0;0;;a\n1;0;0;0;1;0;a\n1;0;0;0;2;0;a\n0;5;5;5;0;;b\n"
    t = nio.read_tracks(write(tmp_path / "m.csv", text), columns={"t": "FRAME", "x": "px", "y": "py", "z": "pz"})
    assert t.embryos() == ["a", "b"]
    assert nio.lineage(t, embryo="a").graph["report"].ok
    assert sorted(nio.lineage(t, embryo="a").successors("0")) == ["1", "2"]
    # 0 is a cell here, so a parent of 0 means cell 0; without a cell 0 it means "no parent".
    t2 = nio.read_tracks(write(tmp_path / "n.csv", "t,x,y,id,parent_id\n0,0,0,5,0\n"))
    assert t2.parent.tolist() == [""]


@pytest.mark.parametrize("text, message", [
    ("t,x,y,cell,parent\n0,0,0,1,\n1,0,0,2,9\n",
     "tracks.csv, line 3, column 'parent': parent '9' never appears as a cell"),
    ("t,x,y,cell,parent\n0,0,0,1,\n1,0,0,2,1\n2,0,0,2,\n",
     "tracks.csv, line 4, column 'parent': cell '2' has parent 'none' here but '1' on line 3"),
    ("t,x,y,cell,parent\n0,0,0,1,1\n", "tracks.csv, line 2, column 'parent': cell '1' is given as its own parent"),
    ("t,x,y,z\n0,0,0,0\n", "tracks.csv, line 1: missing column 'cell' (expected a column named one of: cell"),
    ("t,x,y,cell\nsoon,0,0,1\n", "tracks.csv, line 2, column 't': expected a whole number, got 'soon'"),
    ("t,x,y,cell\n0,0,inf,1\n", "tracks.csv, line 2, column 'y': expected a finite number, got 'inf'"),
    ("t,x,y,cell,Cell\n0,0,0,1,1\n", "columns 'cell', 'Cell' are ambiguous for 'cell'"),
    ("t,x,y,cell\n", "tracks.csv: the file has a header (line 1) but no rows"),
    ("t,x,y,cell\n0,0,0,a\n-1,0,0,a\n", "tracks.csv, line 3, column 't': expected a number >= 0"),
])
def test_read_tracks_names_file_line_and_column(tmp_path, text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        nio.read_tracks(write(tmp_path / "tracks.csv", text))


def test_read_tracks_reports_lineage_problems_with_lines(tmp_path):
    text = "t,x,y,cell,parent\n0,0,0,P1,\n1,0,0,MS,P1\n1,0,0,P2,P1\n2,0,0,x,P1\n"
    p = write(tmp_path / "t.csv", text)
    with pytest.warns(LineageWarning) as caught:
        t = nio.read_tracks(p)
    msg = str(caught[0].message)
    assert "t.csv, line 3: 'MS' is tracked as a daughter of 'P1', but the founder rule is P1 -> EMS + P2" in msg
    assert "t.csv, line 2: cell 'P1' has 3 daughters (MS, P2, x)" in msg
    assert t.meta["lineage_reports"]["t"].kinds() == {"too_many_daughters": 1, "founder_rule": 1}
    with pytest.raises(ValueError, match="break 2 lineage rule"):
        nio.read_tracks(p, strict=True)
    with pytest.raises(ValueError, match="read_tracks: columns has the unknown column 'time'"):
        nio.read_tracks(p, columns={"time": "t"})


@pytest.mark.parametrize("rows, cycle", [
    ("0,0,0,a,b\n0,0,0,b,a\n", "'a' (line 2) -> 'b' (line 3) -> 'a'"),
    ("0,0,0,a,c\n1,0,0,b,a\n2,0,0,c,b\n", "'a' (line 2) -> 'b' (line 3) -> 'c' (line 4) -> 'a'"),
])
def test_read_tracks_refuses_parent_cycles_naming_them(tmp_path, rows, cycle):
    p = write(tmp_path / "cyc.csv", "t,x,y,cell,parent\n" + rows)
    with pytest.raises(ValueError, match="cyc.csv: the parents form a cycle: " + re.escape(cycle)):
        nio.read_tracks(p)


def test_read_tracks_accepts_one_cell_in_one_frame(tmp_path):
    t = nio.read_tracks(write(tmp_path / "one.csv", "t,x,y,cell\n0,0,0,a\n"))
    assert len(t) == 1 and t.frames().tolist() == [0]
