"""Figures a person would rather look at than read: lattice frames, curves, RGBA states."""

from __future__ import annotations

import os
import pathlib
import tempfile
from typing import Sequence

import matplotlib

if os.environ.get("MPLBACKEND") is None and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def to_image(x) -> np.ndarray:
    """A displayable 2D image from site values `(H, W)`, `(H, W, 1)` or RGBA `(H, W, >=4)`.

    RGBA states (the growing neural CA) are composited over white, as in Mordvintsev et al. 2020.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        return x
    if x.ndim != 3:
        raise ValueError(f"Expected site values of shape (H, W) or (H, W, C), got {x.shape}.")
    if x.shape[-1] == 1:
        return x[..., 0]
    if x.shape[-1] >= 4:
        alpha = np.clip(x[..., 3:4], 0.0, 1.0)
        return np.clip(1.0 - alpha + x[..., :3], 0.0, 1.0)
    raise ValueError(f"Cannot display {x.shape[-1]} channels; pass 1 channel or RGBA (>= 4).")


def frames(images: Sequence, titles: Sequence[str] | None = None, *, cmap="viridis", suptitle=None, size=2.4):
    """A row of images (lattice frames) as one figure; returns the matplotlib Figure."""
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(size * n, size + 0.4), squeeze=False)
    for i, (ax, img) in enumerate(zip(axes[0], images)):
        im = to_image(img)
        ax.imshow(im, cmap=None if im.ndim == 3 else cmap, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def curve(xs, ys, *, xlabel, ylabel, title=None, logy=False, label=None, ax=None):
    """A line plot; returns the matplotlib Figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
    else:
        fig = ax.figure
    ax.plot(xs, ys, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if label:
        ax.legend()
    fig.tight_layout()
    return fig


def save(fig, path) -> pathlib.Path:
    """Write a figure atomically (a reader never sees a half-written file) and close it."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        plt.close(fig)
    return path
