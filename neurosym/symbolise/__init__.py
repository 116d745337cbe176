"""Symbolise: label images or nuclei tables -> per-cell features, a contact graph and a Population.

The bridge from imaging to the symbolic lattice models, one time point at a time:

- `features`: `cell_features`, a label image (2D or 3D, background 0, optional intensity
  image) to per-cell centroid, size, mean intensity and second moments in a `CellFeatures`.
- `points`: `point_features`, a `neurosym.data.CellTable` at one time point (or a dict of its
  columns via `table_from_columns`, or plain `(N, D)` positions) to the same record.
- `contacts`: `contact_graph`, which labels touch across a face, with the contact area.
- `kinds`: each cell's kind from its name, a table column, an array or a classifier.
- `placement`: centroids to lattice sites; a cell whose site is taken moves to the nearest
  free site, never dropped.
- `population`: `to_population`, cells to a `rules.Population` on an `automata.Lattice`, with a
  `SymboliseReport`.
- `potts`: `potts_state`, a label volume as a cellular Potts lattice of cell ids,
  downsampled by blocks, no cell lost; `fill_gaps` hands membrane voxels to the cells.
- `api`: `symbolise` / `symbolise_points`, all of the above in one call (a `Symbolised`).

Everything runs on the host in numpy (vectorised over cells); only the returned `Population`
holds JAX arrays.
"""

from neurosym.symbolise.api import Symbolised, symbolise, symbolise_points
from neurosym.symbolise.contacts import contact_graph
from neurosym.symbolise.features import FEATURE_NAMES, CellFeatures, cell_features
from neurosym.symbolise.points import point_features, table_from_columns
from neurosym.symbolise.potts import fill_gaps, potts_state
from neurosym.symbolise.population import SymboliseReport, to_population

__all__ = [
    "FEATURE_NAMES",
    "CellFeatures",
    "SymboliseReport",
    "Symbolised",
    "cell_features",
    "contact_graph",
    "fill_gaps",
    "point_features",
    "potts_state",
    "symbolise",
    "symbolise_points",
    "table_from_columns",
    "to_population",
]
