"""Moved: the names live in `neurosym.fit.lineage` (and `neurosym.fit.lineage_model`)."""

from neurosym.fit.lineage import LineageFit, LineageModel, build_model, fit_lineage, simulate_counts

__all__ = ["LineageFit", "LineageModel", "build_model", "fit_lineage", "simulate_counts"]
