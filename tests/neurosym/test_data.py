"""Readers, the cell table and the lineage graph, on small files written by each test."""

import gzip
import re
import zipfile

import networkx as nx
import numpy as np
import pytest

from neurosym import data
from neurosym.data import CellTable, LineageWarning

# A synthetic early C. elegans embryo: cell -> (first frame, last frame). Each mother's last frame
# is the one before her daughters' first, as in AceTree CD tables.
EARLY = {
    "P0": (1, 2),
    "AB": (3, 5), "P1": (3, 5),
    "ABa": (6, 15), "ABp": (6, 15), "EMS": (6, 8), "P2": (6, 9),
    "MS": (9, 15), "E": (9, 13),
    "C": (10, 15), "P3": (10, 11),
    "D": (12, 15), "P4": (12, 15),
    "Ea": (14, 15), "Ep": (14, 15),
}
# Frame 1 is minute 0 at one minute a frame, so a cycle is (daughters' first - own first) frames.
EARLY_CYCLES = {"AB": 3.0, "P1": 3.0, "EMS": 3.0, "P2": 4.0, "E": 5.0, "P3": 2.0}

CD_HEADER = "cellTime,cell,time,none,global,local,blot,cross,z,x,y,size,gweight"


def cd_rows(spans):
    rows = []
    for k, (name, (a, b)) in enumerate(spans.items()):
        for f in range(a, b + 1):
            rows.append(f"{name}:{f},{name},{f},10,-5,3,{k},0,{k % 7}.5,{100 + k},{200 + f},{20 + k},999")
    return rows


def write(path, text, gz=False):
    raw = text.encode()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def write_cd(tmp_path, spans=EARLY, name="CDembryo1.csv", gz=False, header=CD_HEADER, extra_rows=()):
    return write(tmp_path / name, "\n".join([header, *cd_rows(spans), *extra_rows]) + "\n", gz=gz)


def table_of(cells, frames, parents=None, embryo="e"):
    n = len(cells)
    return CellTable(embryo=embryo, cell=cells, time_min=np.asarray(frames, float), frame=frames,
                     x=np.zeros(n), y=np.zeros(n), z=np.zeros(n), parent=parents)


def table_from_spans(spans, parents=None):
    cells, frames, par = [], [], []
    for name, (a, b) in spans.items():
        for f in range(a, b + 1):
            cells.append(name)
            frames.append(f)
            par.append((parents or {}).get(name, ""))
    return table_of(cells, frames, par)


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


def test_sulston_parents_and_founders():
    assert [data.sulston_parent(n) for n in ("AB", "P1", "EMS", "P2", "MS", "E", "C", "P3", "D", "P4")] == [
        "P0", "P0", "P1", "P1", "EMS", "EMS", "P2", "P2", "P3", "P3"]
    assert data.sulston_parent("ABplaa") == "ABpla"
    assert data.sulston_parent("Z3") == "P4" and data.sulston_parent("Z2a") == "Z2"
    assert data.sulston_parent("P0") is None and data.sulston_parent("Nuc12") is None
    assert [data.founder_of(n) for n in ("ABal", "MSpp", "E", "Ealp", "Caa", "Dp", "P4", "Z2", "Z3pa")] == [
        "AB", "MS", "E", "E", "C", "D", "P4", "P4", "P4"]
    assert [data.founder_of(n) for n in ("P0", "P1", "P2", "P3", "EMS")] == ["P0", "P1", "P2", "P3", "EMS"]
    assert data.founder_of("polar1") is None and data.founder_of("ABx") is None
    # The founder rules agree with the names.
    for mother, daughters in data.FOUNDER_RULES.items():
        assert {data.sulston_parent(d) for d in daughters} == {mother}


# --------------------------------------------------------------------------------------------
# CellTable
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Lineage
# --------------------------------------------------------------------------------------------


def test_lineage_of_the_founders_from_names():
    g = data.lineage(table_from_spans(EARLY))
    assert g.graph["report"].ok and nx.is_arborescence(g)
    # Every cell but P0 has exactly one mother, given by its name; no cell is lost.
    assert set(g.nodes) == set(EARLY)
    for n in g.nodes:
        assert list(g.predecessors(n)) == ([] if n == "P0" else [data.sulston_parent(n)])
    for mother, daughters in data.FOUNDER_RULES.items():
        assert set(g.successors(mother)) == set(daughters)
    a = g.nodes
    # table_from_spans puts frame f at minute f.
    assert a["P0"]["birth_min"] is None and a["P0"]["division_min"] == 3.0
    assert (a["E"]["birth_min"], a["E"]["division_min"], a["E"]["cycle_min"]) == (9.0, 14.0, 5.0)
    assert a["Ea"]["division_min"] is None and a["Ea"]["cycle_min"] is None
    assert [a[n]["generation"] for n in ("P0", "AB", "ABa", "EMS", "E", "Ea", "P4")] == [0, 1, 2, 2, 3, 4, 4]
    assert [a[n]["founder"] for n in ("ABp", "MS", "Ep", "C", "D", "P4", "P3")] == [
        "AB", "MS", "E", "C", "D", "P4", "P3"]
    assert data.cycle_lengths(g) == EARLY_CYCLES
    assert list(data.cycle_lengths(g)) == ["AB", "P1", "EMS", "P2", "E", "P3"]  # developmental order


def test_cycle_lengths_only_count_observed_births_and_divisions():
    # ABa and ABp are seen from the first frame (birth unknown); their daughters are born at 4 and 6.
    spans = {"ABa": (1, 3), "ABp": (1, 5), "ABal": (4, 9), "ABar": (4, 9), "ABpl": (6, 8), "ABpr": (6, 9),
             "ABpla": (9, 9), "ABplp": (9, 9)}
    g = data.lineage(table_from_spans(spans))
    assert data.cycle_length_samples(g)["AB"].tolist() == [3.0]  # ABpl: born 6, daughters at 9
    assert data.cycle_lengths(g) == {"AB": 3.0}
    with pytest.raises(ValueError, match="expected the graph from neurosym.data.lineage"):
        data.cycle_lengths(nx.DiGraph([("a", "b")]))
    with pytest.raises(TypeError, match="networkx.DiGraph"):
        data.cycle_lengths({"AB": 1})


def test_lineage_of_other_names_uses_the_first_ancestor_present():
    t = table_from_spans({"7": (0, 2), "8": (3, 5), "9": (3, 4), "10": (5, 6), "11": (5, 6)},
                         parents={"8": "7", "9": "7", "10": "9", "11": "9"})
    g = data.lineage(t)
    assert g.graph["report"].ok
    assert {n: g.nodes[n]["founder"] for n in g} == dict.fromkeys(["7", "8", "9", "10", "11"], "7")
    assert [g.nodes[n]["generation"] for n in ("7", "9", "11")] == [0, 1, 2]
    assert g.nodes["9"]["cycle_min"] == 2.0


@pytest.mark.parametrize("spans, parents, kind, message", [
    ({"a": (0, 1), "b": (2, 3), "c": (2, 3), "d": (2, 3)}, {"b": "a", "c": "a", "d": "a"},
     "too_many_daughters", "cell 'a' has 3 daughters (b, c, d); a cell divides into two"),
    ({"a": (2, 4), "b": (0, 3)}, {"b": "a"}, "born_before_parent",
     "daughter 'b' is seen at 0 min (frame 0), before its parent 'a' is first seen"),
    ({"a": (0, 4), "b": (3, 5)}, {"b": "a"}, "born_before_parent",
     "daughter 'b' is seen at 3 min (frame 3), while its parent 'a' is still seen until 4 min"),
    ({"P1": (0, 1), "MS": (2, 3), "P2": (2, 3)}, {"MS": "P1", "P2": "P1"}, "founder_rule",
     "'MS' is tracked as a daughter of 'P1', but the founder rule is P1 -> EMS + P2"),
    ({"ABa": (0, 1), "ABpl": (2, 3)}, {"ABpl": "ABa"}, "name_mismatch",
     "its name makes it a daughter of 'ABp'"),
    ({"a": (0, 1), "b": (2, 3)}, {"b": "zz"}, "missing_parent", "parent 'zz' of cell 'b' never appears"),
    ({"a": (0, 1), "b": (0, 1)}, {"a": "b", "b": "a"}, "cycle", "are each other's ancestors"),
])
def test_lineage_reports_broken_rules(spans, parents, kind, message):
    t = table_from_spans(spans, parents)
    report = data.lineage(t).graph["report"]
    assert not report.ok and kind in report.kinds()
    assert any(message in p.message for p in report.problems if p.kind == kind), str(report)
    with pytest.raises(ValueError, match=re.escape(message)):
        data.lineage(t, strict=True)


def test_lineage_reports_a_sulston_mother_missing_mid_recording():
    spans = {"ABa": (1, 3), "ABp": (1, 3), "Ea": (5, 6)}  # E (and EMS) never seen, Ea appears later
    report = data.lineage(table_from_spans(spans)).graph["report"]
    assert report.kinds() == {"missing_parent": 1}
    assert "cell 'Ea' first appears at 5 min (frame 5)" in report.problems[0].message


def test_lineage_needs_one_embryo():
    both = CellTable.concat([table_from_spans({"AB": (0, 1)}), table_of(["AB"], [0], embryo="f")])
    with pytest.raises(ValueError, match="holds 2 embryos.*embryo="):
        data.lineage(both)
    assert list(data.lineage(both, embryo="f").nodes) == ["AB"]
    with pytest.raises(TypeError, match="needs a CellTable"):
        data.lineage([("AB", 0)])


# --------------------------------------------------------------------------------------------
# CD tables
# --------------------------------------------------------------------------------------------


def test_read_cd_with_time_file_found_next_to_it(tmp_path):
    p = write_cd(tmp_path, gz=True, name="CDembryo1.csv.gz")
    write(tmp_path / "TIMEembryo1.csv", "".join(f"embryo1\t{f}\t{90 * (f - 1)}\t90\n" for f in range(1, 16)))
    t = data.read_cd(p)
    assert t.embryos() == ["embryo1"] and t.meta["format"] == "cd" and "TIMEembryo1.csv" in t.meta["time_source"]
    assert len(t) == sum(b - a + 1 for a, b in EARLY.values())
    e = t.track("E")
    assert e.frame.tolist() == list(range(9, 14)) and e.time_min.tolist() == [1.5 * (f - 1) for f in range(9, 14)]
    assert e.y.tolist() == [200.0 + f for f in range(9, 14)]
    assert sorted(t.extra) == ["blot", "cross", "global", "gweight", "local", "none"]
    assert t.extra["gweight"].dtype == np.float64
    g = data.lineage(t)
    assert {k: v / 1.5 for k, v in data.cycle_lengths(g).items()} == EARLY_CYCLES


def test_read_cd_layout_variants(tmp_path):
    # Columns in another order, other case, no size, an extra text column, cellTime only.
    rows = ["TIME,X,Y,Z,CELL,note,embryo", "1,1,2,3,ABa,first,e", "2,1,2,3.5,ABal,,e", "2,1,2,3,ABar,x,e"]
    t = data.read_cd(write(tmp_path / "a.csv", "\n".join(rows)), minutes_per_frame=2.0)
    assert t.cell.tolist() == ["ABa", "ABal", "ABar"] and t.time_min.tolist() == [0.0, 2.0, 2.0]
    assert np.isnan(t.size).all() and t.extra["note"].tolist() == ["first", "", "x"]
    assert t.embryos() == ["a"] and t.extra["embryo_in_file"].tolist() == ["e"] * 3
    rows = ["cellTime,x,y,z,size", "EMS:1,1,1,1,10", "MS:2,1,1,1,8", "E:2,1,1,1,8"]
    t = data.read_cd(write(tmp_path / "b.csv", "\r\n".join(rows)), minutes_per_frame=1.0, embryo="b1")
    assert t.cell.tolist() == ["EMS", "E", "MS"] and t.embryos() == ["b1"]
    assert sorted(data.lineage(t).successors("EMS")) == ["E", "MS"]


def test_read_cd_without_times_warns_and_counts_frames(tmp_path):
    p = write_cd(tmp_path, spans={"AB": (1, 2)})
    with pytest.warns(UserWarning, match="no TIME file found and no minutes_per_frame"):
        t = data.read_cd(p)
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
        data.read_cd(p, minutes_per_frame=1.0)


def test_read_cd_time_file_errors(tmp_path):
    p = write_cd(tmp_path, spans={"AB": (1, 3)})
    short = write(tmp_path / "short.txt", "e\t1\t0\t0\ne\t2\t90\t90\n")
    with pytest.raises(ValueError, match=r"line 4, column 'time': frame 3 is not in the TIME file .*short.txt"):
        data.read_cd(p, time_file=short)
    bad = write(tmp_path / "bad.txt", "e\t1\t0\t0\ne\t2\tsoon\t90\n")
    with pytest.raises(ValueError, match=r"bad.txt, line 2, column 3 \(seconds\): expected a finite number"):
        data.read_cd(p, time_file=bad)
    back = write(tmp_path / "back.txt", "frame,seconds\n1,0\n2,90\n3,60\n")
    with pytest.raises(ValueError, match=r"back.txt, line 4, column 2 \(seconds\): time goes back"):
        data.read_cd(p, time_file=back)
    ok = write(tmp_path / "ok.txt", "frame,seconds\n1,0\n2,90\n3,150\n")
    assert data.read_cd(p, time_file=ok).time_min.tolist() == [0.0, 1.5, 2.5]
    with pytest.raises(ValueError, match="give time_file or minutes_per_frame, not both"):
        data.read_cd(p, time_file=ok, minutes_per_frame=1.0)
    with pytest.raises(ValueError, match="minutes_per_frame must be a positive finite number"):
        data.read_cd(p, minutes_per_frame=-1.0)
    with pytest.raises(TypeError, match="minutes_per_frame must be a number"):
        data.read_cd(p, minutes_per_frame="90s")
    with pytest.raises(FileNotFoundError, match="no such file"):
        data.read_cd(tmp_path / "absent.csv")


def test_read_cd_reports_two_nuclei_with_one_name(tmp_path):
    p = write_cd(tmp_path, spans={"ABa": (1, 3)}, extra_rows=["ABa:2,ABa,2,1,1,1,1,1,1,1,1,1,1"])
    with pytest.warns(LineageWarning, match=r"CDembryo1.csv, lines 3, 5: cell 'ABa' appears more than once"):
        t = data.read_cd(p, minutes_per_frame=1.0)
    assert len(t) == 4 and t.meta["lineage_reports"]["embryo1"].kinds() == {"duplicate": 1}
    with pytest.raises(ValueError, match="the tracks break 1 lineage rule"):
        data.read_cd(p, minutes_per_frame=1.0, strict=True)


# --------------------------------------------------------------------------------------------
# AceTree archives
# --------------------------------------------------------------------------------------------


def nucleus(nid, pred, s1, s2, x, name, valid=1, exp=500, blot=100):
    return f"{nid}, {valid}, {pred}, {s1}, {s2}, {x}, 20, 3.0, 10, {name}, 1, 2, 3, 4, , {exp}, 25000, 0, {blot}, 0, \n"


def write_acetree(path, frames, folder="run/nuclei/", params="run/parameters/emb7-parameters"):
    with zipfile.ZipFile(path, "w") as z:
        for f, lines in frames.items():
            z.writestr(f"{folder}t{f:03d}-nuclei", "".join(lines))
        if params:
            z.writestr(params, "")
    return path


ACE = {
    1: [nucleus(1, -1, 1, 2, 10, "P1"), nucleus(2, -1, 3, -1, 50, "polar1"), nucleus(3, -1, -1, -1, 0, "", valid=0)],
    2: [nucleus(1, 1, 1, -1, 8, "EMS"), nucleus(2, 1, 2, -1, 12, "P2"), nucleus(3, 2, -1, -1, 50, "polar1"),
        nucleus(4, -1, 3, -1, 30, "")],
    3: [nucleus(1, 1, -1, -1, 7, "EMS"), nucleus(2, 2, -1, -1, 13, "P2"), nucleus(3, 4, -1, -1, 31, "")],
}


def test_read_acetree_joins_nuclei_into_cells(tmp_path):
    p = write_acetree(tmp_path / "emb7-edit.zip", ACE)
    t = data.read_acetree(p, minutes_per_frame=2.0)
    assert t.embryos() == ["emb7"] and t.meta["format"] == "acetree"
    rows = sorted(zip(t.cell.tolist(), t.frame.tolist(), t.parent.tolist(), t.x.tolist()))
    assert rows == [("EMS", 2, "P1", 8.0), ("EMS", 3, "P1", 7.0), ("P1", 1, "", 10.0), ("P2", 2, "P1", 12.0),
                    ("P2", 3, "P1", 13.0), ("nuc_t002_4", 2, "", 30.0), ("nuc_t002_4", 3, "", 31.0)]
    assert t.time_min.tolist() == [0.0, 2.0, 2.0, 2.0, 4.0, 4.0, 4.0]
    assert t.extra["blot"].tolist() == [400.0] * 7  # expression minus its blot correction
    g = data.lineage(t)
    assert set(g.successors("P1")) == {"EMS", "P2"} and g.nodes["nuc_t002_4"]["founder"] == "nuc_t002_4"
    with_polar = data.read_acetree(p, minutes_per_frame=2.0, drop_prefixes=())
    assert "polar1" in with_polar.cells()


def test_read_acetree_with_time_file_and_no_subfolder(tmp_path):
    p = write_acetree(tmp_path / "x.zip", ACE, folder="", params=None)
    write(tmp_path / "TIMEx.csv", "x,1,0,0\nx,2,60,60\nx,3,150,90\n")
    t = data.read_acetree(p)
    assert t.embryos() == ["x"] and sorted(set(t.time_min.tolist())) == [0.0, 1.0, 2.5]


def test_read_acetree_reports_three_daughters(tmp_path):
    frames = {1: [nucleus(1, -1, 1, 2, 0, "a")],
              2: [nucleus(1, 1, -1, -1, 0, "b"), nucleus(2, 1, -1, -1, 0, "c"), nucleus(3, 1, -1, -1, 0, "d")]}
    p = write_acetree(tmp_path / "three.zip", frames)
    with pytest.warns(LineageWarning, match=r"three.zip, run/nuclei/t001-nuclei, line 1: cell 'a' has 3 daughters"):
        data.read_acetree(p, minutes_per_frame=1.0)
    with pytest.raises(ValueError, match="cell 'a' has 3 daughters"):
        data.read_acetree(p, minutes_per_frame=1.0, strict=True)


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
        data.read_acetree(p, minutes_per_frame=1.0)


def test_read_acetree_refuses_archives_without_nuclei(tmp_path):
    p = tmp_path / "empty.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match=r"no AceTree nuclei files \(named tNNN-nuclei\).*readme.txt"):
        data.read_acetree(p)
    with pytest.raises(ValueError, match="not a zip archive"):
        data.read_acetree(write(tmp_path / "no.zip", "text"))


# --------------------------------------------------------------------------------------------
# Track tables
# --------------------------------------------------------------------------------------------


def test_read_tracks_any_case_and_separator(tmp_path):
    text = "# exported by a tracker\nT\tX\tY\tCell\tParent\tArea\n0\t0\t0\t1\t-1\t5\n1\t0\t1\t1\t\t6\n" \
           "2\t1\t0\t2\t1\t3\n2\t-1\t0\t3\t1\t3\n3\t1\t1\t2\t1\t3\n"
    t = data.read_tracks(write(tmp_path / "tracks.tsv", text, gz=True), minutes_per_frame=2.5)
    assert t.embryos() == ["tracks"] and (t.z == 0).all() and t.extra["Area"].tolist() == [5, 6, 3, 3, 3]
    assert t.counts() == {0.0: 1, 2.5: 1, 5.0: 2, 7.5: 1}
    g = data.lineage(t)
    assert set(g.successors("1")) == {"2", "3"} and g.nodes["2"]["birth_min"] == 5.0
    assert g.nodes["1"]["cycle_min"] is None and g.nodes["1"]["division_min"] == 5.0


def test_read_tracks_with_embryos_and_column_map(tmp_path):
    text = "FRAME;px;py;pz;track;mother;embryo\n0;0;0;0;0;;a\n1;0;0;0;1;0;a\n1;0;0;0;2;0;a\n0;5;5;5;0;;b\n"
    t = data.read_tracks(write(tmp_path / "m.csv", text), columns={"t": "FRAME", "x": "px", "y": "py", "z": "pz"})
    assert t.embryos() == ["a", "b"]
    assert data.lineage(t, embryo="a").graph["report"].ok
    assert sorted(data.lineage(t, embryo="a").successors("0")) == ["1", "2"]
    # 0 is a cell here, so a parent of 0 means cell 0; without a cell 0 it means "no parent".
    t2 = data.read_tracks(write(tmp_path / "n.csv", "t,x,y,id,parent_id\n0,0,0,5,0\n"))
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
])
def test_read_tracks_names_file_line_and_column(tmp_path, text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        data.read_tracks(write(tmp_path / "tracks.csv", text))


def test_read_tracks_reports_lineage_problems_with_lines(tmp_path):
    text = "t,x,y,cell,parent\n0,0,0,P1,\n1,0,0,MS,P1\n1,0,0,P2,P1\n2,0,0,x,P1\n"
    p = write(tmp_path / "t.csv", text)
    with pytest.warns(LineageWarning) as caught:
        t = data.read_tracks(p)
    msg = str(caught[0].message)
    assert "t.csv, line 3: 'MS' is tracked as a daughter of 'P1', but the founder rule is P1 -> EMS + P2" in msg
    assert "t.csv, line 2: cell 'P1' has 3 daughters (MS, P2, x)" in msg
    assert t.meta["lineage_reports"]["t"].kinds() == {"too_many_daughters": 1, "founder_rule": 1}
    with pytest.raises(ValueError, match="break 2 lineage rule"):
        data.read_tracks(p, strict=True)
    with pytest.raises(ValueError, match="columns: unknown column 'time'"):
        data.read_tracks(p, columns={"time": "t"})


# --------------------------------------------------------------------------------------------
# Label images
# --------------------------------------------------------------------------------------------


def test_read_labels_npy_npz_png_tiff(tmp_path):
    from PIL import Image
    import tifffile

    lab = np.zeros((6, 8), np.uint16)
    lab[1:3, 1:4] = 1
    lab[4:6, 5:8] = 300
    np.save(tmp_path / "a.npy", lab)
    assert data.read_labels(tmp_path / "a.npy").dtype == np.int32
    np.testing.assert_array_equal(data.read_labels(tmp_path / "a.npy"), lab)
    np.savez(tmp_path / "b.npz", labels=lab, image=lab * 0.5)
    np.testing.assert_array_equal(data.read_labels(tmp_path / "b.npz"), lab)
    np.testing.assert_array_equal(data.read_labels(tmp_path / "b.npz", key="labels"), lab)
    Image.fromarray(lab).save(tmp_path / "c.png")  # 16-bit greyscale
    np.testing.assert_array_equal(data.read_labels(tmp_path / "c.png"), lab)
    Image.fromarray((lab > 0).astype(np.uint8) * 7).save(tmp_path / "d.png")
    assert set(np.unique(data.read_labels(tmp_path / "d.png"))) == {0, 7}
    series = np.zeros((2, 3, 6, 8), np.uint16)
    series[0, 1] = lab
    series[1, 2] = lab
    tifffile.imwrite(tmp_path / "e.tif", series, metadata={"axes": "TZYX"}, photometric="minisblack")
    np.testing.assert_array_equal(data.read_labels(tmp_path / "e.tif"), series)


@pytest.mark.parametrize("make, message", [
    (lambda p: np.save(p / "x.npy", np.zeros((4, 4), np.int32)), "x.npy: empty label image: no labelled pixel"),
    (lambda p: np.save(p / "x.npy", np.zeros((0, 4), np.int32)), "x.npy: empty label image (shape (0, 4))"),
    (lambda p: np.save(p / "x.npy", np.array([[0, np.nan], [1, 1]])),
     "x.npy: label image has 1 NaN value(s) (first at index (0, 1))"),
    (lambda p: np.save(p / "x.npy", np.array([[0, 0.5], [1, 1]])),
     "x.npy: label image has non-integer values"),
    (lambda p: np.save(p / "x.npy", np.array([[0, -1], [1, 1]])), "x.npy: label image has negative values"),
    (lambda p: np.save(p / "x.npy", np.arange(3)), "x.npy: label image has shape (3,); expected 2D"),
    (lambda p: np.savez(p / "x.npz", a=np.ones((2, 2)), b=np.ones((2, 2))), "x.npz: holds 2 arrays (a, b); pass key="),
    (lambda p: (p / "x.npy").write_bytes(b"not an array"), "x.npy: cannot read as .npy"),
])
def test_read_labels_refuses_bad_images(tmp_path, make, message):
    make(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises(ValueError, match=re.escape(message)):
        data.read_labels(path)


def test_read_labels_refuses_colour_and_unknown_formats(tmp_path):
    from PIL import Image

    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    with pytest.raises(ValueError, match=r"c.png: a colour PNG \(mode RGB\); expected a single-channel"):
        data.read_labels(tmp_path / "c.png")
    grey_as_rgb = np.repeat((rgb[..., :1] > 0).astype(np.uint8), 3, axis=2)
    Image.fromarray(grey_as_rgb).save(tmp_path / "g.png")
    assert data.read_labels(tmp_path / "g.png").sum() == 1
    with pytest.raises(ValueError, match="not a label image format this reader knows"):
        data.read_labels(write(tmp_path / "x.dat", "hello"))


def test_table_from_labels_centroids_sizes_and_axes():
    lab = np.zeros((2, 4, 6), np.int32)
    lab[0, 0:2, 0:2] = 1  # centroid (x, y) = (0.5, 0.5), 4 pixels
    lab[1, 2:4, 3:6] = 1
    lab[1, 0, 0] = 9
    t = data.table_from_labels(lab, axes="TYX", minutes_per_frame=3.0)
    assert t.counts() == {0.0: 1, 3.0: 2}
    assert [(r["cell"], r["frame"], r["x"], r["y"]) for r in t.to_records()] == [
        ("1", 0, 0.5, 0.5), ("1", 1, 4.0, 2.5), ("9", 1, 0.0, 0.0)]
    np.testing.assert_allclose(t.size, 2 * np.sqrt(np.array([4, 6, 1]) / np.pi))
    vol = data.table_from_labels(lab)  # default: ZYX
    assert vol.frames().tolist() == [0] and vol.track("1").z.tolist() == [0.6]
    np.testing.assert_allclose(vol.track("1").size, np.cbrt(6 * 10 / np.pi))
    with pytest.raises(ValueError, match="axes='TXY' does not fit labels"):
        data.table_from_labels(lab, axes="TXY")


# --------------------------------------------------------------------------------------------
# Any format
# --------------------------------------------------------------------------------------------


def test_read_sniffs_each_format(tmp_path):
    import tifffile

    cd = write_cd(tmp_path, spans={"AB": (1, 2)}, gz=True, name="CDe.csv.gz")
    assert data.read(cd, minutes_per_frame=1.0).meta["format"] == "cd"
    tr = write(tmp_path / "tr.csv", "frame,x,y,track_id\n0,0,0,a\n")
    assert data.read(tr).meta["format"] == "tracks"
    ace = write_acetree(tmp_path / "a.zip", ACE)
    assert data.read(ace, minutes_per_frame=1.0).meta["format"] == "acetree"
    lab = np.zeros((3, 5, 5), np.uint16)
    lab[:, 2, 2] = [1, 2, 2]
    tifffile.imwrite(tmp_path / "noext", lab, metadata={"axes": "TYX"}, photometric="minisblack")
    t = data.read(tmp_path / "noext")
    assert t.meta["format"] == "labels" and t.meta["axes"] == "TYX" and t.counts() == {0.0: 1, 1.0: 1, 2.0: 1}
    np.save(tmp_path / "v.npy", lab)
    assert data.read(tmp_path / "v.npy").meta["axes"] == "ZYX"


def test_read_says_which_formats_it_knows(tmp_path):
    p = write(tmp_path / "odd.csv", "a,b,c\n1,2,3\n")
    known = r"odd.csv: cannot tell the format .*Known formats: cd: .*acetree: .*tracks: .*labels: "
    with pytest.raises(ValueError, match=known):
        data.read(p)
    with pytest.raises(ValueError, match="format='xls' is unknown; known formats: cd"):
        data.read(p, format="xls")
    tr = write(tmp_path / "tr.csv", "t,x,y,cell\n0,0,0,a\n")
    with pytest.raises(ValueError, match="time_file applies to the cd and acetree formats"):
        data.read(tr, time_file=tr)
    with pytest.raises(FileNotFoundError):
        data.read(tmp_path / "missing.csv")
