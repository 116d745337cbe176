"""Learned image features of anonymous cells: a 2D encoder's body over a volume's slices, pooled
inside each cell's 3D mask.

`encoder_features` runs the convolutional body of an `neurosym.encoder.Encoder` (for instance
the one pre-trained on rendered membrane images, `load_pretrained("membrane2d")`, or a freshly
initialised one) on every slice of every time point's image on the working grid of a
`CellSeries`, and averages the per-pixel features over each cell's voxels: one feature vector
per cell, to be given to `cell_features(encoder_features=...)`. Optionally the head's outer
probability (`neurosym.encoder.outer_probability`) is returned too: the simulator-trained
reading of whether a cell lies on the outside of its tissue, to compare with the geometry
(a rendered -> real test that needs no label).

Example:
  >>> import numpy as np
  >>> from flax import nnx
  >>> from neurosym.encoder import Encoder, EMBRYO_KINDS
  >>> from neurosym.founders.cells import cell_series
  >>> seg = np.zeros((8, 8, 8), np.int32); seg[1:7, 1:4, 1:7] = 3; seg[1:7, 4:7, 1:7] = 9
  >>> cells = cell_series({1: seg * 1.0}, {1: seg}, factor=1)
  >>> enc = Encoder(EMBRYO_KINDS, features=(4, 8), rngs=nnx.Rngs(0))
  >>> feats, outer = encoder_features(cells, enc)
  >>> feats.shape, outer.shape
  ((2, 4), (2,))
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import fail
from neurosym.encoder.heads import EMBRYO_KINDS, outer_probability
from neurosym.encoder.model import Encoder
from neurosym.progress import Progress

__all__ = ["encoder_features"]


def encoder_features(cells, encoder: Encoder, *, progress: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-cell features of a 2D encoder's body, pooled over each cell's 3D mask.

    The volume's last axis is taken as the slice axis; each slice is one image.

    Args:
      cells: a `CellSeries`.
      encoder: a 2D, one-channel `Encoder`.
      progress: one progress line per time point on stderr.

    Returns:
      `(features (N, encoder.features[0]), outer (N,) or None)`: `outer` is the head's outer
      probability where the encoder's kinds are the embryo kinds (`EMBRYO_KINDS`), else None.
    """
    owner = "encoder_features"
    if not isinstance(encoder, Encoder) or encoder.ndim != 2 or encoder.in_channels != 1:
        raise fail(owner, "encoder must be a 2D one-channel neurosym.encoder.Encoder (e.g. load_pretrained('membrane2d')).",
                   TypeError)
    with_outer = tuple(encoder.kinds) == EMBRYO_KINDS

    @partial(jax.jit, static_argnums=2)
    def one_time(image, sites, num):
        slices = jnp.moveaxis(image, -1, 0)                          # (Z, Y, X)
        feats = encoder.pixel_features(slices)                       # (Z, Y, X, F)
        flat = feats.reshape(-1, feats.shape[-1])
        seg = jnp.moveaxis(sites, -1, 0).reshape(-1)
        sums = jax.ops.segment_sum(flat, seg, num_segments=num)
        count = jax.ops.segment_sum(jnp.ones(seg.shape), seg, num_segments=num)
        return sums / jnp.maximum(count, 1)[:, None]

    bar = Progress(cells.num_times, label="encoder features", enabled=progress)
    width = int(np.diff(cells.first_row).max()) + 1
    out = []
    for i in range(cells.num_times):
        n = int(cells.first_row[i + 1] - cells.first_row[i])
        means = one_time(jnp.asarray(cells.image[i]), jnp.asarray(cells.sites[i]), width)
        out.append(np.asarray(means[1 : n + 1]))
        bar.update(i + 1)
    bar.close()
    feats = np.concatenate(out) if out else np.zeros((0, encoder.features[0]), np.float32)
    outer = np.asarray(outer_probability(encoder.head(jnp.asarray(feats)))) if with_outer else None
    return feats.astype(np.float32), outer
