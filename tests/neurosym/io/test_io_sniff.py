"""`read`: the format told from the content, and what it says when it cannot tell."""

import numpy as np
import pytest

import neurosym.io as nio
from iofiles import ACE, write, write_acetree, write_cd


def test_read_sniffs_each_format(tmp_path):
    import tifffile

    cd = write_cd(tmp_path, spans={"AB": (1, 2)}, gz=True, name="CDe.csv.gz")
    assert nio.read(cd, minutes_per_frame=1.0).meta["format"] == "cd"
    tr = write(tmp_path / "tr.csv", "frame,x,y,track_id\n0,0,0,a\n")
    assert nio.read(tr).meta["format"] == "tracks"
    ace = write_acetree(tmp_path / "a.zip", ACE)
    assert nio.read(ace, minutes_per_frame=1.0).meta["format"] == "acetree"
    lab = np.zeros((3, 5, 5), np.uint16)
    lab[:, 2, 2] = [1, 2, 2]
    tifffile.imwrite(tmp_path / "noext", lab, metadata={"axes": "TYX"}, photometric="minisblack")
    t = nio.read(tmp_path / "noext")
    assert t.meta["format"] == "labels" and t.meta["axes"] == "TYX" and t.counts() == {0.0: 1, 1.0: 1, 2.0: 1}
    np.save(tmp_path / "v.npy", lab)
    assert nio.read(tmp_path / "v.npy").meta["axes"] == "ZYX"


def test_read_says_which_formats_it_knows(tmp_path):
    p = write(tmp_path / "odd.csv", "a,b,c\n1,2,3\n")
    known = r"odd.csv: cannot tell the format .*Known formats: cd: .*acetree: .*tracks: .*labels: "
    with pytest.raises(ValueError, match=known):
        nio.read(p)
    with pytest.raises(ValueError, match="read: format must be one of 'cd', 'acetree', 'tracks', 'labels', got 'xls'"):
        nio.read(p, format="xls")
    tr = write(tmp_path / "tr.csv", "t,x,y,cell\n0,0,0,a\n")
    with pytest.raises(ValueError, match="read: time_file applies to the cd and acetree formats"):
        nio.read(tr, time_file=tr)
    with pytest.raises(FileNotFoundError):
        nio.read(tmp_path / "missing.csv")


def test_read_refuses_a_folder_and_an_empty_path(tmp_path):
    write(tmp_path / "tr.csv", "t,x,y,cell\n0,0,0,a\n")
    with pytest.raises(ValueError, match=r"is a folder, not a file.*It holds tr.csv"):
        nio.read(tmp_path)
    with pytest.raises(ValueError, match="read: path must name a file, got the empty string"):
        nio.read("")
    with pytest.raises(TypeError, match="read: path must be a file path"):
        nio.read(None)
