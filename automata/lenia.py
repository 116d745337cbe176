"""Lenia: a continuous cellular automaton with a smooth ring kernel and a bell-shaped growth map.

Reference: B. W.-C. Chan, "Lenia: biology of artificial life", Complex Systems 28(3) 251-286
(2019), doi:10.25088/ComplexSystems.28.3.251.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import check_finite_array, concrete
from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState

CORES = ("exponential", "polynomial", "step")
GROWTHS = ("exponential", "polynomial", "step")

#: Published parameters of the orbium (Chan 2019, section 3): kernel radius 13 sites, one ring,
#: growth centre 0.15 and width 0.015, time step 1/T with T = 10.
ORBIUM = dict(radius=13, beta=(1.0,), mu=0.15, sigma=0.015, dt=0.1)


def _core(r: np.ndarray, core: str) -> np.ndarray:
    """Kernel core `K_C(r)` on `0 <= r <= 1` (Chan 2019, eq. 5 with alpha = 4)."""
    inside = (r > 0) & (r < 1)
    if core == "exponential":
        rr = np.where(inside, r * (1 - r), 0.25)  # placeholder off the support avoids 1/0
        return np.where(inside, np.exp(4.0 - 1.0 / rr), 0.0)
    if core == "polynomial":
        return np.where(inside, (4.0 * r * (1 - r)) ** 4, 0.0)
    return ((r >= 0.25) & (r <= 0.75)).astype(np.float64)


@functools.lru_cache(maxsize=64)
def kernel_array(radius: int, beta: tuple[float, ...], core: str, ndim: int) -> np.ndarray:
    """The normalised Lenia kernel as a `(2R + 1,) * ndim` float64 array summing to one.

    A site at Euclidean distance `d` from the centre has `r = d / R`; with `B = len(beta)` rings,
    its weight is `beta[floor(B r)] * K_C(B r mod 1)` for `r < 1` and zero beyond (Chan 2019,
    eq. 6).

    Example:
      >>> k = kernel_array(13, (1.0,), "exponential", 2)
      >>> k.shape, round(float(k.sum()), 6)
      ((27, 27), 1.0)
    """
    ax = np.arange(-radius, radius + 1, dtype=np.float64)
    grids = np.meshgrid(*([ax] * ndim), indexing="ij")
    r = np.sqrt(sum(g * g for g in grids)) / radius
    b = np.asarray(beta, np.float64)
    br = len(b) * r
    ring = np.minimum(np.floor(br).astype(int), len(b) - 1)
    k = np.where(r < 1, b[ring] * _core(br - np.floor(br), core), 0.0)
    total = k.sum()
    if total <= 0:
        raise ValueError(
            f"The Lenia kernel with radius={radius}, beta={beta}, core={core!r} is zero everywhere; "
            "use a larger radius or positive beta."
        )
    return k / total


@functools.lru_cache(maxsize=64)
def _kernel_fft(radius, beta, core, shape):
    """Real FFT of the kernel laid out on a periodic lattice of `shape` (numpy, complex128).

    The kernel's offset `o` goes to index `-o mod n`, so that multiplying spectra gives the
    correlation `sum_o k[o] x[i + o]` that `Lattice.convolve` computes; offsets beyond a short
    axis alias onto each other exactly as a periodic lattice implies.
    """
    k = kernel_array(radius, beta, core, len(shape))
    full = np.zeros(shape, np.float64)
    idx = np.meshgrid(*[(-np.arange(-radius, radius + 1)) % n for n in shape], indexing="ij")
    np.add.at(full, tuple(idx), k)
    return np.fft.rfftn(full)


class Lenia(Rule):
    """Lenia update `A <- clip(A + dt * G(K * A), 0, 1)` with a smooth ring kernel `K`.

    `K * A` is the kernel-weighted neighbourhood average ("potential" `U`), and the growth map is
    `G(u) = 2 exp(-(u - mu)^2 / (2 sigma^2)) - 1` (Chan 2019, eqs. 3-7). Each channel of the
    state evolves independently under the same kernel. On a periodic 2D or 3D lattice the
    convolution is done with FFTs; otherwise (other boundaries, 1D, or a sharded block) with
    `Lattice.convolve`. The clip has zero gradient where it binds.

    Args:
      mu: growth centre, a scalar or one value per channel (trainable).
      sigma: growth width, > 0, same shape rules as `mu` (trainable).
      dt: time step `1 / T` (trainable).
      radius: kernel radius `R` in sites (static); one step reads sites up to `R` away.
      beta: relative heights of the kernel's concentric rings, each in [0, 1] (static).
      core: kernel core, `"exponential"` `exp(4 - 1 / (r (1 - r)))`, `"polynomial"`
        `(4 r (1 - r))^4`, or `"step"` (1 on `1/4 <= r <= 3/4`).
      growth: growth map, `"exponential"` (the Gaussian bump above), `"polynomial"`
        `2 max(0, 1 - (u - mu)^2 / (9 sigma^2))^4 - 1`, or `"step"` (`+1` within `sigma` of `mu`,
        else `-1`).

    State: `x` of floating dtype, shape `(*lattice.shape, channels)`, values in [0, 1].

    Example:
      >>> import automata
      >>> from automata.lenia import Lenia, orbium
      >>> lat = automata.Lattice((64, 64), boundary="wrap")
      >>> rule = Lenia()  # the orbium's parameters
      >>> final, _ = automata.rollout(rule, lat, orbium(lat), num_steps=10, record=False)
      >>> final.x.shape
      (64, 64, 1)
    """

    mu: jax.Array = ORBIUM["mu"]
    sigma: jax.Array = ORBIUM["sigma"]
    dt: jax.Array = ORBIUM["dt"]
    radius: int = struct.field(pytree_node=False, default=ORBIUM["radius"])
    beta: tuple[float, ...] = struct.field(pytree_node=False, default=ORBIUM["beta"])
    core: str = struct.field(pytree_node=False, default="exponential")
    growth: str = struct.field(pytree_node=False, default="exponential")

    def __post_init__(self):
        if (
            not isinstance(self.radius, (int, np.integer))
            or isinstance(self.radius, bool)
            or self.radius < 1
        ):
            raise ValueError(f"Lenia radius is a positive integer number of sites, got {self.radius!r}.")
        object.__setattr__(self, "radius", int(self.radius))
        try:
            beta = tuple(float(b) for b in np.atleast_1d(np.asarray(self.beta, np.float64)))
        except (TypeError, ValueError) as err:
            raise TypeError(f"Lenia beta is a sequence of ring heights, got {self.beta!r}.") from err
        if not beta or any(not 0.0 <= b <= 1.0 for b in beta) or max(beta) == 0.0:
            raise ValueError(
                f"Lenia beta needs at least one ring height in [0, 1] and one above zero, got {beta}."
            )
        object.__setattr__(self, "beta", beta)
        if self.core not in CORES:
            raise ValueError(f"Unknown Lenia core {self.core!r}; choose one of {CORES}.")
        if self.growth not in GROWTHS:
            raise ValueError(f"Unknown Lenia growth {self.growth!r}; choose one of {GROWTHS}.")
        # Leaves may be tracers or placeholders (not numbers) inside transformations: skip those.
        sigma = concrete(self.sigma)
        if sigma is not None and np.issubdtype(sigma.dtype, np.number) and not np.all(sigma > 0):
            raise ValueError(f"Lenia sigma must be positive, got {sigma}.")

    def reach(self, lattice: Lattice) -> int:
        return self.radius

    def kernel(self, ndim: int) -> np.ndarray:
        """The normalised kernel, shape `(2R + 1,) * ndim` (see `kernel_array`)."""
        return kernel_array(self.radius, self.beta, self.core, ndim)

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        lattice.check_field(state.x, "state.x")
        x = state.x
        if x.ndim != lattice.ndim + 1:
            raise ValueError(
                f"Lenia needs state.x of shape (*lattice.shape, channels) = {lattice.shape + ('C',)}, "
                f"got {x.shape}; add a trailing channel axis with x[..., None]."
            )
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(
                f"Lenia states are continuous: state.x must be floating point, got {x.dtype}. "
                "Convert with x.astype(jnp.float32)."
            )
        # One NaN site spreads through the kernel to the whole lattice within a few steps.
        check_finite_array(x, "state.x", owner="Lenia", hint="Lenia states are densities in [0, 1].")
        c = x.shape[-1]
        for name in ("mu", "sigma", "dt"):
            shp = jnp.shape(getattr(self, name))
            if shp not in ((), (1,), (c,)):
                raise ValueError(
                    f"Lenia {name} must be a scalar or have one value per channel ({c},), got "
                    f"shape {shp}."
                )

    def potential(self, lattice: Lattice, x: jax.Array) -> jax.Array:
        """Kernel-weighted neighbourhood average `U = K * A`, same shape as `x`."""
        if lattice.boundary == "wrap" and lattice.ndim >= 2 and not lattice.sharded:
            axes = tuple(range(lattice.ndim))
            kf = _kernel_fft(self.radius, self.beta, self.core, lattice.shape)
            # The kernel is static, so its spectrum is a compile-time constant of the jitted step.
            kf = jnp.asarray(kf, jnp.result_type(x.dtype, jnp.complex64))
            xf = jnp.fft.rfftn(x, axes=axes)
            u = jnp.fft.irfftn(xf * kf[..., None], s=lattice.shape, axes=axes)
            return u.astype(x.dtype)
        return lattice.convolve(x, jnp.asarray(self.kernel(lattice.ndim), x.dtype))

    def growth_map(self, u: jax.Array) -> jax.Array:
        """Growth `G(u)` in [-1, 1] for the potential `u`."""
        mu = jnp.asarray(self.mu, u.dtype)
        sigma = jnp.asarray(self.sigma, u.dtype)
        if self.growth == "exponential":
            return 2.0 * jnp.exp(-((u - mu) ** 2) / (2.0 * sigma**2)) - 1.0
        if self.growth == "polynomial":
            return 2.0 * jnp.maximum(0.0, 1.0 - (u - mu) ** 2 / (9.0 * sigma**2)) ** 4 - 1.0
        return jnp.where(jnp.abs(u - mu) <= sigma, 1.0, -1.0).astype(u.dtype)

    def __call__(self, lattice: Lattice, state: LatticeState, *, key=None) -> jax.Array:
        x = state.x
        g = self.growth_map(self.potential(lattice, x))
        return jnp.clip(x + jnp.asarray(self.dt, x.dtype) * g, 0.0, 1.0)


def _centre_of_mass(a: np.ndarray) -> np.ndarray:
    """Centre of mass on a periodic 2D lattice (circular mean per axis), in sites."""
    com = []
    for ax, n in enumerate(a.shape):
        theta = 2 * np.pi * np.arange(n) / n
        w = a.sum(axis=tuple(i for i in range(a.ndim) if i != ax))
        z = (w * np.exp(1j * theta)).sum()
        com.append((np.angle(z) % (2 * np.pi)) * n / (2 * np.pi))
    return np.asarray(com)


@functools.lru_cache(maxsize=8)
def _orbium_pattern(num_steps: int) -> np.ndarray:
    """Grow the orbium-like glider from a fixed lopsided seed; see `orbium`."""
    size = 64
    lat = Lattice((size, size), boundary="wrap")
    rule = Lenia(**ORBIUM)
    # A flattened super-Gaussian bump (half-widths 5 and 7.5 sites, peak 0.8) with a linear
    # density ramp along axis 1. The ramp breaks the symmetry so the bump settles into the
    # travelling glider rather than dying out; this seed was picked from a scan of such bumps, and
    # its neighbours in that scan grow the same creature.
    yy, xx = (np.mgrid[:size, :size] - size // 2).astype(np.float64)
    w = 7.5
    rho = np.sqrt((yy / (0.65 * w)) ** 2 + (xx / w) ** 2)
    seed = np.clip(0.8 * np.exp(-(rho**4) / 2) * np.clip(1 + 0.6 * xx / w, 0, None), 0, 1)
    x = jnp.asarray(seed[..., None], jnp.float32)

    @jax.jit
    def run(x):
        def body(x, _):
            return rule(lat, LatticeState(x=x), key=None), None

        return jax.lax.scan(body, x, None, length=num_steps)[0]

    a = np.asarray(run(x))[..., 0]
    if a.sum() < 1.0:
        raise RuntimeError("The orbium seed died out; this is a bug in automata.lenia.")
    # Cut the creature out around its centre of mass so callers can place it anywhere.
    com = np.round(_centre_of_mass(a)).astype(int)
    a = np.roll(a, tuple(size // 2 - c for c in com), axis=(0, 1))
    rows = np.nonzero(a.sum(1) > 1e-6)[0]
    cols = np.nonzero(a.sum(0) > 1e-6)[0]
    return a[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].astype(np.float32)


def orbium_pattern() -> np.ndarray:
    """An orbium-like glider of the orbium rule (`Lenia()`), a small 2D float32 array in [0, 1].

    The pattern is grown rather than copied: a lopsided disc is evolved for 400 steps under the
    published orbium parameters (`ORBIUM`, Chan 2019) on a periodic 64 x 64 lattice, by which time
    it has settled into a glider; the result is cropped to its support (about 17 x 20 sites,
    total mass about 72). It travels along +axis 1 at about 0.6 sites per step while its mass
    stays within a few percent (see tests/automata/test_lenia.py).

    Example:
      >>> p = orbium_pattern()
      >>> p.ndim, bool(p.max() <= 1.0)
      (2, True)
    """
    return _orbium_pattern(400).copy()


def orbium(lattice: Lattice, centre: tuple[int, int] | None = None, dtype=jnp.float32) -> LatticeState:
    """A state holding one orbium-like glider (see `orbium_pattern`) on a 2D lattice.

    Args:
      lattice: a 2D lattice, each axis at least as long as the pattern (about 20 sites; use a
        periodic lattice of 48 or more sites per axis so the glider does not meet itself).
      centre: site where the pattern's centre goes (default: the lattice centre).
      dtype: floating dtype of the state.

    Returns:
      `LatticeState` with `x` of shape `(*lattice.shape, 1)`.

    Example:
      >>> import automata
      >>> s = orbium(automata.Lattice((64, 64)))
      >>> s.x.shape
      (64, 64, 1)
    """
    if not isinstance(lattice, Lattice) or lattice.ndim != 2:
        raise ValueError(f"orbium needs a 2D automata.Lattice, got {lattice!r}.")
    p = orbium_pattern()
    if any(s < n for s, n in zip(lattice.shape, p.shape)):
        raise ValueError(
            f"The orbium pattern has shape {p.shape}; lattice shape {lattice.shape} is too small."
        )
    centre = tuple(s // 2 for s in lattice.shape) if centre is None else tuple(int(c) for c in centre)
    x = np.zeros(lattice.shape, np.float32)
    starts = [c - n // 2 for c, n in zip(centre, p.shape)]
    idx = np.ix_(*[(s + np.arange(n)) % m for s, n, m in zip(starts, p.shape, lattice.shape)])
    x[idx] = p
    return LatticeState(x=jnp.asarray(x[..., None], dtype), t=jnp.asarray(0, jnp.int32))
