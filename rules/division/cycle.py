"""Clock-driven division: lognormal cell-cycle periods, cell-cycle exit and programmed death,
their draws, densities and survival."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.scipy.special import log_ndtr, ndtri

from automata._checks import concrete, fail
from rules._perkind import check_param, per_kind

__all__ = ["CellCycle"]


class CellCycle(struct.PyTreeNode):
    """Clock-driven division: each cell draws a period at its first step and, when its clock
    (minutes since birth) reaches it, divides or dies.

    Periods are lognormal with median `period` and coefficient of variation `cv`
    (`log period ~ Normal(log median, sigma)`, `sigma**2 = log(1 + cv**2)`), drawn independently
    by every cell, daughters included; with `cv = 0` a cell divides exactly `period` minutes
    after its birth. A period of `inf` switches clock division off for that kind.

    Two fates leave the cycle:

    - `terminal`: the probability that a cell of the kind never divides (it exits the cell
      cycle and lives on, as differentiated cells do): its period is infinite.
    - `apoptosis`: the probability that the cycle ends in programmed death instead of division:
      the cell dies when its clock reaches its period.

    A cell divides with probability `1 - terminal - apoptosis`. Both are decided by the cell's
    own draws, so `expected_counts` (which follows the same fates in expectation) and `simulate`
    agree.

    Args:
      period: median period in minutes, scalar or `(num_kinds,)`, positive (inf allowed).
      cv: coefficient of variation, scalar or `(num_kinds,)`, >= 0.
      terminal: probability of never dividing, scalar or `(num_kinds,)`, in [0, 1].
      apoptosis: probability that the cycle ends in death, scalar or `(num_kinds,)`, in [0, 1],
        with `terminal + apoptosis <= 1`.

    Example:
      >>> cycle = CellCycle(period=[20.0, float("inf")], cv=0.1)
      >>> late = CellCycle(period=40.0, terminal=[0.0, 0.6], apoptosis=[0.0, 0.1])
    """

    period: Any
    cv: Any = 0.0
    terminal: Any = 0.0
    apoptosis: Any = 0.0

    def sigma(self, num_kinds: int) -> jax.Array:
        """Standard deviation of the log period, `(num_kinds,)`."""
        return jnp.sqrt(jnp.log1p(per_kind(self.cv, num_kinds) ** 2))

    def death_share(self, num_kinds: int) -> jax.Array:
        """`(num_kinds,)` probability that a cycle which ends ends in death,
        `apoptosis / (1 - terminal)` (0 where every cell is terminal)."""
        e = per_kind(self.terminal, num_kinds)
        a = per_kind(self.apoptosis, num_kinds)
        open_ = 1.0 - e
        return jnp.where(open_ > 0, a / jnp.where(open_ > 0, open_, 1.0), 0.0)

    def draw(self, uniform: jax.Array, kind: jax.Array, num_kinds: int):
        """Periods for cells of `kind` `(C,)` from uniform numbers in (0, 1) `(C,)`, and their
        log-densities (0 where the period is deterministic).

        One uniform number decides both: below `terminal[kind]` the cell never divides (period
        `inf`); above, the rescaled number gives the lognormal period.
        """
        median = per_kind(self.period, num_kinds)[kind]
        sigma = self.sigma(num_kinds)[kind]
        e = per_kind(self.terminal, num_kinds)[kind].astype(median.dtype)
        u = uniform.astype(median.dtype)
        exits = u < e
        tiny = jnp.finfo(median.dtype).tiny
        rescaled = jnp.clip((u - e) / jnp.where(e < 1, 1.0 - e, 1.0), tiny, 1.0 - 1e-7)
        z = ndtri(rescaled)
        period = jnp.where(exits, jnp.inf, median * jnp.exp(sigma * z))
        # The score needs log p(period | params) with the sample held fixed.
        fixed = jax.lax.stop_gradient(period)
        random = (sigma > 0) & jnp.isfinite(median) & ~exits
        safe_sigma = jnp.where(random, sigma, 1.0)
        safe_median = jnp.where(random, median, 1.0)
        safe_p = jnp.where(random, fixed, 1.0)
        lp = (
            -jnp.log(safe_p) - jnp.log(safe_sigma) - 0.5 * math.log(2 * math.pi)
            - 0.5 * ((jnp.log(safe_p) - jnp.log(safe_median)) / safe_sigma) ** 2
        )
        lp = jnp.where(random, lp, 0.0)
        # The exit branch adds log(e) or log(1 - e) where the fraction is strictly inside (0, 1).
        inside = (e > 0) & (e < 1)
        safe_e = jnp.where(inside, e, 0.5)
        lp_exit = jnp.where(inside, jnp.where(exits, jnp.log(safe_e), jnp.log1p(-safe_e)), 0.0)
        return period, lp + lp_exit

    def log_survival(self, clock, kind, num_kinds: int, temperature) -> jax.Array:
        """`log P(the cycle has not ended by clock)` for cells of `kind`, the log spread widened
        by `temperature`.

        `terminal` cells never end their cycle, so this is `log(e + (1 - e) S(clock))` with `S`
        the relaxed lognormal survival (`sigma_eff**2 = sigma**2 + temperature**2`, smooth in
        `period` even when `cv = 0`). Where `clock <= 0` the result is 0.
        """
        median = per_kind(self.period, num_kinds)[kind]
        sigma = self.sigma(num_kinds)[kind]
        sigma_eff = jnp.sqrt(sigma ** 2 + jnp.asarray(temperature) ** 2)
        positive = clock > 0
        safe = jnp.where(positive, clock, 1.0)
        z = (jnp.log(safe) - jnp.log(median)) / sigma_eff
        log_s = log_ndtr(-z)
        e = per_kind(self.terminal, num_kinds)[kind]
        has_exit = e > 0
        safe_e = jnp.where(has_exit, e, 0.5)
        mixed = jnp.logaddexp(jnp.log(safe_e), jnp.log1p(-safe_e) + log_s)
        return jnp.where(positive, jnp.where(has_exit, mixed, log_s), 0.0)

    def check(self, num_kinds: int) -> None:
        """Raise a clear error unless the parameters fit `num_kinds` kinds (values when concrete)."""
        check_param(self.period, "period", num_kinds, owner="CellCycle", strict=True, allow_inf=True)
        check_param(self.cv, "cv", num_kinds, owner="CellCycle")
        check_param(self.terminal, "terminal", num_kinds, owner="CellCycle", high=1.0)
        check_param(self.apoptosis, "apoptosis", num_kinds, owner="CellCycle", high=1.0)
        e, a = concrete(self.terminal), concrete(self.apoptosis)
        if e is not None and a is not None and e.dtype != object and a.dtype != object:
            total = np.broadcast_to(e, (num_kinds,)) + np.broadcast_to(a, (num_kinds,))
            if np.any(total > 1.0 + 1e-6):
                raise fail("CellCycle", f"terminal + apoptosis must be <= 1 for every kind (they "
                                        f"are the probabilities of two exclusive fates), got "
                                        f"{total.tolist()}.")
