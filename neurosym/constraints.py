"""Losses that make an encoder's predicted kinds obey expert rules and priors.

Each function takes per-cell logits (from `neurosym.encoder.Encoder`) and returns a scalar loss
that is 0 when the rule holds (up to floating point), with gradients in the logits:

- `logic_loss`: any `rules.logic.Constraint` over predicted kinds, on a lattice or on a contact
  graph (`neighbour_index` turns a `networkx` graph into the padded index array);
- `lineage_loss`: a daughter's kind must be reachable from its parent's through a
  `rules.DifferentiationTable` (`reachability`);
- `temporal_loss`: predicted states at `t + 1` must follow from those at `t` by a rule; for
  Life-like rules `life_like_expectation` gives the exact probability of being alive next when
  sites are independent, for a fixed rule or a learnable table (`rule_table`);
- `prior_loss`: a `rules.GeneExpressionPrior` over the kinds, given each cell's expression.

Example:
  >>> import jax.numpy as jnp
  >>> from rules.logic import Constraint
  >>> logits = jnp.array([[9.0, -9.0], [-9.0, 9.0]])   # cell 0 is "stem", cell 1 "gut"
  >>> c = Constraint("Implies(gut, Not(stem))")
  >>> round(float(logic_loss(c, logits, ("stem", "gut"))), 4)
  0.0
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np

from automata.lattice import Lattice
from automata.lifelike import LifeLike
from rules.division import DifferentiationTable
from rules.logic import Constraint, count_law
from rules.priors import GeneExpressionPrior

__all__ = [
    "kind_probabilities",
    "life_like_expectation",
    "lineage_loss",
    "logic_loss",
    "neighbour_index",
    "prior_loss",
    "reachability",
    "rule_table",
    "temporal_loss",
]


def _check_logits(logits, kinds: Sequence[str] | None = None) -> jax.Array:
    logits = jnp.asarray(logits)
    if logits.ndim == 0:
        raise ValueError("logits need a trailing kinds axis, shape (..., num_kinds); got a scalar.")
    if kinds is not None and logits.shape[-1] != len(kinds):
        raise ValueError(
            f"The logits have {logits.shape[-1]} kinds on their last axis but the alphabet has "
            f"{len(kinds)} ({', '.join(kinds)}); the encoder head and the alphabet must match."
        )
    return logits


def kind_probabilities(logits, kinds: Sequence[str]) -> dict[str, jax.Array]:
    """Softmax of per-cell logits as a dict kind name -> `(...)` probabilities (predicates)."""
    kinds = tuple(kinds)
    p = jax.nn.softmax(_check_logits(logits, kinds), axis=-1)
    return {k: p[..., i] for i, k in enumerate(kinds)}


def neighbour_index(graph: nx.Graph, nodes: Sequence) -> np.ndarray:
    """A contact graph as an `(num_cells, max_degree)` array of neighbour rows, padded with -1.

    Args:
      graph: e.g. the contact graph from `neurosym.symbolise`.
      nodes: the cells in the order of the logits' rows; neighbours outside `nodes` are left out.

    Example:
      >>> import networkx as nx
      >>> neighbour_index(nx.path_graph(3), [0, 1, 2]).tolist()
      [[1, -1], [0, 2], [1, -1]]
    """
    nodes = list(nodes)
    row = {n: i for i, n in enumerate(nodes)}
    missing = [n for n in nodes if n not in graph]
    if missing:
        raise ValueError(f"Cells {missing[:5]} are not in the contact graph; give the graph's own node names.")
    lists = [[row[m] for m in graph.neighbors(n) if m in row and m != n] for n in nodes]
    width = max((len(x) for x in lists), default=0)
    out = np.full((len(nodes), max(width, 1)), -1, np.int32)
    for i, x in enumerate(lists):
        out[i, : len(x)] = sorted(x)
    return out


def logic_loss(
    constraint: Constraint,
    logits,
    kinds: Sequence[str],
    *,
    lattice: Lattice | None = None,
    neighbours=None,
    mask=None,
    reduction: str = "mean",
) -> jax.Array:
    """`constraint.loss` over the predicted kind probabilities of cells.

    Args:
      constraint: a `rules.logic.Constraint` whose predicates are kind names.
      logits: `(..., num_kinds)` per-cell or per-site logits.
      kinds: the alphabet, in the order of the logits' last axis.
      lattice, neighbours: for formulas that count neighbours: the lattice (logits shaped
        `(*lattice.shape, num_kinds)`) or a contact graph's `neighbour_index`.
      mask: which cells count (e.g. the labels present in an image).
      reduction: `"mean"` or `"log"`, see `Constraint.loss`.
    """
    if not isinstance(constraint, Constraint):
        raise TypeError(f"constraint must be a rules.logic.Constraint, got {type(constraint).__name__}.")
    truth = kind_probabilities(logits, kinds)
    unknown = [n for n in constraint.names if n not in truth]
    if unknown:
        raise ValueError(
            f"The constraint {constraint.expr} names {', '.join(unknown)}, which are not kinds of "
            f"the alphabet ({', '.join(kinds)})."
        )
    return constraint.loss(truth, lattice=lattice, neighbours=neighbours, mask=mask, reduction=reduction)


def reachability(table: DifferentiationTable, *, closure: bool = False) -> np.ndarray:
    """`(num_kinds, num_kinds)` booleans: `R[a, b]` when a cell of kind `a` can have a daughter `b`.

    Args:
      table: the differentiation table.
      closure: also allow descendants several divisions later (and the kind itself), for
        lineages where some divisions were not observed.

    Example:
      >>> t = DifferentiationTable(((0, 1), (1, 1)))
      >>> reachability(t).astype(int).tolist()
      [[1, 1], [0, 1]]
    """
    if not isinstance(table, DifferentiationTable):
        raise TypeError(f"table must be a rules.DifferentiationTable, got {type(table).__name__}.")
    n = table.num_kinds
    r = np.zeros((n, n), bool)
    for a, (d1, d2) in enumerate(table.daughters):
        r[a, d1] = r[a, d2] = True
    if closure:
        r |= np.eye(n, dtype=bool)
        for _ in range(n):
            r = r | ((r.astype(int) @ r.astype(int)) > 0)
    return r


def lineage_loss(logits, parents, allowed, *, mask=None, eps: float = 1e-6) -> jax.Array:
    """Mean of `-log P(daughter's kind is reachable from its parent's kind)` over daughters.

    With `p` the parent's and `q` the daughter's predicted kind probabilities (independent),
    `P = sum_ab p_a q_b R_ab`.

    Args:
      logits: `(num_cells, num_kinds)` per-cell logits (all cells of a lineage or a time series).
      parents: `(num_cells,)` row of each cell's parent, -1 for cells without one.
      allowed: a `rules.DifferentiationTable` or a `(num_kinds, num_kinds)` reachability matrix.
      mask: optional `(num_cells,)` which daughters count.
      eps: keeps the log finite.
    """
    logits = _check_logits(logits)
    r = reachability(allowed) if isinstance(allowed, DifferentiationTable) else np.asarray(allowed)
    k = logits.shape[-1]
    if r.shape != (k, k):
        raise ValueError(
            f"The reachability matrix has shape {r.shape} but the logits have {k} kinds; give a "
            f"table with one row per kind ({k})."
        )
    parents = jnp.asarray(parents)
    if parents.shape != logits.shape[:1]:
        raise ValueError(f"parents must give one parent row per cell, shape {logits.shape[:1]}; got {tuple(parents.shape)}.")
    p = jax.nn.softmax(logits, axis=-1)
    has = parents >= 0
    pp = p[jnp.where(has, parents, 0)]
    prob = jnp.einsum("na,ab,nb->n", pp, jnp.asarray(r, p.dtype), p)
    per = -jnp.log(prob + eps)
    w = has.astype(per.dtype)
    if mask is not None:
        w = w * jnp.asarray(mask).astype(per.dtype)
    return jnp.sum(per * w) / jnp.maximum(jnp.sum(w), 1)


def rule_table(rule: str) -> np.ndarray:
    """A Life-like rule string as a float `(2, 9)` table `T[centre, live neighbours]` of next states.

    The float form of `automata.LifeLike(rule).table()` (radius-1 Moore neighbourhood), ready to
    be relaxed or learned by `life_like_expectation`.

    Example:
      >>> rule_table("B3/S23").astype(int).tolist()
      [[0, 0, 0, 1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0, 0]]
    """
    return LifeLike(rule).table(num_neighbours=8).astype(np.float32)


def life_like_expectation(table, lattice: Lattice, alive) -> jax.Array:
    """Probability each site is alive after one step of a Life-like rule, sites independent.

    `P(alive') = sum_n P(N = n) [(1 - p) T[0, n] + p T[1, n]]` with `N` the Poisson-binomial
    number of live neighbours; on 0/1 inputs and a 0/1 table it equals the crisp rule.

    Args:
      table: `(2, m + 1)` next-state probabilities by centre state and live-neighbour count
        (`rule_table("B3/S23")`, or `sigmoid` of learnable logits), m = neighbourhood size.
      lattice: the lattice (its neighbourhood and boundary).
      alive: `lattice.shape` probabilities of being alive.
    """
    alive = jnp.asarray(alive)
    if alive.shape != lattice.shape:
        raise ValueError(f"alive has shape {tuple(alive.shape)}, the lattice {lattice.shape}.")
    nb = lattice.neighbours(alive)
    nb = jnp.moveaxis(nb, lattice.ndim, -1)
    m = nb.shape[-1]
    table = jnp.asarray(table, alive.dtype)
    if table.shape != (2, m + 1):
        raise ValueError(f"The table must have shape (2, {m + 1}) for {m} neighbours, got {tuple(table.shape)}.")
    dist = count_law(nb)
    return (1 - alive) * (dist @ table[0]) + alive * (dist @ table[1])


def temporal_loss(
    step_fn: Callable[[jax.Array], jax.Array], probs, *, mask=None, eps: float = 1e-6
) -> jax.Array:
    """Binary cross-entropy between predicted states at `t + 1` and the rule applied at `t`.

    Args:
      step_fn: probabilities at `t` -> probabilities at `t + 1` (e.g.
        `lambda p: life_like_expectation(table, lattice, p)`).
      probs: `(T, ...)` predicted probability of state 1 over time, `T >= 2`.
      mask: optional `(T - 1, ...)` which sites count.

    Both sides carry gradients, so the states are pulled to agree with the rule and the rule's
    parameters (if any, closed over by `step_fn` under `jax.grad`) towards the states.
    """
    probs = jnp.asarray(probs)
    if probs.ndim < 1 or probs.shape[0] < 2:
        raise ValueError(f"probs needs at least two time points on its first axis, got shape {tuple(probs.shape)}.")
    pred = jax.vmap(step_fn)(probs[:-1])
    target = probs[1:]
    per = -(target * jnp.log(pred + eps) + (1 - target) * jnp.log(1 - pred + eps))
    # The entropy of the target is subtracted so that a perfect, confident match has loss 0.
    per = per + (target * jnp.log(target + eps) + (1 - target) * jnp.log(1 - target + eps))
    if mask is None:
        return jnp.mean(per)
    w = jnp.broadcast_to(jnp.asarray(mask), per.shape).astype(per.dtype)
    return jnp.sum(per * w) / jnp.maximum(jnp.sum(w), 1)


def prior_loss(prior: GeneExpressionPrior, logits, expression, kinds: Sequence[str], *, mask=None, genes=None,
               target: str = "prior") -> jax.Array:
    """KL divergence from a gene-expression prior to the predicted kinds (see `GeneExpressionPrior.loss`).

    The prior's kinds must be the alphabet, in the same order. `target="posterior"` uses the
    posterior of the prediction and the expression as the target (self-training; see
    `GeneExpressionPrior.loss`) instead of the expression's prior alone.
    """
    if not isinstance(prior, GeneExpressionPrior):
        raise TypeError(f"prior must be a rules.GeneExpressionPrior, got {type(prior).__name__}.")
    kinds = tuple(kinds)
    if tuple(prior.kinds) != kinds:
        raise ValueError(
            f"The prior is over the kinds {prior.kinds} but the alphabet is {kinds}; build the "
            "prior with the alphabet's kinds in the same order."
        )
    return prior.loss(_check_logits(logits, kinds), expression, genes=genes, mask=mask, target=target)
