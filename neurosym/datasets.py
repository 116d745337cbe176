"""Moved: the embedded C. elegans embryos now live in `neurosym.io.datasets` (names kept here)."""

from neurosym.io.datasets import DEFAULT_CELEGANS, describe_celegans, embryo_files, list_celegans, load_celegans

__all__ = ["DEFAULT_CELEGANS", "describe_celegans", "embryo_files", "list_celegans", "load_celegans"]
