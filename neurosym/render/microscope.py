"""The imaging model: how cells look (stain, brightness and texture per kind) and what the
instrument does to them (blur, shot and read noise, background, gain, uneven illumination)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import check_choice, check_int, check_number, concrete, fail

__all__ = ["STYLES", "Microscope"]

STYLES = ("nuclei", "membrane")

# Microscope fields that are plain non-negative numbers, checked by `Microscope.check`.
_NON_NEGATIVE = (
    "blur", "axial_blur", "noise", "poisson", "background", "gain", "nucleus", "cytoplasm",
    "membrane_intensity", "texture_scale", "cell_variation",
)
_SCALARS = _NON_NEGATIVE + ("drift", "drift_angle")
# The arguments of `Microscope.sample` that are ranges, in the order `_sample` draws them.
_RANGES = ("blur", "axial_ratio", "noise", "poisson", "background", "gain", "drift")


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
        check_choice(self.style, "style", STYLES, owner="Microscope")
        check_int(self.kernel_radius, "kernel_radius", 0, owner="Microscope", hint="It is the blur kernel half-width in pixels.")

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
        k = check_int(num_kinds, "num_kinds", 1, owner="Microscope.nuclei")
        return cls(style="nuclei", kind_intensity=_spread(0.3, 1.0, k), kind_texture=_spread(0.0, 0.3, k))

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
        k = check_int(num_kinds, "num_kinds", 1, owner="Microscope.membrane")
        return cls(
            style="membrane", kind_intensity=_spread(0.1, 0.45, k), kind_texture=_spread(0.0, 0.3, k),
            membrane_intensity=1.0, cell_variation=0.05,
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
        owner = "Microscope.sample"
        if base is None:
            check_choice(style, "style", STYLES, owner=owner)
            base = cls.nuclei() if style == "nuclei" else cls.membrane()
        elif not isinstance(base, Microscope):
            raise fail(owner, f"base must be a Microscope, got {type(base).__name__}.", TypeError)
        given = dict(blur=blur, axial_ratio=axial_ratio, noise=noise, poisson=poisson,
                     background=background, gain=gain, drift=drift)
        ranges = tuple(_check_range(given[name], name, signed=name == "drift", owner=owner) for name in _RANGES)
        # Static: sized for the largest in-plane blur (a wide axial blur is truncated).
        radius = max(int(base.kernel_radius), math.ceil(3 * ranges[0][1]))
        return _sample_jit(key, base.as_arrays().replace(kernel_radius=radius), ranges)

    # ------------------------------------------------------------------ checks
    @property
    def num_kinds(self) -> int:
        """Number of kinds K (the length of `kind_intensity`)."""
        shape = _leaf_shape(self.kind_intensity)
        return int(shape[-1]) if shape else 1

    def check(self) -> None:
        """Raise a clear error unless every value is usable.

        Shapes are always checked, values when they are concrete (outside `jit`).

        Example:
          >>> Microscope.nuclei().replace(blur=-1.0).check()
          Traceback (most recent call last):
          ...
          ValueError: Microscope: blur must be a finite number >= 0.0, got -1.0.
        """
        self._check_kinds()
        for name in _SCALARS:
            shape = _leaf_shape(getattr(self, name))
            if shape != ():
                raise fail(
                    "Microscope", f"{name} must be a single number, got shape {shape}. For one "
                    "microscope per image, vmap render over a batched microscope.",
                )
            v = concrete(getattr(self, name))
            if v is not None:
                check_number(v, name, minimum=0.0 if name in _NON_NEGATIVE else None, owner="Microscope")

    def _check_kinds(self) -> None:
        shape = _leaf_shape(self.kind_intensity)
        if len(shape) != 1 or shape[0] == 0:
            raise fail(
                "Microscope", "kind_intensity must be a sequence with one brightness per kind, e.g. "
                f"(0.3, 0.65, 1.0), got {self.kind_intensity!r}.",
            )
        ki = concrete(self.kind_intensity)
        if ki is not None and not np.all(np.isfinite(ki)):
            raise fail(
                "Microscope", f"kind_intensity must hold finite numbers, got {ki.tolist()}. Give one "
                "finite brightness per kind, e.g. Microscope.nuclei().kind_intensity.",
            )
        if self.kind_texture is None:
            return
        if _leaf_shape(self.kind_texture) != shape:
            raise fail(
                "Microscope", f"kind_texture must have one amplitude per kind, shape {shape} like "
                f"kind_intensity, got shape {_leaf_shape(self.kind_texture)}; or None for no texture.",
            )
        kt = concrete(self.kind_texture)
        if kt is not None and not np.all(np.isfinite(kt) & (kt >= 0)):
            raise fail("Microscope", f"kind_texture must be finite and >= 0, got {kt.tolist()}.")

    def as_arrays(self) -> "Microscope":
        """This microscope with every leaf a float32 array and `kind_texture` never None (zeros),
        so that every microscope of a style has one pytree structure to `jit` over.

        Example:
          >>> Microscope.nuclei(num_kinds=2).replace(kind_texture=None).as_arrays().kind_texture
          Array([0., 0.], dtype=float32)
        """
        ki = jnp.asarray(self.kind_intensity, jnp.float32)
        kt = jnp.zeros_like(ki) if self.kind_texture is None else jnp.asarray(self.kind_texture, jnp.float32)
        return self.replace(
            kind_intensity=ki, kind_texture=kt,
            **{name: jnp.asarray(getattr(self, name), jnp.float32) for name in _SCALARS},
        )


def _check_range(value, name: str, *, signed: bool, owner: str) -> tuple[float, float]:
    """A range `(low, high)` of finite numbers with `low <= high` (and `low >= 0` unless signed)."""
    wanted = "a range (low, high) with low <= high" + ("" if signed else " and low >= 0")
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise fail(owner, f"{name} must be {wanted}, got {value!r}.")
    lo = check_number(value[0], f"{name}[0]", minimum=None if signed else 0.0, owner=owner)
    hi = check_number(value[1], f"{name}[1]", owner=owner)
    if hi < lo:
        raise fail(owner, f"{name} must be {wanted}, got {value!r}.")
    return lo, hi


def _sample(key, base: Microscope, ranges) -> Microscope:
    """Pure-JAX core of `Microscope.sample`; `ranges` static, in the order of `_RANGES`."""
    u = jax.random.uniform(key, (len(ranges) + 1,))

    def draw(i, log=False):
        lo, hi = ranges[i]
        if log and lo > 0:
            return jnp.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * u[i])
        return lo + (hi - lo) * u[i]

    b = draw(0)
    return base.replace(
        blur=b, axial_blur=b * draw(1), noise=draw(2), poisson=draw(3, log=True),
        background=draw(4), gain=draw(5), drift=draw(6), drift_angle=2 * math.pi * u[7],
    )


_sample_jit = jax.jit(_sample, static_argnums=2)


def _leaf_shape(x) -> tuple[int, ...]:
    """Shape of an array, or `(len,)` of a tuple of numbers (tracers allowed)."""
    if isinstance(x, (tuple, list)):
        return (len(x),)
    return tuple(getattr(x, "shape", np.shape(x)))


def _spread(lo: float, hi: float, k: int) -> tuple[float, ...]:
    """`k` values evenly from `lo` to `hi` (just `hi` for one)."""
    if k == 1:
        return (hi,)
    return tuple(round(lo + (hi - lo) * i / (k - 1), 6) for i in range(k))
