"""What the instrument does to an ideal image: Gaussian blur, uneven illumination, shot noise.

Pure JAX functions of fixed shape (no rejection loops, few PRNG calls), so they compile fast and
run inside `jit` and `vmap`. Lengths are in pixels; intensities are relative (1 = the brightest
stain).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["gaussian_blur", "gaussian_weights", "illumination_ramp", "shot_noise", "uniform_and_normal"]


def gaussian_weights(sigma, radius: int) -> jax.Array:
    """Normalised Gaussian taps `(2 radius + 1,)`; sigma 0 gives exactly the identity tap.

    Example:
      >>> gaussian_weights(0.0, 2).tolist()
      [0.0, 0.0, 1.0, 0.0, 0.0]
    """
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


def gaussian_blur(x: jax.Array, sigmas: Sequence, radius: int) -> jax.Array:
    """Separable Gaussian blur with a mirror boundary, one sigma (pixels) per axis.

    Args:
      x: image of any number of axes.
      sigmas: one standard deviation per axis (traceable); 0 leaves an axis exactly as it is.
      radius: static kernel half-width in pixels (sigmas above about `radius / 3` are truncated).

    Example:
      >>> x = jnp.zeros((1, 5)).at[0, 2].set(1.0)
      >>> y = gaussian_blur(x, [0.0, 1.0], 3)
      >>> round(float(y.sum()), 5), bool(y[0, 1] == y[0, 3])
      (1.0, True)
    """
    for axis, s in enumerate(sigmas):
        # The select makes sigma 0 an exact no-op whatever convolution algorithm runs.
        x = jnp.where(jnp.asarray(s) > 0, _blur_axis(x, gaussian_weights(s, radius), axis), x)
    return x


def illumination_ramp(shape, angle) -> jax.Array:
    """A linear ramp from -1/2 to 1/2 across an image: along `angle` in 2D, along z in 3D.

    Args:
      shape: the image shape, `(H, W)` or `(D, H, W)`.
      angle: direction of the 2D gradient in radians (0 = along columns); unused in 3D.

    Returns:
      float32 ramp that broadcasts against an image of `shape`.

    Example:
      >>> illumination_ramp((2, 3), 0.0).tolist()
      [[-0.5, 0.0, 0.5], [-0.5, 0.0, 0.5]]
    """
    if len(shape) == 2:
        h, w = shape
        r = jnp.arange(h, dtype=jnp.float32)[:, None] / max(h - 1, 1) - 0.5
        c = jnp.arange(w, dtype=jnp.float32)[None, :] / max(w - 1, 1) - 0.5
        return r * jnp.sin(angle) + c * jnp.cos(angle)
    depth = shape[0]
    return (jnp.arange(depth, dtype=jnp.float32) / max(depth - 1, 1) - 0.5)[:, None, None]


def uniform_and_normal(key, size: int) -> tuple[jax.Array, jax.Array]:
    """`size` uniforms in (0, 1) and the standard normals they map to, from one PRNG call.

    One draw instead of several keeps compile times down (each PRNG call compiles its own
    hash); normals by the inverse error function, as `jax.random.normal` does.

    Example:
      >>> u, z = uniform_and_normal(jax.random.key(0), 3)
      >>> u.shape, z.shape, bool(((u > 0) & (u < 1)).all())
      ((3,), (3,), True)
    """
    v = jax.random.uniform(key, (size,), minval=np.nextafter(np.float32(-1), np.float32(1)), maxval=1.0)
    return (v + 1.0) / 2.0, np.float32(np.sqrt(2.0)) * jax.lax.erf_inv(v)


def shot_noise(u: jax.Array, z: jax.Array, lam: jax.Array) -> jax.Array:
    """Poisson(lam) counts from uniforms `u` and normals `z` (all of one shape).

    Exact (the inverse CDF, summed over a fixed 90 terms) up to 30 photons, a rounded normal with
    the same mean and variance above, where the Poisson's skewness `lam ** -0.5` is below 0.2. A
    fixed number of steps instead of `jax.random.poisson`'s rejection loops compiles far faster.

    Example:
      >>> counts = shot_noise(jnp.array([0.01, 0.99]), jnp.zeros(2), jnp.array([2.0, 2.0]))
      >>> counts.tolist()                      # Poisson(2): P(0) = 0.135, P(<= 5) = 0.983
      [0.0, 6.0]
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
