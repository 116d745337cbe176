"""Neighbour counts: `AtLeast`, `AtMost` and `Exactly(k, p)` and their fuzzy degrees.

`AtLeast(k, p)`, `AtMost(k, p)` and `Exactly(k, p)` say how many neighbours of a site satisfy
`p` (a predicate or any Boolean formula, evaluated at each neighbour). Their degrees, for
neighbour truth values `v_1..v_m`:

- product: probabilities under independence (the Poisson-binomial law): `AtLeast = P(sum of
  Bernoulli(v_i) >= k)`, `Exactly = P(sum == k)`, `AtMost = P(sum <= k)`;
- goedel: `AtLeast(k)` is the k-th largest `v_i` (the max over k-subsets of their min);
  `AtMost(k) = 1 - AtLeast(k + 1)`; `Exactly = min(AtLeast, AtMost)`;
- lukasiewicz: bounded sums of the soft count `s = sum v_i`: `AtLeast(k) = clip(s - k + 1, 0,
  1)`, `AtMost(k) = clip(k + 1 - s, 0, 1)`, `Exactly = max(0, AtLeast + AtMost - 1)`.

Example:
  >>> import jax.numpy as jnp
  >>> round(float(count_truth("Exactly", 1, jnp.array([0.5, 0.5]), "product")), 6)
  0.5
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import sympy
from sympy.logic import boolalg

from automata._checks import check_choice, check_int, fail
from automata.lattice import Lattice
from rules.logic.semantics import check_semantics, conjunction

__all__ = ["AtLeast", "AtMost", "COUNTS", "Count", "Exactly", "count_law", "count_truth", "neighbour_values"]


class Count(boolalg.BooleanFunction):
    """Base of the neighbour-count predicates; `args == (k, formula)`."""

    @classmethod
    def eval(cls, k, formula):
        if not (isinstance(k, sympy.Integer) and k >= 0):
            raise fail(
                cls.__name__, f"k must be a non-negative integer, got {k!r}; e.g. {cls.__name__}(2, p).", TypeError
            )
        if not isinstance(formula, boolalg.Boolean):
            raise fail(
                cls.__name__, f"p must be a Boolean (a predicate symbol or formula), got {formula!r}.", TypeError
            )
        return None


class AtLeast(Count):
    """`AtLeast(k, p)`: at least `k` lattice neighbours of the site satisfy `p`.

    Example:
      >>> import sympy
      >>> AtLeast(2, sympy.Symbol("gut"))
      AtLeast(2, gut)
    """


class AtMost(Count):
    """`AtMost(k, p)`: at most `k` lattice neighbours of the site satisfy `p`."""


class Exactly(Count):
    """`Exactly(k, p)`: exactly `k` lattice neighbours of the site satisfy `p`."""


#: The count predicates by name (known to `parse_formula`).
COUNTS = {"AtLeast": AtLeast, "AtMost": AtMost, "Exactly": Exactly}


def count_law(values, cap: int | None = None) -> jax.Array:
    """The law of N, the number of true values among independent Bernoulli(`values[..., i]`).

    Args:
      values: `(..., m)` probabilities.
      cap: lump every count from `cap` up into one entry (default `m`: the full law). The cost
        is O(m * cap) rather than O(m^2).

    Returns:
      `(..., cap + 1)`: entry `j < cap` is `P(N = j)`, entry `cap` is `P(N >= cap)`.

    Example:
      >>> count_law(jnp.array([0.5, 0.5])).tolist()
      [0.25, 0.5, 0.25]
    """
    values = jnp.asarray(values)
    m = values.shape[-1]
    cap = m if cap is None else check_int(cap, "cap", 1, owner="count_law")
    # probs[j] = P(N == j) for j < cap and probs[cap] = P(N >= cap): a chain absorbing at cap.
    probs = [jnp.ones(values.shape[:-1], values.dtype)] + [jnp.zeros(values.shape[:-1], values.dtype)] * cap
    for i in range(m):
        v = values[..., i]
        new = [probs[0] * (1 - v)]
        new += [probs[j] * (1 - v) + probs[j - 1] * v for j in range(1, cap)]
        new.append(probs[cap] + probs[cap - 1] * v)
        probs = new
    return jnp.stack(probs, axis=-1)


def _at_least(values: jax.Array, j: int, semantics: str) -> jax.Array:
    """Degree of `AtLeast(j)` over the last axis of `values`."""
    m = values.shape[-1]
    if j <= 0 or j > m:
        return jnp.full(values.shape[:-1], 1.0 if j <= 0 else 0.0, values.dtype)
    if semantics == "goedel":
        return -jnp.sort(-values, axis=-1)[..., j - 1]
    if semantics == "lukasiewicz":
        return jnp.clip(jnp.sum(values, axis=-1) - j + 1, 0, 1)
    law = count_law(values, cap=j)
    return law[..., j]


def _product_count(kind: str, k: int, values: jax.Array) -> jax.Array:
    """`AtLeast`/`AtMost`/`Exactly(k)` under the product semantics, from one Poisson-binomial law."""
    m = values.shape[-1]
    if 1 <= k <= m:
        law = count_law(values, cap=k + 1)
        ge_k, ge_k1 = law[..., k] + law[..., k + 1], law[..., k + 1]
    else:
        ge_k, ge_k1 = _at_least(values, k, "product"), _at_least(values, k + 1, "product")
    if kind == "AtLeast":
        return ge_k
    if kind == "AtMost":
        return 1 - ge_k1
    return ge_k - ge_k1


def count_truth(kind: str, k: int, values, semantics: str = "product") -> jax.Array:
    """Degree of `AtLeast`/`AtMost`/`Exactly(k, .)` from per-neighbour truth values.

    Args:
      kind: `"AtLeast"`, `"AtMost"` or `"Exactly"`.
      k: the count, a non-negative integer.
      values: truth values in [0, 1] with the neighbours on the last axis, shape `(..., m)`.
      semantics: `"product"`, `"goedel"` or `"lukasiewicz"` (see the module docs).

    Returns:
      shape `values.shape[:-1]`, in [0, 1].

    Example:
      >>> round(float(count_truth("AtLeast", 1, jnp.array([0.5, 0.5]), "product")), 6)
      0.75
    """
    owner = "count_truth"
    check_semantics(semantics, owner)
    check_choice(kind, "kind", COUNTS, owner=owner)
    k = check_int(k, "k", 0, owner=owner)
    values = jnp.asarray(values)
    if not jnp.issubdtype(values.dtype, jnp.inexact):
        values = values.astype(jnp.result_type(float))
    if semantics == "product":
        return _product_count(kind, k, values)
    ge_k, le_k = _at_least(values, k, semantics), 1 - _at_least(values, k + 1, semantics)
    if kind == "AtLeast":
        return ge_k
    if kind == "AtMost":
        return le_k
    return conjunction(ge_k, le_k, semantics)


def neighbour_values(lattice: Lattice, values: jax.Array) -> jax.Array:
    """Per-site truth values -> `(*lattice.shape, m, ...)` neighbour truth values.

    Beyond a `"fixed"` edge a neighbour is true when `lattice.fill > 0` and false otherwise (the
    same convention as the live-neighbour count of `rules.symbolic.SymbolicRule`).

    Example:
      >>> neighbour_values(Lattice((3,), neighbourhood=((-1,), (1,))), jnp.array([1.0, 0.0, 0.0])).tolist()
      [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    """
    if lattice.boundary == "fixed":
        lattice = lattice.replace(fill=1.0 if lattice.fill > 0 else 0.0)
    return lattice.neighbours(values)
