"""CD tables: layouts, times, and errors that name file, line and column."""

import re

import numpy as np
import pytest

import neurosym.io as nio
from iofiles import EARLY, EARLY_CYCLES, write, write_cd
from neurosym.io import LineageWarning


def test_read_cd_with_time_file_found_next_to_it(tmp_path):
    p = write_cd(tmp_path, gz=True, name="CDembryo1.csv.gz")
    write(tmp_path / "TIMEembryo1.csv", "".join(f"embryo1\t{f}\t{90 * (f - 1)}\t90\n" for f in range(1, 16)))
    t = nio.read_cd(p)
    assert t.embryos() == ["embryo1"] and t.meta["format"] == "cd" and "TIMEembryo1.csv" in t.meta["time_source"]
    assert len(t) == sum(b - a + 1 for a, b in EARLY.values())
    e = t.track("E")
    assert e.frame.tolist() == list(range(9, 14)) and e.time_min.tolist() == [1.5 * (f - 1) for f in range(9, 14)]
    assert e.y.tolist() == [200.0 + f for f in range(9, 14)]
    assert sorted(t.extra) == ["blot", "cross", "global", "gweight", "local", "none"]
    assert t.extra["gweight"].dtype == np.float64
    g = nio.lineage(t)
    assert {k: v / 1.5 for k, v in nio.cycle_lengths(g).items()} == EARLY_CYCLES


def test_read_cd_layout_variants(tmp_path):
    # Columns in another order, other case, no size, an extra text column, cellTime only.
    rows = ["TIME,X,Y,Z,CELL,note,embryo", "1,1,2,3,ABa,first,e", "2,1,2,3.5,ABal,,e", "2,1,2,3,ABar,x,e"]
    t = nio.read_cd(write(tmp_path / "a.csv", "\n".join(rows)), minutes_per_frame=2.0)
    assert t.cell.tolist() == ["ABa", "ABal", "ABar"] and t.time_min.tolist() == [0.0, 2.0, 2.0]
    assert np.isnan(t.size).all() and t.extra["note"].tolist() == ["first", "", "x"]
    assert t.embryos() == ["a"] and t.extra["embryo_in_file"].tolist() == ["e"] * 3
    rows = ["cellTime,x,y,z,size", "EMS:1,1,1,1,10", "MS:2,1,1,1,8", "E:2,1,1,1,8"]
    t = nio.read_cd(write(tmp_path / "b.csv", "\r\n".join(rows)), minutes_per_frame=1.0, embryo="b1")
    assert t.cell.tolist() == ["EMS", "E", "MS"] and t.embryos() == ["b1"]
    assert sorted(nio.lineage(t).successors("EMS")) == ["E", "MS"]


def test_read_cd_without_times_warns_and_counts_frames(tmp_path):
    p = write_cd(tmp_path, spans={"AB": (1, 2)})
    with pytest.warns(UserWarning, match="no TIME file found and no minutes_per_frame"):
        t = nio.read_cd(p)
    assert t.time_min.tolist() == [0.0, 1.0]


@pytest.mark.parametrize("rows, message", [
    (["cell,time,x,y", "AB,1,1,1"], "cells.csv, line 1: missing column 'z'"),
    (["cell,time,x,y,z", "AB,1,1,1,1", "AB,2,abc,1,1"], "cells.csv, line 3, column 'x': expected a number, got 'abc'"),
    (["cell,time,x,y,z", "AB,1,1,,1"], "cells.csv, line 2, column 'y': expected a number, got an empty field"),
    (["cell,time,x,y,z", "AB,1,1,1,nan"], "cells.csv, line 2, column 'z': expected a finite number, got 'nan'"),
    (["cell,time,x,y,z", "AB,1.5,1,1,1"], "cells.csv, line 2, column 'time': expected a whole number, got '1.5'"),
    (["cell,time,x,y,z", "AB,1,1,1,1", ",2,1,1,1"], "cells.csv, line 3, column 'cell': expected a cell name"),
    (["cell,time,x,y,z", "AB,1,1,1"], "cells.csv, line 2: expected 5 fields as in the header (line 1), got 4"),
    (["cellTime,x,y,z", "AB-1,1,1,1"], "cells.csv, line 2, column 'cellTime': expected 'cell:frame'"),
    (["", "# nothing"], "cells.csv: the file is empty"),
])
def test_read_cd_names_file_line_and_column(tmp_path, rows, message):
    p = write(tmp_path / "cells.csv", "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=re.escape(message)):
        nio.read_cd(p, minutes_per_frame=1.0)


def test_read_cd_reports_two_nuclei_with_one_name(tmp_path):
    p = write_cd(tmp_path, spans={"ABa": (1, 3)}, extra_rows=["ABa:2,ABa,2,1,1,1,1,1,1,1,1,1,1"])
    with pytest.warns(LineageWarning, match=r"CDembryo1.csv, lines 3, 5: cell 'ABa' appears more than once"):
        t = nio.read_cd(p, minutes_per_frame=1.0)
    assert len(t) == 4 and t.meta["lineage_reports"]["embryo1"].kinds() == {"duplicate": 1}
    with pytest.raises(ValueError, match="the tracks break 1 lineage rule"):
        nio.read_cd(p, minutes_per_frame=1.0, strict=True)


@pytest.mark.parametrize("header", ["cell,time,x,y,z", "cellTime,x,y,z,size"])
def test_read_cd_refuses_a_header_without_rows(tmp_path, header):
    p = write(tmp_path / "CDe.csv", header + "\n")
    with pytest.raises(ValueError, match=r"CDe.csv: the file has a header \(line 1\) but no rows"):
        nio.read_cd(p, minutes_per_frame=1.0)


def test_read_cd_refuses_frames_before_frame_one(tmp_path):
    # Frame 1 is 0 min, so frame 0 or -2 would be a negative time.
    p = write(tmp_path / "CDe.csv", "cell,time,x,y,z\nAB,1,0,0,0\nABa,-2,0,0,0\n")
    with pytest.raises(ValueError, match=r"CDe.csv, line 3, column 'time': frame -2 comes before frame 1"):
        nio.read_cd(p, minutes_per_frame=1.0)


def test_read_cd_refuses_a_folder_and_an_empty_path(tmp_path):
    write_cd(tmp_path)
    with pytest.raises(ValueError, match=r"is a folder, not a file.*It holds CDembryo1.csv"):
        nio.read_cd(tmp_path)
    with pytest.raises(ValueError, match="read_cd: path must name a file, got the empty string"):
        nio.read_cd("")
    with pytest.raises(FileNotFoundError, match="no such file"):
        nio.read_cd(tmp_path / "absent.csv")


def test_read_cd_single_cell_single_frame_is_read(tmp_path):
    # Well-formed, so the reader accepts it; whether it can be fitted is check_fittable's question.
    t = nio.read_cd(write(tmp_path / "CDone.csv", "cell,time,x,y,z\nAB,1,0,0,0\n"), minutes_per_frame=1.0)
    assert len(t) == 1 and t.cells() == ["AB"] and t.counts() == {0.0: 1}
