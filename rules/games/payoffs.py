"""Payoff matrices of the classic games, their checks, and the replicator equation.

Payoff matrices are `(n, n)` arrays, row = the focal player's strategy, column = the opponent's;
for two strategies, strategy 0 cooperates and strategy 1 defects. Every parameter must be a finite
number (or a traced scalar under `jit`/`vmap`).
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import check_number, concrete, fail

__all__ = [
    "check_payoff",
    "hawk_dove",
    "prisoners_dilemma",
    "public_goods",
    "replicator",
    "snowdrift",
    "stag_hunt",
]


def _entry(value, name: str, owner: str) -> jax.Array:
    """One payoff parameter as a float scalar: a finite number, or a traced scalar under `jit`."""
    if isinstance(value, jax.core.Tracer):
        if value.ndim != 0:
            raise fail(owner, f"{name} must be a scalar, got shape {value.shape}. For a batch of "
                              "games, jax.vmap over the payoff function.")
    else:
        array = None if isinstance(value, (str, bytes)) else concrete(value)
        if array is not None and array.ndim != 0:
            raise fail(owner, f"{name} must be a scalar, got shape {array.shape}. For a batch of "
                              "games, jax.vmap over the payoff function.")
        check_number(value, name, owner=owner)
    value = jnp.asarray(value)
    return value if jnp.issubdtype(value.dtype, jnp.inexact) else value.astype(jnp.result_type(float))


def _two_by_two(r, s, t, p) -> jax.Array:
    """`[[R, S], [T, P]]` in one floating dtype (R: mutual cooperation, S: sucker, T: temptation,
    P: mutual defection), from entries already checked."""
    entries = [jnp.asarray(v) for v in (r, s, t, p)]
    entries = [e if jnp.issubdtype(e.dtype, jnp.inexact) else e.astype(jnp.result_type(float))
               for e in entries]
    dtype = jnp.result_type(*entries)
    r, s, t, p = (e.astype(dtype) for e in entries)
    return jnp.stack([jnp.stack([r, s]), jnp.stack([t, p])])


def prisoners_dilemma(b) -> jax.Array:
    """The weak prisoner's dilemma of Nowak & May: R = 1, T = b, S = P = 0.

    Strategy 0 cooperates, 1 defects. With `1 < b < 2` defection pays against anyone while mutual
    cooperation beats mutual defection. Nowak & May 1992 (doi:10.1038/359826a0).

    Args:
      b: temptation to defect, a scalar.

    Returns:
      `(2, 2)` payoff matrix, row = focal strategy, column = opponent.

    Example:
      >>> prisoners_dilemma(1.9).tolist()
      [[1.0, 0.0], [1.899999976158142, 0.0]]
    """
    b = _entry(b, "b", "prisoners_dilemma")
    return _two_by_two(jnp.ones_like(b), jnp.zeros_like(b), b, jnp.zeros_like(b))


def snowdrift(b, c) -> jax.Array:
    """The snowdrift game: a cooperator pays `c` for a benefit `b` that both players receive.

    R = b - c/2, S = b - c, T = b, P = 0 (strategy 0 cooperates, 1 defects). For `b > c > 0`
    the well-mixed population settles at the cooperator fraction `1 - c / (2b - c)`.
    Hauert & Doebeli 2004 (doi:10.1038/nature02360).

    Args:
      b: benefit, a scalar.
      c: cost, a scalar.

    Returns:
      `(2, 2)` payoff matrix, row = focal strategy, column = opponent.

    Example:
      >>> snowdrift(1.0, 0.5).tolist()
      [[0.75, 0.5], [1.0, 0.0]]
    """
    b, c = _entry(b, "b", "snowdrift"), _entry(c, "c", "snowdrift")
    return _two_by_two(b - c / 2, b - c, b, jnp.zeros_like(b * c))


def hawk_dove(v, c) -> jax.Array:
    """The hawk-dove game over a resource of value `v` with a cost of fighting `c`.

    Strategy 0 is dove (shares), 1 is hawk (fights): dove-dove v/2, dove-hawk 0, hawk-dove v,
    hawk-hawk (v - c)/2. For `c > v` hawks settle at the fraction `v / c` in a well-mixed
    population. Maynard Smith & Price 1973 (doi:10.1038/246015a0).

    Args:
      v: value of the resource, a scalar.
      c: cost of an escalated fight, a scalar.

    Returns:
      `(2, 2)` payoff matrix, row = focal strategy, column = opponent.

    Example:
      >>> hawk_dove(2.0, 3.0).tolist()
      [[1.0, 0.0], [2.0, -0.5]]
    """
    v, c = _entry(v, "v", "hawk_dove"), _entry(c, "c", "hawk_dove")
    return _two_by_two(v / 2, jnp.zeros_like(v * c), v, (v - c) / 2)


def stag_hunt(stag=2.0, hare=1.0, alone=0.0) -> jax.Array:
    """The stag hunt: hunting the stag pays only if the partner hunts it too.

    Strategy 0 hunts the stag (cooperates), 1 hunts the hare: stag-stag `stag`, stag-hare
    `alone`, hare-anything `hare`. With `stag > hare > alone` both pure strategies are stable
    (Skyrms 2004, The Stag Hunt and the Evolution of Social Structure, doi:10.1017/CBO9781139165228).

    Args:
      stag: payoff of a successful stag hunt (each), a scalar.
      hare: payoff of hunting the hare, whatever the partner does, a scalar.
      alone: payoff of hunting the stag alone, a scalar.

    Returns:
      `(2, 2)` payoff matrix, row = focal strategy, column = opponent.

    Example:
      >>> stag_hunt(4.0, 3.0, 0.0).tolist()
      [[4.0, 0.0], [3.0, 3.0]]
    """
    stag, hare, alone = (_entry(v, n, "stag_hunt") for v, n in
                         ((stag, "stag"), (hare, "hare"), (alone, "alone")))
    return _two_by_two(stag, alone, hare, hare)


def public_goods(r, cost=1.0) -> jax.Array:
    """The linear public goods game written as a matrix, for `SpatialGame(interaction="group")`.

    In a group of `G` players each cooperator puts `cost` into a pool; the pool is multiplied by
    `r` and shared equally by all `G`. A player's share of the group is then
    `(1/G) * sum_{j in group, j itself included} A[own, s_j]` with
    `A = [[(r - 1) cost, -cost], [r cost, 0]]`, which this function returns: a cooperator gets
    `r cost n_C / G - cost`, a defector `r cost n_C / G`. With `interaction="group"` every site
    plays in the groups centred on itself and on each of its neighbours, as in Szabó & Hauert
    2002 (doi:10.1103/PhysRevLett.89.118101). With `1 < r < G` it is a social dilemma.

    Args:
      r: multiplication factor of the pool, a scalar.
      cost: contribution of a cooperator, a scalar.

    Returns:
      `(2, 2)` matrix, row = focal strategy (0 contributes, 1 free-rides), column = co-player.

    Example:
      >>> public_goods(3.0).tolist()
      [[2.0, -1.0], [3.0, 0.0]]
    """
    r, cost = _entry(r, "r", "public_goods"), _entry(cost, "cost", "public_goods")
    return _two_by_two((r - 1) * cost, -cost * jnp.ones_like(r), r * cost, jnp.zeros_like(r * cost))


def replicator(payoff, x) -> jax.Array:
    """Replicator velocity `dx_i/dt = x_i ((A x)_i - x . A x)` of a well-mixed population.

    Taylor & Jonker 1978 (doi:10.1016/0025-5564(78)90077-9). For two strategies it reduces to
    `dx_0/dt = x_0 x_1 ((A x)_0 - (A x)_1)`.

    Args:
      payoff: `(n, n)` matrix, row = focal strategy.
      x: strategy frequencies, shape `(..., n)`, summing to 1.

    Returns:
      `dx/dt`, shape of `x`.

    Example:
      >>> float(replicator(snowdrift(1.0, 0.6), jnp.array([4 / 7, 3 / 7]))[0])  # equilibrium
      0.0
    """
    a = check_payoff(payoff, "replicator")
    x = jnp.asarray(x)
    if x.shape[-1:] != a.shape[:1]:
        raise fail("replicator", f"x must have one frequency per strategy on its last axis, shape "
                                 f"(..., {a.shape[0]}), got shape {x.shape} for the payoff matrix "
                                 f"of shape {a.shape}.")
    fit = x @ a.T
    return x * (fit - jnp.sum(x * fit, axis=-1, keepdims=True))


def check_payoff(payoff, owner: str) -> jax.Array:
    """`payoff` as a square float `(n, n)` matrix with `n >= 2` and finite entries (when concrete),
    or a clear error naming `owner`.

    Example:
      >>> check_payoff([[1, 0], [2, 0]], "SpatialGame").dtype
      dtype('float32')
    """
    if isinstance(payoff, (list, tuple, np.ndarray, np.generic, numbers.Number)):
        payoff = np.asarray(payoff)
    if not hasattr(payoff, "shape") or not hasattr(payoff, "dtype"):
        raise TypeError(
            f"{owner}: payoff must be an (n, n) array, got {type(payoff).__name__}. Build one with "
            "e.g. rules.games.prisoners_dilemma(1.9)."
        )
    shape = tuple(payoff.shape)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 2:
        raise ValueError(
            f"{owner}: payoff must be a square (n, n) matrix with n >= 2 strategies (row = focal "
            f"strategy, column = opponent), got shape {shape}. For two strategies pass a 2x2 "
            "matrix such as prisoners_dilemma(1.9) = [[1, 0], [1.9, 0]]; for a batch of matrices "
            "jax.vmap over the game."
        )
    if not (jnp.issubdtype(payoff.dtype, jnp.number) or jnp.issubdtype(payoff.dtype, jnp.bool_)):
        raise TypeError(f"{owner}: payoff must hold numbers, got dtype {payoff.dtype}.")
    if isinstance(payoff, (np.ndarray, np.generic)):
        payoff = jnp.asarray(payoff)
    value = concrete(payoff)
    if value is not None and value.dtype != object and not np.all(np.isfinite(value)):
        entry = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
        raise ValueError(
            f"{owner}: payoff must hold finite numbers, but entry {entry} is {value[entry]}. "
            "Replace NaN or infinite payoffs by finite numbers."
        )
    if isinstance(payoff, jax.Array) and not jnp.issubdtype(payoff.dtype, jnp.inexact):
        payoff = payoff.astype(jnp.result_type(float))
    return payoff
