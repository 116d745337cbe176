"""Founder inference along anonymous tracks: exact belief propagation on the tracking forest.

Anonymous tracking (`CellSeries.parent`, from mask overlap) links each cell to at most one
cell of the previous time point, so the links form a forest; a cell whose parent has two or
more tracked children was born by a division. Along a link the founder is kept, except that a
daughter of a P cell stays P (probability 1/2) or starts MS, E, C or D (`founder_transitions`);
a link may also be a tracking error, with probability `error`. `track_posterior` combines, for every
cell, the evidence of its own features (a classifier's probabilities, divided by their mean and
tempered by `temperature`, since the evidence of one cell seen at many time points is not
independent) and the known founders of labelled cells, and returns each cell's exact
posterior over founders given all the evidence of its tree (sum-product, two passes).

Example:
  >>> import numpy as np
  >>> parent = np.array([-1, 0, 1, 1])          # a cell, itself later, and its two daughters
  >>> unary = np.full((4, 6), 1 / 6)
  >>> known = np.array([-1, -1, -1, 0])         # one daughter is known to be AB
  >>> post = track_posterior(parent, unary, known, error=0.0)
  >>> np.round(post[:, 0], 3).tolist()
  [1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from automata._checks import check_number, fail
from neurosym.founders.classes import FOUNDERS

__all__ = ["TRACK_FEATURES", "founder_transitions", "track_features", "track_posterior"]


def founder_transitions() -> np.ndarray:
    """(6, 6) 0/1 matrix: may a cell of founder a (row) be the tracked parent of one of b?
    Every founder goes on as itself; the germ line P also gives birth to MS, E, C and D.

    Example:
      >>> founder_transitions()[FOUNDERS.index("P")].astype(int).tolist()
      [0, 1, 1, 1, 1, 1]
    """
    r = np.eye(len(FOUNDERS))
    p = FOUNDERS.index("P")
    for f in ("MS", "E", "C", "D"):
        r[p, FOUNDERS.index(f)] = 1.0
    return r


def _link_matrix(error: float, division: bool) -> np.ndarray:
    """P(child's founder | parent's founder) along a link: a cell that goes on keeps its
    founder; a daughter of a P cell stays P with probability 1/2 or starts one of the four
    founders the germ line gives birth to."""
    r = founder_transitions() if division else np.eye(len(FOUNDERS))
    p = FOUNDERS.index("P")
    if division:
        r[p] = np.where(r[p] > 0, 0.5 / (r[p].sum() - 1), 0.0)
        r[p, p] = 0.5
    r = r / r.sum(1, keepdims=True)
    k = r.shape[0]
    return (1 - error) * r + error / k


def track_posterior(parent, unary, known=None, *, error: float = 0.01, temperature: float = 1.0) -> np.ndarray:
    """Each cell's posterior over founders given the tracking forest and all its evidence.

    Args:
      parent: (N,) row of each cell's tracked parent, -1 for a root; a parent's row must come
        before its children's (rows ordered by time, as in a `CellSeries`).
      unary: (N, 6) per-cell evidence, e.g. a classifier's probabilities (they are divided by
        their mean over cells, so that a classifier's class balance is not counted once per
        cell) or ones for no evidence.
      known: optional (N,) founder index of labelled cells, -1 elsewhere; a labelled cell's
        evidence is its label alone.
      error: probability that a link is a tracking error (its founder then is any of the six).
      temperature: exponent applied to the evidence (below 1 when the evidence of linked
        cells is not independent).

    Returns:
      (N, 6) posterior probabilities.
    """
    owner = "track_posterior"
    parent = np.asarray(parent, np.int64)
    n = parent.size
    u = np.asarray(unary, np.float64)
    if parent.ndim != 1 or u.shape != (n, len(FOUNDERS)):
        raise fail(owner, f"parent must be (N,) and unary (N, {len(FOUNDERS)}); got {parent.shape} and {u.shape}.")
    if n and ((parent >= np.arange(n)) | (parent < -1)).any():
        raise fail(owner, "each parent must be -1 or an earlier row (order the rows by time).")
    if not np.isfinite(u).all() or (u < 0).any():
        raise fail(owner, "unary must hold finite non-negative evidence.")
    error = check_number(error, "error", minimum=0.0, maximum=1.0, owner=owner)
    temperature = check_number(temperature, "temperature", minimum=0.0, owner=owner)
    u = u / np.maximum(u.mean(0, keepdims=True), 1e-12)
    u = np.maximum(u, 1e-12) ** temperature
    if known is not None:
        known = np.asarray(known, np.int64)
        if known.shape != (n,) or ((known < -1) | (known >= len(FOUNDERS))).any():
            raise fail(owner, f"known must be (N,) founder indices 0-{len(FOUNDERS) - 1} or -1.")
        hit = known >= 0
        u[hit] = np.eye(len(FOUNDERS))[known[hit]]
    u = u / u.sum(1, keepdims=True)
    links = (_link_matrix(error, False), _link_matrix(error, True))
    division = (np.bincount(parent[parent >= 0], minlength=n) >= 2).astype(int)
    # Upward pass: up[i] = evidence of the subtree of i, as a function of i's founder.
    up = u.copy()
    to_parent = np.ones_like(u)            # message from i to its parent, over the parent's founder
    for i in range(n - 1, -1, -1):
        up[i] /= up[i].sum()
        if parent[i] >= 0:
            m = links[division[parent[i]]] @ up[i]
            to_parent[i] = m / m.sum()
            up[parent[i]] *= to_parent[i]
    # Downward pass: down[i] = evidence outside i's subtree, as a function of i's founder.
    post = np.empty_like(u)
    down = np.ones_like(u)
    for i in range(n):
        if parent[i] >= 0:
            p = parent[i]
            outside = post[p] / np.maximum(to_parent[i], 1e-300)
            m = outside @ links[division[p]]
            down[i] = m / m.sum()
        b = down[i] * up[i]
        post[i] = b / b.sum()
    return post


TRACK_FEATURES = ("generation", "age", "previous_cycle")
"""Names of the columns of `track_features`."""


def track_features(parent, times) -> np.ndarray:
    """(N, 3) what anonymous tracking tells of each cell's history: the number of divisions on
    its track since the first time point (a cell whose tracked parent has two or more tracked
    children was born by a division), the time since its birth (or since the first time point),
    and the length of its mother's cycle (from the mother's birth to this cell's; 0 where the
    mother's birth was not seen).

    Args:
      parent: (N,) tracked parent rows (-1: none), parents before children.
      times: (N,) each row's time point.

    Example:
      >>> parent = np.array([-1, 0, 1, 1, 2, 3])         # a cell divides at time 3
      >>> track_features(parent, np.array([1, 2, 3, 3, 4, 4])).tolist()
      [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]
    """
    parent = np.asarray(parent, np.int64)
    times = np.asarray(times, np.float64)
    n = parent.size
    if times.shape != (n,):
        raise fail("track_features", f"times must be one per row, shape ({n},); got {times.shape}.")
    children = np.bincount(parent[parent >= 0], minlength=n)
    gen = np.zeros(n)
    birth = times.copy()
    mother_birth = np.full(n, np.nan)
    cycle = np.zeros(n)
    for i in range(n):
        p = parent[i]
        if p < 0:
            continue
        if children[p] >= 2:           # born by the division of p
            gen[i] = gen[p] + 1
            birth[i] = times[i]
            mother_birth[i] = birth[p]
            seen = parent[p] >= 0 and (children[parent[p]] >= 2)
            cycle[i] = times[i] - birth[p] if seen else 0.0
        else:
            gen[i] = gen[p]
            birth[i] = birth[p]
            cycle[i] = cycle[p]
    return np.column_stack([gen, times - birth, cycle])
