"""Expected counts without a time loop: the relaxed division model as a renewal equation.

When no hazard depends on the counts (no `external` term), the relaxed model of
`expected_counts` is linear in the cells' masses, and a cohort's fate depends only on its kind
and age. Births then obey a renewal equation: the cells born into kind `k` in step `s` are the
daughters of every division in step `s`, and a cohort born in step `b` divides in step `s` with
a probability that depends on `s - b` only, so divisions are convolutions of births with one
age density per kind. This module solves that equation with FFT convolutions:

- along the differentiation table, one round per generation of kinds (the table's kinds,
  self-renewal aside, must form a DAG; `rounds` tells how many rounds make the answer exact);
- a kind whose daughters include itself renews itself without bound; its births are the
  power series `1 / (1 - c g)` (`c` daughters of its own kind, `g` its division density) applied
  to its inflow, computed by Newton's iteration on truncated power series.

The result equals the step-by-step recursion of `rules.division.meanfield` to rounding; it costs
O(rounds K S log S) instead of O(K S^2), and its gradients need no stored per-step carry.
"""

from __future__ import annotations

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np

from rules._perkind import per_kind
from rules.hazard import event_probability

__all__ = ["rounds"]


def rounds(daughters) -> int | None:
    """Rounds of the renewal solution for a table: 1 + the longest chain of kinds linked by
    division into another kind, or None when kinds divide into each other in a cycle longer than
    self-renewal (the step-by-step recursion is then needed).

    Example:
      >>> rounds(((1, 2), (1, 1), (2, 2)))  # P0 -> AB + P1, both self-renewing
      2
      >>> rounds(((1, 1), (0, 0))) is None
      True
    """
    n = len(daughters)
    children = [{int(d) for d in pair if int(d) != k} for k, pair in enumerate(daughters)]
    depth = [0] * n
    state = [0] * n  # 0 new, 1 on the stack, 2 done

    def visit(k):
        if state[k] == 1:
            return False
        if state[k] == 2:
            return True
        state[k] = 1
        best = 0
        for c in children[k]:
            if not visit(c):
                return False
            best = max(best, depth[c] + 1)
        depth[k], state[k] = best, 2
        return True


    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * n + 100))
    try:
        ok = all(visit(k) for k in range(n))
    finally:
        sys.setrecursionlimit(limit)
    return 1 + max(depth) if ok else None


def _size(size: int) -> int:
    """FFT length for causal convolutions of `size` terms (no wrap-around)."""
    return 1 << max(1, math.ceil(math.log2(2 * size)))


def _conv(x, y, size: int):
    """Causal convolutions along the last axis, truncated to `size`: `sum_b x[b] y[s - b]`."""
    n = _size(size)
    return jnp.fft.irfft(jnp.fft.rfft(x, n) * jnp.fft.rfft(y, n), n)[..., :size]


def _apply(spectrum, x, size: int):
    """`_conv` with one factor given by its spectrum (`jnp.fft.rfft(y, _size(size))`)."""
    n = _size(size)
    return jnp.fft.irfft(spectrum * jnp.fft.rfft(x, n), n)[..., :size]


def _inverse_series(g, size: int):
    """`1 / (1 - g)` as power series truncated to `size` terms, per row (`g[..., 0]` must be 0).

    Newton's iteration `h <- 2 h - (1 - g) h^2` doubles the number of correct terms each time;
    the terms beyond them are dropped, so no wrong tail is squared into an overflow.
    """
    a = jnp.fft.rfft(-g.at[..., 0].add(-1.0), _size(size))  # 1 - g
    h = jnp.zeros_like(g).at[..., 0].set(1.0)
    terms = jnp.arange(size)
    correct = 1
    while correct < size:
        correct *= 2
        h = 2.0 * h - _apply(a, _conv(h, h, size), size)
        h = jnp.where(terms < correct, h, 0.0)
    return h


def expected(model, pop, temperature, *, num_steps: int, num_rounds: int):
    """`(count (S, K), num_divisions (S,), num_deaths (S,))` of the relaxed model (no external
    hazard) by the renewal equation; `num_rounds` from `rounds(model.table.daughters)`."""
    num_kinds, dt = model.num_kinds, model.dt
    dtype = jnp.result_type(float)
    dtype = pop.clock.dtype if jnp.issubdtype(pop.clock.dtype, jnp.floating) else dtype
    kind_a, kind_b = model.table.arrays()
    offspring = jax.nn.one_hot(kind_a, num_kinds, dtype=dtype) + jax.nn.one_hot(kind_b, num_kinds, dtype=dtype)
    self_renew = jnp.diagonal(offspring)
    to_others = offspring * (1.0 - jnp.eye(num_kinds, dtype=dtype))
    cycle = model.cycle
    kinds = jnp.arange(num_kinds)

    def log_surv(clock, kind):
        if cycle is None:
            return jnp.zeros(jnp.broadcast_shapes(jnp.shape(clock), jnp.shape(kind)), dtype)
        return cycle.log_survival(clock, kind, num_kinds, temperature).astype(dtype)

    share = jnp.zeros(num_kinds, dtype) if cycle is None else cycle.death_share(num_kinds).astype(dtype)
    q = (jnp.zeros(num_kinds, dtype) if model.death is None
         else event_probability(per_kind(model.death, num_kinds), dt).astype(dtype))
    p_h = (jnp.zeros(num_kinds, dtype) if model.hazard is None
           else event_probability(per_kind(model.hazard, num_kinds), dt).astype(dtype))
    r = (1.0 - q) * (1.0 - p_h)  # per-step survival of everything but the clock

    def densities(surv_prev, surv, steps_before, kind):
        """Mass left, divisions and deaths per unit starting mass, given the clock's survival
        before and after each step and the number of earlier steps."""
        decay = r[kind] ** steps_before
        ended = jnp.maximum(surv_prev - surv, 0.0)
        divide = decay * (1.0 - q[kind]) * (ended * (1.0 - share[kind]) + surv * p_h[kind])
        die = decay * (surv_prev * q[kind] + (1.0 - q[kind]) * ended * share[kind])
        return decay * r[kind] * surv, divide, die

    # Cohorts: age a = 0 .. S - 1 steps; the clock's survival at age a is exp(T[a]).
    ages = jnp.arange(num_steps + 1, dtype=dtype)
    surv = jnp.exp(log_surv(ages[None, :] * dt, kinds[:, None]))  # (K, S + 1)
    left_c, div_c, die_c = densities(surv[:, :-1], surv[:, 1:], ages[None, :-1], kinds[:, None])
    alive_c = jnp.concatenate([jnp.ones((num_kinds, 1), dtype), left_c[:, :-1]], axis=1)
    div_c = jnp.concatenate([jnp.zeros((num_kinds, 1), dtype), div_c[:, :-1]], axis=1)
    die_c = jnp.concatenate([jnp.zeros((num_kinds, 1), dtype), die_c[:, :-1]], axis=1)

    # Cells alive at the start: clock c, survival relative to a drawn period's known excess.
    steps = jnp.arange(num_steps, dtype=dtype)
    rk, mass = pop.kind, pop.alive.astype(dtype)
    drawn = ~jnp.isnan(pop.period) & pop.alive
    base = jnp.where(drawn, log_surv(pop.clock, rk), 0.0)
    clock = pop.clock.astype(dtype)[:, None] + (steps[None, :] + 1.0) * dt
    s_now = jnp.exp(log_surv(clock, rk[:, None]) - base[:, None])
    s_prev = jnp.concatenate([jnp.ones_like(s_now[:, :1]), s_now[:, :-1]], axis=1)
    left_r, div_r, die_r = densities(s_prev, s_now, steps[None, :], rk[:, None])
    left_r, div_r, die_r = (mass[:, None] * x for x in (left_r, div_r, die_r))
    root_count = jnp.zeros((num_kinds, num_steps), dtype).at[rk].add(left_r)
    inflow = div_r.T @ offspring[rk]  # (S, K) births from the starting cells' divisions
    inflow = inflow.T

    # Only kinds that renew themselves need the power series; the others pass births through.
    renewing = np.flatnonzero(np.asarray([a == k or b == k for k, (a, b) in enumerate(model.table.daughters)]))
    div_spectrum = jnp.fft.rfft(div_c, _size(num_steps))
    renew_spectrum = None
    if renewing.size:
        renew = _inverse_series(self_renew[renewing, None] * div_c[renewing], num_steps)
        renew_spectrum = jnp.fft.rfft(renew, _size(num_steps))
    births = jnp.zeros((num_kinds, num_steps), dtype)
    divided = births
    for _ in range(num_rounds):
        births = inflow + to_others.T @ divided
        if renew_spectrum is not None:
            births = births.at[renewing].set(_apply(renew_spectrum, births[renewing], num_steps))
        divided = _apply(div_spectrum, births, num_steps)
    count = root_count + _conv(births, alive_c, num_steps)
    divisions = divided.sum(0) + div_r.sum(0)
    deaths = _conv(births, die_c, num_steps).sum(0) + die_r.sum(0)
    return count.T, divisions, deaths
