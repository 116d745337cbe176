"""Lineage graphs from cell tables: parents, cycle lengths, reports of broken rules, cycles refused."""

import re

import networkx as nx
import pytest

import neurosym.io as nio
from iofiles import EARLY, EARLY_CYCLES, table_from_spans, table_of
from neurosym.io import CellTable
from rules.celegans import FOUNDER_RULES, sulston_parent


def test_lineage_of_the_founders_from_names():
    g = nio.lineage(table_from_spans(EARLY))
    assert g.graph["report"].ok and nx.is_arborescence(g)
    # Every cell but P0 has exactly one mother, given by its name; no cell is lost.
    assert set(g.nodes) == set(EARLY)
    for n in g.nodes:
        assert list(g.predecessors(n)) == ([] if n == "P0" else [sulston_parent(n)])
    for mother, daughters in FOUNDER_RULES.items():
        assert set(g.successors(mother)) == set(daughters)
    a = g.nodes
    # table_from_spans puts frame f at minute f.
    assert a["P0"]["birth_min"] is None and a["P0"]["division_min"] == 3.0
    assert (a["E"]["birth_min"], a["E"]["division_min"], a["E"]["cycle_min"]) == (9.0, 14.0, 5.0)
    assert a["Ea"]["division_min"] is None and a["Ea"]["cycle_min"] is None
    assert [a[n]["generation"] for n in ("P0", "AB", "ABa", "EMS", "E", "Ea", "P4")] == [0, 1, 2, 2, 3, 4, 4]
    assert [a[n]["founder"] for n in ("ABp", "MS", "Ep", "C", "D", "P4", "P3")] == [
        "AB", "MS", "E", "C", "D", "P4", "P3"]
    assert nio.cycle_lengths(g) == EARLY_CYCLES
    assert list(nio.cycle_lengths(g)) == ["AB", "P1", "EMS", "P2", "E", "P3"]  # developmental order


def test_cycle_lengths_only_count_observed_births_and_divisions():
    # ABa and ABp are seen from the first frame (birth unknown); their daughters are born at 4 and 6.
    spans = {"ABa": (1, 3), "ABp": (1, 5), "ABal": (4, 9), "ABar": (4, 9), "ABpl": (6, 8), "ABpr": (6, 9),
             "ABpla": (9, 9), "ABplp": (9, 9)}
    g = nio.lineage(table_from_spans(spans))
    assert nio.cycle_length_samples(g)["AB"].tolist() == [3.0]  # ABpl: born 6, daughters at 9
    assert nio.cycle_lengths(g) == {"AB": 3.0}
    with pytest.raises(ValueError, match="cycle_lengths: graph must be the graph from neurosym.io.lineage"):
        nio.cycle_lengths(nx.DiGraph([("a", "b")]))
    with pytest.raises(TypeError, match="cycle_lengths: graph must be the networkx.DiGraph"):
        nio.cycle_lengths({"AB": 1})


def test_lineage_of_other_names_uses_the_first_ancestor_present():
    t = table_from_spans({"7": (0, 2), "8": (3, 5), "9": (3, 4), "10": (5, 6), "11": (5, 6)},
                         parents={"8": "7", "9": "7", "10": "9", "11": "9"})
    g = nio.lineage(t)
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
])
def test_lineage_reports_broken_rules(spans, parents, kind, message):
    t = table_from_spans(spans, parents)
    report = nio.lineage(t).graph["report"]
    assert not report.ok and kind in report.kinds()
    assert any(message in p.message for p in report.problems if p.kind == kind), str(report)
    with pytest.raises(ValueError, match=re.escape(message)):
        nio.lineage(t, strict=True)


def test_lineage_reports_a_sulston_mother_missing_mid_recording():
    spans = {"ABa": (1, 3), "ABp": (1, 3), "Ea": (5, 6)}  # E (and EMS) never seen, Ea appears later
    report = nio.lineage(table_from_spans(spans)).graph["report"]
    assert report.kinds() == {"missing_parent": 1}
    assert "cell 'Ea' first appears at 5 min (frame 5)" in report.problems[0].message


def test_lineage_needs_one_embryo():
    both = CellTable.concat([table_from_spans({"AB": (0, 1)}), table_of(["AB"], [0], embryo="f")])
    with pytest.raises(ValueError, match="lineage: the table holds 2 embryos.*pass embryo="):
        nio.lineage(both)
    assert list(nio.lineage(both, embryo="f").nodes) == ["AB"]
    with pytest.raises(TypeError, match="lineage: table must be a CellTable"):
        nio.lineage([("AB", 0)])


@pytest.mark.parametrize("parents, cycle", [
    ({"a": "b", "b": "a"}, "'a' -> 'b' -> 'a'"),
    ({"a": "c", "b": "a", "c": "b"}, "'a' -> 'b' -> 'c' -> 'a'"),
    ({"a": "a"}, "cell 'a' is its own parent"),
])
def test_lineage_refuses_parent_cycles_naming_them(parents, cycle):
    t = table_from_spans({"a": (0, 1), "b": (2, 3), "c": (4, 5)}, parents)
    with pytest.raises(ValueError, match=re.escape(cycle)) as err:
        nio.lineage(t)
    assert str(err.value).startswith("lineage: ") and "a lineage is a tree" in str(err.value)
