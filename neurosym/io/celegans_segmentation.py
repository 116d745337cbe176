"""The embedded named segmentation series: one real C. elegans embryo as 3D label volumes.

The 3DMMS embryo 170704plc1p2 (Cao et al. 2019, BMC Bioinformatics 20:176; MIT, (c) 2018
Jianfeng CAO; provenance and licence in `neurosym/_data/celegans_3dmms/`): the 33 odd time
points 1-65 (4 -> 57 cells), each a (52, 72, 34) label volume downsampled by 4 per axis from the
published segmentation, with the label -> Sulston name file, and the raw membrane images of the
same time points resampled onto the same grid (`memb_T###.npz`, for `neurosym label` and
`neurosym.founders`). Cells touch directly (the
membrane was given to them before downsampling), so contacts are read with `gap=0`, as on
any simulated lattice.

Example:
  >>> series = load_celegans_segmentation()
  >>> len(series), series.times[:3]
  (33, (1, 3, 5))
  >>> sorted(series.names[label] for label in series.geometry(1).labels)
  ['ABa', 'ABp', 'EMS', 'P2']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from neurosym.io.segmentation import SegmentationSeries, read_segmentation

__all__ = ["CELEGANS_SEGMENTATION", "celegans_segmentation_folder", "load_celegans_membrane", "load_celegans_segmentation"]

CELEGANS_SEGMENTATION = "170704plc1p2"
"""The embryo of the embedded segmentation series."""


def celegans_segmentation_folder() -> Path:
    """The folder of the embedded series, in the layout `read_segmentation` reads
    (`seg_T###.npz` + `label_names.json`, and the membrane images `memb_T###.npz`); pass it
    where a command or function wants a folder.

    Example:
      >>> (celegans_segmentation_folder() / "label_names.json").is_file()
      True
    """
    return Path(str(resources.files("neurosym") / "_data" / "celegans_3dmms"))


def load_celegans_segmentation(*, gap: int = 0) -> SegmentationSeries:
    """The embedded series as a `SegmentationSeries` (names from its `label_names.json`).

    Args:
      gap: the widest gap, in sites, that cells touch across (see `contact_areas`); the
        embedded volumes have none (0, the default, as on a simulated lattice; 1 would also
        count cells one site apart).

    Example:
      >>> load_celegans_segmentation().geometry(65).labels.size
      57
    """
    return read_segmentation(celegans_segmentation_folder(), gap=gap, axes="YXZ", embryo=CELEGANS_SEGMENTATION)


def load_celegans_membrane() -> dict[int, np.ndarray]:
    """The embedded membrane images, {time point: (52, 72, 34) uint8 volume}, on the grid of the
    embedded segmentation (the same odd time points 1-65).

    Example:
      >>> images = load_celegans_membrane()
      >>> len(images), images[1].shape, images[1].dtype.name
      (33, (52, 72, 34), 'uint8')
    """
    folder = celegans_segmentation_folder()
    out = {}
    for f in sorted(folder.glob("memb_T*.npz")):
        with np.load(f) as z:
            out[int(f.stem[len("memb_T"):])] = z["membrane"]
    return out
