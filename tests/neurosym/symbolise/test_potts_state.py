"""Label volumes as cellular Potts lattices: block majority, no cell lost, membranes filled."""

import re

import numpy as np
import pytest

from neurosym.io import contact_areas
from neurosym.symbolise import contact_graph, fill_gaps, potts_state


def membrane_boxes():
    """Cells 4 | 9 | 2 along the last axis with one-voxel membranes, in a (4, 6, 14) volume
    with a medium border of one voxel."""
    lab = np.zeros((4, 6, 14), np.uint16)
    lab[1:3, 1:5, 1:5] = 4
    lab[1:3, 1:5, 6:9] = 9
    lab[1:3, 1:5, 10:13] = 2
    return lab


def test_factor_one_renumbers_in_label_order():
    sites, ids = potts_state(membrane_boxes())
    assert sites.dtype == np.int32 and sites.shape == (4, 6, 14)
    assert ids.tolist() == [0, 2, 4, 9]
    np.testing.assert_array_equal(ids[sites], membrane_boxes())


def test_block_majority_with_padding_and_ties():
    lab = np.array([[5, 5, 7, 0, 0],
                    [5, 7, 7, 0, 3],
                    [0, 0, 7, 7, 3]])
    sites, ids = potts_state(lab, 2)
    assert ids.tolist() == [0, 3, 5, 7]
    # Blocks (rows 0-1 | 2) x (cols 0-1 | 2-3 | 4): the last are cut short, and only voxels vote.
    # [5 5; 5 7] -> 5; [7 0; 7 0] -> 7 (a cell wins a tie with the medium); [0; 3] -> 3;
    # [0 0] -> 0; [7 7] -> 7; [3] -> 3.
    assert sites.tolist() == [[2, 3, 1], [0, 3, 1]]
    sites, _ = potts_state(lab, (1, 5))
    # Rows: 5 5 7 0 0 -> 5 (ties the medium); 5 7 7 0 3 -> 7; 0 0 7 7 3 -> 7. Cell 3 wins no row,
    # so it takes its first best row from 7, which keeps the other.
    assert sites.tolist() == [[2], [1], [3]]
    sites, _ = potts_state(np.array([[1, 1, 2, 2, 0], [2, 2, 2, 2, 2]]), (1, 5))
    assert sites.tolist() == [[1], [2]]  # a tie of cells goes to the lower id


def test_no_cell_vanishes():
    lab = np.zeros((8, 8), int)
    lab[:, :] = 1
    lab[0, 0] = 2          # one voxel, outvoted in its block
    lab[5, 5] = 3          # one voxel in block (1, 1)
    lab[5:7, 6] = 4        # two voxels in block (1, 1), one in block (0, 1)
    lab[2, 6] = 4
    sites, ids = potts_state(lab, 4)
    assert sorted(np.unique(sites).tolist()) == [1, 2, 3, 4]
    assert sites[0, 0] == 2
    # Cell 3 takes block (1, 1) first (cells in id order); cell 4 then takes its next best block.
    assert sites.tolist() == [[2, 4], [1, 3]]
    with pytest.raises(ValueError, match=re.escape("potts_state: cell 2 cannot keep a site at factor (8, 8)")):
        potts_state(lab, 8)


def test_every_cell_is_kept_on_random_volumes():
    rng = np.random.default_rng(1)
    for _ in range(5):
        lab = rng.integers(0, 40, size=(12, 13, 9))
        sites, ids = potts_state(lab, (2, 3, 2))
        assert np.unique(sites[sites > 0]).size == ids.size - 1


def test_fill_gaps_makes_facing_cells_touch_and_leaves_the_medium():
    lab = membrane_boxes()
    filled = fill_gaps(lab, gap=1)
    assert filled.dtype == lab.dtype
    # Each one-voxel membrane goes to the lower label on its sides (a tie of face neighbours).
    assert (filled[1:3, 1:5, 5] == 4).all() and (filled[1:3, 1:5, 9] == 2).all()
    assert (filled[0] == 0).all() and (filled[:, 0] == 0).all() and (filled[..., 13] == 0).all()
    assert ((filled > 0).sum() - (lab > 0).sum()) == 2 * 8
    g = contact_graph(filled)
    c = contact_areas(lab, gap=1)
    assert sorted(g.edges) == sorted(map(tuple, c.pairs.tolist()))
    assert [g.edges[tuple(p)]["faces"] for p in c.pairs.tolist()] == c.faces.tolist()


def test_a_two_voxel_membrane_is_split_between_its_sides():
    lab = np.zeros((2, 8), int)
    lab[:, :3] = 1
    lab[:, 5:] = 2
    assert fill_gaps(lab, gap=2).tolist() == [[1, 1, 1, 1, 2, 2, 2, 2]] * 2
    assert fill_gaps(lab, gap=1).tolist() == lab.tolist()  # wider than the gap: left alone


def test_filled_lattice_keeps_the_contact_graph_after_downsampling():
    lab = np.zeros((4, 8, 16), np.uint16)
    lab[..., 0:5] = 4
    lab[..., 6:10] = 9
    lab[..., 11:16] = 2
    sites, ids = potts_state(lab, 2, fill_gap=True, gap=1)
    assert sites.shape == (2, 4, 8)
    # Membrane 5 goes to 4, membrane 10 to 2 (the lower label): 4 | 9 | 2 in blocks of 6, 4, 6.
    assert ids[sites[0, 0]].tolist() == [4, 4, 4, 9, 9, 2, 2, 2]
    edges = {tuple(sorted((int(ids[a]), int(ids[b])))) for a, b in contact_graph(sites).edges}
    assert edges == {(4, 9), (2, 9)}
    unfilled, _ = potts_state(lab, 1)
    assert contact_graph(unfilled).number_of_edges() == 0


@pytest.mark.parametrize("call, error, message", [
    (lambda: potts_state(np.ones((2, 2), int), 0), ValueError, "potts_state: factor must be at least 1"),
    (lambda: potts_state(np.ones((2, 2), int), (2, 2, 2)), ValueError, "potts_state: factor must be one integer or 2"),
    (lambda: potts_state(np.ones((2, 2), int), 1.5), TypeError, "potts_state: factor must be an integer"),
    (lambda: potts_state(np.ones((2, 2), int), fill_gap="yes"), TypeError, "potts_state: fill_gap must be True or False"),
    (lambda: potts_state(np.ones((2, 2, 2, 2), int)), ValueError, "potts_state: labels must be a 1D or 2D or 3D"),
    (lambda: fill_gaps(np.ones((2, 2)), gap=1), TypeError, "fill_gaps: labels must be an integer label image"),
    (lambda: fill_gaps(np.ones((2, 2), int), gap=9), ValueError, "fill_gaps: gap must lie in 0..8"),
])
def test_refusals(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()
