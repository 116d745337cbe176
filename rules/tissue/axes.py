"""Division axes drawn per lineage: a von Mises-Fisher distribution around a mean axis.

`DivisionAxes(mean, concentration)` holds one distribution per kind (a lineage, or a lineage and
generation: index the rows as the caller likes, e.g. `kind = lineage * num_generations +
generation`). The axis `x` of a division of kind `k` is a unit vector in `D = 2` or `3`
dimensions with density, on the circle or sphere,

    p(x | k) = C_D(kappa_k) exp(kappa_k mu_k . x),     mu_k = mean[k] / |mean[k]|,
    C_2(kappa) = 1 / (2 pi I_0(kappa)),    C_3(kappa) = kappa / (4 pi sinh kappa)

(Fisher 1953, doi:10.1098/rspa.1953.0064; Mardia & Jupp, Directional Statistics, 2000). Large
`kappa` concentrates the axes around `mu` (the spread of the angle is about `1 / sqrt(kappa)`);
`kappa -> 0` is uniform. The axis is polar, not a bare line: its sign says which daughter is
which (the daughter on the positive side of the plane takes the new id in
`rules.tissue.divide_cell`, and the letter of `rules.tissue.daughter_names`).

Sampling follows Wood's rejection method (Wood 1994, doi:10.1080/03610919408813161), a
`lax.while_loop` that accepts at least about 60% of proposals, so `sample` runs under `jit` and
`vmap`. `log_prob` is differentiable in `mean` and `concentration`, for fitting axes to observed
divisions by maximum likelihood.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import check_key, concrete, fail

__all__ = ["DivisionAxes"]


def _log_normaliser(kappa: jax.Array, d: int) -> jax.Array:
    """`log C_D(kappa)` for D = 2 or 3, stable for small and large kappa."""
    if d == 2:
        return -jnp.log(2 * jnp.pi) - (jnp.log(jax.scipy.special.i0e(kappa)) + kappa)
    # log(kappa / (4 pi sinh kappa)) = log kappa - log(2 pi) - kappa - log(1 - exp(-2 kappa))
    small = kappa < 1e-4
    safe = jnp.where(small, 1.0, kappa)
    big = jnp.log(safe) - jnp.log(2 * jnp.pi) - safe - jnp.log(-jnp.expm1(-2 * safe))
    return jnp.where(small, -jnp.log(4 * jnp.pi) - kappa ** 2 / 6, big)


class DivisionAxes(struct.PyTreeNode):
    """Per-kind von Mises-Fisher distributions of division axes.

    Attributes:
      mean: `(K, D)` mean axis per kind, D = 2 or 3 (normalised where used, so any nonzero
        length will do).
      concentration: `(K,)` concentration `kappa >= 0` per kind (0 is uniform).

    Example:
      >>> axes = DivisionAxes(mean=jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]),
      ...                     concentration=jnp.array([200.0, 0.0]))
      >>> v = axes.sample(jax.random.key(0), 0)
      >>> round(float(jnp.linalg.norm(v)), 5), bool(v[0] > 0.8)
      (1.0, True)
    """

    mean: jax.Array
    concentration: jax.Array

    def check(self, *, owner: str = "DivisionAxes") -> "DivisionAxes":
        """Refuse wrong shapes, and (when known now) zero or non-finite axes and negative
        concentrations. Run by `sample` and `log_prob`; not at construction, because jax rebuilds
        the object with tracers and gradients as leaves.

        Example:
          >>> DivisionAxes(jnp.ones((2, 3)), jnp.array([1.0, -1.0])).check()
          Traceback (most recent call last):
          ...
          ValueError: DivisionAxes: concentration must be finite and >= 0, got [1.0, -1.0].
        """
        shape, kshape = jnp.shape(self.mean), jnp.shape(self.concentration)
        if len(shape) != 2 or shape[1] not in (2, 3) or shape[0] < 1:
            raise fail(owner, f"mean must have shape (K, D) with D = 2 or 3 (one mean axis per kind), got "
                       f"{shape}.")
        if kshape != shape[:1]:
            raise fail(owner, f"concentration must have one entry per kind, shape ({shape[0]},), got "
                       f"{kshape}.")
        mean, kappa = concrete(self.mean), concrete(self.concentration)
        if mean is not None and mean.dtype != object:
            norms = np.linalg.norm(np.asarray(mean, float), axis=-1)
            if not np.all(np.isfinite(norms)) or np.any(norms == 0):
                raise fail(owner, f"mean must hold finite nonzero axes, got norms {norms.tolist()}.")
        if kappa is not None and kappa.dtype != object:
            kappa = np.asarray(kappa, float)
            if not np.all(np.isfinite(kappa)) or np.any(kappa < 0):
                raise fail(owner, f"concentration must be finite and >= 0, got {kappa.tolist()}.")
        return self

    @property
    def num_kinds(self) -> int:
        """`K`, the number of distributions."""
        return int(jnp.shape(self.mean)[0])

    @property
    def ndim(self) -> int:
        """`D`, the dimension of the axes."""
        return int(jnp.shape(self.mean)[1])

    def _row(self, kind):
        mu = jnp.asarray(self.mean, jnp.result_type(float))[kind]
        mu = mu / jnp.linalg.norm(mu)
        kappa = jnp.asarray(self.concentration, mu.dtype)[kind]
        return mu, kappa

    def _check_kind(self, kind, owner):
        value = concrete(kind)
        if value is not None and (value.shape != () or not np.issubdtype(value.dtype, np.integer)
                                  or not 0 <= int(value) < self.num_kinds):
            raise fail(owner, f"kind must be an integer in 0..{self.num_kinds - 1}, got {value!r}.")

    def sample(self, key: jax.Array, kind) -> jax.Array:
        """One unit axis `(D,)` drawn for a division of kind `kind` (an int, traced or not).

        Example:
          >>> axes = DivisionAxes(jnp.array([[0.0, 1.0]]), jnp.array([50.0]))
          >>> v = jax.vmap(lambda k: axes.sample(k, 0))(jax.random.split(jax.random.key(1), 500))
          >>> bool(jnp.mean(v[:, 1]) > 0.95)
          True
        """
        self.check(owner="DivisionAxes.sample")
        key = check_key(key, owner="DivisionAxes.sample")
        self._check_kind(kind, "DivisionAxes.sample")
        mu, kappa = self._row(kind)
        d = self.ndim
        kappa = jnp.maximum(kappa, 1e-6)
        # Wood (1994): draw w = mu . x by rejection, then a uniform direction orthogonal to mu.
        m1 = d - 1.0
        b = m1 / (2 * kappa + jnp.sqrt(4 * kappa ** 2 + m1 ** 2))  # = (-2k + sqrt(4k^2 + m1^2)) / m1
        x0 = (1 - b) / (1 + b)
        c = kappa * x0 + m1 * jnp.log(1 - x0 ** 2)

        def propose(state):
            key, _, _ = state
            key, kz, ku = jax.random.split(key, 3)
            # z ~ Beta((D-1)/2, (D-1)/2): uniform for D = 3, the arcsine law sin^2(pi u / 2) for D = 2.
            z = jax.random.uniform(kz, dtype=mu.dtype)
            if d == 2:
                z = jnp.sin(jnp.pi * z / 2) ** 2
            w = (1 - (1 + b) * z) / (1 - (1 - b) * z)
            u = jax.random.uniform(ku, dtype=mu.dtype)
            ok = kappa * w + m1 * jnp.log(1 - x0 * w) - c >= jnp.log(u)
            return key, w, ok

        key, kv = jax.random.split(key)
        _, w, _ = jax.lax.while_loop(lambda s: ~s[2], propose, (key, jnp.zeros((), mu.dtype), False))
        w = jnp.clip(w, -1.0, 1.0)
        g = jax.random.normal(kv, (d,), mu.dtype)
        v = g - jnp.dot(g, mu) * mu
        v = v / jnp.maximum(jnp.linalg.norm(v), 1e-30)
        x = w * mu + jnp.sqrt(1 - w ** 2) * v
        return x / jnp.linalg.norm(x)

    def log_prob(self, axis, kind) -> jax.Array:
        """Log density of the unit axis `axis` (`(D,)`, or `(..., D)` with `kind` broadcasting)
        under kind `kind`'s distribution, w.r.t. arc length (D = 2) or area (D = 3).

        Example:
          >>> axes = DivisionAxes(jnp.array([[0.0, 0.0, 1.0]]), jnp.array([0.0]))
          >>> round(float(axes.log_prob(jnp.array([1.0, 0.0, 0.0]), 0)), 4)  # uniform: -log(4 pi)
          -2.531
        """
        self.check(owner="DivisionAxes.log_prob")
        axis = jnp.asarray(axis)
        if jnp.shape(axis)[-1:] != (self.ndim,):
            raise fail("DivisionAxes.log_prob", f"axis must have {self.ndim} components on its last axis, "
                       f"got shape {jnp.shape(axis)}.")
        kind = jnp.asarray(kind)
        mean = jnp.asarray(self.mean, jnp.result_type(float))
        mu = mean[kind] / jnp.linalg.norm(mean[kind], axis=-1, keepdims=True)
        kappa = jnp.asarray(self.concentration, mu.dtype)[kind]
        return _log_normaliser(kappa, self.ndim) + kappa * jnp.sum(mu * axis, axis=-1)
