"""Anonymous cells of an image series: membrane volumes and their segmentations on one grid.

`cell_series` takes, per time point, an image volume and its label volume (any label numbers:
they are never a feature and are kept only to name rows in the output) and builds a
`CellSeries`:

- both are brought to one working grid: the label volume is downsampled by `factor` per axis
  (`neurosym.symbolise.potts_state` with the membrane between cells first given to the cells,
  so that neighbours touch), and the image is resampled onto the same grid by the ratio of the
  two volumes' shapes (the image and the segmentation cover the same field of view; the image
  may be coarser or anisotropic, as raw membrane stacks often are);
- per cell: its centroid, voxel count, the share of its surface that faces the outside of the
  embryo, its neighbours in the contact graph, and its image statistics inside, on its rim and
  in a shell around it;
- anonymous tracking: each cell's `parent` is the cell of the previous time point that holds
  most of its voxels (a cell that goes on, or the mother of a daughter), from mask overlap
  alone.

Example:
  >>> import numpy as np
  >>> seg = np.zeros((8, 8, 8), np.int32); seg[1:7, 1:4, 1:7] = 3; seg[1:7, 4:7, 1:7] = 9
  >>> img = np.random.default_rng(0).random((8, 8, 8))
  >>> cells = cell_series({1: img, 2: img}, {1: seg, 2: seg}, factor=1)
  >>> cells.num_cells, cells.parent.tolist(), cells.label.tolist()
  (4, [-1, -1, 0, 1], [3, 9, 3, 9])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from automata._checks import check_int, check_number, fail
from neurosym.progress import Progress
from neurosym.symbolise import potts_state

__all__ = ["CellSeries", "GEOMETRY_FEATURES", "IMAGE_FEATURES", "cell_series", "resample_image"]

GEOMETRY_FEATURES = (
    "axis1", "axis2", "axis3", "radius", "log_size", "surface_share", "outside_share", "num_neighbours",
    "log_num_cells",
)
"""Names of the columns of `CellSeries.geometry`: the centroid in the embryo's body frame (its
principal axes over the whole series, in units of the embryo's spread along each; the sign of
each axis is arbitrary but the same at every time point), its distance from the centre, the
log of the cell's size relative to the mean cell at its time point, surface faces per voxel,
the share of the surface facing the outside, the number of neighbours, and the log of the
number of cells at its time point (the stage)."""

IMAGE_FEATURES = ("inside_mean", "inside_sd", "rim_mean", "shell_mean", "rim_contrast")
"""Names of the columns of `CellSeries.image_stats`: the image (standardised per time point
over the embryo) averaged inside the cell, its spread inside, its mean on the cell's rim (the
voxels next to another cell or the outside), in a one-voxel shell around the cell, and rim
minus inside."""

_OFFSETS = [(a, s) for a in range(3) for s in (1, -1)]


@dataclass(frozen=True)
class CellSeries:
    """Cells of a segmented image series, one row per (time point, cell).

    Attributes:
      times: (T,) the time points, ascending.
      time_index: (N,) row -> index into `times`.
      label: (N,) the cell's label in the input segmentation (an identifier for output only).
      centroid: (N, 3) centroid on the working grid (voxel units).
      num_voxels: (N,) size on the working grid.
      outside: (N,) share of the cell's surface faces that face the outside of the embryo.
      parent: (N,) row of the previous time point's cell holding most of this cell's voxels,
        -1 at the first time point or where no previous cell overlaps it.
      overlap: (N,) the share of the cell's voxels inside its parent (0 without a parent).
      neighbours: (N, K) rows of the cells it touches at its time point, padded with -1.
      geometry: (N, len(GEOMETRY_FEATURES)) geometric features.
      image_stats: (N, len(IMAGE_FEATURES)) image features.
      image: (T, *grid) float32 image on the working grid, standardised per time point.
      sites: (T, *grid) int32: 0 outside, k + 1 inside the cell of row `first_row[t] + k`.
      first_row: (T + 1,) rows of time point t are `first_row[t]:first_row[t + 1]`.
      factor: the downsampling factor of the labels.
    """

    times: np.ndarray
    time_index: np.ndarray
    label: np.ndarray
    centroid: np.ndarray
    num_voxels: np.ndarray
    outside: np.ndarray
    parent: np.ndarray
    overlap: np.ndarray
    neighbours: np.ndarray
    geometry: np.ndarray
    image_stats: np.ndarray
    image: np.ndarray
    sites: np.ndarray
    first_row: np.ndarray
    factor: int

    @property
    def num_cells(self) -> int:
        """Number of rows (cells summed over time points)."""
        return int(self.label.size)

    @property
    def num_times(self) -> int:
        return int(self.times.size)

    def cells_at(self) -> np.ndarray:
        """(N,) number of cells at each row's time point."""
        return np.diff(self.first_row)[self.time_index]

    def rows_of(self, time) -> np.ndarray:
        """Rows of one time point (a value of `times`)."""
        i = int(np.searchsorted(self.times, time))
        if i >= self.times.size or self.times[i] != time:
            raise ValueError(f"time point {time} is not in the series (it has {self.times.tolist()}).")
        return np.arange(self.first_row[i], self.first_row[i + 1])

    def row_of(self, time, label) -> int:
        """The row of the cell with `label` at `time`, or -1 where that cell is not in the series."""
        rows = self.rows_of(time)
        hit = rows[self.label[rows] == label]
        return int(hit[0]) if hit.size else -1


def resample_image(image, shape, factor: int = 1) -> np.ndarray:
    """An image volume on the working grid of a label volume of `shape` downsampled by `factor`:
    linear interpolation at the centres of the grid's sites. The image covers the same field of
    view as the labels, in any number of voxels per axis: site j of an axis covers label voxels
    [j*f, (j+1)*f), whose centre is at (j*f + f/2) * n_image / n_labels in the image's voxels.

    Example:
      >>> resample_image(np.arange(4.0).reshape(4, 1, 1), (8, 1, 1), 2)[:, 0, 0].tolist()
      [0.0, 1.0, 2.0, 3.0]
    """
    image = np.asarray(image)
    out = image.astype(np.float32)
    for axis, (n_img, n_lab) in enumerate(zip(image.shape, shape)):
        n_sites = -(-n_lab // factor)
        centre = (np.arange(n_sites) * factor + factor / 2) * (n_img / n_lab) - 0.5
        centre = np.clip(centre, 0, n_img - 1)
        lo = np.floor(centre).astype(int)
        hi = np.minimum(lo + 1, n_img - 1)
        w = (centre - lo).astype(np.float32)
        a, b = np.take(out, lo, axis=axis), np.take(out, hi, axis=axis)
        shape_w = [1] * out.ndim
        shape_w[axis] = -1
        out = a * (1 - w.reshape(shape_w)) + b * w.reshape(shape_w)
    return out


def _shift(a: np.ndarray, axis: int, step: int, fill) -> np.ndarray:
    out = np.full_like(a, fill)
    src = [slice(None)] * a.ndim
    dst = [slice(None)] * a.ndim
    if step > 0:
        src[axis], dst[axis] = slice(0, -step), slice(step, None)
    else:
        src[axis], dst[axis] = slice(-step, None), slice(0, step)
    out[tuple(dst)] = a[tuple(src)]
    return out


def _time_point(sites: np.ndarray, image: np.ndarray, n: int):
    """Per-cell measures of one working-grid label volume (cells 1..n) and its image."""
    flat = sites.ravel()
    size = np.bincount(flat, minlength=n + 1)[1:].astype(float)
    coords = np.indices(sites.shape).reshape(3, -1).T.astype(float)
    centroid = np.stack([np.bincount(flat, coords[:, a], minlength=n + 1)[1:] for a in range(3)], 1)
    centroid /= np.maximum(size, 1)[:, None]
    faces = np.zeros(n + 1)
    outside = np.zeros(n + 1)
    rim = np.zeros(sites.shape, bool)
    # The shell of a cell: voxels outside it next to one of its voxels; each shell voxel is
    # credited to the neighbouring cells it touches.
    shell_sum = np.zeros(n + 1)
    shell_n = np.zeros(n + 1)
    pairs = set()
    for axis, step in _OFFSETS:
        other = _shift(sites, axis, step, 0)
        edge = sites != other
        faces += np.bincount(sites[edge], minlength=n + 1)
        out_face = edge & (other == 0)
        outside += np.bincount(sites[out_face], minlength=n + 1)
        rim |= edge & (sites > 0)
        shell = edge & (other > 0)
        shell_sum += np.bincount(other[shell], image[shell], minlength=n + 1)
        shell_n += np.bincount(other[shell], minlength=n + 1)
        both = shell & (sites > 0)
        a, b = sites[both], other[both]
        pairs.update(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()))
    faces, outside = faces[1:], outside[1:]
    img = image.ravel()
    inside_mean = np.bincount(flat, img, minlength=n + 1)[1:] / np.maximum(size, 1)
    inside_sq = np.bincount(flat, img * img, minlength=n + 1)[1:] / np.maximum(size, 1)
    inside_sd = np.sqrt(np.maximum(inside_sq - inside_mean ** 2, 0))
    rim_flat = rim.ravel()
    rim_n = np.bincount(flat[rim_flat], minlength=n + 1)[1:]
    rim_mean = np.bincount(flat[rim_flat], img[rim_flat], minlength=n + 1)[1:] / np.maximum(rim_n, 1)
    shell_mean = shell_sum[1:] / np.maximum(shell_n[1:], 1)
    stats = np.stack([inside_mean, inside_sd, rim_mean, shell_mean, rim_mean - inside_mean], 1)
    return size, centroid, faces, outside, sorted(pairs), stats


def _link(share: np.ndarray, min_overlap: float) -> np.ndarray:
    """Each cell's parent column from `share[cell, previous cell]` (the share of the cell's
    voxels inside each previous cell), -1 for none: the previous cell holding most of it, then
    repaired so that no previous cell is left without a child while another has two or more
    (in an embryo cells go on; a daughter that moved is given back to the cell it left): such a
    cell takes, of the children of cells with several, the one it shares most with."""
    best = np.where(share.max(1, initial=0) >= max(min_overlap, 1e-12), share.argmax(1) if share.size else 0, -1)
    for _ in range(share.shape[1] if share.size else 0):
        counts = np.bincount(best[best >= 0], minlength=share.shape[1])
        orphans = np.flatnonzero(counts == 0)
        movable = (best >= 0) & (counts[np.maximum(best, 0)] >= 2)
        if not orphans.size or not movable.any():
            break
        gain = np.where(movable[:, None], share[:, orphans], 0.0)
        cell, k = np.unravel_index(np.argmax(gain), gain.shape)
        if gain[cell, k] < max(min_overlap, 1e-12) / 2:
            break
        best[cell] = orphans[k]
    return best


def _check_volumes(images: Mapping, segmentations: Mapping, owner: str) -> list:
    for what, m in (("images", images), ("segmentations", segmentations)):
        if not isinstance(m, Mapping) or not m:
            raise fail(owner, f"{what} must be a non-empty mapping time point -> 3D volume, got {type(m).__name__}.",
                       TypeError)
    times = sorted(set(images) & set(segmentations))
    if not times:
        raise fail(owner, (
            f"no time point has both an image and a segmentation (images at {sorted(images)[:5]}..., "
            f"segmentations at {sorted(segmentations)[:5]}...); give volumes for the same time points."
        ))
    return times


def cell_series(images: Mapping, segmentations: Mapping, *, factor: int = 4, min_overlap: float = 0.2,
                progress: bool = False, owner: str = "cell_series") -> CellSeries:
    """The anonymous cells of an image series, on one working grid.

    Args:
      images: {time point: 3D image volume} (e.g. membrane fluorescence); any shape covering
        the same field of view as the segmentation (it is resampled onto the working grid).
      segmentations: {time point: 3D integer label volume}, 0 = outside and membrane. Only time
        points present in both mappings are used.
      factor: the labels are downsampled by this factor per axis (1 keeps them).
      min_overlap: a cell is linked to the previous time point's cell holding most of its
        voxels only if that cell holds at least this share of them (else it has no parent).
      progress: print progress lines (one per time point) on stderr.

    Returns:
      A `CellSeries`, rows ordered by time point then by label.

    Raises:
      ValueError, TypeError: bad volumes (not 3D, labels not integers, no common time point,
        a factor so coarse that a cell would vanish).
    """
    factor = check_int(factor, "factor", 1, owner=owner)
    min_overlap = check_number(min_overlap, "min_overlap", minimum=0.0, maximum=1.0, owner=owner)
    times = _check_volumes(images, segmentations, owner)
    bar = Progress(len(times), label="reading cells", enabled=progress)
    per_time = []
    prev_sites, prev_first = None, 0
    offset = 0
    sites_all, image_all = [], []
    for i, t in enumerate(times):
        lab = np.asarray(segmentations[t])
        img = np.asarray(images[t])
        if lab.ndim != 3 or img.ndim != 3:
            raise fail(owner, f"time point {t}: volumes must be 3D, got image {img.shape} and labels {lab.shape}.")
        if not np.issubdtype(lab.dtype, np.integer):
            raise fail(owner, f"time point {t}: the segmentation must hold integer labels, got {lab.dtype}.", TypeError)
        if not np.isfinite(img).all():
            raise fail(owner, f"time point {t}: the image holds NaN or infinite values.")
        try:
            sites, ids = potts_state(lab, factor, fill_gap=True)
        except ValueError as e:
            raise fail(owner, f"time point {t}: {e} Use a smaller factor.") from None
        sites = sites.astype(np.int32)
        if sites_all and sites.shape != sites_all[0].shape:
            raise fail(owner, (
                f"time point {t}: the segmentation has shape {lab.shape}, unlike the first time point's; "
                f"all segmentations of a series must share one grid."
            ))
        n = ids.size - 1
        image = resample_image(img, lab.shape, factor)
        inside = sites > 0
        mu, sd = (image[inside].mean(), image[inside].std()) if inside.any() else (0.0, 1.0)
        image = ((image - mu) / (sd + 1e-6)).astype(np.float32)
        size, centroid, faces, outside, pairs, stats = _time_point(sites, image, n)
        parent = np.full(n, -1)
        overlap = np.zeros(n)
        if prev_sites is not None and n:
            both = (sites > 0) & (prev_sites > 0)
            joint = np.zeros((n + 1, prev_sites.max() + 1))
            np.add.at(joint, (sites[both], prev_sites[both]), 1)
            best = _link(joint[1:, 1:] / np.maximum(size, 1)[:, None], min_overlap)
            has = best >= 0
            parent[has] = prev_first + best[has]
            overlap[has] = joint[1:, 1:][has, best[has]] / np.maximum(size[has], 1)
        neighbours = [[] for _ in range(n)]
        for a, b in pairs:
            neighbours[a - 1].append(offset + b - 1)
            neighbours[b - 1].append(offset + a - 1)
        per_time.append(dict(t=t, n=n, labels=ids[1:], size=size, centroid=centroid, faces=faces, outside=outside,
                             parent=parent, overlap=overlap, neighbours=neighbours, stats=stats))
        sites_all.append(sites)
        image_all.append(image)
        prev_sites, prev_first = sites, offset
        offset += n
        bar.update(i + 1, cells=n)
    bar.close()
    return _assemble(per_time, sites_all, image_all, factor)


def _body_frame(sites_all: list[np.ndarray]):
    """Centre and principal axes of the embryo over the whole series (union of its masks)."""
    union = np.zeros(sites_all[0].shape, bool)
    for s in sites_all:
        union |= s > 0
    pts = np.argwhere(union).astype(float)
    centre = pts.mean(0)
    cov = np.cov((pts - centre).T)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1]
    axes = evecs[:, order]
    spread = np.sqrt(np.maximum(evals[order], 1e-9))
    # A fixed sign convention: each axis points toward the side holding more of the embryo's
    # volume (the third moment); arbitrary but reproducible for one series.
    proj = (pts - centre) @ axes
    signs = np.where(np.mean(proj ** 3, axis=0) >= 0, 1.0, -1.0)
    return centre, axes * signs, spread


def _assemble(per_time, sites_all, image_all, factor) -> CellSeries:
    counts = np.array([p["n"] for p in per_time])
    first_row = np.concatenate([[0], np.cumsum(counts)])
    cat = lambda k: np.concatenate([p[k] for p in per_time]) if counts.sum() else np.zeros(0)
    time_index = np.repeat(np.arange(len(per_time)), counts)
    size = cat("size")
    centroid = np.concatenate([p["centroid"] for p in per_time]).reshape(-1, 3)
    faces, outside = cat("faces"), cat("outside")
    neighbour_lists = [nb for p in per_time for nb in p["neighbours"]]
    width = max([len(x) for x in neighbour_lists] + [1])
    neighbours = np.full((len(neighbour_lists), width), -1, np.int64)
    for r, x in enumerate(neighbour_lists):
        neighbours[r, : len(x)] = sorted(x)
    centre, axes, spread = _body_frame(sites_all)
    body = (centroid - centre) @ axes / spread
    mean_size = np.array([p["size"].mean() if p["n"] else 1.0 for p in per_time])[time_index]
    geometry = np.column_stack([
        body, np.linalg.norm(body, axis=1), np.log(size / mean_size), faces / np.maximum(size, 1),
        outside / np.maximum(faces, 1), (neighbours >= 0).sum(1), np.log(counts[time_index]),
    ])
    return CellSeries(
        times=np.array([p["t"] for p in per_time]), time_index=time_index, label=cat("labels").astype(np.int64),
        centroid=centroid, num_voxels=size.astype(np.int64), outside=outside / np.maximum(faces, 1),
        parent=cat("parent").astype(np.int64), overlap=cat("overlap"), neighbours=neighbours,
        geometry=geometry.astype(np.float32),
        image_stats=np.concatenate([p["stats"] for p in per_time]).reshape(-1, len(IMAGE_FEATURES)).astype(np.float32),
        image=np.stack(image_all), sites=np.stack(sites_all), first_row=first_row, factor=factor,
    )
