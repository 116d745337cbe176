"""The one check of a label image and of its voxel size, shared by the renderer (also under jit),
`symbolise` and the segmentation readers."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from automata._checks import concrete, error_if, fail


def check_label_image(labels, *, name: str = "labels", ndims=(2, 3), axes_hint: str = "", owner: str = ""):
    """Check a label image (0 = background, 1, 2, ... = cells) and return it.

    Dtype and number of axes are always checked; the values (non-empty, no negative label) only
    when they are known, and when the compiled program runs for traced arrays inside `jax.jit`.

    Args:
      labels: the label image (numpy, JAX or a traced array).
      name: the argument's name in messages.
      ndims: the allowed numbers of axes.
      axes_hint: a sentence appended to the error about the number of axes.
      owner: the public function or class the image was given to, named first in messages.

    Returns:
      `labels` as a numpy array when concrete, else `labels` as given.
    """
    who = f"{owner}: {name}" if owner else name
    dtype = getattr(labels, "dtype", None)
    if dtype is None:
        labels = np.asarray(labels)
        dtype = labels.dtype
    dtype = np.dtype(dtype)
    if dtype == bool or not np.issubdtype(dtype, np.integer):
        hint = (
            f"Round and cast it, e.g. {name}.astype(np.int32), if it holds whole numbers"
            if np.issubdtype(dtype, np.floating)
            else "Give an integer label image"
        )
        raise TypeError(
            f"{who} must be an integer label image (0 = background, 1, 2, ... = cells), got "
            f"dtype {dtype}. {hint}; for a binary mask, label its connected components first."
        )
    shape = tuple(np.shape(labels))
    if len(shape) not in ndims:
        axes = " or ".join(f"{n}D" for n in ndims)
        raise ValueError(f"{who} must be a {axes} label image, got shape {shape} ({len(shape)} axes). {axes_hint}".rstrip())
    lab = concrete(labels)
    if lab is None:
        if jnp.issubdtype(dtype, jnp.signedinteger):
            error_if(labels < 0, f"{who} must be >= 0 (0 = background), got a negative label.")
        return labels
    if lab.size == 0:
        raise ValueError(f"{who} is empty (shape {lab.shape}); it holds no cells.")
    if np.issubdtype(lab.dtype, np.signedinteger):
        low = lab.min()
        if low < 0:
            raise ValueError(
                f"{who} must be >= 0 (0 = background), got the negative label {int(low)}. "
                f"Relabel the cells with positive ids, e.g. {name} - {name}.min() if the "
                "minimum marks the background."
            )
    elif lab.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{who} holds ids above {np.iinfo(np.int64).max}; relabel the cells.")
    return lab


def check_spacing(spacing, ndim: int, *, owner: str) -> np.ndarray:
    """The physical size of a pixel along each of `ndim` axes, `(ndim,)` float64 (default 1).

    Example:
      >>> check_spacing(0.5, 2, owner="cell_features").tolist()
      [0.5, 0.5]
    """
    if spacing is None:
        return np.ones(ndim)
    wanted = (
        f"spacing must be {ndim} positive numbers (physical size of a pixel or voxel along each "
        "axis, e.g. micrometres) or one number for all axes"
    )
    try:
        sp = np.asarray(spacing, np.float64)
    except (TypeError, ValueError):
        raise fail(owner, f"{wanted}, got {spacing!r}.", TypeError) from None
    if sp.ndim == 0:
        sp = np.full(ndim, float(sp))
    if sp.shape != (ndim,) or not np.all(np.isfinite(sp) & (sp > 0)):
        raise fail(owner, f"{wanted}, got {spacing!r}.")
    return sp
