"""Naming the cells of a real embryo by founder lineage: an image classifier, a few labels, and
label-free knowledge (anonymous tracking, expected composition, spatial rules, expression).

Modules:
  `classes`      the six founder classes (`FOUNDERS`) and `founder_of` a Sulston name;
  `cells`        `cell_series`: anonymous cells of membrane volumes and their segmentations on
                 one grid, with geometry, image statistics, contacts and mask-overlap tracking;
  `encoder`      `encoder_features`: a 2D encoder's body over slices, pooled inside each mask;
  `tracks`       `track_posterior` (exact inference on the tracking forest) and `track_features`;
  `composition`  expected founder shares by number of cells, from the division-timing model
                 fitted on other embryos, and `composition_loss`;
  `expression`   `reporter_prior`: p(reporter | founder) from EPIC embryos other than the one
                 labelled, and nuclei features in a body frame;
  `spatial`      spatial rules from the literature over the contact graph;
  `terms`        the switchable terms `Tracking`, `Composition`, `SpatialRules`;
  `fit`          `fit_founders`, the classifier trained on labels plus terms;
  `label`        `label_cells`: the whole job for folders of volumes and a CSV of known founders.

Example:
  >>> FOUNDERS
  ('AB', 'MS', 'E', 'C', 'D', 'P')
"""

from neurosym.founders.cells import GEOMETRY_FEATURES, IMAGE_FEATURES, CellSeries, cell_series
from neurosym.founders.classes import FOUNDERS, founder_of
from neurosym.founders.composition import (
    FounderComposition,
    composition_from_fit,
    composition_from_tables,
    composition_loss,
    embedded_composition,
)
from neurosym.founders.encoder import encoder_features
from neurosym.founders.expression import NUCLEI_FEATURES, nuclei_features, reporter_levels, reporter_prior, stage_expression
from neurosym.founders.fit import FounderFit, FounderNet, cell_features, fit_founders
from neurosym.founders.spatial import LITERATURE_RULES, Inside, Touches, rule_loss
from neurosym.founders.terms import Composition, SpatialRules, Tracking
from neurosym.founders.tracks import TRACK_FEATURES, founder_transitions, track_features, track_posterior

__all__ = [
    "FOUNDERS", "GEOMETRY_FEATURES", "IMAGE_FEATURES", "LITERATURE_RULES", "TRACK_FEATURES", "CellSeries", "Composition",
    "FounderComposition", "FounderFit", "FounderNet", "Inside", "SpatialRules", "Touches", "Tracking", "cell_features",
    "cell_series", "composition_from_fit", "composition_from_tables", "composition_loss", "embedded_composition",
    "encoder_features", "fit_founders", "founder_of", "founder_transitions", "rule_loss", "track_features",
    "track_posterior", "NUCLEI_FEATURES", "nuclei_features", "reporter_levels", "reporter_prior", "stage_expression",
]
