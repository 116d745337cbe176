"""Reading imaging data: the cell table, its lineage, one module per file format, embedded embryos.

Modules:
  `table`      `CellTable`, one row per cell per frame, keyed by embryo, cell and frame;
  `lineage`    `lineage(table)`: the parent -> daughter graph, cycle lengths, `LineageReport`;
  `fittable`   `check_fittable(table)`: what a division model needs before it is fitted;
  `text`       delimited text tables: columns by name, numbers, file, line and column in errors;
  `times`      TIME files and frame intervals;
  `cd`, `acetree`, `tracks`, `labels`   the readers, one per format;
  `contacts`   `contact_areas`: which cells face each other across a membrane gap, over what area;
  `geometry`   `cell_geometry`: per-cell volume, centroid, surface and contacts (`CellGeometry`);
  `segmentation`  `read_segmentation`: a folder of label volumes over time, read lazily;
  `ctc`        `read_ctc`, `read_ctc_tracks`: Cell Tracking Challenge masks and track files;
  `geff`       `read_geff`, `table_from_track_graph`: Graph Exchange File Format tracks;
  `relabel`    `relabel_random`: label numbers that carry no information;
  `formats`    `FORMATS`; `sniff`: `sniff_format` and `read`, which reads any of them;
  `datasets`   the embedded C. elegans embryos (`load_celegans`, `list_celegans`);
  `celegans_segmentation`  the embedded named 3D segmentation series
               (`load_celegans_segmentation`, `celegans_segmentation_folder`) and its
               membrane images (`load_celegans_membrane`).

Example:
  >>> from neurosym.io import cycle_lengths, lineage, load_celegans
  >>> cycles = cycle_lengths(lineage(load_celegans()))  # minutes per founder lineage
  >>> cycles["E"] > cycles["AB"]
  True
"""

from neurosym.io.acetree import read_acetree
from neurosym.io.cd import read_cd
from neurosym.io.celegans_segmentation import (
    CELEGANS_SEGMENTATION, celegans_segmentation_folder, load_celegans_membrane, load_celegans_segmentation,
)
from neurosym.io.contacts import Contacts, contact_areas
from neurosym.io.ctc import CTCData, CTCTracks, read_ctc, read_ctc_tracks
from neurosym.io.datasets import DEFAULT_CELEGANS, describe_celegans, embryo_files, list_celegans, load_celegans
from neurosym.io.fittable import check_fittable
from neurosym.io.formats import FORMATS
from neurosym.io.geff import read_geff, table_from_track_graph
from neurosym.io.geometry import CellGeometry, cell_geometry
from neurosym.io.labels import read_labels, table_from_labels
from neurosym.io.lineage import (
    LineageProblem, LineageReport, LineageWarning, cycle_length_samples, cycle_lengths, lineage,
)
from neurosym.io.relabel import relabel_random
from neurosym.io.segmentation import SegmentationSeries, read_label_names, read_segmentation
from neurosym.io.sniff import read, sniff_format
from neurosym.io.table import CellTable
from neurosym.io.times import read_time_file
from neurosym.io.tracks import read_tracks

__all__ = [
    "CELEGANS_SEGMENTATION", "DEFAULT_CELEGANS", "FORMATS", "CTCData", "CTCTracks", "CellGeometry", "CellTable", "Contacts",
    "LineageProblem", "LineageReport", "LineageWarning", "SegmentationSeries", "cell_geometry",
    "celegans_segmentation_folder", "check_fittable", "contact_areas", "cycle_length_samples", "cycle_lengths", "describe_celegans",
    "embryo_files", "lineage", "list_celegans", "load_celegans", "load_celegans_membrane", "load_celegans_segmentation", "read", "read_acetree", "read_cd",
    "read_ctc", "read_ctc_tracks", "read_geff", "read_label_names", "read_labels", "read_segmentation",
    "read_time_file", "read_tracks", "relabel_random", "sniff_format", "table_from_labels",
    "table_from_track_graph",
]
