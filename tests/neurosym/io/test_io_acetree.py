"""AceTree nuclei archives: nuclei joined into cells, and errors naming member, line and field."""

import re
import zipfile

import pytest

import neurosym.io as nio
from iofiles import ACE, nucleus, write, write_acetree
from neurosym.io import LineageWarning


def test_read_acetree_joins_nuclei_into_cells(tmp_path):
    p = write_acetree(tmp_path / "emb7-edit.zip", ACE)
    t = nio.read_acetree(p, minutes_per_frame=2.0)
    assert t.embryos() == ["emb7"] and t.meta["format"] == "acetree"
    rows = sorted(zip(t.cell.tolist(), t.frame.tolist(), t.parent.tolist(), t.x.tolist()))
    assert rows == [("EMS", 2, "P1", 8.0), ("EMS", 3, "P1", 7.0), ("P1", 1, "", 10.0), ("P2", 2, "P1", 12.0),
                    ("P2", 3, "P1", 13.0), ("nuc_t002_4", 2, "", 30.0), ("nuc_t002_4", 3, "", 31.0)]
    assert t.time_min.tolist() == [0.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0]
    assert t.extra["blot"].tolist() == [400.0] * 7  # expression minus its blot correction
    g = nio.lineage(t)
    assert set(g.successors("P1")) == {"EMS", "P2"} and g.nodes["nuc_t002_4"]["founder"] == "nuc_t002_4"
    with_polar = nio.read_acetree(p, minutes_per_frame=2.0, drop_prefixes=())
    assert "polar1" in with_polar.cells()


def test_read_acetree_with_time_file_and_no_subfolder(tmp_path):
    p = write_acetree(tmp_path / "x.zip", ACE, folder="", params=None)
    write(tmp_path / "TIMEx.csv", "x,1,0,0\nx,2,60,60\nx,3,150,90\n")
    t = nio.read_acetree(p)
    assert t.embryos() == ["x"] and sorted(set(t.time_min.tolist())) == [0.0, 1.0, 2.5]


def test_read_acetree_reports_three_daughters(tmp_path):
    frames = {1: [nucleus(1, -1, 1, 2, 0, "a")],
              2: [nucleus(1, 1, -1, -1, 0, "b"), nucleus(2, 1, -1, -1, 0, "c"), nucleus(3, 1, -1, -1, 0, "d")]}
    p = write_acetree(tmp_path / "three.zip", frames)
    with pytest.warns(LineageWarning, match=r"three.zip, run/nuclei/t001-nuclei, line 1: cell 'a' has 3 daughters"):
        nio.read_acetree(p, minutes_per_frame=1.0)
    with pytest.raises(ValueError, match="cell 'a' has 3 daughters"):
        nio.read_acetree(p, minutes_per_frame=1.0, strict=True)


@pytest.mark.parametrize("frames, message", [
    ({1: [nucleus(1, -1, -1, -1, "ten", "a")]},
     "bad.zip:run/nuclei/t001-nuclei, line 1, column 'x' (field 6): expected a finite number, got 'ten'"),
    ({1: [nucleus(1, -1, -1, -1, 0, "a")], 2: [nucleus(1, 5, -1, -1, 0, "a")]},
     "bad.zip:run/nuclei/t002-nuclei, line 1, column 'predecessor' (field 3): nucleus 5 is not in the previous frame"),
    ({1: ["1, 1, -1, -1, -1, 3, 4\n"]}, "t001-nuclei, line 1: expected at least 10 comma-separated fields"),
    ({1: [nucleus(1, -1, -1, -1, 0, "a"), nucleus(1, -1, -1, -1, 0, "b")]},
     "t001-nuclei, line 2, column 'id' (field 1): id 1 is used twice in this frame"),
])
def test_read_acetree_names_member_line_and_field(tmp_path, frames, message):
    p = write_acetree(tmp_path / "bad.zip", frames)
    with pytest.raises(ValueError, match=re.escape(message)):
        nio.read_acetree(p, minutes_per_frame=1.0)


def test_read_acetree_refuses_archives_without_nuclei(tmp_path):
    p = tmp_path / "empty.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"no AceTree nuclei files \(named tNNN-nuclei\).*readme.txt"):
        nio.read_acetree(p)
    with pytest.raises(ValueError, match="not a zip archive"):
        nio.read_acetree(write(tmp_path / "no.zip", "text"))


def test_read_acetree_refuses_archives_without_valid_nuclei_and_frame_zero(tmp_path):
    p = write_acetree(tmp_path / "blank.zip", {1: [""], 2: [nucleus(1, -1, -1, -1, 0, "a", valid=0)]})
    with pytest.raises(ValueError, match="blank.zip: no valid nucleus to read"):
        nio.read_acetree(p, minutes_per_frame=1.0)
    p = write_acetree(tmp_path / "zero.zip", {0: [nucleus(1, -1, -1, -1, 0, "a")]})
    with pytest.raises(ValueError, match=r"zero.zip:run/nuclei/t000-nuclei, line 1: frame 0 comes before frame 1"):
        nio.read_acetree(p, minutes_per_frame=1.0)
