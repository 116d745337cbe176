"""Spatial rules from the literature, as soft logic over a contact graph of anonymous cells.

A rule is a formula over the predicted founder probabilities of a cell and of its neighbours,
and a geometric fact that needs no label (whether the cell faces the outside of the embryo).
Each holds from a stage on (a number of cells) and carries its source. Its truth per cell is a
product t-norm; `rule_loss` is the mean of `1 - truth` over the cells the rule applies to.

- `Inside(founder, from_cells)`: a cell of `founder` does not face the outside.
- `Touches(founder, other, from_cells)`: a cell of `founder` touches at least one cell of `other`.

Example:
  >>> import numpy as np
  >>> rule = Inside("E", from_cells=2, source="test")
  >>> probs = np.eye(6)[[2, 0]]                      # an E cell and an AB cell
  >>> float(rule.truth(probs, outside=np.array([0.5, 0.5]), neighbours=np.full((2, 1), -1)).min())
  0.0
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

from automata._checks import check_int, fail
from neurosym.founders.classes import FOUNDERS

__all__ = ["Inside", "LITERATURE_RULES", "Touches", "rule_loss"]

_SURFACE = 0.05
"""A cell with this share of its surface on the outside counts as fully on the surface."""


def _founder(name, owner: str) -> int:
    if name not in FOUNDERS:
        raise fail(owner, f"founder must be one of {FOUNDERS}, got {name!r}.")
    return FOUNDERS.index(name)


@dataclass(frozen=True)
class Inside:
    """From `from_cells` cells on, no cell of `founder` faces the outside of the embryo."""

    founder: str
    from_cells: int
    source: str

    def __post_init__(self):
        _founder(self.founder, "Inside")
        check_int(self.from_cells, "from_cells", 1, owner="Inside")

    def truth(self, probs, *, outside, neighbours):
        """(N,) truth per cell: 1 - P(founder) * (cell on the surface)."""
        surface = jnp.clip(jnp.asarray(outside) / _SURFACE, 0.0, 1.0)
        return 1.0 - probs[:, _founder(self.founder, "Inside")] * surface


@dataclass(frozen=True)
class Touches:
    """From `from_cells` cells on, each cell of `founder` touches a cell of `other`."""

    founder: str
    other: str
    from_cells: int
    source: str

    def __post_init__(self):
        _founder(self.founder, "Touches")
        _founder(self.other, "Touches")
        check_int(self.from_cells, "from_cells", 1, owner="Touches")

    def truth(self, probs, *, outside, neighbours):
        """(N,) truth per cell: 1 - P(founder) * prod over neighbours (1 - P(neighbour is other))."""
        nb = jnp.asarray(neighbours)
        p_other = jnp.where(nb >= 0, probs[jnp.maximum(nb, 0), _founder(self.other, "Touches")], 0.0)
        none = jnp.prod(1.0 - p_other, axis=1)
        return 1.0 - probs[:, _founder(self.founder, "Touches")] * none


_SULSTON = "Sulston, Schierenberg, White & Thomson 1983, Dev. Biol. 100:64"
LITERATURE_RULES = (
    Inside("E", 30, f"Ea and Ep enter the embryo at the 26-28-cell stage, the first step of gastrulation, and "
                    f"their descendants stay inside ({_SULSTON}; Nance & Priess 2002, Development 129:387)."),
    Touches("E", "E", 26, f"after E divides the gut precursors form one compact primordium ({_SULSTON}; "
                          "Leung, Hermann & Priess 1999, Dev. Biol. 216:114)."),
    Touches("E", "MS", 8, f"MS and E are born side by side as the daughters of EMS ({_SULSTON})."),
    Touches("MS", "MS", 16, f"MS descendants stay together as a coherent clone ({_SULSTON})."),
)
"""The default rules, each with its source."""


def rule_loss(rules, probs, *, outside, neighbours, num_cells):
    """Mean of `1 - truth` over rules and the cells each applies to (cells at a stage of at
    least the rule's `from_cells`); 0 when no rule applies.

    Args:
      rules: a sequence of `Inside` / `Touches`.
      probs: (N, 6) founder probabilities.
      outside: (N,) share of each cell's surface on the outside.
      neighbours: (N, K) neighbour rows, -1 padded.
      num_cells: (N,) number of cells at each row's time point.
    """
    total, count = 0.0, 0.0
    for rule in rules:
        w = (jnp.asarray(num_cells) >= rule.from_cells).astype(probs.dtype)
        total = total + jnp.sum(w * (1.0 - rule.truth(probs, outside=outside, neighbours=neighbours)))
        count = count + jnp.sum(w)
    return total / jnp.maximum(count, 1.0)
