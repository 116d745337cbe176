"""Per-cell features of a label image: centroid, size, mean intensity and shape moments.

`CellFeatures` is the record every symbolise step shares (also built from points by
`point_features`); `cell_features` measures it from a label image, vectorised over cells (one
`np.bincount` per quantity) on the host in numpy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from automata._checks import fail
from neurosym.symbolise._inputs import check_labels, check_names, check_spacing, index_labels

__all__ = ["FEATURE_NAMES", "CellFeatures", "cell_features", "measure_labels"]

# Per-cell quantities `to_population(features=...)` can copy into `Population.features`.
FEATURE_NAMES = ("centroid", "size", "volume", "mean_intensity", "elongation", "orientation")


@dataclasses.dataclass(frozen=True, eq=False)
class CellFeatures:
    """Per-cell features at one time point, one row per cell (host-side numpy arrays).

    Rows are in a fixed order: ascending label id for label images, table order for points.
    Row `i` becomes slot `i` of the `Population` built by `to_population`.

    Attributes (N = number of cells, D = number of spatial axes):
      ids: `(N,)` int64 label ids (images) or row numbers (points).
      centroid: `(N, D)` float64 centre of mass, in the image's axis order (rows, columns or
        z, y, x) and in physical units (pixel index times `spacing`, e.g. micrometres); for
        points, the positions as given.
      size: `(N,)` number of pixels/voxels of each label (int64), or for points the table's
        size column (e.g. nucleus diameter, float64), NaN where the table has none.
      spacing: `(D,)` physical size of a pixel along each axis (1.0 when not given).
      bounds: `(2, D)` float64 box `[low, high]` the cells live in; `to_population` maps this
        box onto the lattice. For an image it is the pixel edges,
        `[-spacing / 2, (shape - 1/2) * spacing]`.
      mean_intensity: `(N,)` (or `(N, C)` for a C-channel intensity image) mean intensity over
        each label, None without an intensity image.
      covariance: `(N, D, D)` second central moments of each label as a union of pixels (the
        discrete moments plus `spacing**2 / 12` on the diagonal, the pixel's own extent), in
        physical units squared; None for points. Hu (1962), doi:10.1109/TIT.1962.1057692.
      elongation: `(N,)` `sqrt(largest / smallest eigenvalue)` of the covariance, >= 1; an
        `a x b` rectangle has elongation `a / b` exactly. None for points.
      orientation: `(N, D)` unit vector along the long axis (the covariance's leading
        eigenvector, sign fixed so its largest component is positive; arbitrary for round
        cells). None for points.
      names: `(N,)` cell names (str), or None.
      columns: further per-cell columns from a table (name -> `(N,)` array), e.g. a cell type.
      shape: the label image's shape, or None for points.

    Example:
      >>> labels = np.array([[1, 1, 0], [0, 2, 2]])
      >>> f = cell_features(labels)
      >>> f.ids.tolist(), f.size.tolist(), f.centroid.tolist()
      ([1, 2], [2, 2], [[0.0, 0.5], [1.0, 1.5]])
    """

    ids: np.ndarray
    centroid: np.ndarray
    size: np.ndarray
    spacing: np.ndarray
    bounds: np.ndarray
    mean_intensity: np.ndarray | None = None
    covariance: np.ndarray | None = None
    elongation: np.ndarray | None = None
    orientation: np.ndarray | None = None
    names: np.ndarray | None = None
    columns: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    shape: tuple[int, ...] | None = None

    @property
    def num_cells(self) -> int:
        """Number of cells (rows)."""
        return int(self.ids.shape[0])

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return int(self.centroid.shape[1])

    @property
    def volume(self) -> np.ndarray:
        """`(N,)` physical volume (area in 2D) of each label: `size * prod(spacing)`."""
        return np.asarray(self.size, np.float64) * float(np.prod(self.spacing))

    def column(self, name: str) -> np.ndarray:
        """The per-cell quantity called `name` as a float32 `(N, k)` block.

        `name` is one of `FEATURE_NAMES` ("centroid", "size", "volume", "mean_intensity",
        "elongation", "orientation") or a numeric entry of `columns`.

        Example:
          >>> cell_features(np.array([[1, 1, 2]])).column("size").tolist()
          [[2.0], [1.0]]
        """
        if name in FEATURE_NAMES:
            value = getattr(self, name)
            if value is None:
                needs = "an intensity image" if name == "mean_intensity" else "a label image"
                raise ValueError(
                    f"These cells have no {name!r} (it needs {needs}). Pick another feature: "
                    f"{', '.join(self._available())}."
                )
        elif name in self.columns:
            value = self.columns[name]
        else:
            raise ValueError(f"Unknown cell feature {name!r}; these cells have {', '.join(self._available())}.")
        arr = np.asarray(value)
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"Cell feature {name!r} is not numeric (dtype {arr.dtype}).")
        return arr.reshape(self.num_cells, -1).astype(np.float32)

    def _available(self) -> list[str]:
        return [n for n in FEATURE_NAMES if getattr(self, n) is not None] + list(self.columns)


def cell_features(labels, intensity=None, *, spacing=None, names=None) -> CellFeatures:
    """Per-cell centroid, size, mean intensity and shape moments of a label image.

    Args:
      labels: integer label image, 2D `(rows, cols)` or 3D `(z, y, x)` (1D works too);
        0 is background, every other id one cell (ids need not be consecutive).
      intensity: optional image of the same shape (or the same shape plus a trailing channel
        axis) whose mean over each cell is reported. Must be finite inside cells.
      spacing: physical size of a pixel along each axis (e.g. micrometres), a number or one per
        axis; default 1, i.e. pixel units.
      names: optional cell names, a sequence in ascending label-id order or a mapping from
        label id to name; used as kinds by `to_population`.

    Returns:
      `CellFeatures` with one row per label, in ascending label-id order.

    Example:
      >>> labels = np.zeros((4, 6), np.int32)
      >>> labels[1:3, 1:5] = 7                       # a 2 x 4 rectangle
      >>> f = cell_features(labels, spacing=0.5)
      >>> f.ids.tolist(), f.size.tolist(), f.centroid.tolist()
      ([7], [8], [[0.75, 1.25]])
      >>> float(f.elongation[0]), f.orientation[0].tolist()
      (2.0, [0.0, 1.0])
    """
    return measure_labels(labels, intensity, spacing=spacing, names=names, owner="cell_features")


def measure_labels(labels, intensity=None, *, spacing=None, names=None, owner: str) -> CellFeatures:
    """`cell_features`, with `owner` (the public function called) named in error messages.

    Example:
      >>> measure_labels(np.array([[1, 2]]), owner="symbolise").ids.tolist()
      [1, 2]
    """
    lab = check_labels(labels)
    sp = check_spacing(spacing, lab.ndim, owner=owner)
    coords, ids, inv = index_labels(lab, owner=owner)
    n = ids.size
    size = np.bincount(inv, minlength=n).astype(np.int64)
    mean_intensity = None
    if intensity is not None:
        mean_intensity = _mean_intensity(intensity, lab.shape, coords, inv, size, owner=owner)
    centre, cov = _moments(coords, inv, size, sp)
    elongation, major = _long_axis(cov)
    shape = np.asarray(lab.shape, np.float64)
    return CellFeatures(
        ids=ids,
        centroid=centre * sp,
        size=size,
        spacing=sp,
        bounds=np.stack([-0.5 * sp, (shape - 0.5) * sp]),
        mean_intensity=mean_intensity,
        covariance=cov,
        elongation=elongation,
        orientation=major,
        names=None if names is None else check_names(names, n, ids, owner=owner),
        shape=tuple(lab.shape),
    )


def _mean_intensity(intensity, shape, coords, inv, size, *, owner: str) -> np.ndarray:
    """`(N,)` (or `(N, C)`) mean of `intensity` over each cell's pixels, checked first."""
    img = np.asarray(intensity)
    if img.shape != shape and img.shape[:-1] != shape:
        raise fail(
            owner,
            f"intensity must have the label image's shape {shape} (or that plus a channel axis), got "
            f"{img.shape}. Pass the intensity image of the same time point and field of view.",
        )
    if not (np.issubdtype(img.dtype, np.number) or img.dtype == bool) or np.iscomplexobj(img):
        raise fail(owner, f"intensity must be a real numeric image, got dtype {img.dtype}.", TypeError)
    values = img[coords].astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise fail(
            owner,
            "intensity must be finite inside cells, got NaN or infinite values; fill or mask them "
            "first (e.g. np.nan_to_num).",
        )
    values = values.reshape(values.shape[0], -1)
    n = size.size
    mean = np.stack([np.bincount(inv, weights=v, minlength=n) for v in values.T], axis=1) / size[:, None]
    return mean[:, 0] if img.shape == shape else mean


def _moments(coords, inv, size, sp):
    """Centroids `(N, D)` in index units and covariances `(N, D, D)` in physical units squared."""
    n, ndim = size.size, len(coords)
    # Two passes (centroids, then moments about them): exact in float64.
    centre = np.stack([np.bincount(inv, weights=c, minlength=n) for c in coords], axis=1) / size[:, None]
    dev = [coords[k] - centre[inv, k] for k in range(ndim)]
    cov = np.empty((n, ndim, ndim))
    for a in range(ndim):
        for b in range(a, ndim):
            m = np.bincount(inv, weights=dev[a] * dev[b], minlength=n) / size
            cov[:, a, b] = cov[:, b, a] = m * sp[a] * sp[b]
        # A pixel is a box, not a point: its own second moment is spacing**2 / 12.
        cov[:, a, a] += sp[a] ** 2 / 12.0
    return centre, cov


def _long_axis(cov):
    """Elongation `(N,)` and unit long axis `(N, D)` (largest component positive) of covariances."""
    n = cov.shape[0]
    eigval, eigvec = np.linalg.eigh(cov)
    elongation = np.sqrt(eigval[:, -1] / eigval[:, 0])
    elongation = np.where(np.isclose(elongation, 1.0, rtol=1e-12, atol=0), 1.0, elongation)
    major = eigvec[:, :, -1]
    sign = np.sign(major[np.arange(n), np.argmax(np.abs(major), axis=1)])
    major = major * sign[:, None]
    major[np.abs(major) < 1e-12] = 0.0
    return elongation, major
