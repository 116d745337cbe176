"""Label images from lattices and populations, and which pixels and cells lie on a boundary.

A label image holds 0 for background and `1 .. L - 1` for cells; pixel coordinates are
`(row, col)` in 2D and `(z, row, col)` in 3D; lengths are in pixels. `lattice_labels` draws one
cell per lattice site (square blocks, or the Voronoi cells of jittered site centres) with a
background gap between neighbours; `population_labels` does the same for the alive cells of a
`rules.Population`. `boundary_pixels` and `outer_cells` read label images back.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import check_int, check_key, check_number, concrete, fail
from automata.lattice import Lattice
from neurosym._labels import check_label_image
from rules.population import Population

__all__ = [
    "boundary_pixels",
    "check_label_grid",
    "check_labels",
    "lattice_labels",
    "outer_cells",
    "population_labels",
]


# ---------------------------------------------------------------------------------------- checks
def check_labels(labels, *, name: str = "labels"):
    """Check one 2D or 3D label image (also a traced one); see `neurosym._labels`.

    Example:
      >>> check_labels(np.zeros((2, 2), np.int32)).shape
      (2, 2)
    """
    return check_label_image(
        labels, name=name, ndims=(2, 3),
        axes_hint="(rows, cols) or (z, rows, cols); for a batch, vmap over the leading axis.",
    )


def _lattice_shape(shape, owner: str) -> tuple[int, ...]:
    """A 2D or 3D lattice shape (or an `automata.Lattice`'s) as a tuple of positive ints."""
    if isinstance(shape, Lattice):
        shape = shape.shape
    hint = "Use e.g. (16, 16) or (8, 16, 16), or an automata.Lattice."
    try:
        dims = None if isinstance(shape, (str, bytes)) else tuple(shape)
    except TypeError:
        dims = None
    if dims is None:
        raise fail(owner, f"shape must be a lattice shape, a tuple of 2 or 3 sizes, got {shape!r}. {hint}", TypeError)
    if len(dims) not in (2, 3):
        raise fail(owner, f"shape must be 2D (rows, cols) or 3D (z, rows, cols), got {dims}. {hint}")
    return tuple(check_int(s, "shape", 1, owner=owner, hint=hint) for s in dims)


def _per_axis(value, ndim: int, name: str, *, minimum: int, owner: str) -> tuple[int, ...]:
    """An int or one int per axis, each at least `minimum`, as a tuple of `ndim` ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * ndim
    try:
        values = None if isinstance(value, (str, bytes)) else tuple(value)
    except TypeError:
        values = None
    if values is None or len(values) != ndim:
        raise fail(owner, f"{name} must be an integer >= {minimum} or {ndim} of them (one per axis), got {value!r}.")
    return tuple(check_int(v, name, minimum, owner=owner) for v in values)


def check_label_grid(shape, site_pixels, gap, *, key=None, jitter=0.0, owner: str = "lattice_labels"):
    """Check the geometry arguments of `lattice_labels`; returns `(shape, site_pixels, gap, key)`.

    Sizes come back as tuples of ints (one per axis), the key as a typed key (or None). A traced
    `jitter` is not checked (it is clipped into [0, 1] when drawn).

    Example:
      >>> check_label_grid((2, 3), 4, 1)[:3]
      ((2, 3), (4, 4), (1, 1))
    """
    shape = _lattice_shape(shape, owner)
    ndim = len(shape)
    site_pixels = _per_axis(site_pixels, ndim, "site_pixels", minimum=1, owner=owner)
    gap = _per_axis(gap, ndim, "gap", minimum=0, owner=owner)
    for a in range(ndim):
        if site_pixels[a] <= gap[a]:
            raise fail(
                owner,
                f"site_pixels must exceed gap on every axis, got site_pixels {site_pixels} and gap {gap}: "
                f"that leaves no pixel for a cell along axis {a}. Use larger site_pixels or a smaller gap.",
            )
    j = concrete(jitter)
    if j is not None:
        hint = "(0 = square cells, 1 = centres moved as far as the gap allows)."
        if check_number(j, "jitter", minimum=0.0, maximum=1.0, owner=owner, hint=hint) > 0 and key is None:
            raise fail(
                owner,
                f"key must be a PRNG key when jitter > 0 (got jitter={float(j)} and no key): the site "
                "centres move at random. Pass e.g. key=jax.random.key(0), or jitter=0.0 for square cells.",
            )
    return shape, site_pixels, gap, None if key is None else check_key(key, owner=owner)


# ---------------------------------------------------------------------------------------- drawing
def _upsample(x: jax.Array, site_pixels) -> jax.Array:
    """Repeat each site's value over its pixel block (broadcasts, no gathers)."""
    for a, p in enumerate(site_pixels):
        wide = list(x.shape)
        wide.insert(a + 1, p)
        x = jnp.broadcast_to(jnp.expand_dims(x, a + 1), wide)
        x = x.reshape(wide[:a] + [wide[a] * p] + wide[a + 2:])
    return x


def _jittered_centres(shape, site_pixels, vor, widest, jitter, key) -> list[jax.Array]:
    """Per Voronoi axis, the pixel coordinate of every site's jittered centre, padded by one site
    of centres at infinity (never nearest) on both sides."""
    margin = np.asarray([site_pixels[a] / 2 - (widest + 1) for a in vor], np.float32)
    # Drawn flat and reshaped: an n-D draw compiles a separate, slower program.
    size = int(np.prod(shape)) * len(vor)
    off = jax.random.uniform(key, (size,), minval=-1.0, maxval=1.0)
    off = off.reshape(tuple(shape) + (len(vor),))
    off = off * jnp.clip(jnp.asarray(jitter, jnp.float32), 0.0, 1.0) * margin
    idx = jnp.meshgrid(*[jnp.arange(n, dtype=jnp.float32) for n in shape], indexing="ij")
    pads = [(1, 1) if a in vor else (0, 0) for a in range(len(shape))]
    return [
        jnp.pad((idx[a] + 0.5) * site_pixels[a] + off[..., j], pads, constant_values=jnp.inf)
        for j, a in enumerate(vor)
    ]


def _voronoi(shape, site_pixels, vor, widest, jitter, key, grid) -> jax.Array:
    """Site label + 1 of the nearest jittered centre among each pixel's neighbouring blocks.

    Shifts whole site arrays and upsamples them (no per-pixel gathers: cheap to compile).
    """
    nd = len(shape)
    centre_p = _jittered_centres(shape, site_pixels, vor, widest, jitter, key)
    ids = jnp.arange(1, int(np.prod(shape)) + 1, dtype=jnp.int32).reshape(shape)
    ids_p = jnp.pad(ids, [(1, 1) if a in vor else (0, 0) for a in range(nd)])   # outside: id 0
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


def _apply_gap(raw: jax.Array, gap) -> jax.Array:
    """Background where another cell (or the frame edge) lies within the gap along an axis."""
    nd = raw.ndim
    keep = jnp.ones(raw.shape, bool)
    for a in range(nd):
        lo, hi = gap[a] // 2, gap[a] - gap[a] // 2
        if gap[a] == 0:
            continue
        pads = [(0, 0)] * nd
        pads[a] = (lo, hi)
        padded = jnp.pad(raw, pads, constant_values=-1)
        for o in range(-lo, hi + 1):
            if o:
                other = jax.lax.slice_in_dim(padded, lo + o, lo + o + raw.shape[a], axis=a)
                keep = keep & (other == raw)
    return jnp.where(keep, raw, 0).astype(jnp.int32)


def _site_labels(shape, site_pixels, gap, jitter, key) -> jax.Array:
    """Pure-JAX core of `lattice_labels` (shape, site_pixels, gap static; jitter traceable)."""
    nd = len(shape)
    pix = tuple(s * p for s, p in zip(shape, site_pixels))
    grid = jnp.meshgrid(*[jnp.arange(n, dtype=jnp.int32) for n in pix], indexing="ij")
    widest = max(gap)
    # Voronoi axes: where a jittered centre can keep `widest + 1` pixels from its block's faces.
    vor = [a for a in range(nd) if site_pixels[a] >= 2 * (widest + 1)]
    if key is None or not vor:
        raw = jnp.zeros(pix, jnp.int32)
        for a in range(nd):
            raw = raw * shape[a] + grid[a] // site_pixels[a]
        raw = raw + 1
    else:
        raw = _voronoi(shape, site_pixels, vor, widest, jitter, key, grid)
    return _apply_gap(raw, gap)


_site_labels_jit = jax.jit(_site_labels, static_argnums=(0, 1, 2))


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
    exactly `num_sites` cell labels. Runs under `jit` and `vmap` (with a traced `jitter` and
    `key`; the sizes are static).

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
    shape, site_pixels, gap, key = check_label_grid(shape, site_pixels, gap, key=key, jitter=jitter)
    return _site_labels_jit(shape, site_pixels, gap, jnp.asarray(jitter, jnp.float32), key)


def _population_labels(shape, site_pixels, gap, population, jitter, key):
    site = _site_labels(shape, site_pixels, gap, jitter, key)
    occ = jnp.asarray(population.occupancy).reshape(-1)
    slot_ok = (occ >= 0) & population.alive[jnp.clip(occ, 0)]
    lut = jnp.concatenate([jnp.zeros(1, jnp.int32), jnp.where(slot_ok, occ + 1, 0).astype(jnp.int32)])
    kinds = jnp.where(population.alive, population.kind, -1).astype(jnp.int32)
    return lut[site], jnp.concatenate([jnp.full(1, -1, jnp.int32), kinds])


_population_labels_jit = jax.jit(_population_labels, static_argnums=(0, 1, 2))


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
    owner = "population_labels"
    if not isinstance(lattice, Lattice):
        raise fail(
            owner, f"lattice must be an automata.Lattice, got {type(lattice).__name__}. "
            "Build one with automata.Lattice(shape).", TypeError,
        )
    if not isinstance(population, Population):
        raise fail(
            owner, f"population must be a rules.Population, got {type(population).__name__}. "
            "Build one with Population.create.", TypeError,
        )
    shape, site_pixels, gap, key = check_label_grid(lattice, site_pixels, gap, key=key, jitter=jitter, owner=owner)
    population.check(lattice)
    return _population_labels_jit(shape, site_pixels, gap, population, jnp.asarray(jitter, jnp.float32), key)


# ---------------------------------------------------------------------------------------- reading
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


def boundary_pixels(labels) -> jax.Array:
    """Cell pixels with a face neighbour of another label (the frame edge is not a boundary).

    Pure JAX; face neighbours only (4 in 2D, 6 in 3D).

    Args:
      labels: integer label image of any number of axes, 0 = background.

    Returns:
      booleans of the shape of `labels`.

    Example:
      >>> boundary_pixels(jnp.array([[1, 1, 2, 2]])).tolist()
      [[False, True, True, False]]
    """
    labels = jnp.asarray(labels)
    edge = jnp.zeros(labels.shape, bool)
    for nb in _face_neighbours(labels, mode="edge"):
        edge = edge | (nb != labels)
    return edge & (labels > 0)


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
    num_labels = check_int(num_labels, "num_labels", 1, owner="outer_cells", hint="It is the largest label + 1.")
    check_label_image(labels, name="labels", ndims=(1, 2, 3))
    labels = jnp.asarray(labels).astype(jnp.int32)
    near = jnp.zeros(labels.shape, bool)
    for nb in _face_neighbours(labels, constant_values=0):
        near = near | (nb == 0)
    touch = jnp.zeros(num_labels, bool).at[labels.reshape(-1)].max((near & (labels > 0)).reshape(-1), mode="drop")
    return touch.at[0].set(False)
