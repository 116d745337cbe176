"""Life-like rules recovered from observed board pairs, robust to bit-flip noise.

The next state of a Life-like rule depends only on the centre's state and its number of live
neighbours, so every observed site is one vote for one of the `2 (k + 1)` (centre, count)
entries of the rule (k = 8 neighbours for Moore); each entry is decided by majority or, by
default, by a noise-aware maximum-likelihood decoder. The result (`LifeLikeFit`) keeps the
votes, a confidence per entry, the entries never observed and how many transitions the rule
reproduces.

Example:
  >>> import jax, jax.numpy as jnp, automata
  >>> lat = automata.Lattice((32, 32))
  >>> x = jax.random.bernoulli(jax.random.key(0), 0.4, (32, 32, 1)).astype(jnp.uint8)
  >>> _, traj = automata.rollout(automata.HIGHLIFE, lat, automata.LatticeState(x=x), num_steps=4)
  >>> boards = jnp.concatenate([x[None], traj.x])[..., 0]        # (5, 32, 32)
  >>> str(recover_life_like(boards))
  'B36/S23'
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np

from automata._checks import check_int, fail
from automata.lattice import Lattice
from automata.lifelike import LifeLike, format_rule
from neurosym.explain.boards import as_pairs, check_boundary, neighbourhood_offsets

__all__ = ["NOISE_GRID", "LifeLikeFit", "recover_life_like"]

#: Flip rates tried for each board when `recover_life_like` estimates the noise (`noise="auto"`).
NOISE_GRID = (0.0, 0.01, 0.02, 0.05, 0.1)


@dataclasses.dataclass(frozen=True, eq=False)
class LifeLikeFit:
    """A Life-like rule recovered from observed transitions, with the evidence behind it.

    Attributes (k = number of neighbours, 8 for Moore):
      rule: the B/S string, as `automata.format_rule` writes it (`"B3/S23"`); also `str(fit)`.
      birth, survive: sorted neighbour counts at which a dead site is born / a live one survives.
      evidence: `(2, k + 1, 2)` int64 counts: `evidence[c, n, y]` is the number of observed sites
        with centre state `c` and `n` live neighbours whose next state was `y`.
      confidence: `(2, k + 1)` float: the majority fraction `max(votes) / total` of each entry,
        NaN for unobserved entries.
      unobserved: `(centre, count)` entries with fewer than `min_evidence` votes; they are read
        as "not in the rule" (so `(0, 8)` unobserved means B8 could not be checked).
      agreement: fraction of all observed site transitions the recovered rule reproduces.
      neighbourhood: `"moore"` or `"von_neumann"`.
      min_evidence: votes an entry needed to count as observed.
      noise: the bit-flip rate the noise-aware decoder assumed (estimated with `noise="auto"`);
        0 for plain majority voting.

    Example:
      >>> import numpy as np
      >>> fit = recover_life_like([(np.eye(4, dtype=int), np.zeros((4, 4), int))])
      >>> fit.rule, fit.agreement
      ('B/S', 1.0)
    """

    rule: str
    birth: tuple[int, ...]
    survive: tuple[int, ...]
    evidence: np.ndarray
    confidence: np.ndarray
    unobserved: tuple[tuple[int, int], ...]
    agreement: float
    neighbourhood: str = "moore"
    min_evidence: int = 1
    noise: float = 0.0

    def __str__(self) -> str:
        return self.rule

    def to_rule(self) -> LifeLike:
        """The recovered rule as an `automata.LifeLike`, ready for `automata.rollout`."""
        return LifeLike(self.rule)


def _fit_from_evidence(
    evidence: np.ndarray, min_evidence: int, neighbourhood: str, table: np.ndarray | None = None, noise: float = 0.0
) -> LifeLikeFit:
    total = evidence.sum(-1)
    observed = total >= min_evidence
    # Ties and unobserved entries are read as "not in the rule" (the sparser rule).
    alive = observed & ((evidence[..., 1] > evidence[..., 0]) if table is None else table.astype(bool))
    k = evidence.shape[1] - 1
    birth = tuple(n for n in range(k + 1) if alive[0, n])
    survive = tuple(n for n in range(k + 1) if alive[1, n])
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.where(observed, evidence.max(-1) / np.maximum(total, 1), np.nan)
    reproduced = np.where(alive, evidence[..., 1], evidence[..., 0]).sum()
    agreement = float(reproduced / max(int(total.sum()), 1))
    unobserved = tuple((c, n) for c in range(2) for n in range(k + 1) if not observed[c, n])
    return LifeLikeFit(
        rule=format_rule(birth, survive), birth=birth, survive=survive, evidence=evidence,
        confidence=confidence, unobserved=unobserved, agreement=agreement,
        neighbourhood=neighbourhood, min_evidence=min_evidence, noise=float(noise),
    )


def _binomial_pmf(n: int, p: float) -> np.ndarray:
    return np.array([math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(n + 1)])


def _true_given_observed(eps: float, density: float, k: int) -> np.ndarray:
    """`M[c', n', c, n] = P(true centre c, true count n | observed c', n')` under independent
    flips at rate `eps` of a board whose sites are alive independently with probability `density`.
    """
    m = np.zeros((2, k + 1, 2, k + 1))
    if eps <= 0:
        for c in range(2):
            m[c, :, c, :] = np.eye(k + 1)
        return m
    # posterior that an observed-alive site is truly dead, and an observed-dead one truly alive
    q1 = eps * (1 - density) / (eps * (1 - density) + (1 - eps) * density)
    q0 = eps * density / (eps * density + (1 - eps) * (1 - density))
    for cp in range(2):
        centre = (1 - q0, q0) if cp == 0 else (q1, 1 - q1)
        for n_obs in range(k + 1):
            dist = np.convolve(_binomial_pmf(n_obs, 1 - q1), _binomial_pmf(k - n_obs, q0))
            for c in range(2):
                m[cp, n_obs, c, :] = centre[c] * dist
    return m


def _ascend(objective, start: np.ndarray) -> tuple[np.ndarray, float]:
    """Flip single table entries while any flip raises `objective` (coordinate ascent)."""
    table, value = start, objective(start)
    improved = True
    while improved:
        improved = False
        for idx in np.ndindex(*table.shape):
            trial = table.copy()
            trial[idx] = 1 - trial[idx]
            v = objective(trial)
            if v > value + 1e-9:
                table, value, improved = trial, v, True
    return table, value


def _map_table(votes, densities, eps_in: float, eps_out: float, penalty: float) -> tuple[np.ndarray, float]:
    """Coordinate ascent on `log P(votes | table, flips) - penalty * (entries in the rule)`.

    `votes` is `(num_pairs, 2, k + 1, 2)`; each pair has its own board density. The ascent
    starts from the majority table and from the empty rule; the better end wins.
    """
    k = votes.shape[2] - 1
    ms = np.stack([_true_given_observed(eps_in, d, k) for d in densities])

    def objective(table):
        p_next = (1 - eps_out) * table + eps_out * (1 - table)
        p = np.clip(np.einsum("pabcn,cn->pab", ms, p_next), 1e-12, 1 - 1e-12)
        return float((votes[..., 1] * np.log(p) + votes[..., 0] * np.log1p(-p)).sum()) - penalty * table.sum()

    total = votes.sum(0)
    starts = ((total[..., 1] > total[..., 0]).astype(float), np.zeros(total.shape[:2]))
    ends = [_ascend(objective, s) for s in starts]
    return ends[1] if ends[1][1] > ends[0][1] else ends[0]


def _noise_grid(noise, owner: str) -> tuple[float, ...]:
    """The flip rates to try: `NOISE_GRID` for `"auto"`, the one given rate, or `(0.0,)`."""
    if noise is None:
        return (0.0,)
    wanted = f"noise must be 'auto', a flip rate in [0, 0.5) or None, got {noise!r}."
    if isinstance(noise, str):
        if noise != "auto":
            raise fail(owner, wanted)
        return NOISE_GRID
    eps = float(noise)
    if not 0 <= eps < 0.5:
        raise fail(owner, wanted)
    return (eps,)


def _votes(pairs, offsets, neighbourhood: str, boundary: str) -> tuple[np.ndarray, list[float]]:
    """`(num_pairs, 2, k + 1, 2)` votes and each pair's density of live sites in `board_t`."""
    k = len(offsets)
    per_pair, densities = [], []
    for a, b in pairs:
        lattice = Lattice(a.shape, neighbourhood, boundary=boundary)
        n = np.asarray(lattice.neighbour_sum(jnp.asarray(a, jnp.int32)), np.int64)
        per_pair.append(np.bincount(((a * (k + 1) + n) * 2 + b).ravel(), minlength=2 * (k + 1) * 2))
        densities.append(float(a.mean()))
    return np.stack(per_pair).reshape(-1, 2, k + 1, 2), densities


def recover_life_like(
    pairs,
    *,
    min_evidence: int = 1,
    boundary: str = "wrap",
    neighbourhood: str = "moore",
    noise: float | str = "auto",
    penalty: float = 3.0,
) -> LifeLikeFit:
    """The Life-like B/S rule that best explains observed binary transitions.

    Each site of each pair votes for the rule entry (centre state, number of live neighbours)
    with its next state; an entry is in the rule when its "alive next" votes outnumber its "dead
    next" votes. Entries with fewer than `min_evidence` votes, and ties, are read as not in the
    rule. Majority voting makes the recovery robust to independent bit flips, as long as each
    entry has enough votes. Flips in the output board only add minority votes. Flips in
    `board_t` also move sites to a neighbouring count, which can outvote an entry whose
    neighbouring counts are much more common (for Life on a sparse board, S4 gets the votes of
    S3 sites with one flipped neighbour); more pairs, or boards of other densities, help.

    The noise-aware decoder (default, `noise="auto"`) removes that bias. It models independent
    bit flips at rate `eps_in` on `board_t` and `eps_out` on `board_t_plus_1`: an observed site
    with centre `c'` and `n'` live neighbours was truly `(c, n)` with a probability that follows
    from `eps_in` and the board's density (each observed neighbour is truly the other state with
    a Bayes posterior, so the true count is a sum of two binomials), and its observed next state
    is the rule's, flipped with probability `eps_out`. The table maximises the log-likelihood of
    all votes minus `penalty` nats per entry in the rule (a prior for sparser rules, which keeps
    rarely seen entries out unless their evidence is clear), by coordinate ascent from the
    majority table and from the empty rule; the two rates are the best pair from `NOISE_GRID`
    (or both the given rate). With `noise=0` this is majority voting.
    `benchmarks/explain.py` measures how often each decoder recovers the rule.

    Args:
      pairs: a list of `(board_t, board_t_plus_1)` pairs of binary `(H, W)` boards (numpy or
        JAX, 0/1 or bool; pairs may differ in size), one such pair, or a `(T, H, W)` array of
        consecutive boards (read as `T - 1` pairs).
      min_evidence: votes an entry needs to count as observed (>= 1).
      boundary: `"wrap"` (a torus, default), `"fixed"` (dead sites beyond the edge) or
        `"reflect"`, as in `automata.Lattice`.
      neighbourhood: `"moore"` (8 neighbours, default) or `"von_neumann"` (4).
      noise: `"auto"` (estimate the flip rate), a flip rate in [0, 0.5), or 0 / None for plain
        majority voting.
      penalty: nats of evidence an entry must add to the likelihood to be in the rule
        (noise-aware decoder only), >= 0.

    Returns:
      a `LifeLikeFit`; `str(fit)` is the rule string.

    Example:
      >>> import numpy as np
      >>> blinker = np.zeros((5, 5), int); blinker[2, 1:4] = 1
      >>> fit = recover_life_like([(blinker, blinker.T)])
      >>> fit.rule  # one blinker shows B3 and S2, and that counts 1 and 4 kill or leave dead
      'B3/S2'
      >>> (1, 3) in fit.unobserved  # no live site with 3 neighbours was seen
      True
    """
    owner = "recover_life_like"
    min_evidence = check_int(min_evidence, "min_evidence", 1, owner=owner)
    check_boundary(boundary, owner)
    offsets = neighbourhood_offsets(neighbourhood, owner)
    pairs = as_pairs(pairs, owner, num_states=2)
    grid = _noise_grid(noise, owner)
    penalty = float(penalty)
    if not (np.isfinite(penalty) and penalty >= 0):
        raise fail(owner, f"penalty must be a finite number of nats >= 0, got {penalty!r}.")
    per_pair, densities = _votes(pairs, offsets, neighbourhood, boundary)
    votes = per_pair.sum(0)
    if grid == (0.0,):
        return _fit_from_evidence(votes, min_evidence, neighbourhood)
    rates = [(a, b) for a in grid for b in grid] if len(grid) > 1 else [(grid[0], grid[0])]
    best = None
    for eps_in, eps_out in rates:
        dens = [float(np.clip((d - eps_in) / (1 - 2 * eps_in), 1e-3, 1 - 1e-3)) for d in densities]
        table, value = _map_table(per_pair.astype(float), dens, eps_in, eps_out, penalty)
        if best is None or value > best[1]:
            best = (table, value, max(eps_in, eps_out))
    return _fit_from_evidence(votes, min_evidence, neighbourhood, table=best[0], noise=best[2])
