"""Cell Tracking Challenge folders: man_track.txt, masks per frame, lineage in the package's schema."""

import re
import sys
import warnings

import numpy as np
import pytest

import neurosym.io as nio
from neurosym.io import CellTable, LineageWarning

# Track 1 (frames 0-2) divides into 2 and 3 (frames 3-5); 4 (frames 1-5) has no parent; 5 continues
# 3 after a gap (frames 7-8), the format's way of closing a gap.
TRACKS = "1 0 2 0\n2 3 5 1\n3 3 5 1\n4 1 5 0\n5 7 8 3\n"


def mask(frame):
    """2D masks (6 x 12) whose labels are the tracks present at `frame`, as TRACKS says."""
    lab = np.zeros((6, 12), np.uint16)
    if frame <= 2:
        lab[1:5, 1:5] = 1
    elif frame <= 5:
        lab[1:5, 1:3] = 2
        lab[1:5, 3:5] = 3  # the daughters touch: masks of this format share faces
    if 1 <= frame <= 5:
        lab[1:3, 8:11] = 4
    if frame >= 7:
        lab[2:4, 2:4] = 5
    return lab


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "man_track.txt").write_text(TRACKS)
    for f in range(9):
        if f != 6:  # no cell at frame 6: its mask is empty and left out
            np.save(tmp_path / f"man_track{f:03d}.npy", mask(f))
    return tmp_path


def test_read_tracks_and_who_is_alive(tmp_path):
    p = tmp_path / "man_track.txt"
    p.write_text("\n" + TRACKS.replace(" ", "\t", 2) + "\n")
    t = nio.read_ctc_tracks(p)
    assert t.label.tolist() == [1, 2, 3, 4, 5]
    assert t.begin.tolist() == [0, 3, 3, 1, 7] and t.end.tolist() == [2, 5, 5, 5, 8]
    assert t.parent.tolist() == [0, 1, 1, 0, 3]
    assert t.lines.tolist() == [2, 3, 4, 5, 6]
    assert t.alive(3).tolist() == [2, 3, 4] and t.alive(6).tolist() == []


def test_lineage_follows_the_schema_and_equals_the_table_lineage(tmp_path):
    p = tmp_path / "man_track.txt"
    p.write_text(TRACKS)
    g = nio.read_ctc_tracks(p).lineage(minutes_per_frame=2.0)
    assert sorted(g.edges) == [("1", "2"), ("1", "3"), ("3", "5")]
    one, three, five = g.nodes["1"], g.nodes["3"], g.nodes["5"]
    assert one["birth_min"] is None and one["division_min"] == 6.0 and one["cycle_min"] is None
    assert three["birth_min"] == 6.0 and three["division_min"] == 14.0 and three["cycle_min"] == 8.0
    assert three["first_frame"] == 3 and three["last_frame"] == 5 and three["num_frames"] == 3
    assert five["generation"] == 2 and five["founder"] == "1" and five["label"] == 5
    assert g.nodes["4"]["generation"] == 0 and g.nodes["4"]["founder"] == "4"
    assert g.graph["report"].ok
    # The same tracks as a cell table, one row per frame: lineage() gives the same graph.
    rows = [(str(lab), f, "" if par == 0 else str(par))
            for lab, b, e, par in (map(int, line.split()) for line in TRACKS.splitlines()) for f in range(b, e + 1)]
    cell, frame, parent = zip(*rows)
    table = CellTable(embryo="e", cell=cell, frame=frame, time_min=np.array(frame) * 2.0, x=[0] * len(rows),
                      y=[0] * len(rows), z=[0] * len(rows), parent=parent)
    h = nio.lineage(table)
    assert sorted(h.edges) == sorted(g.edges)
    for n in h.nodes:
        assert {k: h.nodes[n][k] for k in h.nodes[n]} == {k: g.nodes[n][k] for k in h.nodes[n]}


def test_lineage_problems_name_the_line(tmp_path):
    p = tmp_path / "man_track.txt"
    p.write_text("1 0 4 0\n2 3 5 1\n3 5 6 1\n4 5 6 1\n")
    g = nio.read_ctc_tracks(p).lineage()
    kinds = g.graph["report"].kinds()
    assert kinds == {"too_many_daughters": 1, "born_before_parent": 1}
    messages = [q.message for q in g.graph["report"].problems]
    assert any("man_track.txt, line 2: daughter '2' is seen at 3" in m for m in messages)
    with pytest.raises(ValueError, match="(?s)CTCTracks.lineage: .*3 daughters"):
        nio.read_ctc_tracks(p).lineage(strict=True)


def test_parent_cycle_is_refused_naming_lines(tmp_path):
    p = tmp_path / "man_track.txt"
    p.write_text("1 0 2 2\n2 3 4 1\n")
    with pytest.raises(ValueError, match=re.escape("'1' (line 1) -> '2' (line 2) -> '1'")):
        nio.read_ctc_tracks(p).lineage()


@pytest.mark.parametrize("text, message", [
    ("1 0 2\n", "man_track.txt, line 1: '1 0 2' is not four integers 'L B E P'"),
    ("1 0 2 0\n2 a 3 1\n", "man_track.txt, line 2: '2 a 3 1' is not four integers"),
    ("1 0 2.5 0\n", "line 1: '1 0 2.5 0' is not four integers"),
    ("0 0 2 0\n", "man_track.txt, line 1: track label 0 must be positive"),
    ("1 0 2 0\n\n1 3 4 0\n", "man_track.txt: track 1 is listed 2 times (lines 1, 3)"),
    ("1 4 2 0\n", "man_track.txt, line 1: track 1 begins at frame 4 and ends at 2"),
    ("1 0 2 1\n", "man_track.txt, line 1: track 1 has parent 1; expected 0 (none) or the label of another"),
    ("1 0 2 0\n2 3 4 7\n", "man_track.txt, line 2: track 2 has parent 7, which is not a track of the file"),
    ("\n\n", "man_track.txt: holds no tracks"),
])
def test_malformed_track_files(tmp_path, text, message):
    p = tmp_path / "man_track.txt"
    p.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        nio.read_ctc_tracks(p)


def test_read_folder_geometry_and_mismatches(folder):
    data = nio.read_ctc(folder)
    assert data.series.times == (0, 1, 2, 3, 4, 5, 7, 8)
    geo = data.series.geometry(3)
    assert geo.labels.tolist() == [2, 3, 4] and geo.num_voxels.tolist() == [8, 8, 6]
    assert geo.contacts.pairs.tolist() == [[2, 3]] and geo.contacts.faces.tolist() == [4]  # gap 0: shared faces
    assert all(data.mismatches(f) == ([], []) for f in data.series.times)
    np.save(folder / "man_track004.npy", np.where(mask(4) == 3, 9, mask(4)))
    assert data.mismatches(4) == ([9], [3])
    with pytest.raises(ValueError, match=re.escape("the mask of frame 4 holds label 9, which the track file")):
        data.to_cell_table()


def test_cell_table_carries_parents_and_gives_the_same_lineage(folder):
    data = nio.read_ctc(folder, embryo="seq01")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LineageWarning)
        table = data.to_cell_table(minutes_per_frame=0.5)
    assert table.embryos() == ["seq01"] and table.meta["format"] == "ctc"
    assert table.track("5").parent.tolist() == ["3", "3"]
    assert table.track("1").x.tolist() == [2.5, 2.5, 2.5] and table.track("1").y.tolist() == [2.5] * 3
    lin = nio.lineage(table)
    assert sorted(lin.edges) == sorted(data.lineage().edges)
    assert lin.nodes["3"]["cycle_min"] == data.lineage(minutes_per_frame=0.5).nodes["3"]["cycle_min"] == 2.0


def test_results_folder_and_explicit_track_file(tmp_path):
    np.save(tmp_path / "mask000.npy", mask(0))
    (tmp_path / "res_track.txt").write_text("1 0 0 0\n")
    data = nio.read_ctc(tmp_path)
    assert data.tracks.source.endswith("res_track.txt") and data.series.times == (0,)
    other = tmp_path / "elsewhere.txt"
    other.write_text("1 0 0 0\n")
    assert nio.read_ctc(tmp_path, track_file=other).tracks.source == str(other)


def test_folder_refusals(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder; pass the folder holding Cell Tracking Challenge"):
        nio.read_ctc(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=re.escape("no track file (man_track.txt or res_track.txt)")):
        nio.read_ctc(tmp_path)
    (tmp_path / "man_track.txt").write_text("1 0 0 0\n")
    with pytest.raises(ValueError, match=re.escape("no mask files (man_track000.tif, man_seg000.tif, mask000.tif")):
        nio.read_ctc(tmp_path)
    np.save(tmp_path / "man_track000.npy", mask(0))
    np.save(tmp_path / "man_seg000.npy", mask(0))
    with pytest.raises(ValueError, match=re.escape("holds masks of several kinds (1 man_track###, 1 man_seg###)")):
        nio.read_ctc(tmp_path)
    assert nio.read_ctc(tmp_path, prefix="man_seg").series.times == (0,)


def test_tiff_masks(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    (tmp_path / "man_track.txt").write_text("1 0 1 0\n2 1 1 0\n")
    vol = np.zeros((3, 4, 5), np.uint16)
    vol[:, :2] = 1
    tifffile.imwrite(tmp_path / "man_track000.tif", vol, photometric="minisblack")
    vol[:, 3:] = 2
    tifffile.imwrite(tmp_path / "man_track001.tif", vol, photometric="minisblack")
    data = nio.read_ctc(tmp_path, gap=1)
    assert data.series.geometry(1).contacts.faces.tolist() == [15]
    assert data.mismatches(0) == ([], [])


def test_tiff_masks_without_tifffile_say_how_to_install(tmp_path, monkeypatch):
    (tmp_path / "man_track.txt").write_text("1 0 0 0\n")
    (tmp_path / "man_track000.tif").write_bytes(b"II*\x00" + bytes(60))
    data = nio.read_ctc(tmp_path)  # nothing is read yet
    monkeypatch.setitem(sys.modules, "tifffile", None)
    with pytest.raises(ImportError, match=re.escape("reading TIFF needs tifffile: pip install tifffile")):
        data.series.geometry(0)
