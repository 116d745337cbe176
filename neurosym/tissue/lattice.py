"""A time point of a named segmentation series as a CPM lattice whose ids carry no names.

`named_lattice` coarsens a label volume into lattice sites (`neurosym.symbolise.potts_state`,
the membrane given to the cells first, no cell lost), numbers the cells 1..N in a random order
and returns the name of each id beside it. Label numbers of segmentation files often encode
the names (as the 3DMMS series does); after this step a model sees ids that say nothing, and
the names only where a rule asks for them (kinds, divisions, scoring).

`auto_factor` picks the coarsening of a volume: the smallest whole number that brings its
longest axis to at most `MAX_SITES` sites.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from automata._checks import fail

__all__ = ["MAX_SITES", "auto_factor", "named_lattice"]

MAX_SITES = 80
"""The longest lattice axis `auto_factor` allows: fits on 2 CPU cores take minutes, not hours."""


def auto_factor(shape) -> int:
    """The smallest block size that brings every axis of `shape` to at most `MAX_SITES` sites.

    Example:
      >>> auto_factor((205, 285, 134)), auto_factor((52, 72, 34))
      (4, 1)
    """
    return max(1, math.ceil(max(int(s) for s in shape) / MAX_SITES))


def named_lattice(labels, names, *, factor: int = 1, key, gap: int = 2) -> tuple[np.ndarray, list[str]]:
    """A label volume as a lattice of cell ids in random order, with each id's name.

    Args:
      labels: 2D or 3D integer label volume, 0 = outside and membrane.
      names: {label: name} for every label in `labels`.
      factor: voxels per site along each axis (1: none).
      key: JAX PRNG key for the order of the ids (fold in the time point for a series).
      gap: the widest membrane, in voxels, given to the cells on either side before coarsening.

    Returns:
      `(sites, cell_names)`: the int32 lattice of ids 0..N (0 the medium) and the N names, id k
      being `cell_names[k - 1]`.

    Raises:
      ValueError: a label has no name.

    Example:
      >>> lab = np.zeros((4, 8), int); lab[:, :3] = 7; lab[:, 4:] = 9
      >>> sites, cell_names = named_lattice(lab, {7: "ABa", 9: "ABp"}, key=jax.random.key(0))
      >>> sorted(cell_names), sorted(set(cell_names[i - 1] for i in np.unique(sites[:, :3]) if i))
      (['ABa', 'ABp'], ['ABa'])
    """
    from neurosym.symbolise import potts_state

    sites, ids = potts_state(labels, factor, fill_gap=True, gap=gap)
    missing = [int(i) for i in ids[1:] if int(i) not in names]
    if missing:
        raise fail("named_lattice", f"labels {missing[:5]} have no name; every label of the volume needs one "
                   "(its label_names.json or names=).")
    n = ids.size - 1
    perm = np.concatenate([[0], 1 + np.asarray(jax.random.permutation(key, n))]).astype(np.int32)
    cell_names = [""] * n
    for old in range(1, n + 1):
        cell_names[perm[old] - 1] = names[int(ids[old])]
    return perm[sites].astype(np.int32), cell_names
