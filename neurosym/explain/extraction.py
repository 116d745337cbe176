"""Learned local rules enumerated into `RuleTable`s: from a function of neighbourhoods
(`tabulate_rule`) or by probing a board -> board step with every configuration (`extract_rule`).

Example:
  >>> import automata
  >>> extract_rule(automata.HIGHLIFE).to_bs()
  'B36/S23'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import jax
import numpy as np

from automata._checks import check_int, fail
from automata.lattice import Lattice
from automata.rule import Rule
from neurosym.explain.boards import check_lattice, neighbourhood_offsets, to_states
from neurosym.explain.steps import board_step
from neurosym.explain.tables import RuleTable

__all__ = ["extract_rule", "rule_table", "tabulate_rule"]


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


def _enumeration(num_states, k, totalistic, max_configurations, owner) -> bool:
    """Whether to enumerate every configuration (else one per class)."""
    total = num_states ** (1 + k)
    if total <= max_configurations:
        return True
    if totalistic:
        return False
    raise fail(
        owner,
        f"{num_states} states on {k} neighbours make {total} configurations, more than "
        f"max_configurations={max_configurations}. Pass totalistic=True to evaluate one "
        "configuration per (centre, counts) class, or raise max_configurations.",
    )


def tabulate_rule(
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

    Also importable as `rule_table`, its earlier name.

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
      >>> t = tabulate_rule(life)
      >>> t.is_totalistic, t.to_bs()
      (True, 'B3/S23')
      >>> t.to_sympy()
      (~c & Eq(n, 3)) | (c & (Eq(n, 2) | Eq(n, 3)))
      >>> tabulate_rule(lambda c, nb: nb[:, 1]).is_totalistic  # copies the north neighbour
      False
    """
    owner = "tabulate_rule"
    if isinstance(fn, Rule) or not callable(fn):
        raise TypeError(
            f"{owner}: fn must be a function fn(centre (N,), neighbours (N, k)) -> next states; "
            f"got {type(fn).__name__}. For an automata.Rule or a board -> board step use "
            "extract_rule."
        )
    num_states = check_int(num_states, "num_states", 2, owner=owner)
    max_configurations = check_int(max_configurations, "max_configurations", 1, owner=owner)
    k = len(neighbourhood_offsets(neighbourhood, owner))
    exhaustive = _enumeration(num_states, k, totalistic, max_configurations, owner)
    configs = _configurations(num_states, k, exhaustive)
    out = fn(configs[:, 0].astype(np.int32), configs[:, 1:].astype(np.int32))
    states = to_states(out, num_states, (len(configs),), owner, "fn")
    return RuleTable.from_outputs(configs, states, num_states, neighbourhood, exhaustive=exhaustive)


#: The earlier name of `tabulate_rule` (kept working; `neurosym.constraints.rule_table` is a
#: different function, a B/S string as a `(2, 9)` array).
rule_table = tabulate_rule


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


def _probe_geometry(neighbourhood, lattice, owner: str) -> tuple[str, Lattice]:
    """The neighbourhood and lattice `extract_rule` probes with, from either argument."""
    lattice = check_lattice(lattice, owner)
    if neighbourhood is None:
        neighbourhood = "moore" if lattice is None else lattice.neighbourhood
    elif lattice is not None and lattice.neighbourhood != neighbourhood:
        raise fail(
            owner,
            f"neighbourhood={neighbourhood!r} but the lattice has {lattice.neighbourhood!r}; give "
            "one of them.",
        )
    neighbourhood_offsets(neighbourhood, owner)
    return neighbourhood, Lattice((3, 3), neighbourhood) if lattice is None else lattice


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
      totalistic, max_configurations: as for `tabulate_rule`.
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
    neighbourhood, lattice = _probe_geometry(neighbourhood, lattice, owner)
    offsets = neighbourhood_offsets(neighbourhood, owner)
    num_states = check_int(num_states, "num_states", 2, owner=owner)
    margin = check_int(margin, "margin", 0, owner=owner)
    max_configurations = check_int(max_configurations, "max_configurations", 1, owner=owner)
    exhaustive = _enumeration(num_states, len(offsets), totalistic, max_configurations, owner)
    configs = _configurations(num_states, len(offsets), exhaustive)
    board, centres = _probe_board(configs, offsets, margin)
    states = board_step(step_fn, lattice, owner, "step_fn")(board, key)
    outputs = states[centres]
    top = outputs.max(initial=0)
    if top >= num_states:
        raise fail(
            owner,
            f"step_fn produced the state {int(top)} but num_states={num_states}; pass "
            f"num_states={int(top) + 1} (or more).",
        )
    return RuleTable.from_outputs(configs, outputs, num_states, neighbourhood, exhaustive=exhaustive)
