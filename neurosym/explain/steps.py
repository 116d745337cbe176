"""Anything that advances a board by one step, as one kind of function.

`extract_rule`, `fidelity` and `attribute` accept an `automata.Rule`, a B/S string, a
`LifeLikeFit`, a `RuleTable` or a plain function board -> next board; `board_step` turns each
into `f(board (H, W) int64, key) -> (H, W) int64 next states`. Rules, B/S strings and fits run
on the `automata` engine (`automata.step`); tables run there too, through `RuleTable.apply`.

Example:
  >>> import numpy as np
  >>> f = board_step("B3/S23", None, "demo", "rule")
  >>> blinker = np.zeros((5, 5), np.int64); blinker[2, 1:4] = 1
  >>> bool((f(blinker, None) == blinker.T).all())
  True
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from automata.engine import step
from automata.lattice import Lattice
from automata.lifelike import LifeLike
from automata.rule import Rule
from automata.state import LatticeState
from neurosym.explain.boards import to_states
from neurosym.explain.recovery import LifeLikeFit
from neurosym.explain.tables import RuleTable

__all__ = ["board_step"]


def _engine_step(rule: Rule, lattice: Lattice | None, owner: str, what: str) -> Callable:
    def run(board, key):
        lat = Lattice(board.shape) if lattice is None else lattice.replace(shape=board.shape)
        state = LatticeState(x=jnp.asarray(board, jnp.int32)[..., None])
        x = step(rule, lat, state, key=key).x
        return to_states(x, None, board.shape, owner, what)

    return run


def board_step(
    obj, lattice: Lattice | None, owner: str, what: str
) -> Callable[[np.ndarray, object], np.ndarray]:
    """`obj` as `f(board (H, W) int64, key) -> (H, W) int64 next states`.

    Args:
      obj: an `automata.Rule` (run with `automata.step` on `lattice`, reshaped to the board), a
        B/S string, a `LifeLikeFit`, a `RuleTable` (applied with `lattice`'s boundary and fill)
        or a callable board -> next board (states, rounded floats or scores, see `to_states`).
      lattice: the geometry, or None for Moore with wrapped edges.
      owner, what: the public function and the argument's name, for errors.
    """
    if isinstance(obj, str):
        obj = LifeLike(obj)
    elif isinstance(obj, LifeLikeFit):
        obj = obj.to_rule()
    if isinstance(obj, RuleTable):
        boundary = "wrap" if lattice is None else lattice.boundary
        fill = 0 if lattice is None else int(lattice.fill)
        return lambda board, key: obj.apply(board, boundary=boundary, fill=fill)
    if isinstance(obj, Rule):
        return _engine_step(obj, lattice, owner, what)
    if callable(obj):
        return lambda board, key: to_states(obj(board), None, board.shape, owner, what)
    raise TypeError(
        f"{owner}: {what} must be an automata.Rule, a B/S string, a LifeLikeFit, a RuleTable or "
        f"a function board (H, W) -> next board; got {type(obj).__name__}."
    )
