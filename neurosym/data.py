"""Moved: the readers, the cell table and lineage graphs now live in `neurosym.io` (names kept here)."""

from neurosym.io import (
    FORMATS,
    CellTable,
    LineageProblem,
    LineageReport,
    LineageWarning,
    check_fittable,
    cycle_length_samples,
    cycle_lengths,
    lineage,
    read,
    read_acetree,
    read_cd,
    read_labels,
    read_tracks,
    table_from_labels,
)
from rules.celegans import FOUNDER_RULES, FOUNDERS, founder_of, sulston_parent

__all__ = [
    "FORMATS",
    "FOUNDER_RULES",
    "FOUNDERS",
    "CellTable",
    "LineageProblem",
    "LineageReport",
    "LineageWarning",
    "check_fittable",
    "cycle_length_samples",
    "cycle_lengths",
    "founder_of",
    "lineage",
    "read",
    "read_acetree",
    "read_cd",
    "read_labels",
    "read_tracks",
    "sulston_parent",
    "table_from_labels",
]
