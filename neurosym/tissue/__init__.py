"""Tissue: the cellular Potts model fitted to named segmentations, and contact predictions.

Modules: `kinds` (`KIND_NAMES`, `founder_kind`, `kinds_of`: founder lineages as cell kinds),
`fit` (`fit_potts`, `fit_loss`, `EvolutionStrategy`, `TissueFit`, `target_volumes`, `potts_params`),
`axes` (`observed_divisions`, `body_frame`, `fit_division_axes`, `cell_centroids`, `Division`),
`predict` (`predict_contacts`, `division_schedule`, `persistence_contacts`, `uniform_adhesion`,
`Prediction`), `score` (`score_contacts`, `ContactScore`), `lattice` (`named_lattice`,
`auto_factor`: a named time point as a lattice of ids in random order), `timing` (`cycle_times`,
`first_seen`, `calibrate_minutes`, `timed_names`, `CycleTimes`: which cells divide, from other embryos), `report` (`tissue_fit`,
`tissue_predict`: the `neurosym tissue` jobs, imported on use).
"""

from neurosym.tissue.axes import Division, body_frame, cell_centroids, fit_division_axes, observed_divisions
from neurosym.tissue.fit import EvolutionStrategy, TissueFit, fit_loss, fit_potts, potts_params, target_volumes
from neurosym.tissue.kinds import KIND_NAMES, founder_kind, kinds_of
from neurosym.tissue.lattice import auto_factor, named_lattice
from neurosym.tissue.predict import (
    Prediction,
    division_schedule,
    persistence_contacts,
    predict_contacts,
    uniform_adhesion,
)
from neurosym.tissue.score import ContactScore, score_contacts
from neurosym.tissue.timing import CycleTimes, calibrate_minutes, cycle_times, first_seen, timed_names

__all__ = [
    "KIND_NAMES",
    "auto_factor",
    "named_lattice",
    "ContactScore",
    "Division",
    "EvolutionStrategy",
    "Prediction",
    "TissueFit",
    "body_frame",
    "cell_centroids",
    "division_schedule",
    "fit_division_axes",
    "fit_loss",
    "fit_potts",
    "founder_kind",
    "kinds_of",
    "observed_divisions",
    "persistence_contacts",
    "potts_params",
    "predict_contacts",
    "score_contacts",
    "target_volumes",
    "uniform_adhesion",
    "CycleTimes",
    "calibrate_minutes",
    "cycle_times",
    "first_seen",
    "timed_names",
]
