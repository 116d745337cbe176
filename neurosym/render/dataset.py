"""Datasets of rendered tissues: random lattice states drawn, warped and rendered in one jit."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import check_choice, check_int, check_key, check_number, concrete, fail
from neurosym.render.warp import Warp, check_warp, warp_labels
from neurosym.render.image import render_checked
from neurosym.render.labels import check_label_grid, lattice_labels
from neurosym.render.microscope import Microscope

__all__ = ["LAYOUTS", "render_dataset"]

#: Where `render_dataset` puts cells: anywhere on the lattice, or in one compact tissue.
LAYOUTS = ("scattered", "embryo")


def _embryo_sites(key, shape) -> jax.Array:
    """Flat mask of the sites inside a random ellipse (ellipsoid) of the lattice.

    Semi-axes are 0.2 to 0.48 times the lattice along each axis and the centre moves by up to
    0.08 times it, so most tissues lie inside the lattice and the largest may reach its edge
    (where `outer_cells` counts the frame as outside); the centre site is always inside.
    """
    k_r, k_c = jax.random.split(key)
    size = jnp.asarray(shape, jnp.float32)
    radius = size * jax.random.uniform(k_r, (len(shape),), minval=0.2, maxval=0.48)
    centre = (size - 1) / 2 + size * jax.random.uniform(k_c, (len(shape),), minval=-0.08, maxval=0.08)
    grid = jnp.stack(jnp.meshgrid(*[jnp.arange(n, dtype=jnp.float32) for n in shape], indexing="ij"), -1)
    inside = (((grid - centre) / jnp.maximum(radius, 0.5)) ** 2).sum(-1) <= 1.0
    nearest = jnp.round(centre).astype(jnp.int32)
    return inside.at[tuple(nearest)].set(True).reshape(-1)


def _site_kinds(key, shape, num_kinds: int, density, layout: str) -> jax.Array:
    """`(num_sites + 1,)` kinds: each site a uniform kind with probability `density`, else -1."""
    num_sites = int(np.prod(shape))
    u = jax.random.uniform(key, (2 * num_sites,)).reshape(2, num_sites)
    kind = jnp.minimum(jnp.floor(u[0] * num_kinds), num_kinds - 1).astype(jnp.int32)
    occupied = u[1] < density
    if layout == "embryo":
        occupied = occupied & _embryo_sites(jax.random.fold_in(key, 1), shape)
    return jnp.concatenate([jnp.full(1, -1, jnp.int32), jnp.where(occupied, kind, -1)])


def _dataset_one(key, density, jitter, microscope, *, shape, site_pixels, gap, num_kinds, warp, layout):
    """One image: site kinds, outlines, an optional warp of the labels, then `render`."""
    k_lab, k_kind, k_aug, k_mic, k_img = jax.random.split(key, 5)
    site = lattice_labels(shape, site_pixels, key=k_lab, jitter=jitter, gap=gap)
    kinds = _site_kinds(k_kind, shape, num_kinds, density, layout)
    labels = jnp.where(kinds[site] >= 0, site, 0)
    if warp is not None:
        labels = warp_labels(labels, k_aug, warp)
    present = jnp.zeros(kinds.shape[0], bool).at[labels].set(True).at[0].set(False)
    kinds = jnp.where(present, kinds, -1)
    m = microscope if isinstance(microscope, Microscope) else microscope(k_mic)
    m.check()  # a drawn microscope's structure; the labels and kinds above are valid by construction
    return render_checked(labels, kinds, m, key=k_img), labels, kinds


def _dataset(key, density, jitter, microscope, *, num_images, draw, **static):
    """A batch of `_dataset_one`; `draw` (a function key -> Microscope) replaces `microscope`."""
    m = draw if draw is not None else microscope
    return jax.vmap(lambda k: _dataset_one(k, density, jitter, m, **static))(jax.random.split(key, num_images))


_dataset_jit = jax.jit(
    _dataset,
    static_argnames=("num_images", "shape", "site_pixels", "gap", "num_kinds", "warp", "draw", "layout"),
)


def _check_microscope(microscope, key, owner: str):
    """`(base, draw)`: the microscope (or the shape of what `draw` returns) and the draw or None."""
    if isinstance(microscope, Microscope):
        microscope.check()
        return microscope, None
    if not callable(microscope):
        raise fail(
            owner, f"microscope must be a Microscope or a function key -> Microscope, got "
            f"{type(microscope).__name__}.", TypeError,
        )
    base = jax.eval_shape(microscope, key)
    if not isinstance(base, Microscope):
        raise fail(owner, f"microscope as a function must return a Microscope, got {type(base).__name__}.", TypeError)
    return base, microscope


def _check_augment(augment, owner: str) -> Warp | None:
    """The warp `render_dataset(augment=...)` asks for: default ranges, none, or given ones."""
    if augment is True:
        return Warp()
    if augment is False or augment is None:
        return None
    if not isinstance(augment, Mapping):
        raise fail(owner, f"augment must be True, False or a mapping of augment settings, got {augment!r}.", TypeError)
    extra = set(augment) - set(Warp._fields)
    if extra:
        raise fail(owner, f"augment must name only {sorted(Warp._fields)}, got the unknown settings {sorted(extra)}.")
    return check_warp(**augment, owner=owner)


def render_dataset(
    key: jax.Array,
    num_images: int,
    *,
    shape,
    site_pixels,
    microscope: Microscope | Callable[[jax.Array], Microscope],
    num_kinds: int | None = None,
    density: float = 0.8,
    jitter: float = 0.5,
    gap=None,
    augment: bool | Mapping = True,
    layout: str = "scattered",
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """A batch of random lattice states rendered to images, with exact labels and kinds.

    Each image: every site is occupied with probability `density` by a cell of a kind drawn
    uniformly from `0 .. num_kinds - 1` (empty sites are background, there is no "empty"
    kind). With `layout="embryo"` only the sites inside a random ellipse (an ellipsoid in 3D;
    semi-axes 0.2 to 0.48 times the lattice) can be occupied: one compact tissue in background,
    like an embryo inside its eggshell, whose outer cells `outer_cells` finds. Cell outlines from
    `lattice_labels` (site `i` is label `i + 1`) with a fresh `jitter`; optionally a random
    affine warp of the labels (see `augment`); then `render`.
    Warping happens before rendering, so blur and noise are never interpolated. Compiled once
    per set of static arguments; runs under an outer `jit` too (e.g. inside a training step).

    Args:
      key: PRNG key.
      num_images: batch size B.
      shape: lattice shape, 2D or 3D (or an `automata.Lattice`).
      site_pixels: pixels per site, an int or one per axis.
      microscope: a `Microscope` for every image, or a function `key -> Microscope` for a new
        one per image, e.g. `functools.partial(Microscope.sample, style="nuclei")` (pure JAX,
        pass the same function object to avoid recompiling).
      num_kinds: number of kinds to draw (default: all of the microscope's kinds).
      density: probability that a site holds a cell, in [0, 1].
      jitter: cell-outline jitter in [0, 1] (see `lattice_labels`).
      gap: background pixels between cells, an int or one per axis; default 1 for a nuclei
        microscope, 0 for a membrane one (neighbours share an outline).
      augment: True for the default warp of `augment`, False for none, or a mapping of its
        arguments (`rotation`, `shear`, `magnification`, `flip`).
      layout: `"scattered"` (cells anywhere) or `"embryo"` (one compact tissue), see above.

    Returns:
      `(images, labels, kinds)`: float32 images `(B, *pixels)`, int32 labels `(B, *pixels)`
      with `pixels = shape * site_pixels`, and int32 kinds `(B, num_sites + 1)`: `kinds[b, l]`
      is the kind of label `l` in image `b`, -1 for the background (l = 0) and for labels with
      no pixel (empty sites, cells warped out of the frame). Static shapes: pool per cell with
      `num_labels = num_sites + 1` and mask the loss with `kinds >= 0`.

    Example (one microscope for every image; `microscope=Microscope.sample` draws a new one for
    each image, at a longer compile):
      >>> images, labels, kinds = render_dataset(jax.random.key(0), 2, shape=(4, 4),
      ...                                        site_pixels=8, microscope=Microscope.nuclei())
      >>> images.shape, labels.shape, kinds.shape
      ((2, 32, 32), (2, 32, 32), (2, 17))
    """
    owner = "render_dataset"
    num_images = check_int(num_images, "num_images", 1, owner=owner)
    layout = check_choice(layout, "layout", LAYOUTS, owner=owner)
    key = check_key(key, owner=owner)
    base, draw = _check_microscope(microscope, key, owner)
    if gap is None:
        gap = 0 if base.style == "membrane" else 1
    shape, site_pixels, gap, _ = check_label_grid(shape, site_pixels, gap, key=key, jitter=jitter, owner=owner)
    num_kinds = check_int(
        base.num_kinds if num_kinds is None else num_kinds, "num_kinds", 1, maximum=base.num_kinds, owner=owner,
        hint=f"The microscope has a kind_intensity for {base.num_kinds} kinds; use fewer kinds, or a "
        f"microscope with more, e.g. Microscope.{base.style}(num_kinds=...).",
    )
    if concrete(density) is not None:
        check_number(density, "density", minimum=0.0, maximum=1.0, owner=owner, hint="It is the probability that a site holds a cell.")
    return _dataset_jit(
        key, jnp.asarray(density, jnp.float32), jnp.asarray(jitter, jnp.float32),
        None if draw is not None else microscope.as_arrays(),
        num_images=num_images, shape=shape, site_pixels=site_pixels, gap=gap, num_kinds=num_kinds,
        warp=_check_augment(augment, owner), draw=draw, layout=layout,
    )
