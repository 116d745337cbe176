"""A label volume as the lattice state of a cellular Potts model: one cell id per site.

A segmentation is already a Potts configuration: every voxel holds the identity of the cell it
belongs to (0 for the medium). `potts_state` coarsens it to a lattice of blocks of voxels, each
site taking the most common value of its block, renumbers the cells 1..N and keeps every cell
(a cell that wins no block takes the block where it has most voxels). `fill_gaps` first hands
the membrane voxels between neighbouring cells to those cells, so that cells that face each
other across a membrane touch on the lattice, as cells of a Potts model do.
"""

from __future__ import annotations

import numpy as np

from automata._checks import check_int, fail
from neurosym._labels import check_label_image
from neurosym.io.contacts import check_gap, compact_labels

__all__ = ["fill_gaps", "potts_state"]


def _check(labels, owner: str) -> np.ndarray:
    return check_label_image(np.asarray(labels), ndims=(1, 2, 3), owner=owner,
                             axes_hint="Pass one time point, e.g. labels[t].")


def _gap_voxels(idx: np.ndarray, gap: int) -> np.ndarray:
    """Flat indices of background voxels inside a run of at most `gap` background voxels that
    joins two different cells along an axis (the voxels of the contact faces of
    `neurosym.io.contacts`)."""
    flat = idx.reshape(-1)
    marked = np.zeros(flat.size, bool)
    for axis in range(idx.ndim):
        n = idx.shape[axis]
        stride = int(np.prod(idx.shape[axis + 1:], dtype=np.int64))
        sl = lambda a, b: tuple(slice(a, b) if k == axis else slice(None) for k in range(idx.ndim))  # noqa: E731
        ends = np.nonzero((idx[sl(0, n - 1)] > 0) & (idx[sl(1, None)] == 0))
        pos = np.ravel_multi_index(ends, idx.shape).astype(np.int64)
        along, a = ends[axis].astype(np.int64), flat[pos]
        for g in range(1, gap + 1):
            inside = along + g + 1 < n
            pos, along, a = pos[inside], along[inside], a[inside]
            b = flat[pos + (g + 1) * stride]
            joins = (b > 0) & (b != a)
            for k in range(1, g + 1):
                marked[pos[joins] + k * stride] = True
            pos, along, a = pos[b == 0], along[b == 0], a[b == 0]
    return np.flatnonzero(marked)


def _fill(idx: np.ndarray, gap: int) -> np.ndarray:
    """`idx` with its gap voxels given to the majority of their cell face-neighbours, in rounds."""
    todo = _gap_voxels(idx, gap)
    if todo.size == 0:
        return idx
    shape = idx.shape
    padded = np.ascontiguousarray(np.pad(idx, 1))
    pflat = padded.reshape(-1)
    pstrides = [int(np.prod(padded.shape[k + 1:], dtype=np.int64)) for k in range(idx.ndim)]
    coords = np.unravel_index(todo, shape)
    where = sum((c.astype(np.int64) + 1) * s for c, s in zip(coords, pstrides))
    offsets = np.array([s * d for s in pstrides for d in (-1, 1)], np.int64)
    for _ in range(gap + 1):
        nb = pflat[where[:, None] + offsets[None, :]]  # (K, 2D) face neighbours
        votes = ((nb[:, :, None] == nb[:, None, :]) & (nb[:, None, :] > 0)).sum(axis=2)
        # Most votes wins; a tie goes to the lowest id; background never wins.
        score = np.where(nb > 0, votes * (int(nb.max()) + 2) - nb, -1)
        best = nb[np.arange(nb.shape[0]), np.argmax(score, axis=1)]
        done = best > 0
        if not done.any():
            break
        pflat[where[done]] = best[done]
        where = where[~done]
        if where.size == 0:
            break
    core = tuple(slice(1, -1) for _ in shape)
    return padded[core]


def fill_gaps(labels, *, gap: int = 2) -> np.ndarray:
    """Give the membrane voxels between cells to the cells, so that neighbouring cells touch.

    A membrane voxel is a background voxel in a run of at most `gap` background voxels along an
    axis from a voxel of one cell to a voxel of another (a contact face of
    `neurosym.io.contact_areas`). In rounds, each membrane voxel with a cell among its face
    neighbours takes the cell that most of those neighbours belong to (a tie goes to the lower
    label); a two-voxel membrane is thus split between its two sides. Background elsewhere (the
    medium outside, cavities wider than `gap`) stays 0.

    Args:
      labels: 1D, 2D or 3D integer label image, 0 = background and membrane.
      gap: the widest membrane, in voxels, to fill (0..8).

    Returns:
      the filled label image, same shape and dtype.

    Example:
      >>> lab = np.array([[1, 1, 0, 2, 2, 0, 0, 0, 3]])
      >>> fill_gaps(lab, gap=2).tolist()
      [[1, 1, 1, 2, 2, 0, 0, 0, 3]]
    """
    owner = "fill_gaps"
    lab = _check(labels, owner)
    gap = check_gap(gap, owner=owner)
    idx, ids = compact_labels(lab)
    filled = _fill(idx, gap)
    return np.concatenate([[0], ids])[filled].astype(lab.dtype)


def _factors(factor, ndim: int, owner: str) -> tuple[int, ...]:
    if isinstance(factor, (tuple, list)):
        if len(factor) != ndim:
            raise fail(owner, f"factor must be one integer or {ndim} (one per axis), got {len(factor)}: {factor!r}.")
        return tuple(check_int(f, f"factor[{k}]", 1, owner=owner) for k, f in enumerate(factor))
    return (check_int(factor, "factor", 1, owner=owner),) * ndim


def _block_counts(blocks: np.ndarray, n: int):
    """Per block, the voxel count of each value 0..n: dense (B, n + 1), or sparse triples."""
    num_blocks = blocks.shape[0]
    key = (np.arange(num_blocks, dtype=np.int64)[:, None] * (n + 1) + blocks).reshape(-1)
    if num_blocks * (n + 1) <= 1 << 25:
        return np.bincount(key, minlength=num_blocks * (n + 1)).reshape(num_blocks, n + 1), None
    uniq, counts = np.unique(key, return_counts=True)
    return None, (uniq // (n + 1), uniq % (n + 1), counts)


def potts_state(labels, factor=1, *, fill_gap: bool = False, gap: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """A label volume as a cellular Potts lattice: an int32 cell id per site, downsampled.

    Each site is a block of `factor` voxels per axis (blocks at the far edges may be cut short
    by the volume's end) and takes the value most voxels of its block hold, background 0
    included; a tie between a cell and background goes to the cell, between cells to the lower
    id. Cells are renumbered 1..N in ascending order of their labels (relabel at random first,
    with `neurosym.io.relabel_random`, if the labels encode names). A cell that wins no block
    takes the block where it has most voxels (one not taken by another such cell, whose winner
    keeps another block), so no cell vanishes; if that is impossible the factor is too coarse and
    a ValueError says so.

    Args:
      labels: 1D, 2D or 3D integer label volume, 0 = background and membrane.
      factor: block size, one integer for all axes or one per axis (1: no downsampling).
      fill_gap: first give membrane voxels to the cells on either side (`fill_gaps`), so that
        cells facing each other across the membrane touch on the lattice.
      gap: the widest membrane, in voxels, that `fill_gap` fills.

    Returns:
      `(sites, ids)`: `sites` the (ceil(shape / factor)) int32 lattice of cell ids 0..N, and
      `ids` the (N + 1,) int64 original labels: site value k is the cell labelled `ids[k]`
      (`ids[0] = 0`, the medium).

    Raises:
      ValueError: a cell can be kept on no site (a smaller factor is needed), or bad arguments.

    Example:
      >>> lab = np.zeros((4, 8), int)
      >>> lab[:, :3] = 10; lab[:, 4:] = 30; lab[3, 7] = 20     # 20: one voxel, wins no block
      >>> sites, ids = potts_state(lab, 2, fill_gap=True)
      >>> sites.tolist(), ids.tolist()
      ([[1, 1, 3, 3], [1, 1, 3, 2]], [0, 10, 20, 30])
    """
    owner = "potts_state"
    lab = _check(labels, owner)
    fac = _factors(factor, lab.ndim, owner)
    gap = check_gap(gap, owner=owner)
    if not isinstance(fill_gap, (bool, np.bool_)):
        raise fail(owner, f"fill_gap must be True or False, got {fill_gap!r}.", TypeError)
    idx, ids = compact_labels(lab)
    if fill_gap:
        idx = _fill(idx, gap)
    n = ids.size
    if all(f == 1 for f in fac):
        return idx.astype(np.int32), np.concatenate([[0], ids]).astype(np.int64)
    out_shape = tuple(-(-s // f) for s, f in zip(idx.shape, fac))
    # Padding takes the value n + 1, which has no vote.
    padded = np.pad(idx, [(0, o * f - s) for s, o, f in zip(idx.shape, out_shape, fac)], constant_values=n + 1)
    split = padded.reshape([d for o, f in zip(out_shape, fac) for d in (o, f)])
    order = list(range(0, 2 * lab.ndim, 2)) + list(range(1, 2 * lab.ndim, 2))
    blocks = split.transpose(order).reshape(int(np.prod(out_shape)), int(np.prod(fac)))
    dense, sparse = _block_counts(blocks, n + 1)
    if dense is not None:
        dense = dense[:, : n + 1]
    else:
        sparse = tuple(a[sparse[1] <= n] for a in sparse)
    if dense is not None:
        best = np.argmax(dense[:, 1:], axis=1) + 1 if n else np.zeros(dense.shape[0], np.int64)
        best_count = dense[np.arange(dense.shape[0]), best] if n else np.zeros(dense.shape[0], np.int64)
        winner = np.where((best_count > 0) & (best_count >= dense[:, 0]), best, 0)
    else:
        block, value, count = sparse
        # Per block: cells before background, more voxels first, then the lower id.
        rank = np.lexsort((value, -count, value == 0, block))
        block_r = block[rank]
        first = np.r_[True, block_r[1:] != block_r[:-1]]
        top_value, top_count = value[rank][first], count[rank][first]
        winner = np.zeros(blocks.shape[0], np.int64)
        bg = np.zeros(blocks.shape[0], np.int64)
        is_bg = value == 0
        bg[block[is_bg]] = count[is_bg]
        keep = (top_value > 0) & (top_count >= bg[block_r[first]])
        winner[block_r[first][keep]] = top_value[keep]
    winner = _keep_every_cell(winner, n, dense, sparse, ids, fac)
    return winner.reshape(out_shape).astype(np.int32), np.concatenate([[0], ids]).astype(np.int64)


def _keep_every_cell(winner, n, dense, sparse, ids, fac) -> np.ndarray:
    """Give each cell that wins no block the block where it has most voxels (loops over lost
    cells only)."""
    won = np.bincount(winner, minlength=n + 1)
    lost = np.flatnonzero(won[1:] == 0) + 1
    if lost.size == 0:
        return winner
    winner = winner.copy()
    rescued = np.zeros(winner.size, bool)
    if sparse is not None:
        block, value, count = sparse
    for c in lost.tolist():
        if dense is not None:
            where = np.flatnonzero(dense[:, c])
            mine = dense[where, c]
        else:
            hit = value == c
            where, mine = block[hit], count[hit]
        for b in where[np.argsort(-mine, kind="stable")].tolist():
            w = int(winner[b])
            if not rescued[b] and (w == 0 or won[w] > 1):
                won[w] -= 1
                winner[b], won[c], rescued[b] = c, 1, True
                break
        else:
            raise ValueError(
                f"potts_state: cell {int(ids[c - 1])} cannot keep a site at factor {fac}: every block it "
                "shares is the only site of another cell. Use a smaller factor."
            )
    return winner
