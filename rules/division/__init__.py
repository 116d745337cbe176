"""Cell division: when cells divide (clocks, hazards, payoffs), where daughters go, what they become.

A division model is a frozen pytree made of small pieces: a `CellCycle` (clock-driven division),
a per-kind `hazard` (memoryless division), an `external` hazard such as `PayoffHazard` (a game
payoff drives division), a per-kind `death` rate, a placement (`Exclusion` or `Shove`) and a
`DifferentiationTable` (the kinds of the two daughters). Array fields are the fittable
parameters; the table, the time step and the placement axis are configuration.

Two drivers:

- `simulate` draws one stochastic history of the population on the lattice (a `lax.scan`), and
  records the log-probability of every random event that depends on the parameters, so the
  score-function estimator (`automata.relax.score_function_surrogate`) gives unbiased gradients
  of an expected loss.
- `expected_counts` is the relaxed model: it follows the expected number of cells of each kind and
  age (a mean-field, age-structured branching process), so a loss on it is a smooth function of
  the parameters and has exact gradients. `temperature` smooths the cell-cycle clock.

Times are in minutes; one step lasts `dt` minutes.

Modules: `table` (DifferentiationTable), `cycle` (CellCycle), `placement` (Exclusion, Shove),
`model` (DivisionModel, History), `simulation` (the step and `simulate`), `meanfield`
(expected_counts, expected_divisions, divisions_by_birth). Hazards (`PayoffHazard`,
`event_probability`, `payoff_hazard`) live in `rules.hazard`.

Example:
  >>> import jax, automata
  >>> from rules.division import CellCycle, DifferentiationTable, DivisionModel, simulate
  >>> from rules.population import Population
  >>> lat = automata.Lattice((16, 16), neighbourhood="von_neumann")
  >>> pop = Population.create(lat, [[8, 8]], [0], capacity=64)
  >>> model = DivisionModel(table=DifferentiationTable.symmetric(1),
  ...                       cycle=CellCycle(period=[10.0], cv=0.0), dt=1.0)
  >>> final, history = simulate(model, lat, pop, key=jax.random.key(0), num_steps=20)
  >>> history.count[-1].tolist()  # divisions at minutes 10 and 20
  [4]
"""

from rules.division._founders import __getattr__
from rules.division.cycle import CellCycle
from rules.division.meanfield import divisions_by_birth, expected_counts, expected_divisions
from rules.division.model import DivisionModel, History
from rules.division.placement import Exclusion, Shove
from rules.division.simulation import simulate
from rules.division.table import DifferentiationTable
from rules.hazard import PayoffHazard

__all__ = [
    "CellCycle",
    "DifferentiationTable",
    "DivisionModel",
    "Exclusion",
    "History",
    "PayoffHazard",
    "Shove",
    "divisions_by_birth",
    "expected_counts",
    "expected_divisions",
    "simulate",
]
