"""Render: lattices and populations to microscopy-like images with exact labels.

The inverse of `neurosym.symbolise`, made to train image encoders on simulated embryos: the
label image is known exactly, so every cell's kind is a free, perfect annotation.

- `lattice_labels`: every site of a 2D or 3D lattice becomes one cell, a block of pixels (or a
  Voronoi cell of jittered site centres) with a background gap between neighbours.
- `population_labels`: the same for the alive cells of a `rules.Population`; empty sites are
  background.
- `Microscope`: how cells look (nuclei or membrane stain, brightness and texture per kind) and
  what the instrument does to them (blur, shot and read noise, background, gain, uneven
  illumination); presets and `Microscope.sample` for a random new microscope.
- `render`: labels plus per-label kinds through a `Microscope` to an image; pure JAX, so it can
  be jitted and vmapped over batches and run inside a training step.
- `augment`: one random affine warp applied to an image and its labels (labels stay exact).
- `render_dataset`: a batch of random lattice states rendered to `(images, labels, kinds)`,
  cells scattered over the lattice or packed in one compact embryo-like tissue.
- `outer_cells`: which cells of a label image lie on a tissue's outside (touch the background).

Conventions: a label image holds 0 for background and `1 .. L - 1` for cells; a kinds array
`kinds` of length `L` gives the kind of label `l` as `kinds[l]` (entry 0, the background, is
ignored; -1 marks a label that does not appear). Pixel coordinates are `(row, col)` in 2D and
`(z, row, col)` in 3D; lengths are in pixels.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata.lattice import Lattice
from neurosym._labels import check_label_image, concrete
from rules.population import Population

__all__ = [
    "LAYOUTS",
    "STYLES",
    "Microscope",
    "augment",
    "lattice_labels",
    "outer_cells",
    "population_labels",
    "render",
    "render_dataset",
]

STYLES = ("nuclei", "membrane")

# Microscope fields that are plain non-negative numbers, checked by `Microscope.check`.
_NON_NEGATIVE = (
    "blur", "axial_blur", "noise", "poisson", "background", "gain", "nucleus", "cytoplasm",
    "membrane_intensity", "texture_scale", "cell_variation",
)
_SCALARS = _NON_NEGATIVE + ("drift", "drift_angle")


# ---------------------------------------------------------------------------------------- helpers
def _per_axis(value, ndim: int, name: str, *, minimum: int) -> tuple[int, ...]:
    """An int or one int per axis, each at least `minimum`, as a tuple of `ndim` ints."""
    vals = (value,) * ndim if isinstance(value, (int, np.integer)) else value
    try:
        vals = tuple(vals)
    except TypeError:
        vals = ()
    if (
        len(vals) != ndim
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in vals)
        or any(v < minimum for v in vals)
    ):
        raise ValueError(
            f"{name} must be an integer >= {minimum} or {ndim} of them (one per axis), got "
            f"{value!r}."
        )
    return tuple(int(v) for v in vals)


def _lattice_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, Lattice):
        shape = shape.shape
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"shape must be a lattice shape such as (16, 16) or (8, 16, 16), or an "
            f"automata.Lattice, got {shape!r}."
        ) from err
    if len(out) not in (2, 3) or any(s < 1 for s in out):
        raise ValueError(
            f"Rendering needs a 2D (rows, cols) or 3D (z, rows, cols) lattice of positive size, "
            f"got shape {out}. Use e.g. (16, 16) or (8, 16, 16)."
        )
    return out


def _check_labels(labels, name: str = "labels") -> None:
    check_label_image(labels, name=name, ndims=(2, 3), axes_hint="(rows, cols) or (z, rows, cols); for a batch, vmap over the leading axis.")


def _gauss_weights(sigma, radius: int) -> jax.Array:
    """Normalised Gaussian taps `(2 radius + 1,)`; sigma 0 gives exactly the identity tap."""
    x = jnp.arange(-radius, radius + 1, dtype=jnp.float32)
    # exp underflows to exactly 0 off-centre for a tiny sigma, so blur=0 is an exact no-op.
    s = jnp.maximum(jnp.asarray(sigma, jnp.float32), 1e-6)
    w = jnp.exp(-0.5 * jnp.square(x / s))
    return w / jnp.sum(w)


def _blur_axis(x: jax.Array, w: jax.Array, axis: int) -> jax.Array:
    """Correlate `x` with taps `w` along `axis` (mirror boundary), in full float32 precision."""
    radius = (w.shape[0] - 1) // 2
    if radius == 0:
        return x * w[0]
    pads = [(0, 0)] * x.ndim
    pads[axis] = (radius, radius)
    xp = jnp.moveaxis(jnp.pad(x, pads, mode="symmetric"), axis, -1)
    rows = xp.reshape(-1, 1, xp.shape[-1])
    # HIGHEST: no reduced-precision (TF32) convolutions on GPUs.
    y = jax.lax.conv_general_dilated(
        rows, w.reshape(1, 1, -1), (1,), "VALID", precision=jax.lax.Precision.HIGHEST
    )
    return jnp.moveaxis(y.reshape(xp.shape[:-1] + (x.shape[axis],)), -1, axis)


def _blur(x: jax.Array, sigmas: Sequence, radius: int) -> jax.Array:
    """Separable Gaussian blur, one sigma (pixels) per axis; sigma 0 leaves an axis exactly."""
    for axis, s in enumerate(sigmas):
        # The select makes sigma 0 an exact no-op whatever convolution algorithm runs.
        x = jnp.where(jnp.asarray(s) > 0, _blur_axis(x, _gauss_weights(s, radius), axis), x)
    return x


# ---------------------------------------------------------------------------------------- labels
def _site_labels(shape, site_pixels, gap, jitter, key) -> jax.Array:
    """Pure-JAX core of `lattice_labels` (shape, site_pixels, gap static; jitter traceable)."""
    nd = len(shape)
    pix = tuple(s * p for s, p in zip(shape, site_pixels))
    grid = jnp.meshgrid(*[jnp.arange(n, dtype=jnp.int32) for n in pix], indexing="ij")
    block = [g // p for g, p in zip(grid, site_pixels)]
    widest = max(gap)
    # Voronoi axes: where a jittered centre can keep `widest + 1` pixels from its block's faces.
    vor = [a for a in range(nd) if site_pixels[a] >= 2 * (widest + 1)]
    if key is None or not vor:
        raw = jnp.zeros(pix, jnp.int32)
        for a in range(nd):
            raw = raw * shape[a] + block[a]
        raw = raw + 1
    else:
        raw = _voronoi(shape, site_pixels, vor, widest, jitter, key, grid)
    # Background where another cell (or the frame edge) lies within the gap along an axis.
    keep = jnp.ones(pix, bool)
    for a in range(nd):
        lo = gap[a] // 2
        hi = gap[a] - lo
        if gap[a] == 0:
            continue
        pads = [(0, 0)] * nd
        pads[a] = (lo, hi)
        padded = jnp.pad(raw, pads, constant_values=-1)
        for o in range(-lo, hi + 1):
            if o:
                other = jax.lax.slice_in_dim(padded, lo + o, lo + o + pix[a], axis=a)
                keep = keep & (other == raw)
    return jnp.where(keep, raw, 0).astype(jnp.int32)


def _upsample(x: jax.Array, site_pixels) -> jax.Array:
    """Repeat each site's value over its pixel block (broadcasts, no gathers)."""
    for a, p in enumerate(site_pixels):
        wide = list(x.shape)
        wide.insert(a + 1, p)
        x = jnp.broadcast_to(jnp.expand_dims(x, a + 1), wide)
        x = x.reshape(wide[:a] + [wide[a] * p] + wide[a + 2:])
    return x


def _voronoi(shape, site_pixels, vor, widest, jitter, key, grid) -> jax.Array:
    """Site label + 1 of the nearest jittered centre among each pixel's neighbouring blocks.

    Shifts whole site arrays and upsamples them (no per-pixel gathers: cheap to compile).
    """
    nd = len(shape)
    margin = np.asarray([site_pixels[a] / 2 - (widest + 1) for a in vor], np.float32)
    # Drawn flat and reshaped: n-D draws compile several times slower.
    size = int(np.prod(shape)) * len(vor)
    off = jax.random.uniform(key, (size,), minval=-1.0, maxval=1.0)
    off = off.reshape(tuple(shape) + (len(vor),))
    off = off * jnp.clip(jnp.asarray(jitter, jnp.float32), 0.0, 1.0) * margin
    idx = jnp.meshgrid(*[jnp.arange(n, dtype=jnp.float32) for n in shape], indexing="ij")
    centre = [(idx[a] + 0.5) * site_pixels[a] + off[..., j] for j, a in enumerate(vor)]
    ids = jnp.arange(1, int(np.prod(shape)) + 1, dtype=jnp.int32).reshape(shape)
    pads = [(1, 1) if a in vor else (0, 0) for a in range(nd)]
    # Outside the lattice: centres at infinity (never nearest), id 0.
    centre_p = [jnp.pad(c, pads, constant_values=jnp.inf) for c in centre]
    ids_p = jnp.pad(ids, pads)
    pixel = [grid[a].astype(jnp.float32) + 0.5 for a in vor]
    best_d = jnp.full(grid[0].shape, jnp.inf, jnp.float32)
    best = jnp.zeros(grid[0].shape, jnp.int32)
    for step in itertools.product((-1, 0, 1), repeat=len(vor)):
        start = [0] * nd
        for a, o in zip(vor, step):
            start[a] = 1 + o

        def window(x):
            stop = [s + n for s, n in zip(start, shape)]
            return _upsample(jax.lax.slice(x, start, stop), site_pixels)

        d = jnp.zeros(grid[0].shape, jnp.float32)
        for j in range(len(vor)):
            d = d + jnp.square(pixel[j] - window(centre_p[j]))
        better = d < best_d
        best_d = jnp.where(better, d, best_d)
        best = jnp.where(better, window(ids_p), best)
    return best


_site_labels_jit = jax.jit(_site_labels, static_argnums=(0, 1, 2))


def _check_label_args(shape, site_pixels, gap, key, jitter):
    shape = _lattice_shape(shape)
    nd = len(shape)
    site_pixels = _per_axis(site_pixels, nd, "site_pixels", minimum=1)
    gap = _per_axis(gap, nd, "gap", minimum=0)
    for a in range(nd):
        if site_pixels[a] <= gap[a]:
            raise ValueError(
                f"site_pixels {site_pixels} leaves no pixel for a cell with gap {gap} along axis "
                f"{a}; a cell keeps site_pixels - gap pixels per axis. Use larger site_pixels "
                "or a smaller gap."
            )
    j = concrete(jitter)
    if j is not None:
        if j.shape != () or not np.isfinite(j) or not 0.0 <= float(j) <= 1.0:
            raise ValueError(
                f"jitter must be a number in [0, 1] (0 = square cells, 1 = centres moved as "
                f"far as the gap allows), got {jitter!r}."
            )
        if float(j) > 0 and key is None:
            raise ValueError(
                f"jitter={float(j)} moves the site centres at random and needs a key, e.g. "
                "key=jax.random.key(0); or use jitter=0.0 for square cells."
            )
    return shape, site_pixels, gap


def lattice_labels(shape, site_pixels, *, key=None, jitter=0.0, gap=1) -> jax.Array:
    """A label image with one cell per lattice site: site `i` (flat, C order) gets label `i + 1`.

    Without jitter, site `s` covers the pixel block `s * site_pixels ... (s + 1) * site_pixels`
    minus a background border: along each axis the first `gap // 2` and last `gap - gap // 2`
    pixels of every block are 0, so neighbouring cells are `gap` pixels apart (and blocks at
    the frame's far edges end in the same border). With `jitter > 0` cells are the Voronoi
    cells of jittered site centres (each pixel goes to the nearest centre among its block's
    `3 ** ndim` neighbours), and pixels within `gap` of another cell become background.

    Centres move by at most `jitter * (site_pixels / 2 - max(gap) - 1)` pixels along each axis
    whose `site_pixels >= 2 * (max(gap) + 1)` (other axes, e.g. a thin z, stay blocks). This
    keeps every site's centre pixel, so every site keeps its label: the image always holds
    exactly `num_sites` cell labels.

    Args:
      shape: lattice shape, 2D `(rows, cols)` or 3D `(z, rows, cols)`, or an `automata.Lattice`.
      site_pixels: pixels per site, an int or one per axis (e.g. `(3, 8, 8)` for thin z).
      key: PRNG key for the jittered centres (needed when `jitter > 0`).
      jitter: in [0, 1], how far centres move, as a fraction of the room the gap leaves.
      gap: background pixels between neighbouring cells, an int or one per axis (0 = cells
        touch, as membranes do).

    Returns:
      int32 label image of shape `shape * site_pixels`, 0 = background.

    Example:
      >>> lattice_labels((2, 2), 3)[:4].tolist()          # rows 0-3 of a 6 x 6 image
      [[1, 1, 0, 2, 2, 0], [1, 1, 0, 2, 2, 0], [0, 0, 0, 0, 0, 0], [3, 3, 0, 4, 4, 0]]
      >>> lab = lattice_labels((4, 4), 8, key=jax.random.key(0), jitter=1.0)
      >>> lab.shape, len(np.unique(lab)) - 1
      ((32, 32), 16)
    """
    shape, site_pixels, gap = _check_label_args(shape, site_pixels, gap, key, jitter)
    return _site_labels_jit(shape, site_pixels, gap, jnp.asarray(jitter, jnp.float32), key)


def population_labels(
    lattice: Lattice, population: Population, site_pixels, *, key=None, jitter=0.0, gap=1
) -> tuple[jax.Array, jax.Array]:
    """A label image of a population's alive cells (label = slot + 1) and each label's kind.

    The geometry is `lattice_labels` (same `key` and `jitter` give the same cell outlines);
    the cell on a site carries the label of its population slot, empty sites are background.
    Pure JAX once the arguments are checked (the lattice is static), so it runs under `jit`.

    Args:
      lattice: the `automata.Lattice` the population lives on (2D or 3D).
      population: a `rules.Population` on that lattice.
      site_pixels, key, jitter, gap: as in `lattice_labels`.

    Returns:
      `(labels, kinds)`: int32 labels of shape `lattice.shape * site_pixels` (slot `i` is label
      `i + 1`, 0 = background) and int32 kinds of shape `(capacity + 1,)`, `kinds[i + 1] =
      population.kind[i]` for alive cells and -1 for the background (entry 0) and for slots
      not alive (no pixels). Ready for `render(labels, kinds, microscope, key=...)`.

    Example:
      >>> import automata
      >>> lat = automata.Lattice((2, 3))
      >>> pop = Population.create(lat, [[0, 0], [1, 2]], [0, 2], capacity=4)
      >>> labels, kinds = population_labels(lat, pop, 2)
      >>> labels[::2, ::2].tolist(), kinds.tolist()
      ([[1, 0, 0], [0, 0, 2]], [-1, 0, 2, -1, -1])
    """
    if not isinstance(lattice, Lattice):
        raise TypeError(
            f"lattice must be an automata.Lattice, got {type(lattice).__name__}. Build one "
            "with automata.Lattice(shape)."
        )
    if not isinstance(population, Population):
        raise TypeError(
            f"population must be a rules.Population, got {type(population).__name__}. Build "
            "one with Population.create."
        )
    shape, site_pixels, gap = _check_label_args(lattice, site_pixels, gap, key, jitter)
    population.check(lattice)
    return _population_labels_jit(
        shape, site_pixels, gap, population, jnp.asarray(jitter, jnp.float32), key
    )


def _population_labels(shape, site_pixels, gap, population, jitter, key):
    site = _site_labels(shape, site_pixels, gap, jitter, key)
    occ = jnp.asarray(population.occupancy).reshape(-1)
    slot_ok = (occ >= 0) & population.alive[jnp.clip(occ, 0)]
    lut = jnp.concatenate([jnp.zeros(1, jnp.int32), jnp.where(slot_ok, occ + 1, 0).astype(jnp.int32)])
    kinds = jnp.where(population.alive, population.kind, -1).astype(jnp.int32)
    return lut[site], jnp.concatenate([jnp.full(1, -1, jnp.int32), kinds])


_population_labels_jit = jax.jit(_population_labels, static_argnums=(0, 1, 2))


# ---------------------------------------------------------------------------------------- microscope
class Microscope(struct.PyTreeNode):
    """How cells look and what the instrument does to them: a pytree of floats for `render`.

    Every number is a leaf, so a microscope can be traced by `jit`, batched by `vmap` (e.g. a
    new random microscope per image, `jax.vmap(Microscope.sample)(keys)`) or differentiated.
    Intensities are relative: 1 is the brightest stain before gain and background. Build one
    with `Microscope.nuclei()`, `Microscope.membrane()` or `Microscope.sample(key)`, and change
    fields with `.replace(noise=0.0)`.

    Attributes (K = number of kinds; lengths in pixels):
      style: `"nuclei"` (a bright nucleus, the cell's moment ellipse scaled by `nucleus`, in a
        dim cytoplasm) or `"membrane"` (bright lines on every cell's boundary pixels, interiors
        at the kind's intensity). Static, not a leaf.
      kind_intensity: `(K,)` mean brightness of each kind: of the nucleus (nuclei style) or of
        the cell interior (membrane style). A tuple or an array.
      kind_texture: `(K,)` per-kind texture amplitude (the relative standard deviation of a
        multiplicative speckle of correlation length `texture_scale`), so kinds differ in
        texture as well as in mean; None = no texture.
      texture_scale: speckle correlation length (Gaussian sigma, pixels).
      nucleus: nucleus size as a fraction of the cell's moment ellipse (ellipsoid in 3D), the
        ellipse with the cell's centroid and second moments (nuclei style).
      cytoplasm: cytoplasm brightness as a fraction of the nucleus's (nuclei style).
      membrane_intensity: brightness of the boundary lines (membrane style).
      cell_variation: relative standard deviation of a per-cell brightness factor (cells of
        one kind are not all equally bright).
      blur: Gaussian point-spread sigma in the image plane (pixels); 0 = none.
      axial_blur: Gaussian sigma along z for 3D images (pixels); unused in 2D.
      noise: Gaussian read-noise standard deviation (intensity units, 1 = brightest stain).
      poisson: photons collected at intensity 1 (shot noise: counts ~ Poisson(poisson * I),
        image = counts / poisson; exact up to 30 photons per pixel, a rounded normal above);
        0 = no shot noise.
      background: intensity added everywhere (autofluorescence, camera offset).
      gain: multiplies the signal (detector gain, laser power).
      drift: uneven illumination: intensity times `1 + drift * g`, with `g` going linearly
        from -1/2 to 1/2 across the image along `drift_angle` (2D) or along z (3D, e.g.
        dimming with depth).
      drift_angle: direction of the 2D illumination gradient (radians, 0 = along columns).
      kernel_radius: blur kernel half-width in pixels (static, the same on every axis); blur
        sigmas up to about `kernel_radius / 3` are represented faithfully, wider ones are
        truncated. More taps cost compile and run time.

    Example:
      >>> m = Microscope.nuclei(num_kinds=2).replace(noise=0.0)
      >>> m.style, m.kind_intensity
      ('nuclei', (0.3, 1.0))
    """

    style: str = struct.field(pytree_node=False, default="nuclei")
    kind_intensity: tuple | jax.Array = (0.3, 0.65, 1.0)
    kind_texture: tuple | jax.Array | None = None
    texture_scale: float | jax.Array = 1.0
    nucleus: float | jax.Array = 0.6
    cytoplasm: float | jax.Array = 0.15
    membrane_intensity: float | jax.Array = 1.0
    cell_variation: float | jax.Array = 0.1
    blur: float | jax.Array = 1.0
    axial_blur: float | jax.Array = 2.0
    noise: float | jax.Array = 0.02
    poisson: float | jax.Array = 200.0
    background: float | jax.Array = 0.05
    gain: float | jax.Array = 1.0
    drift: float | jax.Array = 0.1
    drift_angle: float | jax.Array = 0.0
    kernel_radius: int = struct.field(pytree_node=False, default=8)

    def __post_init__(self):
        # Only static fields here: leaves may be tracers or placeholders while JAX rebuilds us.
        if self.style not in STYLES:
            raise ValueError(
                f"Unknown microscope style {self.style!r}; choose one of "
                f"{', '.join(map(repr, STYLES))}."
            )
        r = self.kernel_radius
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0:
            raise ValueError(
                f"kernel_radius must be a non-negative integer (pixels), got {self.kernel_radius!r}."
            )

    # ------------------------------------------------------------------ presets
    @classmethod
    def nuclei(cls, num_kinds: int = 3) -> "Microscope":
        """A nuclear stain (e.g. H2B-GFP): bright nuclei in a dim cytoplasm, brightness by kind.

        Kinds are spread evenly in brightness from 0.3 to 1.0 and in texture from 0 to 0.3.

        Args:
          num_kinds: number of kinds K (>= 1).

        Example:
          >>> Microscope.nuclei(num_kinds=3).kind_texture
          (0.0, 0.15, 0.3)
        """
        k = _num_kinds(num_kinds)
        return cls(
            style="nuclei",
            kind_intensity=_spread(0.3, 1.0, k),
            kind_texture=_spread(0.0, 0.3, k),
        )

    @classmethod
    def membrane(cls, num_kinds: int = 3) -> "Microscope":
        """A membrane stain: bright cell outlines, interiors dim with kind-dependent brightness.

        Interiors are spread from 0.1 to 0.45 in brightness and 0 to 0.3 in texture; lines are
        at 1. Use `gap=0` labels so neighbouring cells share one outline.

        Args:
          num_kinds: number of kinds K (>= 1).

        Example:
          >>> Microscope.membrane(num_kinds=2).kind_intensity
          (0.1, 0.45)
        """
        k = _num_kinds(num_kinds)
        return cls(
            style="membrane",
            kind_intensity=_spread(0.1, 0.45, k),
            kind_texture=_spread(0.0, 0.3, k),
            membrane_intensity=1.0,
            cell_variation=0.05,
        )

    @classmethod
    def sample(
        cls,
        key: jax.Array,
        *,
        style: str = "nuclei",
        base: "Microscope | None" = None,
        blur: tuple[float, float] = (0.5, 2.0),
        axial_ratio: tuple[float, float] = (1.5, 3.0),
        noise: tuple[float, float] = (0.0, 0.06),
        poisson: tuple[float, float] = (50.0, 2000.0),
        background: tuple[float, float] = (0.0, 0.15),
        gain: tuple[float, float] = (0.7, 1.3),
        drift: tuple[float, float] = (-0.4, 0.4),
    ) -> "Microscope":
        """A new random microscope: the instrument drawn at random, the stain from `base`.

        Each range `(low, high)` is sampled uniformly (`poisson` log-uniformly when `low > 0`;
        `(0, 0)` turns a noise off); the illumination direction is uniform. The kinds'
        appearance (`kind_intensity`, `kind_texture`, `nucleus`, `cytoplasm`,
        `membrane_intensity`, `cell_variation`, `texture_scale`) comes from `base`, by default
        the preset of `style`, so a classifier trained on one microscope can be tested on
        another with the same stain. Leaves come back as float32 arrays. Pure JAX:
        `jax.vmap(Microscope.sample)(keys)` gives one microscope per image.

        Args:
          key: PRNG key.
          style: `"nuclei"` or `"membrane"` (ignored when `base` is given).
          base: the microscope whose stain is kept.
          blur: in-plane blur sigma range (pixels).
          axial_ratio: range of axial_blur / blur (3D only).
          noise, poisson, background, gain, drift: ranges of those fields (see the class).

        Example:
          >>> m = Microscope.sample(jax.random.key(0), style="membrane")
          >>> m.style, 0.5 <= float(m.blur) <= 2.0
          ('membrane', True)
        """
        if base is None:
            if style not in STYLES:
                raise ValueError(
                    f"Unknown microscope style {style!r}; choose one of "
                    f"{', '.join(map(repr, STYLES))}."
                )
            base = cls.nuclei() if style == "nuclei" else cls.membrane()
        elif not isinstance(base, Microscope):
            raise TypeError(f"base must be a Microscope, got {type(base).__name__}.")
        ranges = dict(blur=blur, axial_ratio=axial_ratio, noise=noise, poisson=poisson,
                      background=background, gain=gain, drift=drift)
        for name, r in ranges.items():
            ok = isinstance(r, (tuple, list)) and len(r) == 2
            if ok:
                lo, hi = float(r[0]), float(r[1])
                ok = np.isfinite(lo) and np.isfinite(hi) and lo <= hi
                ok = ok and (name == "drift" or lo >= 0)
            if not ok:
                raise ValueError(
                    f"{name} must be a range (low, high) with low <= high"
                    + ("" if name == "drift" else " and low >= 0")
                    + f", got {r!r}."
                )
        ranges = tuple((float(r[0]), float(r[1])) for r in ranges.values())
        # Static: sized for the largest in-plane blur (a wide axial blur is truncated).
        radius = max(int(base.kernel_radius), math.ceil(3 * blur[1]))
        return _sample_jit(key, _as_arrays(base).replace(kernel_radius=radius), ranges)

    # ------------------------------------------------------------------ checks
    @property
    def num_kinds(self) -> int:
        """Number of kinds K (the length of `kind_intensity`)."""
        shape = _leaf_shape(self.kind_intensity)
        return int(shape[-1]) if shape else 1

    def check(self) -> None:
        """Raise a clear error unless every value is usable (when concrete, i.e. outside jit)."""
        ki = concrete(self.kind_intensity)
        if ki is not None:
            if ki.ndim != 1 or ki.size == 0:
                raise ValueError(
                    f"kind_intensity must be a sequence with one brightness per kind, e.g. "
                    f"(0.3, 0.65, 1.0), got {self.kind_intensity!r}."
                )
            if not np.all(np.isfinite(ki)):
                raise ValueError(
                    f"kind_intensity holds NaN or infinite values: {ki.tolist()}. Give one "
                    "finite brightness per kind, e.g. Microscope.nuclei().kind_intensity."
                )
        if self.kind_texture is not None:
            kt = concrete(self.kind_texture)
            if kt is not None:
                if kt.shape != _leaf_shape(self.kind_intensity):
                    raise ValueError(
                        f"kind_texture must have one amplitude per kind, shape "
                        f"{_leaf_shape(self.kind_intensity)} like kind_intensity, got shape "
                        f"{kt.shape}; or None for no texture."
                    )
                if not np.all(np.isfinite(kt) & (kt >= 0)):
                    raise ValueError(
                        f"kind_texture must be finite and >= 0, got {kt.tolist()}."
                    )
        for name in _SCALARS:
            v = concrete(getattr(self, name))
            if v is None:
                continue
            if v.shape != ():
                raise ValueError(
                    f"Microscope.{name} must be a single number, got shape {v.shape}. For one "
                    "microscope per image, vmap render over a batched microscope."
                )
            if not np.isfinite(v) or (name in _NON_NEGATIVE and v < 0):
                raise ValueError(
                    f"Microscope.{name} must be a finite"
                    + (" non-negative" if name in _NON_NEGATIVE else "")
                    + f" number, got {float(v)}."
                )


def _sample(key, base: Microscope, ranges) -> Microscope:
    """Pure-JAX core of `Microscope.sample`; `ranges` static, in the order of its arguments."""
    u = jax.random.uniform(key, (len(ranges) + 1,))

    def draw(i, log=False):
        lo, hi = ranges[i]
        if log and lo > 0:
            return jnp.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * u[i])
        return lo + (hi - lo) * u[i]

    b = draw(0)
    return base.replace(
        blur=b,
        axial_blur=b * draw(1),
        noise=draw(2),
        poisson=draw(3, log=True),
        background=draw(4),
        gain=draw(5),
        drift=draw(6),
        drift_angle=2 * math.pi * u[7],
    )


_sample_jit = jax.jit(_sample, static_argnums=2)


def _leaf_shape(x) -> tuple[int, ...]:
    """Shape of an array, or `(len,)` of a tuple of numbers (tracers allowed)."""
    if isinstance(x, (tuple, list)):
        return (len(x),)
    return tuple(getattr(x, "shape", np.shape(x)))


def _num_kinds(num_kinds) -> int:
    if isinstance(num_kinds, bool) or not isinstance(num_kinds, (int, np.integer)) or num_kinds < 1:
        raise ValueError(f"num_kinds must be a positive integer, got {num_kinds!r}.")
    return int(num_kinds)


def _spread(lo: float, hi: float, k: int) -> tuple[float, ...]:
    if k == 1:
        return (hi,)
    return tuple(round(lo + (hi - lo) * i / (k - 1), 6) for i in range(k))


# ---------------------------------------------------------------------------------------- render
def _kinds_array(kinds, labels) -> jax.Array:
    """kinds as an int array; a mapping label -> kind becomes an array with -1 for gaps."""
    if isinstance(kinds, Mapping):
        lab = concrete(labels)
        if lab is None:
            raise TypeError(
                "kinds as a mapping needs concrete labels; inside jit give kinds as an array "
                "with kinds[label] = kind."
            )
        keys = [int(k) for k in kinds]
        present = np.unique(lab)
        present = present[present > 0]
        missing = [int(p) for p in present if int(p) not in kinds][:5]
        if missing:
            raise ValueError(
                f"kinds has no entry for the labels {missing} present in the image; give a kind "
                "for every label."
            )
        size = max(keys + [int(lab.max()) if lab.size else 0, 0]) + 1
        out = np.full(size, -1, np.int64)
        for k, v in kinds.items():
            out[int(k)] = int(v)
        return jnp.asarray(out, jnp.int32)
    dtype = getattr(kinds, "dtype", None)
    if dtype is None:
        kinds = np.asarray(kinds)
        dtype = kinds.dtype
    if dtype == bool or not jnp.issubdtype(dtype, jnp.integer):
        raise TypeError(
            f"kinds must be integer kind indices (kinds[label] = kind of that label), got dtype "
            f"{dtype}. Cast with .astype(np.int32), or give a mapping label -> kind."
        )
    if len(np.shape(kinds)) != 1:
        raise ValueError(
            f"kinds must be 1D, one kind per label value (kinds[0] for the background is "
            f"ignored), got shape {tuple(np.shape(kinds))}. For a batch, vmap render."
        )
    return jnp.asarray(kinds, jnp.int32)


def _check_render_values(labels, kinds, microscope: Microscope) -> None:
    lab, kin = concrete(labels), concrete(kinds)
    if lab is None or kin is None or lab.size == 0:
        return
    top = int(lab.max())
    if top >= kin.shape[0]:
        raise ValueError(
            f"kinds has {kin.shape[0]} entries but the labels go up to {top}; kinds needs at "
            f"least max(labels) + 1 = {top + 1} entries (kinds[label] is that label's kind, "
            "kinds[0] the ignored background). Pad kinds with -1."
        )
    present = np.unique(lab)
    present = present[present > 0]
    k = kin[present]
    bad = (k < 0) | (k >= microscope.num_kinds)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(
            f"Label {int(present[i])} has kind {int(k[i])}, but the microscope knows "
            f"{microscope.num_kinds} kinds (0 .. {microscope.num_kinds - 1}, one per "
            "kind_intensity entry). Give every kind a kind_intensity, or fix the kinds."
        )


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


def _uniform_normal(key, size: int) -> tuple[jax.Array, jax.Array]:
    """`size` uniforms in (0, 1) and the standard normals they map to, from one PRNG call.

    One draw instead of several keeps compile times down (each PRNG call compiles its own
    hash); normals by the inverse error function, as `jax.random.normal` does.
    """
    v = jax.random.uniform(key, (size,), minval=np.nextafter(np.float32(-1), np.float32(1)), maxval=1.0)
    return (v + 1.0) / 2.0, np.float32(np.sqrt(2.0)) * jax.lax.erf_inv(v)


def _shot_noise(u: jax.Array, z: jax.Array, lam: jax.Array) -> jax.Array:
    """Poisson(lam) counts from uniforms `u` and normals `z`: exact (inverse CDF) up to 30
    photons, a rounded normal above.

    A fixed number of steps instead of `jax.random.poisson`'s rejection loops: far cheaper to
    compile. Above 30 photons the Poisson's skewness is below 0.2 and the rounded normal with
    the same mean and variance is a close match.
    """
    small = lam <= 30.0
    lam_s = jnp.where(small, lam, 0.0)

    def body(i, carry):
        k, p, cdf = carry
        k = k + (u > cdf)
        p = p * lam_s / i
        return k, p, cdf + p

    p0 = jnp.exp(-lam_s)
    k, _, _ = jax.lax.fori_loop(1, 90, body, (jnp.zeros(lam.shape, jnp.float32), p0, p0))
    big = jnp.maximum(jnp.round(lam + jnp.sqrt(lam) * z), 0.0)
    return jnp.where(small, k, big)


def _face_neighbours(labels, **pad) -> list[jax.Array]:
    """Each pixel's face neighbours (2 per axis) as shifted copies of `labels`; beyond the frame
    as `jnp.pad(labels, ..., **pad)` fills it (e.g. `mode="edge"` or `constant_values=0`)."""
    out = []
    for a in range(labels.ndim):
        pads = [(0, 0)] * labels.ndim
        pads[a] = (1, 1)
        p = jnp.pad(labels, pads, **pad)
        n = labels.shape[a]
        out += [jax.lax.slice_in_dim(p, 0, n, axis=a), jax.lax.slice_in_dim(p, 2, n + 2, axis=a)]
    return out


def _boundary(labels) -> jax.Array:
    """Cell pixels with a face neighbour of another label (the frame edge is not a boundary)."""
    edge = jnp.zeros(labels.shape, bool)
    for nb in _face_neighbours(labels, mode="edge"):
        edge = edge | (nb != labels)
    return edge & (labels > 0)


def _as_arrays(m: Microscope) -> Microscope:
    """Every leaf a float32 array and `kind_texture` never None: one pytree structure to jit."""
    ki = jnp.asarray(m.kind_intensity, jnp.float32)
    kt = jnp.zeros_like(ki) if m.kind_texture is None else jnp.asarray(m.kind_texture, jnp.float32)
    return m.replace(
        kind_intensity=ki, kind_texture=kt,
        **{name: jnp.asarray(getattr(m, name), jnp.float32) for name in _SCALARS},
    )


def _render(labels, kinds, m: Microscope, key) -> jax.Array:
    """Pure-JAX core of `render`."""
    nd = labels.ndim
    num_labels = kinds.shape[0]
    labels = jnp.clip(labels.astype(jnp.int32), 0, num_labels - 1)
    ki = jnp.atleast_1d(jnp.asarray(m.kind_intensity, jnp.float32))
    num_kinds = ki.shape[0]
    kt = (
        jnp.zeros(num_kinds, jnp.float32)
        if m.kind_texture is None
        else jnp.atleast_1d(jnp.asarray(m.kind_texture, jnp.float32))
    )
    size = int(np.prod(labels.shape))
    u, z = _uniform_normal(key, 4 * size + num_labels)
    # Independent slices: texture, shot uniform, shot normal, read noise, per-cell factor.
    z_tex, u_shot, z_shot, z_read = (
        x.reshape(labels.shape)
        for x in (z[:size], u[size: 2 * size], z[2 * size: 3 * size], z[3 * size: 4 * size])
    )
    z_cell = z[4 * size:]
    radius = int(m.kernel_radius)
    cell = labels > 0
    kind = jnp.clip(kinds, 0, num_kinds - 1)[labels]

    # Per-cell brightness and per-kind speckle texture (a unit-variance correlated field).
    factor = jnp.maximum(1.0 + m.cell_variation * z_cell, 0.0)
    w = _gauss_weights(m.texture_scale, radius)
    speckle = _blur(z_tex, [m.texture_scale] * nd, radius) / jnp.sqrt(jnp.sum(w * w)) ** nd
    texture = jnp.maximum(1.0 + kt[kind] * speckle, 0.0)
    interior = ki[kind] * factor[labels] * texture

    if m.style == "nuclei":
        coords = jnp.meshgrid(*[jnp.arange(n, dtype=jnp.float32) for n in labels.shape], indexing="ij")
        centre, prec = _moments(labels, num_labels, coords)
        d = jnp.stack(coords, -1) - centre[labels]
        maha = jnp.einsum("...i,...ij,...j->...", d, prec[labels], d)
        # A uniform ellipsoid of semi-axes a in D dimensions has variance a**2 / (D + 2).
        nucleus = maha <= (nd + 2) * jnp.square(m.nucleus)
        ideal = interior * jnp.where(nucleus, 1.0, m.cytoplasm)
    else:
        ideal = jnp.where(_boundary(labels), m.membrane_intensity, interior)
    ideal = jnp.where(cell, ideal, 0.0)

    sigmas = [m.blur] * nd
    if nd == 3:
        sigmas[0] = m.axial_blur
    image = _blur(ideal, sigmas, radius)

    # Uneven illumination: a linear ramp from -1/2 to 1/2 across the image.
    if nd == 2:
        h, wd = labels.shape
        r = jnp.arange(h, dtype=jnp.float32)[:, None] / max(h - 1, 1) - 0.5
        c = jnp.arange(wd, dtype=jnp.float32)[None, :] / max(wd - 1, 1) - 0.5
        ramp = r * jnp.sin(m.drift_angle) + c * jnp.cos(m.drift_angle)
    else:
        depth = labels.shape[0]
        ramp = (jnp.arange(depth, dtype=jnp.float32) / max(depth - 1, 1) - 0.5)[:, None, None]
    image = m.gain * image * (1.0 + m.drift * ramp) + m.background

    photons = jnp.asarray(m.poisson, jnp.float32)
    on = photons > 0
    scale = jnp.where(on, photons, 1.0)
    counts = _shot_noise(u_shot, z_shot, jnp.maximum(image, 0.0) * scale)
    image = jnp.where(on, counts / scale, image)
    image = image + m.noise * z_read
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
      >>> labels = lattice_labels((4, 4), 8)                 # 16 square cells of 7 x 7 pixels
      >>> kinds = jnp.array([-1] + [0, 1] * 8)               # label 1 is kind 0, label 2 kind 1
      >>> m = Microscope.nuclei().replace(noise=0.0, poisson=0.0, blur=0.0, cell_variation=0.0,
      ...                                 kind_texture=None, background=0.0, drift=0.0)
      >>> image = render(labels, kinds, m, key=jax.random.key(0))
      >>> image.shape, [round(float(image[i, j]), 4) for i, j in [(3, 3), (3, 11), (0, 0), (7, 7)]]
      ((32, 32), [0.3, 0.65, 0.045, 0.0])
    """
    if not isinstance(microscope, Microscope):
        raise TypeError(
            f"microscope must be a Microscope, got {type(microscope).__name__}. Use e.g. "
            "Microscope.nuclei()."
        )
    _check_labels(labels)
    kinds = _kinds_array(kinds, labels)
    microscope.check()
    kt = microscope.kind_texture
    if kt is not None and _leaf_shape(kt) != _leaf_shape(microscope.kind_intensity):
        raise ValueError(
            f"kind_texture has shape {_leaf_shape(kt)} but kind_intensity "
            f"{_leaf_shape(microscope.kind_intensity)}; give one texture amplitude per kind."
        )
    _check_render_values(labels, kinds, microscope)
    return _render_jit(jnp.asarray(labels), kinds, _as_arrays(microscope), key)


# ---------------------------------------------------------------------------------------- augment
def _affine_coords(shape2d, key, rotation, shear, magnification, flip):
    """Source (row, col) of every output pixel under a random in-plane affine map."""
    u = jax.random.uniform(key, (4,))
    theta = math.radians(rotation) * (2.0 * u[0] - 1.0)
    s = shear * (2.0 * u[1] - 1.0)
    lo, hi = math.log(magnification[0]), math.log(magnification[1])
    mag = jnp.exp(lo + (hi - lo) * u[2])
    mirror = (u[3] < 0.5) if flip else jnp.asarray(False)
    # Forward map: y = R(theta) Shear(s) mag Flip x about the centre; apply its inverse.
    ct, st = jnp.cos(theta), jnp.sin(theta)
    h, w = shape2d
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    yy, xx = jnp.meshgrid(jnp.arange(h, dtype=jnp.float32) - cy,
                          jnp.arange(w, dtype=jnp.float32) - cx, indexing="ij")
    # R(-theta)
    r1 = ct * yy + st * xx
    c1 = -st * yy + ct * xx
    # Shear(-s): (r, c) -> (r - s c, c)
    r2 = r1 - s * c1
    c2 = c1
    r3, c3 = r2 / mag, c2 / mag
    c3 = jnp.where(mirror, -c3, c3)
    return r3 + cy, c3 + cx


def _warp_labels(labels2d, rows, cols):
    """Nearest-neighbour lookup: exact integer labels, 0 outside the frame."""
    h, w = labels2d.shape
    ri = jnp.round(rows).astype(jnp.int32)
    ci = jnp.round(cols).astype(jnp.int32)
    inside = (ri >= 0) & (ri < h) & (ci >= 0) & (ci < w)
    out = labels2d[jnp.clip(ri, 0, h - 1), jnp.clip(ci, 0, w - 1)]
    return jnp.where(inside, out, jnp.zeros((), labels2d.dtype))


def _augment(image, labels, key, rotation, shear, magnification, flip, fill):
    """Pure-JAX core of `augment`; `image` may be None (labels only)."""
    rows, cols = _affine_coords(labels.shape[-2:], key, rotation, shear, magnification, flip)

    def one(img, lab):
        lab = _warp_labels(lab, rows, cols)
        if img is None:
            return None, lab
        img = jax.scipy.ndimage.map_coordinates(img, [rows, cols], order=1, mode="constant", cval=fill)
        return img, lab

    if labels.ndim == 2:
        return one(image, labels)
    if image is None:
        return None, jax.vmap(lambda lab: one(None, lab)[1])(labels)
    return jax.vmap(one)(image, labels)


_augment_jit = jax.jit(_augment, static_argnums=(3, 4, 5, 6, 7))


def _check_augment_args(rotation, shear, magnification, flip):
    try:
        rotation, shear = float(rotation), float(shear)
        lo, hi = (float(v) for v in magnification)
    except (TypeError, ValueError) as err:
        raise TypeError(
            "rotation and shear must be numbers and magnification a pair (low, high), got "
            f"rotation={rotation!r}, shear={shear!r}, magnification={magnification!r}."
        ) from err
    if not (np.isfinite(rotation) and rotation >= 0):
        raise ValueError(f"rotation is the largest angle in degrees, a number >= 0; got {rotation}.")
    if not (np.isfinite(shear) and shear >= 0):
        raise ValueError(f"shear is the largest shear factor, a number >= 0; got {shear}.")
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 < lo <= hi):
        raise ValueError(
            f"magnification must be a range (low, high) with 0 < low <= high, e.g. (0.8, 1.25); "
            f"got {magnification!r}. Use (1, 1) for no zoom."
        )
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"flip must be True or False, got {flip!r}.")
    return rotation, shear, (lo, hi), bool(flip)


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
      >>> labels = lattice_labels((4, 4), 8)
      >>> image = (labels > 0).astype(jnp.float32)
      >>> img2, lab2 = augment(image, labels, key=jax.random.key(1))
      >>> lab2.dtype, set(np.unique(lab2)) <= set(np.unique(labels))
      (dtype('int32'), True)
    """
    rotation, shear, magnification, flip = _check_augment_args(rotation, shear, magnification, flip)
    try:
        fill = float(fill)
    except (TypeError, ValueError) as err:
        raise TypeError(f"fill must be a number (a static image value), got {fill!r}.") from err
    _check_labels(labels)
    if tuple(np.shape(image)) != tuple(np.shape(labels)):
        raise ValueError(
            f"image has shape {tuple(np.shape(image))} but labels {tuple(np.shape(labels))}; "
            "give the labels of this image (same shape)."
        )
    image = jnp.asarray(image)
    if not jnp.issubdtype(image.dtype, jnp.floating):
        image = image.astype(jnp.float32)
    return _augment_jit(
        image, jnp.asarray(labels), key, rotation, shear, magnification, flip, fill
    )


# ---------------------------------------------------------------------------------------- datasets
def _embryo_sites(key, shape) -> jax.Array:
    """Sites inside a random ellipse (ellipsoid) of the lattice: a compact embryo-like tissue.

    Semi-axes are 20-48% of the lattice along each axis and the centre moves by up to 8% of
    it, so most tissues lie inside the lattice and the largest may reach its edge (where
    `outer_cells` counts the frame as outside); the centre site is always inside.
    """
    k_r, k_c = jax.random.split(key)
    size = jnp.asarray(shape, jnp.float32)
    radius = size * jax.random.uniform(k_r, (len(shape),), minval=0.2, maxval=0.48)
    centre = (size - 1) / 2 + size * jax.random.uniform(k_c, (len(shape),), minval=-0.08, maxval=0.08)
    grid = jnp.stack(jnp.meshgrid(*[jnp.arange(n, dtype=jnp.float32) for n in shape], indexing="ij"), -1)
    inside = (((grid - centre) / jnp.maximum(radius, 0.5)) ** 2).sum(-1) <= 1.0
    nearest = jnp.round(centre).astype(jnp.int32)
    return inside.at[tuple(nearest)].set(True).reshape(-1)


def _dataset_one(key, shape, site_pixels, gap, num_kinds, density, jitter, aug, microscope, layout):
    k_lab, k_kind, k_aug, k_mic, k_img = jax.random.split(key, 5)
    site = _site_labels(shape, site_pixels, gap, jitter, k_lab)
    num_sites = int(np.prod(shape))
    u = jax.random.uniform(k_kind, (2 * num_sites,)).reshape(2, num_sites)
    kind = jnp.minimum(jnp.floor(u[0] * num_kinds), num_kinds - 1).astype(jnp.int32)
    occupied = u[1] < density
    if layout == "embryo":
        occupied = occupied & _embryo_sites(jax.random.fold_in(k_kind, 1), shape)
    kinds = jnp.concatenate([jnp.full(1, -1, jnp.int32), jnp.where(occupied, kind, -1)])
    labels = jnp.where(kinds[site] >= 0, site, 0)
    if aug is not None:
        _, labels = _augment(None, labels, k_aug, *aug, 0.0)
    present = jnp.zeros(num_sites + 1, bool).at[labels].set(True).at[0].set(False)
    kinds = jnp.where(present, kinds, -1)
    m = microscope if isinstance(microscope, Microscope) else microscope(k_mic)
    return _render(labels, kinds, _as_arrays(m), k_img), labels, kinds


def _dataset(
    key, density, jitter, microscope, *, num_images, shape, site_pixels, gap, num_kinds, aug, draw,
    layout,
):
    m = draw if draw is not None else microscope
    return jax.vmap(
        lambda k: _dataset_one(k, shape, site_pixels, gap, num_kinds, density, jitter, aug, m, layout)
    )(jax.random.split(key, num_images))


_dataset_jit = jax.jit(
    _dataset,
    static_argnames=("num_images", "shape", "site_pixels", "gap", "num_kinds", "aug", "draw", "layout"),
)

#: Where `render_dataset` puts cells: anywhere on the lattice, or in one compact tissue.
LAYOUTS = ("scattered", "embryo")


def outer_cells(labels, num_labels: int) -> jax.Array:
    """Which labels lie on a tissue's outside: a pixel next to background (label 0) or the frame.

    Face neighbours only (4 in 2D, 6 in 3D). A tissue whose cells touch (membrane-style labels,
    `gap=0`) then has its outer layer marked and every cell inside it unmarked.

    Args:
      labels: one integer label image `(*spatial)`, 0 = background (vmap for a batch).
      num_labels: static number of label values (max label + 1).

    Returns:
      `(num_labels,)` booleans; entry 0 (the background) and absent labels are False.

    Example:
      >>> lab = jnp.array([[0, 0, 0, 0, 0], [0, 1, 1, 1, 0], [0, 1, 2, 1, 0], [0, 1, 1, 3, 3]])
      >>> outer_cells(lab, 4).tolist()       # 2 is enclosed by 1; 3 touches the frame
      [False, True, False, True]
    """
    labels = jnp.asarray(labels).astype(jnp.int32)
    near = jnp.zeros(labels.shape, bool)
    for nb in _face_neighbours(labels, constant_values=0):
        near = near | (nb == 0)
    touch = jnp.zeros(num_labels, bool).at[labels.reshape(-1)].max((near & (labels > 0)).reshape(-1), mode="drop")
    return touch.at[0].set(False)


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
    semi-axes 20-48% of the lattice) can be occupied: one compact tissue in background, like
    an embryo inside its eggshell, whose outer cells `outer_cells` finds. Cell outlines from
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

    Example (a new random microscope for every image; pass `Microscope.nuclei()` for one):
      >>> images, labels, kinds = render_dataset(jax.random.key(0), 2, shape=(4, 4),
      ...                                        site_pixels=8, microscope=Microscope.sample)
      >>> images.shape, labels.shape, kinds.shape
      ((2, 32, 32), (2, 32, 32), (2, 17))
    """
    try:
        num_images = int(num_images)
    except (TypeError, ValueError) as err:
        raise TypeError(f"num_images must be an integer, got {num_images!r}.") from err
    if num_images < 1:
        raise ValueError(f"num_images must be at least 1, got {num_images}.")
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown layout {layout!r}; choose one of {', '.join(map(repr, LAYOUTS))}.")
    if isinstance(microscope, Microscope):
        microscope.check()
        base, draw = microscope, None
    elif callable(microscope):
        base, draw = jax.eval_shape(microscope, key), microscope
        if not isinstance(base, Microscope):
            raise TypeError(
                f"microscope as a function must return a Microscope, got {type(base).__name__}."
            )
    else:
        raise TypeError(
            f"microscope must be a Microscope or a function key -> Microscope, got "
            f"{type(microscope).__name__}."
        )
    if gap is None:
        gap = 0 if base.style == "membrane" else 1
    shape, site_pixels, gap = _check_label_args(shape, site_pixels, gap, key, jitter)
    known = base.num_kinds
    if num_kinds is None:
        num_kinds = known
    num_kinds = _num_kinds(num_kinds)
    if num_kinds > known:
        raise ValueError(
            f"num_kinds={num_kinds} but the microscope has a kind_intensity for {known} kinds; "
            f"use num_kinds <= {known}, or a microscope with more kinds, e.g. "
            f"Microscope.{base.style}(num_kinds={num_kinds})."
        )
    d = concrete(density)
    if d is not None and (d.shape != () or not 0.0 <= float(d) <= 1.0):
        raise ValueError(
            f"density is the probability that a site holds a cell, in [0, 1]; got {density!r}."
        )
    if augment is True:
        aug = _check_augment_args(180.0, 0.1, (0.8, 1.25), True)
    elif augment is False or augment is None:
        aug = None
    elif isinstance(augment, Mapping):
        allowed = {"rotation", "shear", "magnification", "flip"}
        extra = set(augment) - allowed
        if extra:
            raise ValueError(
                f"Unknown augment settings {sorted(extra)}; the choices are {sorted(allowed)}."
            )
        opts = dict(rotation=180.0, shear=0.1, magnification=(0.8, 1.25), flip=True)
        opts.update(augment)
        aug = _check_augment_args(**opts)
    else:
        raise TypeError(
            f"augment must be True, False or a mapping of augment settings, got {augment!r}."
        )
    return _dataset_jit(
        key,
        jnp.asarray(density, jnp.float32),
        jnp.asarray(jitter, jnp.float32),
        None if draw is not None else _as_arrays(microscope),
        num_images=num_images,
        shape=shape,
        site_pixels=site_pixels,
        gap=gap,
        num_kinds=num_kinds,
        aug=aug,
        draw=draw,
        layout=layout,
    )
