"""Explain observed or learned dynamics with rules people can read.

Four tools, from the most structured rule family to the least:

- `recover_life_like`: boards before and after one step (binary, 2D) -> the Life-like B/S rule
  that explains them. The next state of a Life-like rule depends only on the centre's state and
  its number of live neighbours, so every observed site is one vote for one of the 18 (centre,
  count) entries of the rule; each entry is decided by majority, which makes the recovery robust
  to bit-flip noise. The result (`LifeLikeFit`) keeps the votes, a confidence per entry, the
  entries never observed and how many transitions the rule reproduces.
- `rule_table` / `extract_rule` / `fidelity`: a learned local rule (a function of a
  neighbourhood, or a board -> board step such as a trained neural CA) enumerated on every
  neighbourhood configuration into a `RuleTable`, which says whether the rule is outer-totalistic
  and writes it as a B/S string or a sympy formula; `fidelity` measures how often the table
  reproduces the network on held-out boards.
- `sparse_regression`: an equation `target = sum_j xi_j term_j(inputs)` with few nonzero
  coefficients over a library of sympy terms (`polynomial_library`), by sequentially thresholded
  least squares (Brunton, Proctor & Kutz 2016). The result (`Equation`) is a sympy expression
  that `rules.symbolic.SymbolicExpression` compiles back to JAX.
- `attribute`: which of several expert rules explains each transition of an observed sequence
  of boards, and each site of it (`Attribution`).

Boards are 2D arrays of state indices (0/1 for binary rules), numpy or JAX, without the channel
axis of an `automata.LatticeState` (`state.x[..., 0]`). Neighbourhoods are the radius-1 Moore
(8 neighbours) and von Neumann (4) ones, with neighbours in the order of
`automata.Lattice((3, 3), neighbourhood).offsets`. Everything runs on the host in numpy except
the steps of `automata` rules and of the user's own functions.

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
import itertools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from automata._checks import check_int
from automata.engine import check_num_steps
from automata.engine import step as _engine_step
from automata.lattice import Lattice
from automata.lifelike import LifeLike, format_rule
from automata.rule import Rule
from automata.state import LatticeState
from rules.logic import parse_formula

__all__ = [
    "Attribution",
    "Equation",
    "Fidelity",
    "LifeLikeFit",
    "RuleTable",
    "attribute",
    "extract_rule",
    "fidelity",
    "polynomial_library",
    "recover_life_like",
    "rule_table",
    "sparse_regression",
]

NEIGHBOURHOODS = ("moore", "von_neumann")

# Readable names of the radius-1 neighbours (row offset, column offset); row -1 is north.
_DIRECTIONS = {
    (-1, -1): "north_west", (-1, 0): "north", (-1, 1): "north_east",
    (0, -1): "west", (0, 1): "east",
    (1, -1): "south_west", (1, 0): "south", (1, 1): "south_east",
}
_PAD_MODE = {"wrap": "wrap", "fixed": "constant", "reflect": "symmetric"}

_IMPOSSIBLE = -1  # a RuleTable cell whose counts cannot occur (they sum past the neighbourhood)
_CONFLICT = -2    # a RuleTable cell whose configurations disagree (not outer-totalistic there)


# ============================================================================ shared helpers
def _offsets(neighbourhood, owner: str) -> tuple[tuple[int, int], ...]:
    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(
            f"{owner}: neighbourhood must be 'moore' (8 neighbours) or 'von_neumann' (4), both of "
            f"radius 1 on a 2D board; got {neighbourhood!r}."
        )
    return Lattice((3, 3), neighbourhood).offsets


def _check_boundary(boundary, owner: str) -> None:
    if boundary not in _PAD_MODE:
        raise ValueError(
            f"{owner}: boundary must be one of {', '.join(map(repr, _PAD_MODE))} (as for "
            f"automata.Lattice); got {boundary!r}."
        )


def _neighbour_stack(board: np.ndarray, offsets, boundary: str, fill=0) -> np.ndarray:
    """`(k, H, W)`: the value of neighbour `i` of every site, `board[site + offsets[i]]`."""
    kw = {"constant_values": fill} if boundary == "fixed" else {}
    xp = np.pad(board, 1, mode=_PAD_MODE[boundary], **kw)
    h, w = board.shape
    return np.stack([xp[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in offsets])


def _is_array(x) -> bool:
    return isinstance(x, (np.ndarray, jax.Array))


def _board(x, owner: str, where: str, name: str, num_states: int | None) -> np.ndarray:
    """A 2D board of integer states as int64, or a clear error naming where it came from."""
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{owner}: {where}: {name} is not an array ({type(x).__name__}).") from err
    if x.ndim != 2:
        fix = (
            "Drop the channel axis of an automata state with x[..., 0]."
            if x.ndim == 3 and x.shape[-1] == 1
            else "Pass one (H, W) board per entry."
        )
        raise ValueError(
            f"{owner}: {where}: {name} must be a 2D board (H, W); got shape {x.shape}. {fix}"
        )
    if x.dtype == np.bool_:
        return x.astype(np.int64)
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(
            f"{owner}: {where}: {name} must hold numbers (bool, int or float); got dtype {x.dtype}."
        )
    values = np.unique(x)
    if num_states is not None:
        bad = values[(values < 0) | (values > num_states - 1) | (values != np.round(values))]
        if bad.size:
            allowed = "binary (0/1 or bool)" if num_states == 2 else f"states 0..{num_states - 1}"
            fix = (
                "Threshold it first, e.g. (board > 0.5).astype(int)."
                if num_states == 2
                else "Map it to state indices first."
            )
            raise ValueError(
                f"{owner}: {where}: {name} must be {allowed}; found the value(s) "
                f"{bad[:5].tolist()}. {fix}"
            )
    else:
        bad = values[~np.isfinite(values) | (values != np.round(values)) | (values < 0)]
        if bad.size:
            raise ValueError(
                f"{owner}: {where}: {name} must hold non-negative integer states; found the "
                f"value(s) {bad[:5].tolist()}. Round or threshold it first."
            )
    return x.astype(np.int64)


def _as_pairs(transitions, owner: str, num_states: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """`(board_t, board_t_plus_1)` pairs from a list of pairs, one pair, or a `(T, H, W)` array."""
    if _is_array(transitions):
        arr = np.asarray(transitions)
        if arr.ndim != 3 or arr.shape[0] < 2:
            raise ValueError(
                f"{owner}: an array of boards must have shape (T, H, W) with T >= 2 consecutive "
                f"boards; got shape {arr.shape}. Pass a list of (board_t, board_t_plus_1) pairs, "
                "or stack the boards on a leading axis (drop a channel axis with x[..., 0])."
            )
        pairs = [(arr[t], arr[t + 1]) for t in range(arr.shape[0] - 1)]
    elif (
        isinstance(transitions, tuple)
        and len(transitions) == 2
        and all(_is_array(b) and np.ndim(b) == 2 for b in transitions)
    ):
        pairs = [transitions]
    else:
        try:
            pairs = list(transitions)
        except TypeError as err:
            raise TypeError(
                f"{owner}: transitions must be a list of (board_t, board_t_plus_1) pairs or a "
                f"(T, H, W) array of consecutive boards; got {type(transitions).__name__}."
            ) from err
    if not pairs:
        raise ValueError(
            f"{owner}: got no transitions; pass at least one (board_t, board_t_plus_1) pair."
        )
    out = []
    for i, pair in enumerate(pairs):
        if _is_array(pair) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(
                f"{owner}: pair {i} is not a (board_t, board_t_plus_1) pair (got "
                f"{type(pair).__name__}). Pass a list of 2-tuples of boards, or a (T, H, W) array."
            )
        where = f"pair {i}"
        a = _board(pair[0], owner, where, "board_t", num_states)
        b = _board(pair[1], owner, where, "board_t_plus_1", num_states)
        if a.shape != b.shape:
            raise ValueError(
                f"{owner}: pair {i}: board_t has shape {a.shape} but board_t_plus_1 has shape "
                f"{b.shape}; both boards of a pair are the same lattice at two times, so their "
                "shapes must match."
            )
        out.append((a, b))
    return out


def _to_states(out, num_states: int | None, shape: tuple[int, ...], owner: str, what: str) -> np.ndarray:
    """A function's output as integer states of `shape`.

    Accepted: `shape` of bool or integer states; `shape` of floats, rounded to the nearest state
    (so a probability of state 1 above 1/2 gives 1); `shape + (1,)` likewise; or
    `shape + (S,)` scores (logits or probabilities), the state with the largest score.
    """
    try:
        out = np.asarray(out)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{owner}: {what} returned {type(out).__name__}, not an array.") from err
    scores = "" if num_states is None else f" or scores of shape {shape + (num_states,)}"
    if out.shape == shape + (1,):
        out = out[..., 0]
    if out.ndim == len(shape) + 1 and out.shape[:-1] == shape and out.shape[-1] > 1:
        if num_states is not None and out.shape[-1] != num_states:
            raise ValueError(
                f"{owner}: {what} returned scores for {out.shape[-1]} states (shape {out.shape}), "
                f"but num_states={num_states}. Pass num_states={out.shape[-1]}."
            )
        return np.argmax(out, axis=-1).astype(np.int64)
    if out.shape != shape:
        raise ValueError(
            f"{owner}: {what} returned shape {out.shape}; expected next states of shape {shape}"
            f"{scores}."
        )
    if out.dtype == np.bool_:
        return out.astype(np.int64)
    if not (np.issubdtype(out.dtype, np.integer) or np.issubdtype(out.dtype, np.floating)):
        raise TypeError(f"{owner}: {what} returned dtype {out.dtype}; expected numbers or booleans.")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{owner}: {what} returned non-finite values (nan or inf).")
    states = np.rint(out).astype(np.int64)
    top = None if num_states is None else num_states - 1
    bad = states[(states < 0) | (states > top)] if top is not None else states[states < 0]
    if bad.size:
        allowed = f"0..{top}" if top is not None else "non-negative integers"
        raise ValueError(
            f"{owner}: {what} gave the state(s) {np.unique(bad)[:5].tolist()} outside {allowed}. "
            "Return next states, a probability of state 1 (binary rules)"
            f"{scores}, or raise num_states."
        )
    return states


# ============================================================================ Life-like recovery
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


#: Flip rates tried for each board when `recover_life_like` estimates the noise (`noise="auto"`).
NOISE_GRID = (0.0, 0.01, 0.02, 0.05, 0.1)


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


def _map_table(votes, densities, eps_in: float, eps_out: float, penalty: float) -> tuple[np.ndarray, float]:
    """Coordinate ascent on `log P(votes | table, flips) - penalty * (entries in the rule)`.

    `votes` is `(num_pairs, 2, k + 1, 2)`; each pair has its own board density.
    """
    k = votes.shape[2] - 1
    ms = np.stack([_true_given_observed(eps_in, d, k) for d in densities])

    def objective(table):
        p_next = (1 - eps_out) * table + eps_out * (1 - table)
        p = np.clip(np.einsum("pabcn,cn->pab", ms, p_next), 1e-12, 1 - 1e-12)
        return float((votes[..., 1] * np.log(p) + votes[..., 0] * np.log1p(-p)).sum()) - penalty * table.sum()

    total = votes.sum(0)
    best = None
    for start in ((total[..., 1] > total[..., 0]).astype(float), np.zeros(total.shape[:2])):
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
        if best is None or value > best[1]:
            best = (table, value)
    return best


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
    Measured rates are in `benchmarks/explain.py`.

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
    _check_boundary(boundary, owner)
    offsets = _offsets(neighbourhood, owner)
    k = len(offsets)
    pairs = _as_pairs(pairs, owner, num_states=2)
    if noise is None:
        noise = 0.0
    if isinstance(noise, str):
        if noise != "auto":
            raise ValueError(f"{owner}: noise must be 'auto', a flip rate in [0, 0.5) or None, got {noise!r}.")
        grid = NOISE_GRID
    else:
        eps = float(noise)
        if not 0 <= eps < 0.5:
            raise ValueError(f"{owner}: noise must be 'auto', a flip rate in [0, 0.5) or None, got {noise!r}.")
        grid = (eps,)
    rates = [(a, b) for a in grid for b in grid] if len(grid) > 1 else [(grid[0], grid[0])]
    penalty = float(penalty)
    if not (np.isfinite(penalty) and penalty >= 0):
        raise ValueError(f"{owner}: penalty must be a finite number of nats >= 0, got {penalty!r}.")
    per_pair, densities = [], []
    for a, b in pairs:
        n = _neighbour_stack(a, offsets, boundary).sum(0)
        per_pair.append(np.bincount(((a * (k + 1) + n) * 2 + b).ravel(), minlength=2 * (k + 1) * 2))
        densities.append(float(a.mean()))
    per_pair = np.stack(per_pair).reshape(-1, 2, k + 1, 2)
    votes = per_pair.sum(0)
    if grid == (0.0,):
        return _fit_from_evidence(votes, min_evidence, neighbourhood)
    best = None
    for eps_in, eps_out in rates:
        dens = [float(np.clip((d - eps_in) / (1 - 2 * eps_in), 1e-3, 1 - 1e-3)) for d in densities]
        table, value = _map_table(per_pair.astype(float), dens, eps_in, eps_out, penalty)
        if best is None or value > best[1]:
            best = (table, value, max(eps_in, eps_out))
    return _fit_from_evidence(votes, min_evidence, neighbourhood, table=best[0], noise=best[2])


# ============================================================================ rule tables
def _count_symbols(num_states: int) -> tuple[sympy.Symbol, ...]:
    if num_states == 2:
        return (sympy.Symbol("n"),)
    return tuple(sympy.Symbol(f"n{s}") for s in range(1, num_states))


def _counts_condition(n: sympy.Symbol, counts: Sequence[int], k: int):
    """`n` in `counts` as Eq / inequalities over runs of consecutive counts."""
    parts = []
    runs: list[list[int]] = []
    for c in counts:
        if runs and c == runs[-1][-1] + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    for run in runs:
        a, b = run[0], run[-1]
        if a == 0 and b == k:
            parts.append(sympy.true)
        elif len(run) <= 2:
            parts.extend(sympy.Eq(n, c) for c in run)
        elif a == 0:
            parts.append(n <= b)
        elif b == k:
            parts.append(n >= a)
        else:
            parts.append(sympy.And(n >= a, n <= b))
    return sympy.Or(*parts)


@dataclasses.dataclass(frozen=True, eq=False)
class RuleTable:
    """A local rule written out as a table: the next state of every neighbourhood configuration.

    Made by `rule_table` (from a function of neighbourhoods) or `extract_rule` (by probing a
    board -> board step). Two forms:

    - `full`: `(S,) * (1 + k)` int8, `full[c, x_1, ..., x_k]` is the next state of a site in
      state `c` whose neighbours (in `offsets` order) are in states `x_1..x_k`; None when the
      configurations were too many to enumerate (only one per class was evaluated).
    - `table`, the outer-totalistic form: for binary rules `(2, k + 1)`, `table[c, n]` the next
      state of centre `c` with `n` live neighbours; for `S` states `(S,) + (k + 1,) * (S - 1)`,
      `table[c, n_1, ..., n_{S-1}]` with `n_s` the number of neighbours in state `s`. A cell
      holds -1 where its counts cannot occur (they sum past `k`) and -2 where configurations of
      that class disagree (the rule is not outer-totalistic there; see `conflicts`).

    Attributes:
      table, full: as above.
      is_totalistic: True when every configuration with the same centre and neighbour counts
        gives the same next state, False when some do not, None when only one configuration per
        class was evaluated (totalism assumed, not checked).
      num_states: `S`.
      neighbourhood: `"moore"` (k = 8) or `"von_neumann"` (k = 4).

    A table is itself a rule: `table(centre, neighbours)` follows the calling convention of
    `rule_table`, and `table.apply(board)` advances a board by one step.

    Example:
      >>> import automata
      >>> t = extract_rule(automata.LIFE)
      >>> t.is_totalistic, t.to_bs(), t.table[0].tolist()
      (True, 'B3/S23', [0, 0, 0, 1, 0, 0, 0, 0, 0])
    """

    table: np.ndarray
    full: np.ndarray | None
    is_totalistic: bool | None
    num_states: int
    neighbourhood: str

    @property
    def offsets(self) -> tuple[tuple[int, int], ...]:
        """Neighbour offsets (row, column) in the order of the neighbour axes."""
        return Lattice((3, 3), self.neighbourhood).offsets

    @property
    def num_neighbours(self) -> int:
        """k: 8 for Moore, 4 for von Neumann."""
        return len(self.offsets)

    @property
    def conflicts(self) -> tuple[tuple[int, ...], ...]:
        """Table cells `(centre, n_1, ...)` whose configurations give different next states."""
        return tuple(tuple(int(i) for i in idx) for idx in np.argwhere(self.table == _CONFLICT))

    def _class_index(self, centre, neighbours):
        counts = [(neighbours == s).sum(-1) for s in range(1, self.num_states)]
        return (centre, *counts)

    def __call__(self, centre, neighbours) -> np.ndarray:
        """Next states `(N,)` from `centre` `(N,)` and `neighbours` `(N, k)` state indices."""
        centre = np.asarray(centre).astype(np.int64)
        neighbours = np.asarray(neighbours).astype(np.int64)
        k = self.num_neighbours
        if neighbours.shape != centre.shape + (k,):
            raise ValueError(
                f"RuleTable: neighbours must have shape {centre.shape + (k,)} (centre's shape plus "
                f"{k} neighbours in the offsets order); got {neighbours.shape}."
            )
        for name, v in (("centre", centre), ("neighbours", neighbours)):
            if v.size and (v.min() < 0 or v.max() >= self.num_states):
                raise ValueError(
                    f"RuleTable: {name} must hold states 0..{self.num_states - 1}; found "
                    f"{np.unique(v[(v < 0) | (v >= self.num_states)])[:5].tolist()}."
                )
        if self.full is not None:
            return self.full[(centre, *np.moveaxis(neighbours, -1, 0))].astype(np.int64)
        return self.table[self._class_index(centre, neighbours)].astype(np.int64)

    def apply(self, board, *, boundary: str = "wrap", fill: int = 0) -> np.ndarray:
        """One synchronous step of the table on a 2D board of states.

        Args:
          board: `(H, W)` state indices (numpy or JAX).
          boundary: `"wrap"`, `"fixed"` (sites beyond the edge hold `fill`) or `"reflect"`.
          fill: the state beyond a fixed edge.

        Returns:
          `(H, W)` int64 next states.
        """
        owner = "RuleTable.apply"
        _check_boundary(boundary, owner)
        board = _board(board, owner, "the board", "board", self.num_states)
        nb = np.moveaxis(_neighbour_stack(board, self.offsets, boundary, fill), 0, -1)
        return self(board, nb)

    def to_bs(self) -> str:
        """The B/S string of a binary outer-totalistic table (`"B3/S23"`)."""
        if self.num_states != 2:
            raise ValueError(
                f"to_bs: a B/S string describes two-state rules; this table has "
                f"{self.num_states} states. Use to_sympy() instead."
            )
        if self.is_totalistic is False:
            shown = ", ".join(f"(centre {c}, {n} live neighbours)" for c, n in self.conflicts[:4])
            raise ValueError(
                f"to_bs: the rule is not outer-totalistic: configurations with the same centre "
                f"and live-neighbour count give different next states at {shown}"
                f"{' and more' if len(self.conflicts) > 4 else ''}, so no B/S string describes "
                "it. Use .full or .to_sympy() (which falls back to the full table)."
            )
        birth = tuple(int(n) for n in np.nonzero(self.table[0] == 1)[0])
        survive = tuple(int(n) for n in np.nonzero(self.table[1] == 1)[0])
        return format_rule(birth, survive)

    def symbols(self, form: str = "totalistic") -> tuple[sympy.Symbol, ...]:
        """The sympy symbols of `to_sympy(form)`, in the order of the table's axes."""
        if form == "totalistic":
            return (sympy.Symbol("c"),) + _count_symbols(self.num_states)
        if form == "full":
            return (sympy.Symbol("c"),) + tuple(sympy.Symbol(_DIRECTIONS[o]) for o in self.offsets)
        raise ValueError(f"symbols: form must be 'totalistic' or 'full'; got {form!r}.")

    def to_sympy(self, form: str = "auto") -> sympy.Basic:
        """The rule as a sympy formula.

        Forms:
          - `"totalistic"` (needs an outer-totalistic table). Binary rules: a Boolean formula in
            `c` (the centre is alive) and `n` (live neighbours), `(~c & B(n)) | (c & S(n))` with
            `B` and `S` written as `Eq(n, 3)`, `n >= 6` or `(n >= 2) & (n <= 5)` over runs of
            counts; Life is `(~c & Eq(n, 3)) | (c & (Eq(n, 2) | Eq(n, 3)))`. `S` states: a
            `Piecewise` giving each next state where `And(Eq(c, .), Eq(n1, .), ...)` holds, `n_s`
            the number of neighbours in state `s`, the most common next state as the default.
          - `"full"` (needs `full`). Binary rules: a minimal sum of products
            (`sympy.SOPform`, Quine-McCluskey) over Boolean symbols `c` and the neighbours
            named by direction (`north_west, north, north_east, west, east, south_west, south,
            south_east`; von Neumann: `north, west, east, south`); can take seconds for rules
            that are far from simple. `S` states: a `Piecewise` over `Eq(north, .)`, ...
            conditions, one conjunction per configuration (large).
          - `"auto"`: `"totalistic"` unless `is_totalistic` is False.

        `sympy.lambdify(table.symbols(form), expr)` evaluated on 0/1 (or state) arrays gives back
        the table; `rules.symbolic.SymbolicExpression(expr, inputs=...)` compiles it to JAX.
        """
        if form not in ("auto", "totalistic", "full"):
            raise ValueError(f"to_sympy: form must be 'auto', 'totalistic' or 'full'; got {form!r}.")
        if form == "auto":
            form = "full" if self.is_totalistic is False else "totalistic"
        syms = self.symbols(form)
        k = self.num_neighbours
        if form == "totalistic":
            if self.is_totalistic is False:
                raise ValueError(
                    f"to_sympy: the rule is not outer-totalistic (conflicting cells "
                    f"{list(self.conflicts[:4])}); use form='full'."
                )
            if self.num_states == 2:
                c, n = syms
                birth = [i for i in range(k + 1) if self.table[0, i] == 1]
                survive = [i for i in range(k + 1) if self.table[1, i] == 1]
                return sympy.Or(
                    sympy.And(sympy.Not(c), _counts_condition(n, birth, k)),
                    sympy.And(c, _counts_condition(n, survive, k)),
                )
            cells = [tuple(int(i) for i in idx) for idx in np.argwhere(self.table >= 0)]
            values = [int(self.table[cell]) for cell in cells]
            return _piecewise(syms, cells, values)
        if self.full is None:
            raise ValueError(
                "to_sympy: the full table was not enumerated (too many configurations); use "
                "form='totalistic', or rebuild with totalistic=False and a larger max_configurations."
            )
        configs = np.argwhere(np.ones_like(self.full, bool))
        values = self.full.reshape(-1).astype(int).tolist()
        if self.num_states == 2:
            minterms = [cfg.tolist() for cfg, v in zip(configs, values) if v == 1]
            return sympy.SOPform(list(syms), minterms)
        return _piecewise(syms, [tuple(cfg.tolist()) for cfg in configs], values)


def _piecewise(syms, cells, values) -> sympy.Piecewise:
    default = max(set(values), key=values.count)
    branches = []
    for s in sorted(set(values) - {default}):
        cond = sympy.Or(*[
            sympy.And(*[sympy.Eq(sym, v) for sym, v in zip(syms, cell)])
            for cell, out in zip(cells, values) if out == s
        ])
        branches.append((sympy.Integer(s), cond))
    return sympy.Piecewise(*branches, (sympy.Integer(default), True))


def _configurations(num_states: int, k: int, exhaustive: bool) -> np.ndarray:
    """`(M, 1 + k)` configurations: all of them in row-major order, or one per class."""
    if exhaustive:
        return np.indices((num_states,) * (1 + k)).reshape(1 + k, -1).T.astype(np.int64)
    rows = []
    for c in range(num_states):
        for counts in itertools.product(range(k + 1), repeat=num_states - 1):
            if sum(counts) > k:
                continue
            nb = [s for s, m in zip(range(1, num_states), counts) for _ in range(m)]
            rows.append([c] + nb + [0] * (k - len(nb)))
    return np.asarray(rows, np.int64)


def _build_table(configs, outputs, num_states, neighbourhood, exhaustive) -> RuleTable:
    k = configs.shape[1] - 1
    dims = (num_states,) + (k + 1,) * (num_states - 1)
    cls = np.ravel_multi_index(
        (configs[:, 0], *[(configs[:, 1:] == s).sum(1) for s in range(1, num_states)]), dims
    )
    size = int(np.prod(dims))
    lo = np.full(size, num_states, np.int64)
    hi = np.full(size, -1, np.int64)
    np.minimum.at(lo, cls, outputs)
    np.maximum.at(hi, cls, outputs)
    table = np.where(hi < 0, _IMPOSSIBLE, np.where(lo == hi, lo, _CONFLICT)).reshape(dims)
    full = outputs.reshape((num_states,) * (1 + k)).astype(np.int8) if exhaustive else None
    is_totalistic = bool((table != _CONFLICT).all()) if exhaustive else None
    return RuleTable(
        table=table.astype(np.int8), full=full, is_totalistic=is_totalistic,
        num_states=num_states, neighbourhood=neighbourhood,
    )


def _enumeration(num_states, k, totalistic, max_configurations, owner) -> bool:
    """Whether to enumerate every configuration (else one per class)."""
    total = num_states ** (1 + k)
    if total <= max_configurations:
        return True
    if totalistic:
        return False
    raise ValueError(
        f"{owner}: {num_states} states on {k} neighbours make {total} configurations, more than "
        f"max_configurations={max_configurations}. Pass totalistic=True to evaluate one "
        "configuration per (centre, counts) class, or raise max_configurations."
    )


def rule_table(
    fn: Callable,
    *,
    num_states: int = 2,
    neighbourhood: str = "moore",
    totalistic: bool = True,
    max_configurations: int = 2**16,
) -> RuleTable:
    """Enumerate a learned local rule on every neighbourhood configuration.

    Calling convention: `fn(centre, neighbours)` with `centre` an `(N,)` int32 numpy array of
    the site's state and `neighbours` an `(N, k)` int32 numpy array of its neighbours' states,
    in the order of `automata.Lattice((3, 3), neighbourhood).offsets` (Moore: NW, N, NE, W, E,
    SW, S, SE; von Neumann: N, W, E, S). It is called once with every configuration (N up to
    `max_configurations`) and returns, for each:

    - `(N,)` bool or integer: the next state;
    - `(N,)` float: rounded to the nearest state, so a probability of state 1 (binary rules)
      gives 1 above 1/2 (pass `sigmoid(logit)`, not a logit);
    - `(N, num_states)` float: scores (logits or probabilities); the largest wins.

    Args:
      fn: the rule, e.g. a trained MLP's forward pass (numpy or JAX).
      num_states: states per site, >= 2.
      neighbourhood: `"moore"` (k = 8) or `"von_neumann"` (k = 4).
      totalistic: when the `num_states ** (1 + k)` configurations exceed `max_configurations`,
        True evaluates one configuration per (centre, neighbour counts) class instead,
        assuming the rule is outer-totalistic (`is_totalistic` is then None); False raises.
        Within the limit every configuration is evaluated and outer totalism is checked.
      max_configurations: the most configurations to enumerate (2**16: every binary and
        three-state Moore rule).

    Returns:
      a `RuleTable`.

    Example:
      >>> import numpy as np
      >>> def life(centre, neighbours):  # (N,), (N, 8) -> (N,)
      ...     n = neighbours.sum(-1)
      ...     return np.where(centre == 1, (n == 2) | (n == 3), n == 3)
      >>> t = rule_table(life)
      >>> t.is_totalistic, t.to_bs()
      (True, 'B3/S23')
      >>> t.to_sympy()
      (~c & Eq(n, 3)) | (c & (Eq(n, 2) | Eq(n, 3)))
      >>> rule_table(lambda c, nb: nb[:, 1]).is_totalistic  # copies the north neighbour
      False
    """
    owner = "rule_table"
    if isinstance(fn, Rule) or not callable(fn):
        raise TypeError(
            f"{owner}: fn must be a function fn(centre (N,), neighbours (N, k)) -> next states; "
            f"got {type(fn).__name__}. For an automata.Rule or a board -> board step use "
            "extract_rule."
        )
    num_states = check_int(num_states, "num_states", 2, owner=owner)
    max_configurations = check_int(max_configurations, "max_configurations", 1, owner=owner)
    k = len(_offsets(neighbourhood, owner))
    exhaustive = _enumeration(num_states, k, totalistic, max_configurations, owner)
    configs = _configurations(num_states, k, exhaustive)
    out = fn(configs[:, 0].astype(np.int32), configs[:, 1:].astype(np.int32))
    states = _to_states(out, num_states, (len(configs),), owner, "fn")
    return _build_table(configs, states, num_states, neighbourhood, exhaustive)


def _probe_board(configs: np.ndarray, offsets, margin: int):
    """Tile `configs` as 3x3 blocks (plus `margin` empty sites) into one board."""
    m = len(configs)
    b = 3 + margin
    cols = int(math.ceil(math.sqrt(m)))
    rows = -(-m // cols)
    board = np.zeros((rows * b, cols * b), np.int64)
    r, q = np.divmod(np.arange(m), cols)
    cy, cx = r * b + 1, q * b + 1
    board[cy, cx] = configs[:, 0]
    for i, (dy, dx) in enumerate(offsets):
        board[cy + dy, cx + dx] = configs[:, 1 + i]
    return board, (cy, cx)


def _board_fn(obj, lattice: Lattice | None, owner: str, what: str):
    """`obj` as `f(board (H, W) int64, key) -> (H, W) int64 next states`.

    `obj`: an `automata.Rule` (run with `automata.step` on `lattice`, reshaped to the board), a
    B/S string, a `LifeLikeFit`, a `RuleTable` (applied with `lattice`'s boundary) or a callable
    board -> next board.
    """
    if isinstance(obj, str):
        obj = LifeLike(obj)
    elif isinstance(obj, LifeLikeFit):
        obj = obj.to_rule()
    boundary = "wrap" if lattice is None else lattice.boundary
    fill = 0 if lattice is None else int(lattice.fill)
    if isinstance(obj, RuleTable):
        return lambda board, key: obj.apply(board, boundary=boundary, fill=fill)
    if isinstance(obj, Rule):
        def run(board, key):
            lat = Lattice(board.shape) if lattice is None else lattice.replace(shape=board.shape)
            state = LatticeState(x=jnp.asarray(board, jnp.int32)[..., None])
            x = _engine_step(obj, lat, state, key=key).x
            return _to_states(x, None, board.shape, owner, what)

        return run
    if callable(obj):
        return lambda board, key: _to_states(obj(board), None, board.shape, owner, what)
    raise TypeError(
        f"{owner}: {what} must be an automata.Rule, a B/S string, a LifeLikeFit, a RuleTable or "
        f"a function board (H, W) -> next board; got {type(obj).__name__}."
    )


def _lattice_arg(lattice, owner: str) -> Lattice | None:
    if lattice is None:
        return None
    if not isinstance(lattice, Lattice):
        raise TypeError(
            f"{owner}: lattice must be an automata.Lattice or None; got {type(lattice).__name__}."
        )
    if lattice.ndim != 2 or lattice.radius != 1 or lattice.neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(
            f"{owner}: lattice must be 2D with a radius-1 'moore' or 'von_neumann' neighbourhood; "
            f"got {lattice.ndim}D, {lattice.neighbourhood!r}, radius {lattice.radius}."
        )
    return lattice


def extract_rule(
    step_fn,
    *,
    num_states: int = 2,
    neighbourhood: str | None = None,
    lattice: Lattice | None = None,
    totalistic: bool = True,
    margin: int = 0,
    key: jax.Array | None = None,
    max_configurations: int = 2**16,
) -> RuleTable:
    """Read the local rule of a board -> board step by probing it with every configuration.

    Every neighbourhood configuration is written as a 3x3 block (centre in the middle) and the
    blocks are tiled into one board; one step of `step_fn` on that board gives, at each block's
    centre, the next state of that configuration. This explains any radius-1 step, e.g. a
    trained neural CA over a binary board: wrap it as a function of `(H, W)` states.

    Args:
      step_fn: an `automata.Rule` (stepped with `automata.step` on a lattice of the probe's
        shape), a B/S string, a `LifeLikeFit`, or a function `board (H, W) int64 numpy ->
        next board`: `(H, W)` states or floats (rounded, so a probability of state 1 above 1/2
        gives 1), or `(H, W, num_states)` scores (largest wins).
      num_states: states per site, >= 2.
      neighbourhood: `"moore"` or `"von_neumann"`; default the lattice's, else `"moore"`.
      lattice: geometry for an `automata.Rule` (neighbourhood, boundary, fill); its shape is
        replaced by the probe board's. Default `automata.Lattice(shape)` (Moore, wrap).
      totalistic, max_configurations: as for `rule_table`.
      margin: empty (state 0) sites between blocks; raise it for steps that see beyond radius 1
        (the table is then the rule "with the rest of the board empty").
      key: PRNG key for stochastic rules (one step, one draw).

    Returns:
      a `RuleTable`.

    Example:
      >>> import numpy as np, automata
      >>> extract_rule(automata.LIFE).to_bs()
      'B3/S23'
      >>> def majority(board):  # vote of the 3x3 block, a board -> next board function
      ...     s = sum(np.roll(board, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
      ...     return (s >= 5).astype(int)
      >>> extract_rule(majority).to_bs()
      'B5678/S45678'
    """
    owner = "extract_rule"
    lattice = _lattice_arg(lattice, owner)
    if neighbourhood is None:
        neighbourhood = "moore" if lattice is None else lattice.neighbourhood
    elif lattice is not None and lattice.neighbourhood != neighbourhood:
        raise ValueError(
            f"{owner}: neighbourhood={neighbourhood!r} but the lattice has "
            f"{lattice.neighbourhood!r}; give one of them."
        )
    offsets = _offsets(neighbourhood, owner)
    if lattice is None:
        lattice = Lattice((3, 3), neighbourhood)
    num_states = check_int(num_states, "num_states", 2, owner=owner)
    margin = check_int(margin, "margin", 0, owner=owner)
    max_configurations = check_int(max_configurations, "max_configurations", 1, owner=owner)
    exhaustive = _enumeration(num_states, len(offsets), totalistic, max_configurations, owner)
    configs = _configurations(num_states, len(offsets), exhaustive)
    board, centres = _probe_board(configs, offsets, margin)
    run = _board_fn(step_fn, lattice, owner, "step_fn")
    states = run(board, key)
    outputs = states[centres]
    top = outputs.max(initial=0)
    if top >= num_states:
        raise ValueError(
            f"{owner}: step_fn produced the state {int(top)} but num_states={num_states}; "
            f"pass num_states={int(top) + 1} (or more)."
        )
    return _build_table(configs, outputs, num_states, neighbourhood, exhaustive)


# ============================================================================ fidelity
@dataclasses.dataclass(frozen=True, eq=False)
class Fidelity:
    """How often an extracted rule reproduces a network, per step and overall.

    Attributes:
      per_step: `(num_steps,)` one-step (teacher-forced) agreement: at step `t`, the fraction
        of sites where the rule applied to the network's board `x_t` gives the network's
        `x_{t+1}`, over all boards.
      overall: the same over all steps (`float(fidelity)`).
      rollout_per_step: `(num_steps,)` free-running agreement: the rule's own rollout from the
        same start against the network's, at each step (errors compound here).
      num_sites: sites compared per step.
    """

    per_step: np.ndarray
    overall: float
    rollout_per_step: np.ndarray
    num_sites: int

    def __float__(self) -> float:
        return self.overall


def _as_boards(boards, owner: str) -> np.ndarray:
    arr = np.asarray(boards)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(
            f"{owner}: boards must be one (H, W) board or a (B, H, W) stack; got shape {arr.shape}. "
            "Drop a channel axis with x[..., 0]."
        )
    return np.stack([_board(b, owner, f"board {i}", "board", None) for i, b in enumerate(arr)])


def _check_lattice_shape(lattice, shape, owner):
    if lattice is not None and lattice.shape != tuple(shape):
        raise ValueError(
            f"{owner}: the lattice has shape {lattice.shape} but the boards are {tuple(shape)}; "
            f"build automata.Lattice({tuple(shape)}, ...) (or pass lattice=None)."
        )


def _fold(key, *data):
    if key is None:
        return None
    for d in data:
        key = jax.random.fold_in(key, d)
    return key


def fidelity(
    table_or_rule,
    step_fn,
    boards,
    num_steps: int,
    *,
    lattice: Lattice | None = None,
    key: jax.Array | None = None,
) -> Fidelity:
    """Fraction of sites where an extracted rule reproduces a network on held-out boards.

    The network (`step_fn`) is run `num_steps` steps from each board; at every step the rule is
    applied to the network's board and compared with the network's next board (one-step
    fidelity), and the rule's own rollout is compared too (free-running).

    Args:
      table_or_rule: a `RuleTable`, `LifeLikeFit`, B/S string, `automata.Rule` or board
        function (see `extract_rule`).
      step_fn: the reference (e.g. a trained NCA step wrapped as board -> board), same kinds.
      boards: `(H, W)` or `(B, H, W)` starting boards of state indices, not used to extract the
        rule.
      num_steps: steps per board (>= 1).
      lattice: geometry for `automata.Rule`s and the table's boundary; shape `(H, W)`. Default
        Moore, wrap.
      key: PRNG key for stochastic steps; step `t` of board `b` uses `fold_in(fold_in(key, b), t)`.

    Returns:
      a `Fidelity`.

    Example:
      >>> import numpy as np, automata
      >>> boards = np.random.default_rng(0).integers(0, 2, (2, 16, 16))
      >>> fidelity("B3/S23", automata.LIFE, boards, 4).overall
      1.0
      >>> fidelity("B36/S23", automata.LIFE, boards, 4).overall < 1
      True
    """
    owner = "fidelity"
    num_steps = check_num_steps(num_steps)
    lattice = _lattice_arg(lattice, owner)
    boards = _as_boards(boards, owner)
    _check_lattice_shape(lattice, boards.shape[1:], owner)
    rule = _board_fn(table_or_rule, lattice, owner, "table_or_rule")
    net = _board_fn(step_fn, lattice, owner, "step_fn")
    one = np.zeros(num_steps, np.int64)
    free = np.zeros(num_steps, np.int64)
    for b, x in enumerate(boards):
        y = x
        for t in range(num_steps):
            k = _fold(key, b, t)
            x_next = net(x, k)
            one[t] += int((rule(x, _fold(k, 1)) == x_next).sum())
            y = rule(y, _fold(k, 2))
            free[t] += int((y == x_next).sum())
            x = x_next
    n = boards.shape[0] * boards.shape[1] * boards.shape[2]
    return Fidelity(
        per_step=one / n, overall=float(one.sum() / (n * num_steps)),
        rollout_per_step=free / n, num_sites=int(n),
    )


# ============================================================================ sparse regression
def polynomial_library(
    names: Sequence[str], degree: int, *, include_bias: bool = True
) -> tuple[sympy.Expr, ...]:
    """Every monomial of the named inputs up to `degree`, lowest degree first.

    Args:
      names: input names (identifiers), e.g. `("u", "v")`.
      degree: the highest total degree (>= 1).
      include_bias: start with the constant term `1`.

    Example:
      >>> polynomial_library(["u", "v"], 2)
      (1, u, v, u**2, u*v, v**2)
    """
    owner = "polynomial_library"
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise ValueError(
            f"{owner}: names must be a non-empty sequence of identifiers such as ('u', 'v'); "
            f"got {names!r}."
        )
    if len(set(names)) != len(names):
        raise ValueError(f"{owner}: names contain duplicates: {names}.")
    degree = check_int(degree, "degree", 1, owner=owner)
    syms = [sympy.Symbol(n) for n in names]
    terms: list[sympy.Expr] = [sympy.Integer(1)] if include_bias else []
    for d in range(1, degree + 1):
        terms.extend(sympy.Mul(*combo) for combo in itertools.combinations_with_replacement(syms, d))
    return tuple(terms)


@dataclasses.dataclass(frozen=True, eq=False)
class Equation:
    """A sparse equation fitted by `sparse_regression`.

    Attributes:
      expr: the sympy expression `sum_j xi_j term_j`, coefficients rounded to `digits`
        significant digits (dropped terms omitted); `str(eq)` prints it.
      coefficients: every library term -> its fitted coefficient at full precision (0.0 for
        dropped terms), in library order.
      r2: coefficient of determination on the fitted samples (NaN for a constant target).
      residual_rms: root-mean-square residual, in the target's units.
      inputs: the input names.
      iterations: thresholding passes run.

    Calling `eq(inputs)` evaluates the full-precision equation: numpy in, numpy out; JAX arrays
    in, JAX out (traceable, differentiable).
    """

    expr: sympy.Expr
    coefficients: dict
    r2: float
    residual_rms: float
    inputs: tuple[str, ...]
    iterations: int
    _numpy: Callable = dataclasses.field(repr=False)
    _jax: Callable = dataclasses.field(repr=False)

    @property
    def terms(self) -> tuple[sympy.Expr, ...]:
        """The library terms kept (nonzero coefficients)."""
        return tuple(t for t, c in self.coefficients.items() if c != 0.0)

    def __str__(self) -> str:
        return str(self.expr)

    def __call__(self, inputs: Mapping[str, object]):
        """Evaluate on arrays; `inputs` maps every input name to an array (they broadcast)."""
        if not isinstance(inputs, Mapping):
            raise TypeError(
                f"Equation: inputs must be a mapping name -> array; got {type(inputs).__name__}."
            )
        missing = [n for n in self.inputs if n not in inputs]
        if missing:
            raise ValueError(f"Equation: inputs lack {missing}; the equation needs {list(self.inputs)}.")
        args = [inputs[n] for n in self.inputs]
        if any(isinstance(a, jax.Array) for a in args):
            return self._jax(*args)
        return self._numpy(*[np.asarray(a, np.float64) for a in args])


def _library_terms(library, symbols: Mapping[str, sympy.Symbol], owner: str) -> tuple[sympy.Expr, ...]:
    if isinstance(library, (str, sympy.Basic)):
        library = (library,)
    try:
        items = list(library)
    except TypeError as err:
        raise TypeError(
            f"{owner}: library must be a sequence of sympy expressions or strings (e.g. "
            f"polynomial_library(names, degree)); got {type(library).__name__}."
        ) from err
    if not items:
        raise ValueError(
            f"{owner}: the library is empty; give at least one term, e.g. "
            "polynomial_library(names, 2)."
        )
    terms = []
    for i, item in enumerate(items):
        if isinstance(item, numbers.Number) and not isinstance(item, bool):
            item = sympy.sympify(item)
        term = parse_formula(item, dict(symbols))
        if not isinstance(term, sympy.Expr):
            raise TypeError(f"{owner}: library term {i} ({term}) is not an arithmetic expression.")
        unknown = sorted(s.name for s in term.free_symbols if s.name not in symbols)
        if unknown:
            raise ValueError(
                f"{owner}: library term {i} ({term}) uses {unknown}, which are not inputs "
                f"{sorted(symbols)}. Add them to inputs or change the term."
            )
        # Name-matched symbols (whatever their assumptions) become the plain input symbols.
        term = term.xreplace({s: symbols[s.name] for s in term.free_symbols})
        terms.append(term)
    seen = set()
    for t in terms:
        if t in seen:
            raise ValueError(f"{owner}: the library contains the term {t} twice; remove the duplicate.")
        seen.add(t)
    return tuple(terms)


def _solve(a: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    if ridge == 0.0:
        return np.linalg.lstsq(a, b, rcond=None)[0]
    n = a.shape[0]
    return np.linalg.solve(a.T @ a / n + ridge * np.eye(a.shape[1]), a.T @ b / n)


def _round_sig(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def sparse_regression(
    inputs: Mapping[str, object],
    target,
    library,
    *,
    threshold: float = 0.1,
    max_iter: int = 20,
    ridge: float = 0.0,
    digits: int = 4,
) -> Equation:
    """A sparse equation for `target` over a library of terms (sequentially thresholded least squares).

    STLSQ (Brunton, Proctor & Kutz 2016, "Discovering governing equations from data by sparse
    identification of nonlinear dynamical systems", PNAS 113:3932, doi:10.1073/pnas.1517384113):
    evaluate every term on the samples into the columns of a matrix `Theta`; scale each column
    and the target to unit root-mean-square; solve least squares; drop every term whose scaled
    coefficient is below `threshold`; solve again on the terms left; repeat until no term is
    dropped (or `max_iter` passes). A scaled coefficient is the term's typical contribution
    (coefficient times the term's RMS over the samples) as a fraction of the target's RMS, so
    `threshold=0.1` drops terms contributing under 10% of the target's size, whatever the units.
    Strongly correlated terms (monomials of an input sampled on [0, 1] only, say) can trade
    large opposite coefficients under noise, which thresholding cannot separate: sample the
    inputs over a wider or centred range, or raise `threshold`.

    Args:
      inputs: name -> array of samples (numpy or JAX); all arrays and `target` have the same
        shape (any; samples are flattened).
      target: samples of the quantity to explain.
      library: sympy expressions (or strings such as `"u**2"`, `"exp(-u)"`) over the input
        names, e.g. `polynomial_library(("u",), 4)`. Any nonlinear features may be used; only
        their linear coefficients are fitted.
      threshold: the smallest scaled coefficient kept, >= 0 (0 keeps every term).
      max_iter: the most thresholding passes, >= 1.
      ridge: L2 penalty on the scaled coefficients (relative to unit-RMS columns), >= 0; 0 is
        plain least squares (minimum-norm via the SVD). Helps collinear libraries.
      digits: significant digits of the coefficients printed in `expr`.

    Returns:
      an `Equation`.

    Example:
      >>> import numpy as np, sympy
      >>> u = np.linspace(0, 1, 200)
      >>> eq = sparse_regression({"u": u}, 0.3 + 0.5 * u - 1.2 * u**2, polynomial_library(["u"], 4))
      >>> eq.expr
      -1.2*u**2 + 0.5*u + 0.3
      >>> eq.coefficients[sympy.Symbol("u") ** 4], round(eq.r2, 6)
      (0.0, 1.0)
    """
    owner = "sparse_regression"
    if not isinstance(inputs, Mapping) or not inputs:
        raise ValueError(
            f"{owner}: inputs must be a non-empty mapping name -> array of samples, e.g. "
            f"{{'u': u}}; got {type(inputs).__name__}."
        )
    for name in inputs:
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"{owner}: input names must be identifiers such as 'u'; got {name!r}.")
    if not (isinstance(threshold, numbers.Real) and threshold >= 0):
        raise ValueError(f"{owner}: threshold must be a number >= 0; got {threshold!r}.")
    if not (isinstance(ridge, numbers.Real) and ridge >= 0):
        raise ValueError(f"{owner}: ridge must be a number >= 0; got {ridge!r}.")
    max_iter = check_int(max_iter, "max_iter", 1, owner=owner)
    digits = check_int(digits, "digits", 1, owner=owner)
    y = np.asarray(target, np.float64)
    names = tuple(inputs)
    data = {}
    for n in names:
        v = np.asarray(inputs[n], np.float64)
        if v.shape != y.shape:
            raise ValueError(
                f"{owner}: input {n!r} has shape {v.shape} but the target has {y.shape}; give "
                "one value per sample in every array."
            )
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{owner}: input {n!r} has non-finite values; drop those samples.")
        data[n] = v.ravel()
    y = y.ravel()
    if not np.all(np.isfinite(y)):
        raise ValueError(f"{owner}: the target has non-finite values; drop those samples.")
    symbols = {n: sympy.Symbol(n) for n in names}
    terms = _library_terms(library, symbols, owner)
    if y.size < len(terms):
        raise ValueError(
            f"{owner}: {y.size} samples cannot determine {len(terms)} library terms; give at "
            "least as many samples as terms, or a smaller library."
        )
    syms = [symbols[n] for n in names]
    cols = []
    with np.errstate(all="ignore"):
        for t in terms:
            values = sympy.lambdify(syms, t, "numpy")(*data.values())
            col = np.broadcast_to(np.asarray(values, np.float64), y.shape)
            if not np.all(np.isfinite(col)):
                raise ValueError(
                    f"{owner}: the term {t} is not finite at some samples (e.g. a log of 0 or a "
                    "division by 0); restrict the samples or change the term."
                )
            cols.append(col)
    theta = np.stack(cols, 1)
    scale = np.sqrt(np.mean(theta**2, 0))
    zero = [str(t) for t, s in zip(terms, scale) if s == 0]
    if zero:
        raise ValueError(
            f"{owner}: the term(s) {zero} are 0 at every sample, so their coefficients cannot "
            "be fitted; remove them or give samples where they vary."
        )
    y_scale = float(np.sqrt(np.mean(y**2)))
    if y_scale == 0:
        raise ValueError(f"{owner}: the target is 0 at every sample; there is nothing to fit.")
    a, b = theta / scale, y / y_scale
    active = np.ones(len(terms), bool)
    xi = np.zeros(len(terms))
    iterations = 0
    for iterations in range(1, max_iter + 1):
        xi = np.zeros(len(terms))
        xi[active] = _solve(a[:, active], b, float(ridge))
        drop = active & (np.abs(xi) < threshold)
        if not drop.any():
            break
        active &= ~drop
        xi[~active] = 0.0
        if not active.any():
            break
    else:
        if active.any():
            xi = np.zeros(len(terms))
            xi[active] = _solve(a[:, active], b, float(ridge))
    coef = xi * y_scale / scale
    coef[~active] = 0.0
    residual = y - theta @ coef
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = float(1.0 - np.sum(residual**2) / ss_tot) if ss_tot > 0 else float("nan")
    rounded = sympy.Add(*[
        sympy.Float(_round_sig(c, digits)) * t if t != 1 else sympy.Float(_round_sig(c, digits))
        for c, t in zip(coef, terms) if c != 0.0
    ])
    exact = sympy.Add(*[sympy.Float(float(c)) * t for c, t in zip(coef, terms) if c != 0.0])
    return Equation(
        expr=rounded,
        coefficients={t: float(c) for t, c in zip(terms, coef)},
        r2=r2,
        residual_rms=float(np.sqrt(np.mean(residual**2))),
        inputs=names,
        iterations=iterations,
        _numpy=_broadcasting(sympy.lambdify(syms, exact, "numpy"), np),
        _jax=_broadcasting(sympy.lambdify(syms, exact, "jax"), jnp),
    )


def _broadcasting(fn, xp):
    """`fn(*args)` broadcast to the inputs' shape (a constant equation returns a scalar)."""
    def call(*args):
        out = fn(*args)
        shape = np.broadcast_shapes(*[np.shape(a) for a in args])
        return xp.broadcast_to(xp.asarray(out, dtype=float), shape)

    return call


# ============================================================================ attribution
@dataclasses.dataclass(frozen=True, eq=False)
class Attribution:
    """Which expert rules explain each transition (and each site) of an observed sequence.

    Attributes (P = number of transitions):
      names: the rule names, in the order given.
      explained_by: per transition, the names of the rules whose mismatch fraction is at most
        `tolerance` (empty when none).
      site_explained: `(P, H, W)` bool, True where at least one rule predicts the site.
      sites: name -> `(P, H, W)` bool, where that rule predicts the site.
      scores: name -> `(P,)` float, the fraction of sites the rule predicts at each transition.
      unexplained: indices of the transitions no rule explains.
      tolerance: the mismatch fraction allowed.
    """

    names: tuple[str, ...]
    explained_by: tuple[tuple[str, ...], ...]
    site_explained: np.ndarray
    sites: dict
    scores: dict
    unexplained: tuple[int, ...]
    tolerance: float

    def table(self) -> str:
        """A text table: one row per transition, each rule's agreement and who explains it."""
        head = ["transition"] + list(self.names) + ["explained by"]
        rows = [head]
        for t, by in enumerate(self.explained_by):
            rows.append(
                [str(t)]
                + [f"{self.scores[n][t]:.4f}" for n in self.names]
                + [", ".join(by) if by else "- (unexplained)"]
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def attribute(
    transitions,
    rules: Mapping[str, object],
    *,
    lattice: Lattice | None = None,
    tolerance: float = 0.0,
    key: jax.Array | None = None,
) -> Attribution:
    """For each observed transition, the expert rules that explain it, and where.

    Each rule is applied to every board `x_t` and its prediction compared with `x_{t+1}` site by
    site; a rule explains a transition when the fraction of mismatched sites is at most
    `tolerance`.

    Args:
      transitions: a `(T, H, W)` array of consecutive boards (T - 1 transitions) or a list of
        `(board_t, board_t_plus_1)` pairs, all of one shape, states as integers.
      rules: name -> an `automata.Rule`, a B/S string, a `LifeLikeFit`, a `RuleTable` or a
        function board `(H, W)` -> next board.
      lattice: geometry for `automata.Rule`s and tables, shape `(H, W)`; default Moore, wrap.
      tolerance: the largest fraction of mismatched sites still "explained", in [0, 1).
      key: PRNG key for stochastic rules; transition `t` of rule `i` uses
        `fold_in(fold_in(key, t), i)`.

    Returns:
      an `Attribution`; `print(result.table())` shows it.

    Example:
      >>> import numpy as np
      >>> glider = np.zeros((8, 8), int); glider[0, 1] = glider[1, 2] = 1; glider[2, :3] = 1
      >>> moved = np.roll(glider, (1, 1), (0, 1))  # where it is after 4 Life steps, not 1
      >>> a = attribute([(glider, glider), (glider, moved)], {"life": "B3/S23", "still": lambda b: b})
      >>> a.explained_by, a.unexplained
      ((('still',), ()), (1,))
    """
    owner = "attribute"
    if not isinstance(rules, Mapping) or not rules:
        raise ValueError(
            f"{owner}: rules must be a non-empty mapping name -> rule, e.g. "
            "{'life': 'B3/S23', 'highlife': automata.HIGHLIFE}."
        )
    for name in rules:
        if not isinstance(name, str):
            raise TypeError(f"{owner}: rule names must be strings; got {name!r}.")
    if not (isinstance(tolerance, numbers.Real) and 0 <= tolerance < 1):
        raise ValueError(f"{owner}: tolerance must be a fraction in [0, 1); got {tolerance!r}.")
    lattice = _lattice_arg(lattice, owner)
    pairs = _as_pairs(transitions, owner, num_states=None)
    shape = pairs[0][0].shape
    for i, (a, _) in enumerate(pairs):
        if a.shape != shape:
            raise ValueError(
                f"{owner}: pair {i} has boards of shape {a.shape} but pair 0 has {shape}; "
                "attribute compares transitions of one lattice, so give boards of one shape."
            )
    _check_lattice_shape(lattice, shape, owner)
    names = tuple(rules)
    fns = [_board_fn(rules[n], lattice, owner, f"rule {n!r}") for n in names]
    sites = {n: np.zeros((len(pairs),) + shape, bool) for n in names}
    for t, (a, b) in enumerate(pairs):
        for i, (n, fn) in enumerate(zip(names, fns)):
            sites[n][t] = fn(a, _fold(key, t, i)) == b
    scores = {n: sites[n].mean(axis=(1, 2)) for n in names}
    explained_by = tuple(
        tuple(n for n in names if 1.0 - scores[n][t] <= tolerance + 1e-12) for t in range(len(pairs))
    )
    site_explained = np.zeros((len(pairs),) + shape, bool)
    for n in names:
        site_explained |= sites[n]
    return Attribution(
        names=names,
        explained_by=explained_by,
        site_explained=site_explained,
        sites=sites,
        scores=scores,
        unexplained=tuple(t for t, by in enumerate(explained_by) if not by),
        tolerance=float(tolerance),
    )
