"""Contact areas across a membrane gap: exact counts on boxes, a slow reference on random volumes."""

import re

import numpy as np
import pytest

import neurosym.io as nio
from neurosym.symbolise import contact_graph


def boxes(gap_width=1, shape=(4, 5), depth=3):
    """Two boxes of shape (4, 5, depth) along the last axis, `gap_width` voxels of 0 between them."""
    lab = np.zeros((*shape, 2 * depth + gap_width), np.uint16)
    lab[..., :depth] = 1
    lab[..., depth + gap_width:] = 2
    return lab


def reference_faces(lab, gap):
    """Contact faces counted line by line in plain Python (the module's definition, spelled out)."""
    out = {}
    for axis in range(lab.ndim):
        lines = np.moveaxis(lab, axis, -1).reshape(-1, lab.shape[axis])
        for line in lines.tolist():
            last, last_at = 0, None
            for i, v in enumerate(line):
                if v == 0:
                    continue
                if last and last != v and i - last_at - 1 <= gap:
                    key = (min(last, v), max(last, v))
                    out[key] = out.get(key, 0) + 1
                last, last_at = v, i
    return out


def test_one_voxel_membrane_between_two_boxes():
    c = nio.contact_areas(boxes(1), gap=1)
    assert c.pairs.tolist() == [[1, 2]]
    assert c.faces.tolist() == [20]  # the 4 x 5 face
    assert nio.contact_areas(boxes(1), gap=0).pairs.shape == (0, 2)
    assert nio.contact_areas(boxes(2), gap=1).pairs.shape == (0, 2)
    assert nio.contact_areas(boxes(2), gap=2).faces.tolist() == [20]
    assert nio.contact_areas(boxes(0), gap=0).faces.tolist() == [20]
    # A thicker allowance counts the same membrane once per line, not once per voxel.
    assert nio.contact_areas(boxes(1), gap=5).faces.tolist() == [20]


def test_area_uses_the_face_normal_to_each_axis():
    c = nio.contact_areas(boxes(1), gap=1, spacing=(2.0, 3.0, 5.0))
    assert c.area.tolist() == [20 * 2.0 * 3.0]
    assert c.area_between(2, 1) == c.area_between(1, 2) == 120.0
    assert c.area_between(1, 3) == 0.0


def test_same_cell_across_the_gap_and_the_outside_count_nothing():
    lab = np.zeros((3, 9), np.int32)
    lab[:, :3] = 4
    lab[:, 4:6] = 4   # a fold of cell 4 across one voxel of 0
    lab[:, 8:] = 7    # cell 7 two voxels away from it
    assert nio.contact_areas(lab, gap=1).pairs.shape == (0, 2)
    c = nio.contact_areas(lab, gap=2)
    assert c.pairs.tolist() == [[4, 7]] and c.faces.tolist() == [3]


def test_three_cells_and_the_total_per_cell():
    lab = np.zeros((2, 11), np.int32)
    lab[:, 0:3] = 1
    lab[:, 4:7] = 2
    lab[:, 8:11] = 3
    c = nio.contact_areas(lab, gap=1)
    assert c.pairs.tolist() == [[1, 2], [2, 3]]
    assert c.faces.tolist() == [2, 2]
    np.testing.assert_array_equal(c.total([1, 2, 3, 9]), [2.0, 4.0, 2.0, 0.0])
    g = c.graph({1: "a", 2: "b", 3: "c"})
    assert sorted(g.edges) == [("a", "b"), ("b", "c")] and g.nodes["c"]["label"] == 3


@pytest.mark.parametrize("gap", [0, 1, 2, 3])
def test_matches_a_line_by_line_reference_on_random_volumes(gap):
    rng = np.random.default_rng(gap)
    for shape in [(7, 9), (5, 6, 7)]:
        lab = rng.integers(0, 5, size=shape)
        lab[rng.random(shape) < 0.4] = 0
        c = nio.contact_areas(lab, gap=gap)
        got = {tuple(p): f for p, f in zip(c.pairs.tolist(), c.faces.tolist())}
        assert got == reference_faces(lab, gap)


def test_gap_zero_agrees_with_the_face_contact_graph(voronoi_like):
    lab = voronoi_like
    c = nio.contact_areas(lab, gap=0, spacing=(1.0, 2.0, 0.5))
    g = contact_graph(lab, spacing=(1.0, 2.0, 0.5))
    assert sorted(map(tuple, c.pairs.tolist())) == sorted(tuple(sorted(e)) for e in g.edges)
    for (a, b), f, s in zip(c.pairs.tolist(), c.faces.tolist(), c.area.tolist()):
        assert g.edges[a, b]["faces"] == f and g.edges[a, b]["area"] == pytest.approx(s)


@pytest.fixture
def voronoi_like():
    rng = np.random.default_rng(3)
    seeds = rng.integers(0, 10, size=(6, 3))
    grid = np.stack(np.indices((10, 10, 10)), -1)
    d = ((grid[..., None, :] - seeds) ** 2).sum(-1)
    return ((d.argmin(-1) + 1) * 7).astype(np.int32)  # labels 7, 14, ..., 42


def test_large_label_values_are_compacted():
    lab = boxes(1).astype(np.int64)
    lab[lab == 2] = 2**40
    c = nio.contact_areas(lab, gap=1)
    assert c.pairs.tolist() == [[1, 2**40]] and c.faces.tolist() == [20]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"labels": np.zeros((2, 2, 2, 2), int)}, ValueError, "contact_areas: labels must be a 2D or 3D label image"),
    ({"labels": np.ones((3, 3)) * 0.5}, TypeError, "contact_areas: labels must be an integer label image"),
    ({"labels": -np.ones((3, 3), int)}, ValueError, "contact_areas: labels must be >= 0"),
    ({"labels": np.ones((3, 3), int), "gap": 9}, ValueError, "contact_areas: gap must lie in 0..8"),
    ({"labels": np.ones((3, 3), int), "gap": 1.5}, TypeError, "contact_areas: gap must be an integer"),
    ({"labels": np.ones((3, 3), int), "spacing": (1, 2, 3)}, ValueError, "contact_areas: spacing must be 2 positive"),
    ({"labels": np.ones((3, 3), int), "spacing": -1}, ValueError, "contact_areas: spacing must be 2 positive"),
])
def test_refuses_bad_arguments(kwargs, error, message):
    labels = kwargs.pop("labels")
    with pytest.raises(error, match=re.escape(message)):
        nio.contact_areas(labels, **kwargs)
