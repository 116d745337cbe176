"""Which of several expert rules explains each transition of an observed sequence, and where.

Example:
  >>> import numpy as np
  >>> x = np.zeros((6, 6), int); x[2, 1:4] = 1                    # a blinker
  >>> attribute([(x, x.T)], {"life": "B3/S23", "still": lambda b: b}).explained_by
  (('life',),)
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping

import jax
import numpy as np

from automata._checks import fail
from automata.lattice import Lattice
from neurosym.explain.boards import as_pairs, check_lattice, check_lattice_shape, fold_key
from neurosym.explain.steps import board_step

__all__ = ["Attribution", "attribute"]


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


def _check_rules(rules, tolerance, owner: str) -> None:
    if not isinstance(rules, Mapping) or not rules:
        raise fail(
            owner,
            "rules must be a non-empty mapping name -> rule, e.g. "
            "{'life': 'B3/S23', 'highlife': automata.HIGHLIFE}.",
        )
    for name in rules:
        if not isinstance(name, str):
            raise fail(owner, f"rule names must be strings; got {name!r}.", TypeError)
    if not (isinstance(tolerance, numbers.Real) and 0 <= tolerance < 1):
        raise fail(owner, f"tolerance must be a fraction in [0, 1); got {tolerance!r}.")


def _one_shape(pairs, owner: str) -> tuple[int, ...]:
    shape = pairs[0][0].shape
    for i, (a, _) in enumerate(pairs):
        if a.shape != shape:
            raise fail(
                owner,
                f"pair {i} has boards of shape {a.shape} but pair 0 has {shape}; attribute "
                "compares transitions of one lattice, so give boards of one shape.",
            )
    return shape


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
    _check_rules(rules, tolerance, owner)
    lattice = check_lattice(lattice, owner)
    pairs = as_pairs(transitions, owner, num_states=None)
    shape = _one_shape(pairs, owner)
    check_lattice_shape(lattice, shape, owner)
    names = tuple(rules)
    fns = [board_step(rules[n], lattice, owner, f"rule {n!r}") for n in names]
    sites = {n: np.zeros((len(pairs),) + shape, bool) for n in names}
    for t, (a, b) in enumerate(pairs):
        for i, (n, fn) in enumerate(zip(names, fns)):
            sites[n][t] = fn(a, fold_key(key, t, i)) == b
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
