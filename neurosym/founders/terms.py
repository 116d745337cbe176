"""Label-free constraint terms for naming cells by founder, each a separate, switchable object.

A term is passed to `fit_founders` as a strategy object (as optax passes transformations):
`term.arrays(cells)` computes once, without any label, what the term needs from a
`CellSeries`; `term.loss(probs, arrays)` is its differentiable penalty on the (N, 6) founder
probabilities of all cells, labelled or not. The fit adds `term.weight * term.loss(...)`.

- `Tracking`: cells linked by anonymous tracking (mask overlap between consecutive time
  points) share a founder, except where the germ line gives birth to a new founder (P -> MS,
  E, C, D); it acts on inference (`track_posterior`), not on training.
- `Composition`: at each time point, the mean prediction matches the expected share of each
  founder at the observed number of cells, from the division-timing model fitted on other
  embryos (`neurosym.founders.composition`).
- `SpatialRules`: rules from the literature over the contact graph (`neurosym.founders.spatial`).

Example:
  >>> import numpy as np
  >>> from neurosym.founders.cells import cell_series
  >>> seg = np.zeros((8, 8, 8), np.int32); seg[1:7, 1:4, 1:7] = 3; seg[1:7, 4:7, 1:7] = 9
  >>> cells = cell_series({1: seg * 1.0, 2: seg * 1.0}, {1: seg, 2: seg}, factor=1)
  >>> labels = np.array([-1, -1, -1, 1])                 # the last cell is known to be MS
  >>> post = Tracking(error=0.0).posterior(cells, np.full((4, 6), 1 / 6), labels)
  >>> np.round(post[1], 2).tolist()        # its earlier self, which did not divide, is MS too
  [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax.numpy as jnp
import numpy as np

from automata._checks import check_number, fail
from neurosym.founders.composition import composition_loss, embedded_composition
from neurosym.founders.spatial import LITERATURE_RULES, Inside, Touches, rule_loss
from neurosym.founders.tracks import track_posterior

__all__ = ["Composition", "SpatialRules", "Tracking"]


def _weight(weight, owner):
    return check_number(weight, "weight", minimum=0.0, owner=owner)


@dataclass(frozen=True)
class Tracking:
    """Tracked cells share a founder (the germ line P may give birth to MS, E, C and D).

    Unlike the other terms this one acts on inference rather than on training: after the
    classifier is trained, every cell's founder is the exact posterior of `track_posterior`
    over its tracking tree, given the classifier's evidence for each cell and the known
    founders of labelled cells.

    The defaults are those chosen on the validation split of `benchmarks/founders.py`.

    Attributes:
      error: probability that a tracking link is wrong.
      temperature: exponent on the classifier's evidence (below 1: a cell seen at many time
        points is not independent evidence each time; 0 ignores it).
      order: how surely, in a division of the germ line, the daughter whose clone ends larger
        is the faster founder (0.5: clone sizes are ignored).
    """

    error: float = 0.2
    temperature: float = 0.0
    order: float = 0.5
    name: str = "tracking"

    def __post_init__(self):
        check_number(self.error, "error", minimum=0.0, maximum=1.0, owner="Tracking")
        check_number(self.temperature, "temperature", minimum=0.0, owner="Tracking")
        check_number(self.order, "order", minimum=0.0, maximum=1.0, owner="Tracking")

    def posterior(self, cells, probs, labels) -> np.ndarray:
        """(N, 6) founder posteriors from the classifier's `probs` and the `labels` (-1: none)."""
        return track_posterior(cells.parent, probs, labels, error=self.error, temperature=self.temperature,
                               order=self.order)


@dataclass(frozen=True)
class Composition:
    """Each time point's mean prediction matches the expected founder shares at its cell count.

    Attributes:
      table: a `FounderComposition` (expected shares by number of cells); None uses the one
        the package ships (`embedded_composition`: the division-timing model fitted on the
        embedded tracked embryos).
    """

    table: object = None
    weight: float = 1.0
    name: str = "composition"

    def __post_init__(self):
        _weight(self.weight, "Composition")

    def arrays(self, cells) -> dict:
        table = embedded_composition() if self.table is None else self.table
        counts = np.diff(cells.first_row)
        return {"groups": jnp.asarray(cells.time_index, jnp.int32),
                "expected": jnp.asarray(table.at(counts), jnp.float32)}

    def loss(self, probs, arrays):
        return composition_loss(probs, arrays["groups"], arrays["expected"])


@dataclass(frozen=True)
class SpatialRules:
    """Rules from the literature over the contact graph (default `LITERATURE_RULES`)."""

    rules: tuple = field(default=LITERATURE_RULES)
    weight: float = 1.0
    name: str = "rules"

    def __post_init__(self):
        _weight(self.weight, "SpatialRules")
        if not self.rules or not all(isinstance(r, (Inside, Touches)) for r in self.rules):
            raise fail("SpatialRules", "rules must be a non-empty sequence of Inside / Touches rules.", TypeError)
        object.__setattr__(self, "rules", tuple(self.rules))

    def arrays(self, cells) -> dict:
        return {"outside": jnp.asarray(cells.outside, jnp.float32),
                "neighbours": jnp.asarray(cells.neighbours, jnp.int32),
                "num_cells": jnp.asarray(cells.cells_at(), jnp.float32)}

    def loss(self, probs, arrays):
        return rule_loss(self.rules, probs, outside=arrays["outside"], neighbours=arrays["neighbours"],
                         num_cells=arrays["num_cells"])
