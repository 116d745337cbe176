"""The embedded named segmentation series reads as the source layout and keeps real anatomy."""

import numpy as np

from neurosym.io import celegans_segmentation_folder, load_celegans_segmentation, read_segmentation


def test_every_time_point_is_named_and_cells_only_multiply():
    series = load_celegans_segmentation()
    assert series.times == tuple(range(1, 66, 2))
    counts = []
    for t in series.times:
        labels = np.unique(series.labels(t))
        labels = labels[labels > 0]
        assert all(int(x) in series.names for x in labels), t
        counts.append(labels.size)
    assert counts[0] == 4 and counts[-1] == 57
    assert all(b >= a - 1 for a, b in zip(counts, counts[1:]))  # a dividing cell may merge for a frame


def test_the_four_cell_contact_graph_is_the_known_rhombus():
    # At the 4-cell stage ABa touches ABp and EMS but not P2; P2 touches ABp and EMS.
    g = load_celegans_segmentation().graph(1, by="name")
    edges = {frozenset(e) for e in g.edges}
    assert edges == {frozenset(p) for p in [("ABa", "ABp"), ("ABa", "EMS"), ("ABp", "EMS"),
                                            ("ABp", "P2"), ("EMS", "P2")]}


def test_the_folder_is_the_layout_read_segmentation_reads():
    series = read_segmentation(celegans_segmentation_folder(), axes="YXZ", gap=1)
    assert series.labels(65).shape == (52, 72, 34)
    assert series.names[int(np.unique(series.labels(1))[1])] in {"ABa", "ABp", "EMS", "P2"}
