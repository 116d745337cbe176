"""The renderer: a label image and each label's kind, through a `Microscope`, to an image."""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import check_key, concrete, fail
from neurosym.render.labels import boundary_pixels, check_labels
from neurosym.render.microscope import Microscope
from neurosym.render.optics import gaussian_blur, gaussian_weights, illumination_ramp, shot_noise, uniform_and_normal

__all__ = ["render", "render_checked"]


# ---------------------------------------------------------------------------------------- checks
def _kinds_from_mapping(kinds: Mapping, labels) -> jax.Array:
    """A mapping label -> kind as an array with -1 for the labels it leaves out."""
    lab = concrete(labels)
    if lab is None:
        raise fail(
            "render", "kinds as a mapping needs concrete labels; inside jit give kinds as an array "
            "with kinds[label] = kind.", TypeError,
        )
    present = np.unique(lab)
    missing = [int(p) for p in present[present > 0] if int(p) not in kinds][:5]
    if missing:
        raise fail(
            "render", f"kinds must give a kind for every label in the image; it has no entry for "
            f"the labels {missing}.",
        )
    size = max([int(k) for k in kinds] + [int(lab.max()) if lab.size else 0, 0]) + 1
    out = np.full(size, -1, np.int64)
    for k, v in kinds.items():
        out[int(k)] = int(v)
    return jnp.asarray(out, jnp.int32)


def _kinds_array(kinds, labels) -> jax.Array:
    """kinds as a 1D int32 array; a mapping label -> kind becomes an array with -1 for gaps."""
    if isinstance(kinds, Mapping):
        return _kinds_from_mapping(kinds, labels)
    dtype = getattr(kinds, "dtype", None)
    if dtype is None:
        kinds = np.asarray(kinds)
        dtype = kinds.dtype
    if dtype == bool or not jnp.issubdtype(dtype, jnp.integer):
        raise fail(
            "render", f"kinds must be integer kind indices (kinds[label] = kind of that label), got "
            f"dtype {dtype}. Cast with .astype(np.int32), or give a mapping label -> kind.", TypeError,
        )
    if len(np.shape(kinds)) != 1:
        raise fail(
            "render", f"kinds must be 1D, one kind per label value (kinds[0] for the background is "
            f"ignored), got shape {tuple(np.shape(kinds))}. For a batch, vmap render.",
        )
    return jnp.asarray(kinds, jnp.int32)


def _check_render_values(labels, kinds, microscope: Microscope) -> None:
    """Every label has a kinds entry and every present label a kind the microscope knows."""
    lab, kin = concrete(labels), concrete(kinds)
    if lab is None or kin is None or lab.size == 0:
        return
    top = int(lab.max())
    if top >= kin.shape[0]:
        raise fail(
            "render", f"kinds must have at least max(labels) + 1 = {top + 1} entries (kinds[label] "
            f"is that label's kind, kinds[0] the ignored background), got {kin.shape[0]}. Pad kinds with -1.",
        )
    present = np.unique(lab)
    present = present[present > 0]
    k = kin[present]
    bad = (k < 0) | (k >= microscope.num_kinds)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise fail(
            "render", f"kinds must give every cell a kind in 0 .. {microscope.num_kinds - 1} (one per "
            f"kind_intensity entry), got kind {int(k[i])} for label {int(present[i])}. Give every kind "
            "a kind_intensity, or fix the kinds.",
        )


# ---------------------------------------------------------------------------------------- stains
def _inv_small(a: jax.Array) -> jax.Array:
    """Inverse of a batch of 2 x 2 or 3 x 3 matrices by the adjugate (cheap to compile)."""
    if a.shape[-1] == 2:
        det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
        adj = jnp.stack([jnp.stack([a[:, 1, 1], -a[:, 0, 1]], -1),
                         jnp.stack([-a[:, 1, 0], a[:, 0, 0]], -1)], -2)
        return adj / det[:, None, None]
    cols = [a[:, :, i] for i in range(3)]
    adj = jnp.stack([jnp.cross(cols[1], cols[2]), jnp.cross(cols[2], cols[0]),
                     jnp.cross(cols[0], cols[1])], axis=1)
    det = jnp.sum(cols[0] * adj[:, 0, :], axis=-1)
    return adj / det[:, None, None]


def _moments(labels, num_labels: int, coords):
    """Per-label centroid `(L, D)` and inverse covariance `(L, D, D)` (pixel units)."""
    seg = labels.reshape(-1)
    nd = len(coords)
    x = jnp.stack([c.reshape(-1) for c in coords], axis=1)
    n = jax.ops.segment_sum(jnp.ones_like(seg, jnp.float32), seg, num_segments=num_labels)
    n = jnp.maximum(n, 1.0)
    centre = jax.ops.segment_sum(x, seg, num_segments=num_labels) / n[:, None]
    d = x - centre[seg]
    cov = jax.ops.segment_sum(d[:, :, None] * d[:, None, :], seg, num_segments=num_labels)
    # A pixel is a box, not a point: its own second moment is 1/12.
    cov = cov / n[:, None, None] + jnp.eye(nd, dtype=jnp.float32) / 12.0
    return centre, _inv_small(cov)


def _nuclei_mask(labels, num_labels: int, nucleus) -> jax.Array:
    """Pixels inside their cell's moment ellipse (ellipsoid) scaled by `nucleus`."""
    nd = labels.ndim
    coords = jnp.meshgrid(*[jnp.arange(n, dtype=jnp.float32) for n in labels.shape], indexing="ij")
    centre, prec = _moments(labels, num_labels, coords)
    d = jnp.stack(coords, -1) - centre[labels]
    maha = jnp.einsum("...i,...ij,...j->...", d, prec[labels], d)
    # A uniform ellipsoid of semi-axes a in D dimensions has variance a**2 / (D + 2).
    return maha <= (nd + 2) * jnp.square(nucleus)


def _stain(labels, kinds, m: Microscope, z_tex, z_cell) -> jax.Array:
    """The ideal (noise-free, unblurred) image: each cell drawn from its kind, 0 outside cells."""
    num_labels = kinds.shape[0]
    ki = jnp.atleast_1d(m.kind_intensity)
    kind = jnp.clip(kinds, 0, ki.shape[0] - 1)[labels]
    # Per-cell brightness and per-kind speckle texture (a unit-variance correlated field).
    factor = jnp.maximum(1.0 + m.cell_variation * z_cell, 0.0)
    w = gaussian_weights(m.texture_scale, m.kernel_radius)
    speckle = gaussian_blur(z_tex, [m.texture_scale] * labels.ndim, m.kernel_radius)
    speckle = speckle / jnp.sqrt(jnp.sum(w * w)) ** labels.ndim
    texture = jnp.maximum(1.0 + jnp.atleast_1d(m.kind_texture)[kind] * speckle, 0.0)
    interior = ki[kind] * factor[labels] * texture
    if m.style == "nuclei":
        ideal = interior * jnp.where(_nuclei_mask(labels, num_labels, m.nucleus), 1.0, m.cytoplasm)
    else:
        ideal = jnp.where(boundary_pixels(labels), m.membrane_intensity, interior)
    return jnp.where(labels > 0, ideal, 0.0)


# ---------------------------------------------------------------------------------------- render
def _render(labels, kinds, m: Microscope, key) -> jax.Array:
    """Pure-JAX core of `render`; `m` as `Microscope.as_arrays` gives it."""
    nd = labels.ndim
    labels = jnp.clip(labels.astype(jnp.int32), 0, kinds.shape[0] - 1)
    size = int(np.prod(labels.shape))
    u, z = uniform_and_normal(key, 4 * size + kinds.shape[0])
    # Independent slices: texture, shot uniform, shot normal, read noise, per-cell factor.
    z_tex, u_shot, z_shot, z_read = (
        x.reshape(labels.shape)
        for x in (z[:size], u[size: 2 * size], z[2 * size: 3 * size], z[3 * size: 4 * size])
    )
    ideal = _stain(labels, kinds, m, z_tex, z[4 * size:])
    sigmas = [m.blur] * nd
    if nd == 3:
        sigmas[0] = m.axial_blur
    image = gaussian_blur(ideal, sigmas, m.kernel_radius)
    image = m.gain * image * (1.0 + m.drift * illumination_ramp(labels.shape, m.drift_angle)) + m.background
    on = m.poisson > 0
    scale = jnp.where(on, m.poisson, 1.0)
    counts = shot_noise(u_shot, z_shot, jnp.maximum(image, 0.0) * scale)
    image = jnp.where(on, counts / scale, image) + m.noise * z_read
    return image.astype(jnp.float32)


_render_jit = jax.jit(_render)


def render(labels, kinds, microscope: Microscope, *, key: jax.Array) -> jax.Array:
    """A microscopy-like image of labelled cells: stain by kind, blur, illumination, noise.

    Order of effects: each cell is drawn from its kind (nuclei: a bright nucleus, the cell's
    moment ellipse scaled by `microscope.nucleus`, in a cytoplasm at `cytoplasm` times its
    brightness; membrane: boundary pixels at `membrane_intensity`, the interior at the kind's
    brightness), times a per-cell factor and a per-kind speckle; then the Gaussian blur
    (separable, mirror boundary), illumination ramp and gain, background, shot noise and read
    noise. Values are about in [0, 1] before noise; noise is not clipped (pixels can go < 0).
    Nuclei are placed from each label's visible pixels, so a cell cut by the frame gets its
    nucleus in the visible part.

    Pure JAX: `jax.jit(render)` works with labels, kinds and microscope as arguments (values
    are then checked only for shapes and dtypes), and `jax.vmap` over a batch of labels,
    kinds, keys (and microscopes). The number of label values `L = len(kinds)` is static.
    Under a trace, values cannot be checked: labels >= L count as L - 1 and out-of-range
    kinds are clipped into `0 .. K - 1`, so check a batch eagerly once.

    Args:
      labels: `(H, W)` or `(D, H, W)` integer label image, 0 = background, cells `1 .. L - 1`.
      kinds: `(L,)` integer kinds, `kinds[label]` the kind of that label (an index into
        `microscope.kind_intensity`); `kinds[0]` and entries of labels absent from the image
        are ignored (use -1). Or a mapping label -> kind (outside jit only).
      microscope: a `Microscope`.
      key: PRNG key for texture, per-cell brightness and noise.

    Returns:
      float32 image of the shape of `labels`.

    Example:
      >>> from neurosym.render import lattice_labels
      >>> labels = lattice_labels((4, 4), 8)                 # 16 square cells of 7 x 7 pixels
      >>> kinds = jnp.array([-1] + [0, 1] * 8)               # label 1 is kind 0, label 2 kind 1
      >>> m = Microscope.nuclei().replace(noise=0.0, poisson=0.0, blur=0.0, cell_variation=0.0,
      ...                                 kind_texture=None, background=0.0, drift=0.0)
      >>> image = render(labels, kinds, m, key=jax.random.key(0))
      >>> image.shape, [round(float(image[i, j]), 4) for i, j in [(3, 3), (3, 11), (0, 0), (7, 7)]]
      ((32, 32), [0.3, 0.65, 0.045, 0.0])
    """
    if not isinstance(microscope, Microscope):
        raise fail(
            "render", f"microscope must be a Microscope, got {type(microscope).__name__}. Use e.g. "
            "Microscope.nuclei().", TypeError,
        )
    check_labels(labels)
    kinds = _kinds_array(kinds, labels)
    microscope.check()
    _check_render_values(labels, kinds, microscope)
    return render_checked(labels, kinds, microscope, key=check_key(key, owner="render"))


def render_checked(labels, kinds, microscope: Microscope, *, key: jax.Array) -> jax.Array:
    """`render` without its entry checks, for inputs already known to be valid: labels >= 0,
    1D integer kinds, a checked `Microscope` and a PRNG key.

    For callers inside the package that build labels and kinds themselves (`render_dataset`), so
    the checks do not run again for every image inside their jit.
    """
    return _render_jit(jnp.asarray(labels), jnp.asarray(kinds, jnp.int32), microscope.as_arrays(), key)
