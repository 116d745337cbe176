"""Random affine warps of images and their label images (rotation, shear, zoom, mirror).

Labels stay exact: they are looked up by nearest neighbour, never interpolated.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import check_key, check_number, fail
from neurosym.render.labels import check_labels

__all__ = ["Warp", "augment", "check_warp", "warp_labels"]


class Warp(NamedTuple):
    """The ranges of a random in-plane affine warp; hashable, so a static `jit` argument.

    Attributes:
      rotation: largest rotation in degrees (uniform in `[-rotation, rotation]`).
      shear: largest shear factor (uniform in `[-shear, shear]`).
      magnification: zoom range `(low, high)`, drawn log-uniformly.
      flip: mirror the columns with probability 1/2.
    """

    rotation: float = 180.0
    shear: float = 0.1
    magnification: tuple[float, float] = (0.8, 1.25)
    flip: bool = True


def check_warp(rotation=180.0, shear=0.1, magnification=(0.8, 1.25), flip=True, *, owner: str = "augment") -> Warp:
    """The warp ranges as a `Warp` of Python numbers, or a clear error.

    Example:
      >>> check_warp(rotation=90, flip=False)
      Warp(rotation=90.0, shear=0.1, magnification=(0.8, 1.25), flip=False)
    """
    rotation = check_number(rotation, "rotation", minimum=0.0, owner=owner, hint="It is the largest angle in degrees.")
    shear = check_number(shear, "shear", minimum=0.0, owner=owner, hint="It is the largest shear factor.")
    wanted = "a range (low, high) with 0 < low <= high, e.g. (0.8, 1.25); use (1, 1) for no zoom"
    if isinstance(magnification, (str, bytes)) or np.shape(magnification) != (2,):
        raise fail(owner, f"magnification must be {wanted}, got {magnification!r}.", TypeError)
    lo, hi = (check_number(v, "magnification", minimum=0.0, open_minimum=True, owner=owner) for v in magnification)
    if hi < lo:
        raise fail(owner, f"magnification must be {wanted}, got {magnification!r}.")
    if not isinstance(flip, (bool, np.bool_)):
        raise fail(owner, f"flip must be True or False, got {flip!r}.", TypeError)
    return Warp(rotation, shear, (lo, hi), bool(flip))


def _affine_coords(shape2d, key, warp: Warp):
    """Source (row, col) of every output pixel under a random in-plane affine map."""
    u = jax.random.uniform(key, (4,))
    theta = math.radians(warp.rotation) * (2.0 * u[0] - 1.0)
    s = warp.shear * (2.0 * u[1] - 1.0)
    lo, hi = math.log(warp.magnification[0]), math.log(warp.magnification[1])
    mag = jnp.exp(lo + (hi - lo) * u[2])
    mirror = (u[3] < 0.5) if warp.flip else jnp.asarray(False)
    # Forward map: y = R(theta) Shear(s) mag Flip x about the centre; apply its inverse.
    ct, st = jnp.cos(theta), jnp.sin(theta)
    h, w = shape2d
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    yy, xx = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32) - cy,
                          jnp.arange(w, dtype=jnp.float32) - cx, indexing="ij")
    # R(-theta), then Shear(-s): (r, c) -> (r - s c, c), then 1 / mag.
    r1 = ct * yy + st * xx
    c1 = -st * yy + ct * xx
    r3, c3 = (r1 - s * c1) / mag, c1 / mag
    c3 = jnp.where(mirror, -c3, c3)
    return r3 + cy, c3 + cx


def _lookup(labels2d, rows, cols):
    """Nearest-neighbour lookup: exact integer labels, 0 outside the frame."""
    h, w = labels2d.shape
    ri = jnp.round(rows).astype(jnp.int32)
    ci = jnp.round(cols).astype(jnp.int32)
    inside = (ri >= 0) & (ri < h) & (ci >= 0) & (ci < w)
    out = labels2d[jnp.clip(ri, 0, h - 1), jnp.clip(ci, 0, w - 1)]
    return jnp.where(inside, out, jnp.zeros((), labels2d.dtype))


def warp_labels(labels, key, warp: Warp) -> jax.Array:
    """A random warp of a label image alone (pure JAX; `warp` static), as `augment` warps labels.

    Args:
      labels: `(H, W)` or `(D, H, W)` integer labels (3D: every z slice by the same map).
      key: PRNG key.
      warp: the ranges, a `Warp` (see `check_warp`).

    Example:
      >>> lab = jnp.arange(6).reshape(2, 3)
      >>> warp_labels(lab, jax.random.key(0), Warp(0.0, 0.0, (1.0, 1.0), False)).tolist()
      [[0, 1, 2], [3, 4, 5]]
    """
    rows, cols = _affine_coords(labels.shape[-2:], key, warp)
    if labels.ndim == 2:
        return _lookup(labels, rows, cols)
    return jax.vmap(lambda lab: _lookup(lab, rows, cols))(labels)


def _augment(image, labels, key, warp: Warp, fill):
    """Pure-JAX core of `augment` (`warp` and `fill` static)."""
    rows, cols = _affine_coords(labels.shape[-2:], key, warp)

    def one(img, lab):
        img = jax.scipy.ndimage.map_coordinates(img, [rows, cols], order=1, mode="constant", cval=fill)
        return img, _lookup(lab, rows, cols)

    return one(image, labels) if labels.ndim == 2 else jax.vmap(one)(image, labels)


_augment_jit = jax.jit(_augment, static_argnums=(3, 4))


def augment(
    image,
    labels,
    *,
    key: jax.Array,
    rotation: float = 180.0,
    shear: float = 0.1,
    magnification: tuple[float, float] = (0.8, 1.25),
    flip: bool = True,
    fill: float = 0.0,
) -> tuple[jax.Array, jax.Array]:
    """One random affine warp of an image and its labels: rotation, shear, zoom and mirror.

    The map (about the image centre) is drawn once and applied to both: the image by linear
    interpolation, the labels by nearest neighbour, so labels stay exact integers from the
    input. Pixels brought in from outside the frame are background (label 0, image `fill`);
    cells moved fully out of the frame lose all their pixels and so disappear from the labels
    (their kinds simply go unused). 3D images are warped in-plane, every z slice by the same
    map. With `rotation=0, shear=0, magnification=(1, 1), flip=False` the inputs come back
    unchanged. Pure JAX (`jax.scipy.ndimage.map_coordinates`); the ranges are static.

    For training data, warping labels before `render` (as `render_dataset` does) keeps the
    noise and blur unwarped; this function is for images that already exist.

    Args:
      image: `(H, W)` or `(D, H, W)` float image.
      labels: integer labels of the same shape.
      key: PRNG key.
      rotation: largest rotation in degrees (uniform in `[-rotation, rotation]`).
      shear: largest shear factor (uniform in `[-shear, shear]`).
      magnification: zoom range `(low, high)`, drawn log-uniformly.
      flip: mirror the columns with probability 1/2.
      fill: image value outside the frame (e.g. the microscope's background); a Python
        number, static under jit.

    Returns:
      `(image, labels)` with the input shapes and dtypes (image as float).

    Example:
      >>> from neurosym.render import lattice_labels
      >>> labels = lattice_labels((4, 4), 8)
      >>> image = (labels > 0).astype(jnp.float32)
      >>> img2, lab2 = augment(image, labels, key=jax.random.key(1))
      >>> lab2.dtype, set(np.unique(lab2)) <= set(np.unique(labels))
      (dtype('int32'), True)
    """
    warp = check_warp(rotation, shear, magnification, flip)
    fill = check_number(fill, "fill", owner="augment", hint="It is the image value outside the frame.")
    check_labels(labels)
    key = check_key(key, owner="augment")
    if tuple(np.shape(image)) != tuple(np.shape(labels)):
        raise fail(
            "augment", f"image must have the shape of labels, got image {tuple(np.shape(image))} and "
            f"labels {tuple(np.shape(labels))}; give the labels of this image.",
        )
    image = jnp.asarray(image)
    if not jnp.issubdtype(image.dtype, jnp.floating):
        image = image.astype(jnp.float32)
    return _augment_jit(image, jnp.asarray(labels), key, warp, fill)
