"""The EMS induction rule on hand-made contact graphs."""

import networkx as nx
import pytest

from rules.tissue import EMS_INDUCTION, ContactFate


def four_cell_graph(area_a=10.0, area_b=0.0):
    g = nx.Graph()
    g.add_edge("EMS.1", "EMS.2", area=30.0)
    g.add_edge("EMS.1", "ABp", area=8.0)
    g.add_edge("EMS.2", "ABa", area=5.0)
    g.add_edge("P2", "ABp", area=12.0)
    if area_a:
        g.add_edge("EMS.1", "P2", area=area_a)
    if area_b:
        g.add_edge("EMS.2", "P2", area=area_b)
    return g


def test_daughter_touching_p2_becomes_e():
    assert EMS_INDUCTION(four_cell_graph(), ("EMS.1", "EMS.2")) == {"EMS.1": "E", "EMS.2": "MS"}
    assert EMS_INDUCTION(four_cell_graph(), ("EMS.2", "EMS.1")) == {"EMS.1": "E", "EMS.2": "MS"}
    # Both touch: the larger contact wins.
    assert EMS_INDUCTION(four_cell_graph(3.0, 9.0), ("EMS.1", "EMS.2")) == {"EMS.2": "E", "EMS.1": "MS"}


def test_no_contact_gives_two_ms_and_min_area_counts_as_no_contact():
    assert EMS_INDUCTION(four_cell_graph(0.0), ("EMS.1", "EMS.2")) == {"EMS.1": "MS", "EMS.2": "MS"}
    rule = ContactFate("EMS", "P2", ("E", "MS"), min_area=5.0)
    assert rule(four_cell_graph(4.0), ("EMS.1", "EMS.2")) == {"EMS.1": "MS", "EMS.2": "MS"}


def test_relabel_renames_and_keeps_contacts():
    h = EMS_INDUCTION.relabel(four_cell_graph(), ("EMS.1", "EMS.2"))
    assert set(h.nodes) == {"E", "MS", "ABa", "ABp", "P2"}
    assert h.edges["E", "P2"]["area"] == 10.0 and h.edges["E", "MS"]["area"] == 30.0
    two_ms = EMS_INDUCTION.relabel(four_cell_graph(0.0), ("EMS.1", "EMS.2"))
    assert {"MS", "MS'"} <= set(two_ms.nodes)


def test_errors():
    g = four_cell_graph(4.0, 4.0)
    with pytest.raises(ValueError, match="same area"):
        EMS_INDUCTION(g, ("EMS.1", "EMS.2"))
    with pytest.raises(ValueError, match="is not a node of the contact graph"):
        EMS_INDUCTION(four_cell_graph(), ("EMS.1", "EMS.9"))
    g = four_cell_graph()
    del g.edges["EMS.1", "P2"]["area"]
    with pytest.raises(ValueError, match="must carry its contact 'area'"):
        EMS_INDUCTION(g, ("EMS.1", "EMS.2"))
    with pytest.raises(TypeError, match="fates must be a pair"):
        ContactFate("EMS", "P2", ("E",))
    with pytest.raises(ValueError, match="min_area must be"):
        ContactFate("EMS", "P2", ("E", "MS"), min_area=-1.0)
    g = four_cell_graph()
    g.add_node("E")
    with pytest.raises(ValueError, match="already has nodes named"):
        EMS_INDUCTION.relabel(g, ("EMS.1", "EMS.2"))
