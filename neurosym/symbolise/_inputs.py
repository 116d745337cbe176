"""Checks shared by the symbolise entry points, and the indexing of a label image by cell.

Each check takes `owner`, the public function the user called, and names it at the start of
the message (see `automata._checks`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from automata._checks import fail
from neurosym._labels import check_label_image, check_spacing

__all__ = ["check_labels", "check_names", "check_spacing", "index_labels"]


def check_labels(labels) -> np.ndarray:
    """A 1D, 2D or 3D integer label image (0 = background) as a numpy array, or a clear error.

    Example:
      >>> check_labels([[0, 1], [2, 2]]).shape
      (2, 2)
    """
    return check_label_image(
        np.asarray(labels), ndims=(1, 2, 3), axes_hint="For a time series, pass one time point, e.g. labels[t]."
    )


def check_names(names, n: int, ids: np.ndarray | None = None, *, owner: str) -> np.ndarray:
    """`(n,)` cell names as str: a sequence in row order, or (with label `ids`) a mapping id -> name.

    Example:
      >>> check_names({2: "P1", 4: "AB"}, 2, np.array([2, 4]), owner="cell_features").tolist()
      ['P1', 'AB']
    """
    if isinstance(names, Mapping):
        if ids is None:
            got = type(names).__name__
            raise fail(owner, f"names must be a sequence with one name per cell, got a {got}.", TypeError)
        missing = [int(i) for i in ids if int(i) not in names][:5]
        if missing:
            raise fail(
                owner, f"names has no entry for the label ids {missing}; give a name for every label id in the image."
            )
        names = [names[int(i)] for i in ids]
    arr = np.asarray(names)
    if arr.shape != (n,):
        raise fail(
            owner,
            f"names must hold one name per cell, shape ({n},), got shape {arr.shape}"
            + (" (in ascending label-id order)." if ids is not None else "."),
        )
    return arr.astype(str)


def index_labels(lab: np.ndarray, *, owner: str):
    """Foreground pixel coordinates, the sorted label ids and each foreground pixel's row.

    Returns `(coords, ids, inverse)`: `coords` as from `np.nonzero(lab)`, `ids` `(N,)` int64
    ascending, `inverse` the row in `ids` of each foreground pixel. Refuses an image with no cells.

    Example:
      >>> coords, ids, inverse = index_labels(np.array([[0, 7], [3, 7]]), owner="cell_features")
      >>> ids.tolist(), inverse.tolist()
      ([3, 7], [1, 0, 1])
    """
    flat = lab.reshape(-1)
    top = int(flat.max())
    coords = np.nonzero(lab)
    if top <= 4 * flat.size + 1024:
        # Dense enough ids: a lookup table beats sorting every pixel.
        counts = np.bincount(flat.astype(np.intp, copy=False), minlength=top + 1)
        ids = np.flatnonzero(counts[1:]) + 1
        lut = np.full(top + 1, -1, np.intp)
        lut[ids] = np.arange(ids.size)
        inverse = lut[lab[coords].astype(np.intp, copy=False)]
    else:
        ids, inverse = np.unique(lab[coords], return_inverse=True)
    if ids.size == 0:
        raise fail(
            owner,
            f"labels (shape {lab.shape}) holds no cells: every pixel is background (0). Check the "
            "segmentation, or the time point you selected.",
        )
    return coords, ids.astype(np.int64), inverse.reshape(-1)
