"""Delimited text tables and paths: what every reader refuses the same way."""

import pytest

import neurosym.io as nio
from iofiles import write
from neurosym.io.text import delimited, find_columns, numbers


READERS = [nio.read, nio.read_cd, nio.read_acetree, nio.read_tracks, nio.read_labels, nio.read_time_file]


@pytest.mark.parametrize("reader", READERS, ids=lambda f: f.__name__)
def test_every_reader_refuses_a_folder_and_an_empty_path(tmp_path, reader):
    write(tmp_path / "CDe.csv", "cell,time,x,y,z\nAB,1,0,0,0\n")
    with pytest.raises(ValueError, match=r"is a folder, not a file.*It holds CDe.csv"):
        reader(tmp_path)
    with pytest.raises(ValueError, match=f"{reader.__name__}: path must name a file, got the empty string"):
        reader("")
    with pytest.raises(TypeError, match=f"{reader.__name__}: path must be a file path"):
        reader(12)
    with pytest.raises(FileNotFoundError, match="no such file"):
        reader(tmp_path / "absent.csv")


def test_delimited_sniffs_the_separator_and_refuses_a_header_without_rows():
    assert delimited("a.tsv", "# note\nt\tx\n\n0\t1\n", "a table") == (["t", "x"], 2, [["0", "1"]], [4])
    with pytest.raises(ValueError, match=r"a.csv: the file has a header \(line 2\) but no rows"):
        delimited("a.csv", "# only a header\nt,x\n\n", "a table")
    with pytest.raises(ValueError, match="a.csv: the file is empty"):
        delimited("a.csv", "\n# nothing\n", "a table")


def test_numbers_name_line_and_column():
    assert numbers("a.csv", "t", ["0", "3"], [2, 3], integer=True, minimum=0, why="frames").tolist() == [0, 3]
    with pytest.raises(ValueError, match=r"a.csv, line 3, column 't': expected a number >= 0 \(frames\), got '-3'"):
        numbers("a.csv", "t", ["0", "-3"], [2, 3], minimum=0, why="frames")
    with pytest.raises(ValueError, match="a.csv, line 2, column 't': expected a whole number, got 'x'"):
        numbers("a.csv", "t", ["x"], [2], integer=True)
    assert numbers("a.csv", "size", ["NA", "2"], [2, 3], required=False)[1] == 2.0


def test_find_columns_ignores_case_and_underscores():
    spec = {"cell": ("cell", "cell_id"), "t": ("t", "frame")}
    assert find_columns("a.csv", ["FRAME", "Cell ID"], 1, spec, ("cell", "t"), owner="demo") == {"cell": 1, "t": 0}
    with pytest.raises(ValueError, match="a.csv, line 1: missing column 't'"):
        find_columns("a.csv", ["cell"], 1, spec, ("cell", "t"), owner="demo")
    with pytest.raises(ValueError, match="demo: columns has the unknown column 'z'"):
        find_columns("a.csv", ["cell"], 1, spec, ("cell",), {"z": "cell"}, owner="demo")
