"""Random relabelling of a label volume, so that label numbers carry no information.

In named segmentations the label numbers often encode the cell names (label L is always cell
`names[L]`, in lineage order). Anything that sees such numbers as a feature sees the answer.
`relabel_random` renumbers the cells 1..N in a random order drawn from a JAX key and returns the
map back, so identities are recovered only where they are meant to be (e.g. for scoring).
"""

from __future__ import annotations

import jax
import numpy as np

from automata._checks import check_key
from neurosym._labels import check_label_image
from neurosym.io.contacts import compact_labels

__all__ = ["relabel_random"]


def relabel_random(labels, *, key) -> tuple[np.ndarray, np.ndarray]:
    """Renumber the cells of a label image 1..N in a random order; background stays 0.

    Args:
      labels: integer label image of any number of axes (1 to 4), 0 = background.
      key: a JAX PRNG key, e.g. `jax.random.key(0)`; fold in the time point
        (`jax.random.fold_in(key, t)`) to relabel each time point of a series differently.

    Returns:
      `(relabelled, old_of_new)`: the image with labels 1..N (same shape, int32), and an (N + 1,)
      int64 array with `old_of_new[new] = old` (`old_of_new[0] = 0`), so
      `old_of_new[relabelled]` gives back the original image and `names[old_of_new[k]]` the name
      of new label k.

    Raises:
      TypeError, ValueError: for a non-integer or negative image, or a bad key.

    Example:
      >>> import jax
      >>> lab = np.array([[0, 12, 12], [40, 0, 7]])
      >>> new, old_of_new = relabel_random(lab, key=jax.random.key(0))
      >>> sorted(np.unique(new).tolist()), np.array_equal(old_of_new[new], lab)
      ([0, 1, 2, 3], True)
    """
    owner = "relabel_random"
    lab = check_label_image(np.asarray(labels), ndims=(1, 2, 3, 4), owner=owner)
    key = check_key(key, owner=owner)
    idx, cells = compact_labels(lab)
    order = np.asarray(jax.random.permutation(key, cells.size), np.int64)
    # The cell at sorted position i (compact index i + 1) gets the new label order[i] + 1.
    new_of_index = np.concatenate([[0], order + 1]).astype(np.int32)
    relabelled = new_of_index[idx]
    old_of_new = np.zeros(cells.size + 1, np.int64)
    old_of_new[order + 1] = cells
    return relabelled, old_of_new
