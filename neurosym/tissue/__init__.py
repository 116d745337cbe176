"""Tissue: the cellular Potts model fitted to named segmentations, and contact predictions.

Modules: `kinds` (`KIND_NAMES`, `founder_kind`, `kinds_of`: founder lineages as cell kinds),
`fit` (`fit_potts`, `EvolutionStrategy`, `TissueFit`, `target_volumes`, `potts_params`).
"""

from neurosym.tissue.fit import EvolutionStrategy, TissueFit, fit_potts, potts_params, target_volumes
from neurosym.tissue.kinds import KIND_NAMES, founder_kind, kinds_of

__all__ = [
    "KIND_NAMES",
    "EvolutionStrategy",
    "TissueFit",
    "fit_potts",
    "founder_kind",
    "kinds_of",
    "potts_params",
    "target_volumes",
]
