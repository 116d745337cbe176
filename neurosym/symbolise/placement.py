"""Placement of cells on a lattice: centroids to sites, collisions to the nearest free site.

The first cell to claim a site keeps it; later claimants move to the nearest free site, found
breadth-first over the lattice's neighbours ("nearest" in neighbour hops, then Euclidean
distance, then flat site index), so no cell is ever dropped. Host-side numpy, deterministic.
"""

from __future__ import annotations

import numpy as np

from automata.lattice import Lattice

__all__ = ["map_to_sites", "place"]


def map_to_sites(centroid: np.ndarray, bounds: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`(N, D)` int sites: each centroid scaled from the box `bounds` `(2, D)` to `shape`, floored.

    Example:
      >>> map_to_sites(np.array([[0.0, 1.0], [0.5, 0.2]]), np.array([[0.0, 0.0], [1.0, 1.0]]), (4, 5)).tolist()
      [[0, 4], [2, 1]]
    """
    lo, hi = bounds
    span = hi - lo
    flat = span <= 0
    # A box of zero width (all cells in one plane) maps to the middle of that axis.
    unit = np.where(flat, 0.5, (centroid - lo) / np.where(flat, 1.0, span))
    dims = np.asarray(shape)
    return np.clip(np.floor(unit * dims), 0, dims - 1).astype(np.int64)


def _min_image(delta: np.ndarray, dims: np.ndarray, wrap: bool) -> np.ndarray:
    """Per-axis shortest displacement (across the edge on a periodic lattice)."""
    if not wrap:
        return delta
    return (delta + dims // 2) % dims - dims // 2


def _hops(delta: np.ndarray, lattice: Lattice) -> np.ndarray | None:
    """Neighbour hops for displacements `delta` on a named neighbourhood, None otherwise.

    Moore radius r: ceil(max|d| / r); von Neumann: ceil(sum|d| / r); hex (axial):
    ceil(max(|dq|, |dr|, |dq + dr|) / r). A box is convex for all three (a shortest path
    between two sites stays in their bounding box), so the same holds on a fixed boundary; on
    a periodic one the shortest image counts.
    """
    nb = lattice.neighbourhood
    if not isinstance(nb, str):
        return None
    dims = np.asarray(lattice.shape)
    wrap = lattice.boundary == "wrap"
    if nb == "hex":
        images = [(0, 0)]
        if wrap:
            images = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
        dist = None
        for a, b in images:
            dq, dr = delta[:, 0] + a * dims[0], delta[:, 1] + b * dims[1]
            h = np.maximum(np.maximum(np.abs(dq), np.abs(dr)), np.abs(dq + dr))
            dist = h if dist is None else np.minimum(dist, h)
    else:
        a = np.abs(delta)
        if wrap:
            a = np.minimum(a % dims, dims - a % dims)
        dist = a.max(axis=1) if nb == "moore" else a.sum(axis=1)
    return -(-dist // lattice.radius)


def _nearest_free(origin, count, occupied, visited, stamp, lattice, offsets, budget):
    """Breadth-first search over lattice neighbours for the `count` closest free sites.

    Level by level (all sites one hop further at once); within a level, free sites nearer to
    `origin` in Euclidean distance come first, then lower flat index. Stops early once more
    than `budget` sites were visited. Returns the flat sites found (fewer than `count` when the
    budget ran out or no more free sites are reachable).
    """
    shape = lattice.shape
    ndim = len(shape)
    dims = np.asarray(shape)
    wrap = lattice.boundary == "wrap"
    frontier = origin[None, :]
    visited[np.ravel_multi_index(tuple(origin), shape)] = stamp
    sites, found, seen = [], 0, 1
    while frontier.shape[0] and found < count and seen <= budget:
        cand = (frontier[:, None, :] + offsets[None]).reshape(-1, ndim)
        if wrap:
            cand = cand % dims
        else:
            cand = cand[np.all((cand >= 0) & (cand < dims), axis=1)]
        flat = np.ravel_multi_index(tuple(cand.T), shape)
        flat, first = np.unique(flat, return_index=True)
        new = visited[flat] != stamp
        flat, cand = flat[new], cand[first[new]]
        visited[flat] = stamp
        seen += flat.size
        free = np.flatnonzero(occupied[flat] < 0)
        if free.size:
            delta = _min_image(cand[free] - origin, dims, wrap)
            near = np.lexsort((flat[free], np.sum(delta * delta, axis=1)))
            sites.append(flat[free[near[: count - found]]])
            found += sites[-1].size
        frontier = cand
    return np.concatenate(sites) if sites else np.zeros(0, np.int64)


def _nearest_free_anywhere(origin, count, occupied, taken, lattice):
    """The `count` free sites closest to `origin` (hops, then Euclidean, then flat index)."""
    shape = lattice.shape
    dims = np.asarray(shape)
    free = np.flatnonzero(occupied < 0)
    if taken.size:
        free = free[~np.isin(free, taken)]
    delta = np.stack(np.unravel_index(free, shape), 1) - origin
    hops = _hops(delta, lattice)
    delta = _min_image(delta, dims, lattice.boundary == "wrap")
    keys = (free, np.sum(delta * delta, axis=1)) + (() if hops is None else (hops,))
    return free[np.lexsort(keys)[:count]]


def place(requested: np.ndarray, lattice: Lattice, budget: int | None = None):
    """Sites for all cells: first claimant keeps its site, later ones move to the nearest free.

    Cells displaced from the same site are placed together, in row order (one search per
    crowded site); crowded sites are handled in the order of their first displaced cell.
    "Nearest" is in neighbour hops, then Euclidean distance, then flat site index. The
    breadth-first search stops after `budget` visited sites (default: 1/256 of the lattice, at
    least 64) and a vectorised scan of all free sites by closed-form hop distance
    takes over, so packing a nearly full lattice stays fast; both give the same sites.

    Args:
      requested: `(N, D)` int sites the cells map to (e.g. from `map_to_sites`).
      lattice: the `automata.Lattice`, with at least N sites.
      budget: sites the breadth-first search may visit per crowded site before the scan.

    Returns:
      `(position, moved, displacement)`: `(N, D)` int64 final sites, the ascending rows that
      moved, and `(N,)` float64 distance in sites each cell moved.

    Example:
      >>> import automata
      >>> position, moved, _ = place(np.array([[0, 0], [0, 0]]), automata.Lattice((3, 3)))
      >>> position.tolist(), moved.tolist()
      ([[0, 0], [0, 1]], [1])
    """
    shape = lattice.shape
    n = requested.shape[0]
    dims = np.asarray(shape)
    wrap = lattice.boundary == "wrap"
    flat = np.ravel_multi_index(tuple(requested.T), shape)
    occupied = np.full(lattice.num_sites, -1, np.int64)
    claimed, first = np.unique(flat, return_index=True)
    occupied[claimed] = first
    losers = np.setdiff1d(np.arange(n), first)
    final = flat.copy()
    if losers.size:
        offsets = np.asarray(lattice.offsets, np.int64)
        visited = np.zeros(lattice.num_sites, np.int64)
        if _hops(np.zeros((1, len(shape)), np.int64), lattice) is None:
            budget = lattice.num_sites  # explicit offsets: no closed form, search them all
        elif budget is None:
            budget = max(64, lattice.num_sites // 256)
        # Group the displaced cells by the site they wanted (stable: row order within a group).
        order = losers[np.argsort(flat[losers], kind="stable")]
        _, starts = np.unique(flat[order], return_index=True)
        groups = np.split(order, starts[1:])
        groups.sort(key=lambda g: int(g[0]))
        for stamp, group in enumerate(groups, start=1):  # one search per crowded site
            origin = requested[group[0]]
            sites = _nearest_free(
                origin, group.size, occupied, visited, stamp, lattice, offsets, budget
            )
            if sites.size < group.size:
                # Budget spent, or explicit offsets that do not reach every site.
                more = _nearest_free_anywhere(
                    origin, group.size - sites.size, occupied, sites, lattice
                )
                sites = np.concatenate([sites, more])
            occupied[sites] = group
            final[group] = sites
    position = np.stack(np.unravel_index(final, shape), axis=1).astype(np.int64)
    delta = _min_image(position - requested, dims, wrap).astype(np.float64)
    return position, losers.astype(np.int64), np.sqrt(np.sum(delta * delta, axis=1))

