"""check_fittable: the readers accept one cell or one frame; fitting a division model refuses them clearly."""

import networkx as nx
import numpy as np
import pytest

import neurosym.io as nio
from iofiles import EARLY, table_from_spans, table_of, write
from neurosym.io import CellTable


def test_a_table_with_divisions_is_fittable_and_gives_its_lineage():
    g = nio.check_fittable(table_from_spans(EARLY))
    assert isinstance(g, nx.DiGraph) and set(g.successors("P1")) == {"EMS", "P2"}


@pytest.mark.parametrize("cells, frames, phrase", [
    (["AB"], [1], "must hold at least two frames (a time series), got one (frame 1, 1 cell)"),
    (["AB", "P1"], [1, 1], "must hold at least two frames (a time series), got one (frame 1, 2 cells)"),
    (["AB", "AB", "AB"], [1, 2, 3], "must hold at least one division (a cell seen with its two daughters), got none"),
])
def test_too_little_to_fit_is_refused(cells, frames, phrase):
    with pytest.raises(ValueError, match="fit: the table " + phrase.replace("(", r"\(").replace(")", r"\)")):
        nio.check_fittable(table_of(cells, frames))


def test_frames_without_times_and_several_embryos_are_refused(tmp_path):
    t = CellTable(embryo="e", cell=["P0", "AB", "P1"], time_min=[0, 0, 0], frame=[1, 2, 2], x=[0] * 3,
                  y=[0] * 3, z=[0] * 3)
    with pytest.raises(ValueError, match="fit: the table's 2 frames are all at 0 min; pass minutes_per_frame="):
        nio.check_fittable(t)
    both = CellTable.concat([table_from_spans(EARLY), table_of(["AB"], [0], embryo="f")])
    with pytest.raises(ValueError, match="fit: the table holds 2 embryos.*pass embryo="):
        nio.check_fittable(both)
    assert "P0" in nio.check_fittable(both, embryo="e")
    with pytest.raises(TypeError, match="neurosym fit: table must be a CellTable"):
        nio.check_fittable(np.zeros(3), owner="neurosym fit")


def test_a_single_cell_file_is_read_then_refused_for_fitting(tmp_path):
    t = nio.read(write(tmp_path / "one.csv", "t,x,y,cell\n0,0,0,a\n"))
    assert len(t) == 1
    with pytest.raises(ValueError, match="at least two frames"):
        nio.check_fittable(t)
