"""Clock-driven division: lognormal cell-cycle periods, their draws, densities and survival."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from jax.scipy.special import log_ndtr, ndtri

from rules._perkind import check_param, per_kind

__all__ = ["CellCycle"]


class CellCycle(struct.PyTreeNode):
    """Clock-driven division: each cell draws a period at its first step and divides when its
    clock (minutes since birth) reaches it.

    Periods are lognormal with median `period` and coefficient of variation `cv`
    (`log period ~ Normal(log median, sigma)`, `sigma**2 = log(1 + cv**2)`), drawn independently
    by every cell, daughters included; with `cv = 0` a cell divides exactly `period` minutes
    after its birth. A period of `inf` switches clock division off for that kind.

    Args:
      period: median period in minutes, scalar or `(num_kinds,)`, positive (inf allowed).
      cv: coefficient of variation, scalar or `(num_kinds,)`, >= 0.

    Example:
      >>> cycle = CellCycle(period=[20.0, float("inf")], cv=0.1)
    """

    period: Any
    cv: Any = 0.0

    def sigma(self, num_kinds: int) -> jax.Array:
        """Standard deviation of the log period, `(num_kinds,)`."""
        return jnp.sqrt(jnp.log1p(per_kind(self.cv, num_kinds) ** 2))

    def draw(self, uniform: jax.Array, kind: jax.Array, num_kinds: int):
        """Periods for cells of `kind` `(C,)` from uniform numbers in (0, 1) `(C,)`, and their
        log-densities (0 where the period is deterministic)."""
        median = per_kind(self.period, num_kinds)[kind]
        sigma = self.sigma(num_kinds)[kind]
        z = ndtri(uniform.astype(median.dtype))
        period = median * jnp.exp(sigma * z)
        # The score needs log p(period | params) with the sample held fixed.
        fixed = jax.lax.stop_gradient(period)
        random = (sigma > 0) & jnp.isfinite(median)
        safe_sigma = jnp.where(random, sigma, 1.0)
        safe_median = jnp.where(random, median, 1.0)
        safe_p = jnp.where(random, fixed, 1.0)
        lp = (
            -jnp.log(safe_p) - jnp.log(safe_sigma) - 0.5 * math.log(2 * math.pi)
            - 0.5 * ((jnp.log(safe_p) - jnp.log(safe_median)) / safe_sigma) ** 2
        )
        return period, jnp.where(random, lp, 0.0)

    def log_survival(self, clock, kind, num_kinds: int, temperature) -> jax.Array:
        """`log P(period > clock)` for cells of `kind`, the log spread widened by `temperature`.

        The relaxed survival is lognormal with `sigma_eff**2 = sigma**2 + temperature**2`, smooth
        in `period` even when `cv = 0`. Where `clock <= 0` the result is 0.
        """
        median = per_kind(self.period, num_kinds)[kind]
        sigma = self.sigma(num_kinds)[kind]
        sigma_eff = jnp.sqrt(sigma ** 2 + jnp.asarray(temperature) ** 2)
        positive = clock > 0
        safe = jnp.where(positive, clock, 1.0)
        z = (jnp.log(safe) - jnp.log(median)) / sigma_eff
        return jnp.where(positive, log_ndtr(-z), 0.0)

    def check(self, num_kinds: int) -> None:
        """Raise a clear error unless `period` and `cv` fit `num_kinds` kinds (values when concrete)."""
        check_param(self.period, "period", num_kinds, owner="CellCycle", strict=True, allow_inf=True)
        check_param(self.cv, "cv", num_kinds, owner="CellCycle")
