"""Procedurally drawn target images (no downloads): embryo-like RGBA pictures for growing CAs."""

from __future__ import annotations

import numpy as np


def embryo_target(size: int = 40, *, num_cells: int = 4, margin: int = 4) -> np.ndarray:
    """An RGBA picture of an early embryo: an eggshell ellipse split into coloured blastomeres.

    Args:
      size: side of the square image in pixels.
      num_cells: number of blastomeres (1 to 8), laid out by successive halvings along
        alternating axes, as in early cleavage.
      margin: empty border in pixels (a growing CA needs room to grow).

    Returns:
      float32 array `(size, size, 4)`, premultiplied RGB and alpha in [0, 1].

    Example:
      >>> embryo_target(32).shape
      (32, 32, 4)
    """
    if not 1 <= num_cells <= 8:
        raise ValueError(f"num_cells must be between 1 and 8, got {num_cells}.")
    if size < 2 * margin + 8:
        raise ValueError(f"size must be at least 2 * margin + 8 = {2 * margin + 8} pixels, got {size}.")
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    cy = cx = size / 2
    ry, rx = (size / 2 - margin) * 0.72, size / 2 - margin
    u, v = (xx - cx) / rx, (yy - cy) / ry
    inside = u**2 + v**2 <= 1.0
    # Cleavage: cell index from successive halvings of (u, v), alternating axes.
    index = np.zeros_like(u, dtype=np.int32)
    regions = [(-1.0, 1.0, -1.0, 1.0)]
    for k in range(int(np.ceil(np.log2(num_cells)))):
        new = []
        for u0, u1, v0, v1 in regions:
            if k % 2 == 0:
                m = (u0 + u1) / 2
                new += [(u0, m, v0, v1), (m, u1, v0, v1)]
            else:
                m = (v0 + v1) / 2
                new += [(u0, u1, v0, m), (u0, u1, m, v1)]
        regions = new[:num_cells] if len(new) > num_cells else new
    for i, (u0, u1, v0, v1) in enumerate(regions):
        index[(u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)] = i
    palette = np.array(
        [[0.85, 0.35, 0.30], [0.25, 0.55, 0.85], [0.35, 0.75, 0.40], [0.95, 0.75, 0.25],
         [0.60, 0.40, 0.80], [0.30, 0.80, 0.80], [0.90, 0.50, 0.70], [0.55, 0.55, 0.55]],
        np.float32,
    )
    rgb = palette[index % len(palette)]
    # Thin dark membranes between blastomeres.
    edge = np.zeros_like(inside)
    edge[:-1] |= (index[:-1] != index[1:]) & inside[1:]
    edge[:, :-1] |= (index[:, :-1] != index[:, 1:]) & inside[:, 1:]
    edge &= inside
    rgb[edge] *= 0.35
    alpha = inside.astype(np.float32)
    return np.concatenate([rgb * alpha[..., None], alpha[..., None]], axis=-1).astype(np.float32)
