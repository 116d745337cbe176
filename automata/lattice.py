"""Static lattice geometry: shape, neighbourhood and boundary, and the field operations on it."""

from __future__ import annotations

import dataclasses
import itertools
import operator
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

NEIGHBOURHOODS = ("moore", "von_neumann", "hex")
BOUNDARIES = ("wrap", "fixed", "reflect")

_PAD_MODE = {"wrap": "wrap", "fixed": "constant", "reflect": "symmetric"}


def _offsets_for(name: str, ndim: int, radius: int) -> tuple[tuple[int, ...], ...]:
    rng = range(-radius, radius + 1)
    out = []
    for off in itertools.product(rng, repeat=ndim):
        if not any(off):
            continue
        if name == "moore":
            out.append(off)
        elif name == "von_neumann":
            if sum(abs(o) for o in off) <= radius:
                out.append(off)
        elif name == "hex":
            # Axial coordinates (q, r): the hex distance is max(|dq|, |dr|, |dq + dr|).
            dq, dr = off
            if max(abs(dq), abs(dr), abs(dq + dr)) <= radius:
                out.append(off)
    return tuple(out)


@dataclasses.dataclass(frozen=True)
class Shard:
    """Where a block of rows sits in a lattice split along axis 0 over the devices of a mesh.

    `automata.sharding.sharded_rollout` gives each device a `Lattice` whose `shard` is one of
    these, covering its block of rows plus `halo` rows on each side. Rules read it (through
    `Lattice.sharded` and `Lattice.site_rows`) to number rows globally and to turn off
    whole-lattice shortcuts (an FFT, a bit-packed rollout) that a block cannot take.

    Attributes:
      axis_name: the mesh axis the rows are split over.
      global_rows: rows of the whole lattice.
      block_rows: rows each device holds, without the halo.
      halo: rows borrowed from each neighbouring device.
    """

    axis_name: str
    global_rows: int
    block_rows: int
    halo: int


def _check_shape(shape) -> tuple[int, ...]:
    """`shape` as a tuple of Python ints (a bare integer is one axis), or a TypeError."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        axes = tuple(shape)
        if any(isinstance(s, (bool, np.bool_)) for s in axes):
            raise TypeError
        return tuple(operator.index(s) for s in axes)
    except TypeError as err:
        raise TypeError(
            f"Lattice shape must be a tuple of 1 to 3 positive integers, got {shape!r}; every "
            "size must be an int (a float such as 8.5 or 8.0 is refused, not rounded)."
        ) from err


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class Lattice:
    """A regular lattice in 1, 2 or 3 dimensions: shape, neighbourhood and boundary.

    A lattice is static configuration: it is hashable, has no array leaves and can be passed
    straight through `jax.jit`, `jax.vmap` and `jax.grad`. Fields live on arrays of shape
    `(*lattice.shape, channels)` (any trailing axes are carried along).

    Args:
      shape: number of sites along each axis, 1 to 3 axes.
      neighbourhood: `"moore"` (all sites within `radius` in every axis), `"von_neumann"`
        (Manhattan distance <= `radius`), `"hex"` (2D only, axial coordinates: site `(q, r)`
        touches `(q, r±1)`, `(q±1, r)`, `(q+1, r-1)`, `(q-1, r+1)`), or an explicit sequence of
        integer offsets, one tuple per neighbour, excluding the centre.
      radius: reach of the named neighbourhoods in sites.
      boundary: `"wrap"` (periodic, a torus), `"fixed"` (sites beyond the edge hold `fill`), or
        `"reflect"` (the edge is a mirror: the site beyond the edge repeats the edge site, a
        zero-flux boundary).
      fill: value beyond the edge for `boundary="fixed"`.
      shard: None for a whole lattice; a `Shard` when this lattice is one device's block of a
        lattice split over devices (set by `automata.sharding.sharded_rollout`, not by users).

    Example:
      >>> lat = Lattice((64, 64), neighbourhood="moore", boundary="wrap")
      >>> lat.num_neighbours
      8
    """

    shape: tuple[int, ...]
    neighbourhood: str | tuple[tuple[int, ...], ...] = "moore"
    radius: int = 1
    boundary: str = "wrap"
    fill: float = 0.0
    shard: Shard | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "shape", _check_shape(self.shape))
        shape = self.shape
        if not 1 <= len(shape) <= 3 or any(s < 1 for s in shape):
            raise ValueError(
                f"Lattice shape must have 1 to 3 axes of positive size, got {shape}. "
                "Use e.g. Lattice((128,)), Lattice((64, 64)) or Lattice((16, 16, 16))."
            )
        if self.shard is not None and not isinstance(self.shard, Shard):
            raise TypeError(f"Lattice shard must be an automata.lattice.Shard or None, got {self.shard!r}.")
        if not isinstance(self.radius, (int, np.integer)) or isinstance(self.radius, bool) or self.radius < 1:
            raise ValueError(f"Lattice radius must be a positive integer, got {self.radius!r}.")
        object.__setattr__(self, "radius", int(self.radius))
        if self.boundary not in BOUNDARIES:
            raise ValueError(
                f"Unknown boundary {self.boundary!r}; choose one of {', '.join(map(repr, BOUNDARIES))}."
            )
        object.__setattr__(self, "fill", float(self.fill))
        nb = self.neighbourhood
        if isinstance(nb, str):
            if nb not in NEIGHBOURHOODS:
                raise ValueError(
                    f"Unknown neighbourhood {nb!r}; choose one of "
                    f"{', '.join(map(repr, NEIGHBOURHOODS))} or pass explicit offsets such as "
                    "((-1, 0), (1, 0))."
                )
            if nb == "hex" and len(shape) != 2:
                raise ValueError(
                    f"The 'hex' neighbourhood is defined on 2D lattices only; this lattice has "
                    f"{len(shape)} axes. Use 'moore' or 'von_neumann' in {len(shape)}D."
                )
        else:
            try:
                offs = tuple(tuple(int(o) for o in off) for off in nb)
            except (TypeError, ValueError) as err:
                raise TypeError(
                    "Explicit neighbourhood offsets must be a sequence of integer tuples, "
                    f"got {nb!r}."
                ) from err
            if not offs:
                raise ValueError("Explicit neighbourhood offsets must name at least one neighbour.")
            for off in offs:
                if len(off) != len(shape):
                    raise ValueError(
                        f"Offset {off} has {len(off)} components but the lattice has "
                        f"{len(shape)} axes; give one integer per axis."
                    )
                if not any(off):
                    raise ValueError(
                        f"Offset {off} is the centre site; neighbourhood offsets exclude the "
                        "centre (the rule always sees the site's own state)."
                    )
            if len(set(offs)) != len(offs):
                raise ValueError(f"Explicit neighbourhood offsets contain duplicates: {offs}.")
            object.__setattr__(self, "neighbourhood", offs)
            object.__setattr__(self, "radius", max(max(abs(o) for o in off) for off in offs))
        if self.boundary == "reflect" and self.radius > min(shape):
            raise ValueError(
                f"boundary='reflect' needs every axis at least as long as the radius "
                f"({self.radius}); shape is {shape}."
            )

    # ------------------------------------------------------------------ geometry
    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.shape)

    @property
    def num_sites(self) -> int:
        """Total number of sites."""
        return int(np.prod(self.shape))

    @property
    def offsets(self) -> tuple[tuple[int, ...], ...]:
        """Neighbour offsets in a fixed order (lexicographic for named neighbourhoods)."""
        if isinstance(self.neighbourhood, tuple):
            return self.neighbourhood
        return _offsets_for(self.neighbourhood, self.ndim, self.radius)

    @property
    def num_neighbours(self) -> int:
        """Number of neighbours of a site (the centre is not counted)."""
        return len(self.offsets)

    @property
    def sharded(self) -> bool:
        """True when this lattice is one device's block of a sharded lattice (see `Shard`)."""
        return self.shard is not None

    def replace(self, **changes) -> "Lattice":
        """A copy of this lattice with some fields changed."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ checks
    def check_field(self, x, name: str = "x") -> None:
        """Raise a clear error unless `x` has the lattice's shape on its leading axes."""
        shp = tuple(np.shape(x))
        if shp[: self.ndim] != self.shape:
            raise ValueError(
                f"{name} has shape {shp}, but the lattice needs its leading axes to be "
                f"{self.shape} (then channels), e.g. {self.shape + (1,)}."
            )

    # ------------------------------------------------------------------ field ops
    def pad(self, x: jax.Array, width: int | None = None, *, axes: Sequence[int] | None = None) -> jax.Array:
        """Pad spatial axes of `x` by `width` sites on both sides, as the boundary says.

        Args:
          x: a field whose leading `ndim` axes are spatial (their sizes need not be the
            lattice's, so a block of rows can be padded too).
          width: sites added on each side (default: the radius).
          axes: the spatial axes to pad (default: all of them).

        Example:
          >>> Lattice((3,), boundary="wrap").pad(jnp.arange(3)).tolist()
          [2, 0, 1, 2, 0]
        """
        width = self.radius if width is None else int(width)
        axes = range(self.ndim) if axes is None else axes
        pads = [(width, width) if a in axes else (0, 0) for a in range(self.ndim)]
        pads += [(0, 0)] * (x.ndim - self.ndim)
        if self.boundary == "fixed":
            return jnp.pad(x, pads, mode="constant", constant_values=jnp.asarray(self.fill, x.dtype))
        return jnp.pad(x, pads, mode=_PAD_MODE[self.boundary])

    def _window(self, xp: jax.Array, width: int, off: Sequence[int]) -> jax.Array:
        idx = tuple(slice(width + o, width + o + n) for o, n in zip(off, self.shape))
        return xp[idx]

    def shift(self, x: jax.Array, offset: Sequence[int]) -> jax.Array:
        """`y[i] = x[i + offset]` with the boundary applied beyond the edges."""
        width = max(abs(int(o)) for o in offset) if any(offset) else 0
        if width == 0:
            return x
        return self._window(self.pad(x, width), width, offset)

    def neighbours(self, x: jax.Array) -> jax.Array:
        """Neighbour values: shape `(*lattice.shape, num_neighbours, *x.shape[ndim:])`."""
        xp = self.pad(x, self.radius)
        return jnp.stack([self._window(xp, self.radius, off) for off in self.offsets], axis=self.ndim)

    def neighbour_sum(self, x: jax.Array, weights: Sequence[float] | None = None) -> jax.Array:
        """Sum of neighbour values (optionally weighted per offset), the centre excluded.

        For unweighted Moore neighbourhoods the box sum is computed axis by axis, which costs
        `2 * ndim * radius` additions per site instead of `(2 * radius + 1) ** ndim`.
        """
        r = self.radius
        if x.dtype == jnp.bool_:
            x = x.astype(jnp.int32)
        xp = self.pad(x, r)
        if weights is None and self.neighbourhood == "moore":
            box = xp
            for ax in range(self.ndim):
                n = self.shape[ax]
                acc = jax.lax.slice_in_dim(box, 0, n, axis=ax)
                for k in range(1, 2 * r + 1):
                    acc = acc + jax.lax.slice_in_dim(box, k, k + n, axis=ax)
                box = acc
            return box - x
        out = None
        for i, off in enumerate(self.offsets):
            term = self._window(xp, r, off)
            if weights is not None:
                term = term * weights[i]
            out = term if out is None else out + term
        return out

    def convolve(self, x: jax.Array, kernel: jax.Array) -> jax.Array:
        """Correlate each channel of `x` with `kernel`, `y[i] = sum_o kernel[o + R] x[i + o]`.

        Args:
          x: field of shape `(*lattice.shape, channels)`.
          kernel: shape `(2R + 1,) * ndim` (the same kernel for every channel) or
            `(2R + 1,) * ndim + (channels_in, channels_out)` (a full linear map).
        Returns:
          shape `(*lattice.shape, channels)` or `(*lattice.shape, channels_out)`.
        """
        kernel = jnp.asarray(kernel)
        ksp = kernel.shape[: self.ndim]
        if len(set(ksp)) != 1 or ksp[0] % 2 != 1:
            raise ValueError(
                f"Kernel spatial shape must be (2R+1,)*{self.ndim} with the same odd size on "
                f"every axis, got {kernel.shape}."
            )
        rad = ksp[0] // 2
        c = x.shape[-1]
        if kernel.ndim == self.ndim:
            rhs = jnp.broadcast_to(kernel[..., None, None], ksp + (1, c))
            groups = c
        elif kernel.ndim == self.ndim + 2:
            if kernel.shape[-2] != c:
                raise ValueError(
                    f"Kernel expects {kernel.shape[-2]} input channels but x has {c}."
                )
            rhs, groups = kernel, 1
        else:
            raise ValueError(
                f"Kernel must have {self.ndim} or {self.ndim + 2} axes, got shape {kernel.shape}."
            )
        xp = self.pad(x, rad)[None]
        sp = "DHW"[-self.ndim :]
        dn = jax.lax.conv_dimension_numbers(
            xp.shape, rhs.shape, ("N" + sp + "C", sp + "IO", "N" + sp + "C")
        )
        y = jax.lax.conv_general_dilated(
            xp.astype(jnp.result_type(x, kernel)),
            rhs.astype(jnp.result_type(x, kernel)),
            window_strides=(1,) * self.ndim,
            padding="VALID",
            dimension_numbers=dn,
            feature_group_count=groups,
        )
        return y[0]

    # ------------------------------------------------------------------ randomness
    def site_rows(self) -> jax.Array:
        """Global index along axis 0 of each local row (differs from `arange` only in shards)."""
        n0 = self.shape[0]
        rows = jnp.arange(n0)
        if self.shard is not None:
            s = self.shard
            origin = jax.lax.axis_index(s.axis_name) * s.block_rows - s.halo
            rows = jnp.mod(rows + origin, s.global_rows)
        return rows

    def uniform(self, key: jax.Array, shape: Sequence[int] = (), dtype=jnp.float32) -> jax.Array:
        """Uniform [0, 1) numbers, one array of `shape` per site: `(*lattice.shape, *shape)`.

        Each site's numbers depend only on the key and the site's global position, so a rollout
        sharded over devices reproduces the single-device one exactly. Rules draw per-site
        randomness through this method.
        """
        row_shape = self.shape[1:] + tuple(shape)
        rows = self.site_rows()
        return jax.vmap(lambda r: jax.random.uniform(jax.random.fold_in(key, r), row_shape, dtype))(rows)

    def bernoulli(self, key: jax.Array, p, shape: Sequence[int] = ()) -> jax.Array:
        """Per-site Bernoulli(p) booleans of shape `(*lattice.shape, *shape)` (see `uniform`)."""
        return self.uniform(key, shape) < p
