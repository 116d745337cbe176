"""How often an extracted rule reproduces a network on held-out boards (`fidelity`).

Example:
  >>> import numpy as np, automata
  >>> boards = np.random.default_rng(0).integers(0, 2, (2, 16, 16))
  >>> fidelity("B3/S23", automata.LIFE, boards, 4).overall
  1.0
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from automata.engine import check_num_steps
from automata.lattice import Lattice
from neurosym.explain.boards import as_boards, check_lattice, check_lattice_shape, fold_key
from neurosym.explain.steps import board_step

__all__ = ["Fidelity", "fidelity"]


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
      >>> fidelity("B36/S23", automata.LIFE, boards, 4).overall < 1
      True
    """
    owner = "fidelity"
    num_steps = check_num_steps(num_steps)
    lattice = check_lattice(lattice, owner)
    boards = as_boards(boards, owner)
    check_lattice_shape(lattice, boards.shape[1:], owner)
    rule = board_step(table_or_rule, lattice, owner, "table_or_rule")
    net = board_step(step_fn, lattice, owner, "step_fn")
    one = np.zeros(num_steps, np.int64)
    free = np.zeros(num_steps, np.int64)
    for b, x in enumerate(boards):
        y = x
        for t in range(num_steps):
            k = fold_key(key, b, t)
            x_next = net(x, k)
            one[t] += int((rule(x, fold_key(k, 1)) == x_next).sum())
            y = rule(y, fold_key(k, 2))
            free[t] += int((y == x_next).sum())
            x = x_next
    n = boards.shape[0] * boards.shape[1] * boards.shape[2]
    return Fidelity(
        per_step=one / n, overall=float(one.sum() / (n * num_steps)),
        rollout_per_step=free / n, num_sites=int(n),
    )
