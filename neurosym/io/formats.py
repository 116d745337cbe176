"""The file formats the readers know, by the name `read(path, format=...)` takes."""

from __future__ import annotations

import types
from typing import Mapping

__all__ = ["FORMATS"]

FORMATS: Mapping[str, str] = types.MappingProxyType({
    "cd": "AceTree/StarryNite CD table (.csv or .csv.gz; columns cell, time, x, y, z, size, ...)",
    "acetree": "AceTree nuclei archive (.zip holding tNNN-nuclei files, in any folder)",
    "tracks": "track table (.csv/.tsv, optionally .gz; columns t, x, y, [z], cell, [parent])",
    "labels": "label image (.tif/.tiff, .npy, .npz, .png; 2D, 3D or a 3D time series)",
})
"""Format name -> what such a file holds."""
