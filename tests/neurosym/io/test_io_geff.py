"""GEFF track graphs: tracklets become cells with parents; the file reading is a thin layer."""

import re
import sys

import networkx as nx
import pytest

import neurosym.io as nio


def track_graph():
    """Detections 10 -> 11 -> 12 -> {13, 14}; 13 -> 15; a separate cell 20 -> 21 (3D positions)."""
    g = nx.DiGraph([(10, 11), (11, 12), (12, 13), (12, 14), (13, 15), (20, 21)])
    t = {10: 0, 11: 1, 12: 2, 13: 3, 14: 3, 15: 4, 20: 2, 21: 3}
    for n in g:
        g.nodes[n].update(t=t[n], z=float(n), y=1.0, x=2.0 * n, area=n * 10, label=f"n{n}")
    return g


def test_tracklets_become_cells_with_parents():
    table = nio.table_from_track_graph(track_graph(), minutes_per_frame=2.0, embryo="e")
    assert table.cells() == ["10", "13", "14", "20"]
    assert table.track("10").frame.tolist() == [0, 1, 2]
    assert table.track("13").frame.tolist() == [3, 4]
    assert set(table.track("13").parent.tolist()) == {"10"} and set(table.track("20").parent.tolist()) == {""}
    assert table.track("14").x.tolist() == [28.0] and table.track("14").z.tolist() == [14.0]
    assert table.time_min.max() == 8.0
    assert table.extra["area"].tolist() == [100, 110, 120, 200, 130, 140, 210, 150]  # frame, then cell order
    assert "label" not in table.extra  # text properties are left out
    assert table.extra["node"].tolist()[:3] == ["10", "11", "12"]
    lin = nio.lineage(table)
    assert sorted(lin.successors("10")) == ["13", "14"]
    assert lin.nodes["13"]["birth_min"] == 6.0 and lin.nodes["10"]["division_min"] == 6.0


def test_tracklet_property_space_axes_and_undirected_graphs():
    g = track_graph()
    for n in g:
        g.nodes[n]["track"] = {10: 1, 11: 1, 12: 1, 13: 2, 15: 2, 14: 3, 20: 4, 21: 4}[n]
    table = nio.table_from_track_graph(g, tracklet="track", space=("y", "x"))
    assert table.cells() == ["1", "2", "3", "4"]
    assert set(table.track("3").parent.tolist()) == {"1"}
    assert table.z.tolist() == [0.0] * 8  # 2D: y and x only
    assert table.extra["node_z"].tolist()[:2] == [10.0, 11.0]  # the unused z kept apart
    und = nio.table_from_track_graph(track_graph().to_undirected())
    assert und.cells() == ["10", "13", "14", "20"]


@pytest.mark.parametrize("change, message", [
    (lambda g: g.add_edge(21, 15), "node 15 has 2 incoming links (from 13, 21): tracks that merge"),
    (lambda g: g.nodes[15].update(t=1), "the link 13 -> 15 goes from frame 3 to 1; links go forward in time"),
    (lambda g: g.nodes[15].update(t=3.5), "node 15 has t = 3.5; expected a whole frame number"),
    (lambda g: g.nodes[15].pop("x"), "node 15 (and 0 more) has no property 'x'"),
    (lambda g: g.remove_nodes_from(list(g)), "the graph has no nodes"),
])
def test_refusals_name_the_node(change, message):
    g = track_graph()
    change(g)
    with pytest.raises(ValueError, match=re.escape(message)):
        nio.table_from_track_graph(g, source="tracks.geff")


def test_refuses_equal_times_on_an_undirected_link_and_no_positions():
    g = nx.Graph([(1, 2)])
    nx.set_node_attributes(g, {1: 0, 2: 0}, "t")
    nx.set_node_attributes(g, 0.0, "x")
    with pytest.raises(ValueError, match=re.escape("the undirected link 1 - 2 joins two nodes at one time (0)")):
        nio.table_from_track_graph(g)
    h = nx.DiGraph()
    h.add_node(1, t=0)
    with pytest.raises(ValueError, match="the nodes have no 'x', 'y' or 'z' property; pass space="):
        nio.table_from_track_graph(h)
    with pytest.raises(TypeError, match="table_from_track_graph: graph must be a networkx graph"):
        nio.table_from_track_graph({1: 2})


def test_read_geff_without_the_package_says_how_to_install(tmp_path, monkeypatch):
    (tmp_path / "t.geff").mkdir()
    monkeypatch.setitem(sys.modules, "geff", None)
    with pytest.raises(ImportError, match=re.escape("read_geff: reading GEFF files needs the geff package: pip install geff")):
        nio.read_geff(tmp_path / "t.geff")
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        nio.read_geff(tmp_path / "missing.geff")


def test_read_geff_roundtrip(tmp_path):
    geff = pytest.importorskip("geff")
    geff.write(track_graph(), tmp_path / "t.geff", axis_names=["t", "z", "y", "x"],
               axis_types=["time", "space", "space", "space"])
    table = nio.read_geff(tmp_path / "t.geff", minutes_per_frame=2.0)
    assert table.embryos() == ["t.geff"] and table.cells() == ["10", "13", "14", "20"]
    assert table.track("14").x.tolist() == [28.0] and table.track("14").z.tolist() == [14.0]
    (tmp_path / "bad.geff").mkdir()
    with pytest.raises(ValueError, match="bad.geff: cannot read as GEFF"):
        nio.read_geff(tmp_path / "bad.geff")
