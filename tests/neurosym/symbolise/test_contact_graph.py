"""neurosym.symbolise.contacts: which labels touch, over how many faces and what area."""

import numpy as np
import pytest

from neurosym.symbolise import contact_graph


def test_contact_graph_of_a_known_layout():
    labels = np.array(
        [[1, 1, 2, 2, 0, 5],
         [1, 1, 2, 2, 0, 0],
         [3, 3, 3, 4, 4, 0]]
    )
    g = contact_graph(labels)
    assert sorted(g.nodes) == [1, 2, 3, 4, 5]
    assert {i: g.nodes[i]["index"] for i in g} == {1: 0, 2: 1, 3: 2, 4: 3, 5: 4}
    faces = {tuple(sorted(e[:2])): e[2] for e in g.edges(data="faces")}
    # 2 touches 4 at one face (2 over 4); 3 and 4 side by side; 5 only touches background.
    assert faces == {(1, 2): 2, (1, 3): 2, (2, 3): 1, (2, 4): 1, (3, 4): 1}
    assert g.degree(5) == 0
    assert all(d["area"] == d["faces"] for *_, d in g.edges(data=True))


def test_corners_do_not_touch_and_spacing_sets_area():
    labels = np.array([[1, 0], [0, 2]])
    assert contact_graph(labels).number_of_edges() == 0
    two = np.array([[1, 1], [2, 2]])  # contact across axis 0: face length = spacing[1]
    g = contact_graph(two, spacing=(3.0, 0.5))
    assert g.edges[1, 2]["faces"] == 2 and g.edges[1, 2]["area"] == pytest.approx(1.0)


def test_contact_graph_3d_face_areas():
    labels = np.zeros((2, 3, 3), np.int32)
    labels[0] = 1
    labels[1, :, :2] = 2
    labels[1, :, 2] = 3
    g = contact_graph(labels, spacing=(1.0, 2.0, 3.0))
    assert g.edges[1, 2]["faces"] == 6 and g.edges[1, 3]["faces"] == 3
    assert g.edges[2, 3]["faces"] == 3
    assert g.edges[1, 2]["area"] == pytest.approx(6 * 6.0)  # z faces: 2 x 3
    assert g.edges[2, 3]["area"] == pytest.approx(3 * 2.0)  # x faces: 1 x 2


def test_huge_ids_use_the_pair_path():
    labels = np.array([[0, 5, 5], [9, 9, 0]], np.int64)
    big = np.where(labels > 0, labels + 2**40, 0)  # lo * (top + 1) + hi would overflow int64
    assert sorted(contact_graph(big).edges) == [(2**40 + 5, 2**40 + 9)]
    assert sorted(contact_graph(labels).edges) == [(5, 9)]


def test_contact_graph_errors():
    with pytest.raises(ValueError, match="contact_graph: labels .* holds no cells"):
        contact_graph(np.zeros((3, 3), np.int32))
    with pytest.raises(TypeError, match="integer label image"):
        contact_graph(np.ones((3, 3)))
    with pytest.raises(ValueError, match="contact_graph: spacing must be 2 positive numbers"):
        contact_graph(np.ones((3, 3), np.int32), spacing=(0.0, 1.0))
