"""Reading imaging data: the cell table, its lineage, one module per file format, embedded embryos.

Modules:
  `table`      `CellTable`, one row per cell per frame, keyed by embryo, cell and frame;
  `lineage`    `lineage(table)`: the parent -> daughter graph, cycle lengths, `LineageReport`;
  `fittable`   `check_fittable(table)`: what a division model needs before it is fitted;
  `text`       delimited text tables: columns by name, numbers, file, line and column in errors;
  `times`      TIME files and frame intervals;
  `cd`, `acetree`, `tracks`, `labels`   the readers, one per format;
  `formats`    `FORMATS`; `sniff`: `sniff_format` and `read`, which reads any of them;
  `datasets`   the embedded C. elegans embryos (`load_celegans`, `list_celegans`).

Example:
  >>> from neurosym.io import cycle_lengths, lineage, load_celegans
  >>> cycles = cycle_lengths(lineage(load_celegans()))  # minutes per founder lineage
  >>> cycles["E"] > cycles["AB"]
  True
"""

from neurosym.io.acetree import read_acetree
from neurosym.io.cd import read_cd
from neurosym.io.datasets import DEFAULT_CELEGANS, describe_celegans, embryo_files, list_celegans, load_celegans
from neurosym.io.fittable import check_fittable
from neurosym.io.formats import FORMATS
from neurosym.io.labels import read_labels, table_from_labels
from neurosym.io.lineage import (
    LineageProblem, LineageReport, LineageWarning, cycle_length_samples, cycle_lengths, lineage,
)
from neurosym.io.sniff import read, sniff_format
from neurosym.io.table import CellTable
from neurosym.io.times import read_time_file
from neurosym.io.tracks import read_tracks

__all__ = [
    "DEFAULT_CELEGANS", "FORMATS", "CellTable", "LineageProblem", "LineageReport", "LineageWarning",
    "check_fittable", "cycle_length_samples", "cycle_lengths", "describe_celegans", "embryo_files",
    "lineage", "list_celegans", "load_celegans", "read", "read_acetree", "read_cd", "read_labels",
    "read_time_file", "read_tracks", "sniff_format", "table_from_labels",
]
