"""Figures a person would rather look at than read: lattice frames, curves, RGBA states."""

from __future__ import annotations

import os
import pathlib
from typing import Sequence

import matplotlib

if os.environ.get("MPLBACKEND") is None and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from neurosym.files import atomic_path


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
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or None)
    finally:
        plt.close(fig)
    return path


def lineage_tree(graph, *, colour_by: str = "founder", ax=None, title=None, end_min=None):
    """Draw a lineage (parent -> daughters `networkx.DiGraph`) as a tree against time.

    Each cell is a vertical line from its birth to its division (or to the end of the data),
    joined to its daughters by a horizontal bar; leaves are spread along x in depth-first order.
    Cells are coloured by the node attribute `colour_by` (e.g. the founder lineage). Nodes need
    `first_min` or `birth_min`, and optionally `division_min` / `last_min`.

    Returns the matplotlib Figure.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4.5))
    else:
        fig = ax.figure
    nodes = dict(graph.nodes(data=True))
    start = {n: (d.get("birth_min") if d.get("birth_min") is not None else d.get("first_min", 0.0)) or 0.0
             for n, d in nodes.items()}
    if end_min is None:
        end_min = max((d.get("last_min") or start[n]) for n, d in nodes.items()) if nodes else 0.0
    stop = {n: d.get("division_min") if d.get("division_min") is not None else (d.get("last_min") or end_min)
            for n, d in nodes.items()}
    groups = sorted({str(d.get(colour_by)) for d in nodes.values()})
    cmap = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20")
    colour = {g: cmap(i % cmap.N) for i, g in enumerate(groups)}
    xpos: dict = {}
    counter = [0]

    def place(n):
        kids = sorted(graph.successors(n), key=str)
        if not kids:
            xpos[n] = counter[0]
            counter[0] += 1
        else:
            for k in kids:
                place(k)
            xpos[n] = float(np.mean([xpos[k] for k in kids]))

    roots = sorted((n for n in graph.nodes if graph.in_degree(n) == 0), key=str)
    import sys
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(nodes) + 100))
    try:
        for r in roots:
            place(r)
    finally:
        sys.setrecursionlimit(limit)
    for n in graph.nodes:
        c = colour[str(nodes[n].get(colour_by))]
        ax.plot([xpos[n], xpos[n]], [start[n], stop[n]], color=c, lw=0.8)
        kids = list(graph.successors(n))
        if kids:
            xs = [xpos[k] for k in kids]
            ax.plot([min(xs), max(xs)], [stop[n], stop[n]], color=c, lw=0.8)
    for g in groups:
        ax.plot([], [], color=colour[g], label=g)
    ax.invert_yaxis()
    ax.set_xticks([])
    ax.set_ylabel("minutes")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
