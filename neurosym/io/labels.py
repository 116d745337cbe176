"""Label images (0 = background, each positive integer one cell) and the cell table they imply."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from neurosym._labels import check_label_image
from neurosym.io.formats import FORMATS
from neurosym.io.table import CellTable
from neurosym.io.text import check_path
from neurosym.io.times import check_minutes_per_frame

__all__ = ["LABEL_EXTENSIONS", "check_labels", "label_kind", "read_label_image", "read_labels", "table_from_labels"]

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_NPY_MAGIC = b"\x93NUMPY"
LABEL_EXTENSIONS = (".tif", ".tiff", ".npy", ".npz", ".png")
"""File name endings of the label image formats."""
_WHAT = f"a label image ({FORMATS['labels']})"
_AXES_HINT = "Expected 2D (y, x), 3D (z, y, x or t, y, x) or 4D (t, z, y, x)."


def label_kind(path, head: bytes) -> str | None:
    """"tiff", "png", "npy" or "npz" from a file's first bytes (an .npz is a zip of .npy), else None."""
    if head[:4] in _TIFF_MAGIC:
        return "tiff"
    if head[:8] == _PNG_MAGIC:
        return "png"
    if head[:6] == _NPY_MAGIC:
        return "npy"
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as z:
                if any(n.endswith(".npy") for n in z.namelist()):
                    return "npz"
        except zipfile.BadZipFile:
            return None
    return None


def read_labels(path, *, key: str | None = None) -> np.ndarray:
    """Read a label image: 0 is background, each positive integer one cell.

    TIFF (via tifffile; the first series, singleton axes dropped), NPY, NPZ (the one array, or
    `key`, or an array named "labels") and PNG (greyscale, 16-bit or palette). The array keeps
    its dimensions: 2D (y, x), 3D (z, y, x, or a time series of 2D), 4D (t, z, y, x).

    Args:
      path: the image file.
      key: which array of an .npz file.

    Returns:
      integer array (int32, or int64 for labels beyond 2**31 - 1).

    Raises:
      ValueError: naming the file, for an empty image (no labelled pixel), NaNs, non-integer or
        negative values, several channels, fewer than 2 or more than 4 dimensions, an .npz
        holding several arrays and no `key`, a folder, or a format it does not know.

    Example:
      >>> import pathlib, tempfile
      >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels.npy"
      >>> np.save(p, np.array([[0, 1], [2, 2]], dtype=np.uint16))
      >>> read_labels(p)
      array([[0, 1],
             [2, 2]], dtype=int32)
    """
    return read_label_image(path, key, owner="read_labels")[0]


def read_label_image(path, key: str | None, *, owner: str) -> tuple[np.ndarray, str | None]:
    """The checked label image of a file and its axes letters where the file records them (TIFF)."""
    name = str(path)
    p = check_path(path, _WHAT, owner=owner)
    with open(p, "rb") as f:
        head = f.read(16)
    kind = label_kind(p, head) or {
        ".tif": "tiff", ".tiff": "tiff", ".png": "png", ".npy": "npy", ".npz": "npz",
    }.get(p.suffix.lower())
    if kind is None:
        raise ValueError(f"{name}: not a label image format this reader knows; expected {_WHAT}.")
    if kind == "tiff":
        arr, axes = _read_tiff(p, name)
    else:
        arr, axes = {"png": _read_png, "npy": _read_npy}.get(kind, _read_npz_of(key))(p, name), None
    return check_labels(arr, name), axes


def _read_tiff(p: Path, name: str) -> tuple[np.ndarray, str | None]:
    try:
        import tifffile
    except ImportError:  # pragma: no cover - tifffile is a runtime dependency
        raise ImportError("reading TIFF needs tifffile: pip install tifffile") from None
    try:
        with tifffile.TiffFile(p) as tf:
            series = tf.series[0]
            arr, axes = series.asarray(), series.axes
    except Exception as e:  # tifffile raises several types for corrupt files
        raise ValueError(f"{name}: cannot read as TIFF ({type(e).__name__}: {e}); expected {_WHAT}.") from None
    keep = [i for i, n in enumerate(arr.shape) if n != 1]
    axes = "".join(axes[i] for i in keep)
    arr = arr.reshape([arr.shape[i] for i in keep])
    if axes.endswith("S") or "C" in axes:
        ch = np.moveaxis(arr, axes.index("S" if axes.endswith("S") else "C"), 0)
        if not (ch == ch[:1]).all():
            raise ValueError(
                f"{name}: the TIFF has {ch.shape[0]} different colour channels (axes {axes}); "
                "expected a single-channel label image. Save one channel of labels."
            )
        arr, axes = ch[0], axes.replace("S" if axes.endswith("S") else "C", "")
    # A (3 or 4, y, x) stack written by tifffile without metadata comes back as separate
    # colour planes ("SYX"): a stack of unknown meaning, not colour.
    axes = axes.replace("S", "Q")
    return arr, axes if set(axes) <= set("TZYX") else None


def _read_png(p: Path, name: str) -> np.ndarray:
    from PIL import Image  # Pillow ships with matplotlib

    try:
        with Image.open(p) as im:
            mode = im.mode
            arr = np.array(im)
    except Exception as e:
        raise ValueError(f"{name}: cannot read as PNG ({type(e).__name__}: {e}); expected {_WHAT}.") from None
    if arr.ndim == 3:
        colour = arr[..., :3]
        if not (colour == colour[..., :1]).all():
            raise ValueError(
                f"{name}: a colour PNG (mode {mode}); expected a single-channel label image "
                "(greyscale, 16-bit or palette PNG), one integer label per pixel."
            )
        arr = colour[..., 0]
    return arr


def _read_npy(p: Path, name: str) -> np.ndarray:
    try:
        return np.load(p, allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"{name}: cannot read as .npy ({e}); expected {_WHAT}.") from None


def _read_npz_of(key: str | None):
    def read(p: Path, name: str) -> np.ndarray:
        try:
            with np.load(p, allow_pickle=False) as z:
                names = list(z.files)
                if key is not None:
                    if key not in names:
                        raise ValueError(f"{name}: no array {key!r}; the file holds {', '.join(names)}; "
                                         "pass key=... with one of these.")
                    return z[key]
                if len(names) == 1 or "labels" in names:
                    return z[names[0] if len(names) == 1 else "labels"]
                raise ValueError(f"{name}: holds {len(names)} arrays ({', '.join(names)}); pass key=... to "
                                 "say which is the label image.")
        except (OSError, zipfile.BadZipFile) as e:
            raise ValueError(f"{name}: cannot read as .npz ({e}); expected {_WHAT}.") from None

    return read


def check_labels(arr, source: str) -> np.ndarray:
    """A label image from a file or an array as int32 (int64 if needed), or an error naming `source`.

    Whole-number floats and booleans are accepted; NaN, fractions, negative labels, an empty
    image, an image without a labelled pixel and fewer than 2 or more than 4 axes are refused.

    Example:
      >>> check_labels(np.array([[0.0, 1.0], [2.0, 2.0]]), "demo").dtype
      dtype('int32')
    """
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.int32)
    if arr.dtype.kind == "f":
        arr = _whole_numbers(arr, source)
    try:
        arr = check_label_image(arr, name="labels", ndims=(2, 3, 4), axes_hint=_AXES_HINT)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{source}: {e}") from None
    top = arr.max()
    if top == 0:
        raise ValueError(
            f"{source}: labels hold no labelled pixel (all {arr.size} values are 0); expected "
            "positive integer labels for cells, 0 for background."
        )
    return arr.astype(np.int32 if top <= np.iinfo(np.int32).max else np.int64)


def _whole_numbers(arr: np.ndarray, source: str) -> np.ndarray:
    nan = np.isnan(arr)
    if nan.any():
        at = tuple(int(i) for i in np.argwhere(nan)[0])
        raise ValueError(
            f"{source}: labels have {int(nan.sum())} NaN value(s) (first at index {at}); "
            "expected integer labels, 0 for background."
        )
    bad = (arr != np.round(arr)) | np.isinf(arr)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{source}: labels have non-integer values (e.g. {arr[at]} at index {at}); "
            "expected integer labels, 0 for background (is this an intensity image?)."
        )
    return arr.astype(np.int64)


def table_from_labels(labels, *, axes: str | None = None, minutes_per_frame: float = 1.0,
                      embryo: str = "labels", source: str = "array") -> CellTable:
    """A cell table from a label image: one row per label per frame.

    Position is the label's centroid in pixels (x the last axis, y the one before, z the depth
    axis or 0), `size` its equivalent diameter (of a disc in 2D, a ball in 3D, in pixels) and
    `extra["num_pixels"]` its pixel count. Cells are named by their label; there are no parents.

    Args:
      labels: integer array, as from `read_labels`.
      axes: letters from T, Z, Y, X naming the axes, ending in "YX"; default by dimensions:
        "YX", "ZYX", "TZYX" (pass "TYX" for a 2D time series).
      minutes_per_frame: frame interval; frame t is at `t * minutes_per_frame` minutes.
      embryo: embryo name.
      source: where the labels came from, for error messages and `meta`.

    Example:
      >>> lab = np.zeros((2, 4, 4), int); lab[0, :2, :2] = 1; lab[1, 2:, 2:] = 1; lab[1, 0, 0] = 2
      >>> t = table_from_labels(lab, axes="TYX", minutes_per_frame=5.0)
      >>> t.to_records()[0]["x"], t.counts()
      (0.5, {0.0: 1, 5.0: 2})
    """
    mpf = check_minutes_per_frame(minutes_per_frame, owner="table_from_labels")
    arr = check_labels(labels, "table_from_labels" if source == "array" else source)
    axes = _check_axes(axes, arr)
    if "T" in axes:
        arr, spatial = np.moveaxis(arr, axes.index("T"), 0), axes.replace("T", "")
    else:
        arr, spatial = arr[None], axes
    cells, frames, parts = [], [], []
    for t, img in enumerate(arr):
        present, num, centroid = _centroids(img, spatial)
        cells.extend(str(v) for v in present)
        frames.extend([t] * present.size)
        parts.append((centroid["X"], centroid["Y"], centroid.get("Z", np.zeros(present.size)), num))
    xs, ys, zs, num = (np.concatenate(c) for c in zip(*parts))
    diameter = np.cbrt(6.0 * num / np.pi) if "Z" in spatial else 2.0 * np.sqrt(num / np.pi)
    frames_arr = np.array(frames, dtype=np.int64)
    return CellTable(
        embryo=embryo, cell=cells, time_min=frames_arr * mpf, frame=frames_arr, x=xs, y=ys, z=zs,
        size=diameter, extra={"num_pixels": num.astype(np.int64)},
        meta={"source": source, "format": "labels", "axes": axes,
              "time_source": f"{mpf:g} min per frame, t = 0 at 0 min", "units": "x, y, z and size in pixels"},
    )


def _check_axes(axes: str | None, arr: np.ndarray) -> str:
    if axes is None:
        return {2: "YX", 3: "ZYX", 4: "TZYX"}[arr.ndim]
    if not isinstance(axes, str):
        raise TypeError(f"table_from_labels: axes must be a str of letters such as 'TYX', got {type(axes).__name__}.")
    axes = axes.upper()
    if (len(axes) != arr.ndim or not axes.endswith("YX") or len(set(axes)) != len(axes)
            or not set(axes) <= set("TZYX")):
        raise ValueError(
            f"table_from_labels: axes={axes!r} does not fit labels of shape {arr.shape}: expected {arr.ndim} "
            "distinct letters from T, Z, Y, X ending in 'YX'; pass axes='ZYX', 'TYX' or 'TZYX'."
        )
    return axes


def _centroids(img: np.ndarray, spatial: str):
    """Labels present in one frame, their pixel counts, and their centroid along each axis letter."""
    flat = img.ravel()
    n = np.bincount(flat)
    present = np.flatnonzero(n)
    present = present[present > 0]
    centroid = {}
    for a, letter in enumerate(spatial):
        shape = [1] * img.ndim
        shape[a] = img.shape[a]
        coord = np.broadcast_to(np.arange(img.shape[a], dtype=np.float64).reshape(shape), img.shape)
        centroid[letter] = np.bincount(flat, weights=coord.ravel(), minlength=n.size)[present] / n[present]
    return present, n[present], centroid
