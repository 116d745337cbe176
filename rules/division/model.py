"""The division model (what makes cells divide and die, where daughters go, what they become)
and the per-step records of a run."""

from __future__ import annotations

from typing import Any

import jax
from flax import struct

from automata._checks import check_number, fail
from automata.lattice import Lattice
from rules._perkind import check_param
from rules.division.cycle import CellCycle
from rules.division.placement import Exclusion, Shove
from rules.division.table import DifferentiationTable
from rules.population import Population

__all__ = ["DivisionModel", "History"]


class DivisionModel(struct.PyTreeNode, kw_only=True):
    """What makes cells divide and die, where daughters go, and what they become.

    A cell divides in a step when its cell-cycle clock reaches its period, or when a hazard
    event fires (probability `1 - exp(-h dt)` with `h = hazard[kind] + external hazard`).
    Within a step: clocks advance by `dt`, cells die (probability `1 - exp(-death dt)`), then the
    survivors divide, in a random order, each placing daughter B by `placement`.

    Args:
      table: `DifferentiationTable`; defines `num_kinds`.
      cycle: optional `CellCycle` (clock-driven division).
      hazard: optional division hazard per minute, scalar or `(num_kinds,)`, >= 0.
      external: optional hazard term, a pytree with `__call__(lattice, population) ->
        (capacity,)` hazards per minute (and `mean_field(counts) -> (num_kinds,)` for
        `expected_counts`), e.g. `PayoffHazard`.
      death: optional death (apoptosis) rate per minute, scalar or `(num_kinds,)`, >= 0.
      placement: `Exclusion()` (default) or `Shove()`.
      dt: minutes per step, positive.

    Example:
      >>> from rules.celegans import founder_table
      >>> model = DivisionModel(table=founder_table(), cycle=CellCycle(period=15.0),
      ...                       placement=Shove(), dt=1.0)
      >>> model.num_kinds
      11
    """

    table: DifferentiationTable
    cycle: CellCycle | None = None
    hazard: Any = None
    external: Any = None
    death: Any = None
    placement: Any = struct.field(default_factory=Exclusion)
    dt: float = struct.field(pytree_node=False, default=1.0)

    def __post_init__(self):
        dt = check_number(self.dt, "dt", minimum=0.0, open_minimum=True, owner="DivisionModel",
                          hint="dt is minutes per step.")
        object.__setattr__(self, "dt", dt)

    @property
    def num_kinds(self) -> int:
        """Number of kinds, from the differentiation table."""
        return self.table.num_kinds

    def check(self, lattice: Lattice | None = None) -> None:
        """Raise a clear error for a malformed model (shapes always, values when concrete)."""
        if not isinstance(self.table, DifferentiationTable):
            raise fail("DivisionModel", f"table must be a DifferentiationTable, got "
                       f"{type(self.table).__name__}; e.g. DifferentiationTable.symmetric(num_kinds).",
                       TypeError)
        k = self.num_kinds
        if self.cycle is not None:
            if not isinstance(self.cycle, CellCycle):
                raise fail("DivisionModel", f"cycle must be a CellCycle or None, got "
                           f"{type(self.cycle).__name__}.", TypeError)
            self.cycle.check(k)
        if self.hazard is not None:
            check_param(self.hazard, "hazard", k, owner="DivisionModel")
        if self.death is not None:
            check_param(self.death, "death", k, owner="DivisionModel")
        if self.external is not None:
            if not callable(self.external):
                raise fail("DivisionModel",
                    "external must be callable as external(lattice, population) -> (capacity,) "
                    f"hazards per minute, got {type(self.external).__name__}.", TypeError)
            if hasattr(self.external, "check"):
                self.external.check(k)
        if not isinstance(self.placement, (Exclusion, Shove)):
            raise fail("DivisionModel", f"placement must be Exclusion(...) or Shove(...), got "
                       f"{type(self.placement).__name__}.", TypeError)
        if lattice is not None:
            self.placement.check(lattice, k)


class History(struct.PyTreeNode):
    """Per-step records of a run, stacked on a leading axis of length `num_steps`.

    Attributes:
      count: `(num_steps, num_kinds)` cells alive of each kind after each step (int32 from
        `simulate`, expected values from `expected_counts`).
      num_divisions: `(num_steps,)` divisions in each step.
      num_deaths: `(num_steps,)` deaths in each step.
      num_blocked: `(num_steps,)` divisions refused for lack of room in each step.
      log_prob: `(num_steps,)` log-probability of the step's random events that depend on the
        parameters (division and death events, period draws); the input of
        `automata.relax.score_function_surrogate`. Zero in `expected_counts`.
      alive: `(num_steps, capacity)` alive mask after each step, or None (`expected_counts`).
      t: `(num_steps,)` step counter after each step.
    """

    count: jax.Array
    num_divisions: jax.Array
    num_deaths: jax.Array
    num_blocked: jax.Array
    log_prob: jax.Array
    alive: jax.Array | None
    t: jax.Array


def check_inputs(model, lattice: Lattice | None, population, *, owner: str) -> None:
    """Raise a clear error unless `model` can run on `population` (and `lattice`, if given).

    The shared entry check of `simulate` (with a lattice) and the mean-field functions (without).
    """
    if not isinstance(model, DivisionModel):
        raise fail(owner, f"model must be a rules.DivisionModel, got {type(model).__name__}. Build "
                          "one with DivisionModel(table=..., cycle=CellCycle(...), hazard=..., "
                          "placement=...).", TypeError)
    if not isinstance(population, Population):
        raise fail(owner, f"population must be a rules.Population, got "
                          f"{type(population).__name__}. Build one with Population.create(lattice, "
                          "positions, kinds, capacity).", TypeError)
    model.check(lattice)
    if lattice is not None:
        population.check(lattice, model.num_kinds)
    else:
        population.check_kinds(model.num_kinds)
