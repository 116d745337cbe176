"""Per-cell geometry of a label volume: exact volumes, centroids, surfaces and contacts of boxes."""

import re

import networkx as nx
import numpy as np
import pytest

import neurosym.io as nio


def three_boxes():
    """Boxes 3 (2x3x4), 5 (2x3x4) and 8 (2x3x2) in a (4, 5, 14) volume; a one-voxel membrane
    between 3 and 5 (x = 5), a two-voxel one between 5 and 8 (x = 10, 11)."""
    lab = np.zeros((4, 5, 14), np.uint16)
    lab[1:3, 1:4, 1:5] = 3
    lab[1:3, 1:4, 6:10] = 5
    lab[1:3, 1:4, 12:14] = 8  # touches the edge of the volume
    return lab


def test_volumes_centroids_surfaces_and_contacts_of_boxes():
    geo = nio.cell_geometry(three_boxes(), gap=2, time=7)
    assert geo.time == 7 and len(geo) == 3
    assert geo.labels.tolist() == [3, 5, 8]
    assert geo.names is None
    assert geo.num_voxels.tolist() == [24, 24, 12]
    np.testing.assert_allclose(geo.centroid, [[1.5, 2, 2.5], [1.5, 2, 7.5], [1.5, 2, 12.5]])
    # A box a x b x c has 2(ab + bc + ca) faces, whatever lies around it.
    assert geo.num_faces.tolist() == [2 * (6 + 12 + 8), 2 * (6 + 12 + 8), 2 * (6 + 6 + 4)]
    assert geo.contacts.pairs.tolist() == [[3, 5], [5, 8]]
    assert geo.contacts.faces.tolist() == [6, 6]
    assert nio.cell_geometry(three_boxes(), gap=1).contacts.pairs.tolist() == [[3, 5]]
    assert (geo.contact_area <= geo.surface_area).all()


def test_spacing_gives_physical_volumes_areas_and_positions():
    sp = (2.0, 1.0, 0.5)
    geo = nio.cell_geometry(three_boxes(), gap=2, spacing=sp)
    assert geo.volume.tolist() == [24.0, 24.0, 12.0]  # voxel volume 1
    # Box 3: faces normal to axis 0 (3 x 4 of them, twice) have area 1 * 0.5, ...
    assert geo.surface_area[0] == pytest.approx(2 * (12 * 0.5 + 8 * 1.0 + 6 * 2.0))
    assert geo.contacts.area.tolist() == [6 * 2.0, 6 * 2.0]
    np.testing.assert_allclose(geo.position[1], [3.0, 2.0, 3.75])


def test_contact_graph_by_label_and_by_name():
    lab = three_boxes()
    lab[3, 4, 0] = 9  # a lone cell that touches nothing
    geo = nio.cell_geometry(lab, names={3: "ABa", 5: "ABp", 8: "EMS", 9: "P2"})
    g = geo.graph()
    assert isinstance(g, nx.Graph) and g.graph["gap"] == 2
    assert sorted(g.nodes) == [3, 5, 8, 9] and sorted(g.edges) == [(3, 5), (5, 8)]
    assert g.degree[9] == 0 and g.nodes[9]["name"] == "P2" and g.nodes[9]["num_voxels"] == 1
    h = geo.graph(by="name")
    assert sorted(h.edges) == [("ABa", "ABp"), ("ABp", "EMS")]
    assert h.edges["ABa", "ABp"]["area"] == 6.0 and h.nodes["EMS"]["label"] == 8
    assert h.nodes["ABa"]["centroid"] == (1.5, 2.0, 2.5)
    assert geo.index("EMS") == 2 and geo.index(9) == 3


def test_two_dimensional_volume():
    lab = np.zeros((3, 8), np.int32)
    lab[:, :3] = 1
    lab[:, 4:] = 2
    geo = nio.cell_geometry(lab, gap=1)
    assert geo.num_voxels.tolist() == [9, 12]
    assert geo.num_faces.tolist() == [12, 14]  # perimeters
    assert geo.contacts.faces.tolist() == [3]


def test_to_cell_table_maps_axes_and_adds_geometry_columns():
    geo = nio.cell_geometry(three_boxes(), names={3: "ABa", 5: "ABp", 8: "EMS"}, spacing=2.0, time=4)
    t = geo.to_cell_table(embryo="e1", axes="YXZ", minutes_per_frame=1.5)
    assert t.cell.tolist() == ["ABa", "ABp", "EMS"]
    assert t.frame.tolist() == [4, 4, 4] and t.time_min.tolist() == [6.0, 6.0, 6.0]
    # Axes (row, column, slice) = (y, x, z); positions in units of spacing.
    assert t.y.tolist() == [3.0, 3.0, 3.0] and t.x.tolist() == [4.0, 4.0, 4.0]
    assert t.z.tolist() == [5.0, 15.0, 25.0]
    np.testing.assert_allclose(t.size, np.cbrt(6 * geo.volume / np.pi))
    assert t.extra["label"].tolist() == [3, 5, 8]
    assert t.extra["num_contacts"].tolist() == [1, 2, 1]
    np.testing.assert_allclose(t.extra["contact_area"], [24.0, 48.0, 24.0])
    unnamed = nio.cell_geometry(three_boxes()).to_cell_table()
    assert unnamed.cell.tolist() == ["3", "5", "8"] and unnamed.x.tolist() == [2.5, 7.5, 12.5]


@pytest.mark.parametrize("call, error, message", [
    (lambda: nio.cell_geometry(np.zeros((3, 3), int)), ValueError, "holds no cells: every voxel is 0"),
    (lambda: nio.cell_geometry(three_boxes(), names={3: "a", 5: "b"}), ValueError,
     "cell_geometry: 1 label(s) have no name (8)"),
    (lambda: nio.cell_geometry(three_boxes(), names={3: "a", 5: "b", 8: "a"}), ValueError,
     "labels [3, 8] share the name 'a'"),
    (lambda: nio.cell_geometry(three_boxes(), names=["a", "b", "c"]), TypeError,
     "cell_geometry: names must be a mapping {label: name}"),
    (lambda: nio.cell_geometry(three_boxes()).graph(by="name"), ValueError,
     "CellGeometry.graph: by='name' needs cell names"),
    (lambda: nio.cell_geometry(three_boxes()).graph(by="id"), ValueError, "CellGeometry.graph: by must be one of"),
    (lambda: nio.cell_geometry(three_boxes()).to_cell_table(axes="ZYY"), ValueError,
     "CellGeometry.to_cell_table: axes must name the 3 axes"),
    (lambda: nio.cell_geometry(three_boxes()).index("AB"), KeyError, "this geometry has no names"),
    (lambda: nio.cell_geometry(three_boxes(), time=-1), ValueError, "cell_geometry: time must be at least 0"),
])
def test_refusals_name_the_problem(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
