"""Founder inference along anonymous tracks: exact belief propagation on the tracking forest.

Anonymous tracking (`CellSeries.parent`, from mask overlap) links each cell to at most one
cell of the previous time point, so the links form a forest; a cell whose parent has two or
more tracked children was born by a division. A cell that goes on keeps its founder, and so do
both daughters of a division, except in the germ line P: it divides into AB + P1, EMS + P2 (both
counted as P here), MS + E, C + P3, D + P4 and Z2 + Z3 (Sulston et al. 1983). In each such pair
the first founder's clone grows faster (AB fastest; E, D and the germ line slowest; Bao et al.
2008, Development 135:3093), so the daughter whose tracked clone ends with more cells is taken to
be it with probability `order`. Any link may be a tracking error, with probability `error`. `track_posterior` combines, for every
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
  >>> np.round(post[:, 0], 3).tolist()          # the mother is AB, or P0 (AB + P1): P for the sister
  [0.909, 0.909, 0.909, 1.0]
  >>> np.round(post[2], 3).tolist()
  [0.909, 0.0, 0.0, 0.0, 0.0, 0.091]
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


# The divisions of the germ line, as (the daughter whose clone grows faster, the other):
# P0 -> AB + P1, P1 -> EMS + P2 (EMS counted in the germ line here, as its own class is not
# one of the six), EMS -> MS + E, P2 -> C + P3, P3 -> D + P4, P4 -> Z2 + Z3.
_GERM_DIVISIONS = (("AB", "P"), ("P", "P"), ("MS", "E"), ("C", "P"), ("D", "P"))


def _family_factor(order: float) -> np.ndarray:
    """(3, 6, 6, 6) P(daughters' founders | mother's founder) for a division into two tracked
    daughters, for [first daughter's clone larger, second's larger, equal]."""
    k = len(FOUNDERS)
    f = np.zeros((3, k, k, k))
    idx = FOUNDERS.index
    for x in FOUNDERS:
        if x != "P":
            f[:, idx(x), idx(x), idx(x)] = 1.0
    p = idx("P")
    for fast, slow in _GERM_DIVISIONS:
        a, b = idx(fast), idx(slow)
        w = 1.0 / len(_GERM_DIVISIONS)
        if a == b:
            f[:, p, a, b] += w
            continue
        f[0, p, a, b] += w * order
        f[0, p, b, a] += w * (1 - order)
        f[1, p, b, a] += w * order
        f[1, p, a, b] += w * (1 - order)
        f[2, p, a, b] += w / 2
        f[2, p, b, a] += w / 2
    return f


def _mix(factor: np.ndarray, error: float) -> np.ndarray:
    """A factor over (mother, daughters...) with a tracking error: any founders, uniformly."""
    size = int(np.prod(factor.shape[1:]))
    return (1 - error) * factor + error / size


def track_posterior(parent, unary, known=None, *, error: float = 0.01, temperature: float = 1.0,
                    order: float = 0.8) -> np.ndarray:
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
      order: in a division of the germ line into two somatic or germ-line daughters, the
        probability that the daughter whose tracked clone ends with more cells is the faster
        founder (AB over P1, MS over E, C over P3, D over P4); 0.5 ignores clone sizes.

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
    order = check_number(order, "order", minimum=0.0, maximum=1.0, owner=owner)
    u = u / np.maximum(u.mean(0, keepdims=True), 1e-12)
    u = np.maximum(u, 1e-12) ** temperature
    if known is not None:
        known = np.asarray(known, np.int64)
        if known.shape != (n,) or ((known < -1) | (known >= len(FOUNDERS))).any():
            raise fail(owner, f"known must be (N,) founder indices 0-{len(FOUNDERS) - 1} or -1.")
        hit = known >= 0
        u[hit] = np.eye(len(FOUNDERS))[known[hit]]
    u = u / u.sum(1, keepdims=True)
    children: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        if parent[i] >= 0:
            children[parent[i]].append(i)
    leaves = np.zeros(n)
    for i in range(n - 1, -1, -1):
        leaves[i] += 1.0 if not children[i] else 0.0
        if parent[i] >= 0:
            leaves[parent[i]] += leaves[i]
    goes_on = _mix(np.eye(len(FOUNDERS)), error)
    pair = _mix(founder_transitions() / founder_transitions().sum(1, keepdims=True), error)
    family = np.stack([_mix(f, error) for f in _family_factor(order)])
    # Upward pass: up[i] = evidence of the subtree of i, as a function of i's founder.
    up = u.copy()
    for i in range(n - 1, -1, -1):
        c = children[i]
        if len(c) == 1:
            up[i] *= goes_on @ up[c[0]]
        elif len(c) == 2:
            up[i] *= np.einsum("xyz,y,z->x", family[_which(leaves, c)], up[c[0]], up[c[1]])
        else:
            for j in c:
                up[i] *= pair @ up[j]
        up[i] /= up[i].sum()
    # Downward pass: down[i] = evidence outside i's subtree, as a function of i's founder.
    post = np.empty_like(u)
    down = np.ones_like(u)
    for i in range(n):
        b = down[i] * up[i]
        post[i] = b / b.sum()
        c = children[i]
        rest = down[i] * u[i]
        if len(c) == 1:
            m = [rest @ goes_on]
        elif len(c) == 2:
            f = family[_which(leaves, c)]
            m = [np.einsum("x,xyz,z->y", rest, f, up[c[1]]), np.einsum("x,xyz,y->z", rest, f, up[c[0]])]
        else:
            msgs = [pair @ up[j] for j in c]
            m = [(rest * np.prod([msgs[q] for q in range(len(c)) if q != k], axis=0)) @ pair for k in range(len(c))]
        for j, mj in zip(c, m):
            down[j] = mj / mj.sum()
    return post


def _which(leaves: np.ndarray, c: list[int]) -> int:
    """0 if the first daughter's clone is larger, 1 if the second's, 2 if equal."""
    a, b = leaves[c[0]], leaves[c[1]]
    return 0 if a > b else 1 if b > a else 2


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
