"""Developmental rules on the `automata` engine.

Cell populations on a lattice with a fixed capacity (`Population`), division and death
(`rules.division`: `DivisionModel` with `CellCycle`, hazards, `PayoffHazard`, `Exclusion` or
`Shove` placement and a `DifferentiationTable`; `simulate` draws a history, `expected_counts`
follows the mean-field counts and `expected_divisions` its cycle lengths, which
`divisions_by_birth` reads from a run), event hazards in one place (`rules.hazard`:
`event_probability`, `payoff_hazard`, `PayoffHazard`), the lineage as a graph in the schema
shared with the readers (`lineage_graph`, `check_lineage`; see `rules.lineage`), sympy rules
compiled to JAX (`SymbolicExpression`, `SymbolicRule`), fuzzy-logic constraints (`Constraint`,
`AtLeast`, ...) and gene-expression priors (`GeneExpressionPrior`). C. elegans names, founders
and founder rules live in `rules.celegans`. Spatial games live in `rules.games`
(`rules.games.SpatialGame`, payoff matrices, the replicator equation, update rules as objects
such as `rules.games.Fermi(temperature)`, payoffs as division hazards). Cells as regions of a
cell-id lattice (the cellular Potts state) live in `rules.tissue`: division by a plane through a
cell's centre, division axes (`DivisionAxes`), Sulston names from the axis, contact-dependent
fates (`EMS_INDUCTION`) and adhesion energies from a game's payoffs.

`rules` builds on `automata` only; it never imports `neurosym`.

Example:
  >>> import jax, automata, rules
  >>> lat = automata.Lattice((16, 16))
  >>> pop = rules.Population.create(lat, [[8, 8]], [0], capacity=64)
  >>> model = rules.DivisionModel(table=rules.DifferentiationTable.symmetric(1),
  ...                             cycle=rules.CellCycle(period=10.0), dt=1.0)
  >>> final, history = rules.simulate(model, lat, pop, key=jax.random.key(0), num_steps=20)
  >>> history.count[-1].tolist()
  [4]
"""

from rules import celegans, games, hazard, lineage, logic, priors, symbolic, tissue
from rules.celegans import BLASTOMERES as C_ELEGANS_FOUNDERS
from rules.celegans import founder_table as c_elegans_founders
from rules.division import (
    CellCycle,
    DifferentiationTable,
    DivisionModel,
    Exclusion,
    History,
    PayoffHazard,
    Shove,
    divisions_by_birth,
    expected_counts,
    expected_divisions,
    simulate,
)
from rules.hazard import event_probability, payoff_hazard
from rules.lineage import check_lineage, lineage_graph
from rules.logic import (
    IMPLICATIONS,
    SEMANTICS,
    AtLeast,
    AtMost,
    Constraint,
    Exactly,
    conjunction,
    count_law,
    count_truth,
    disjunction,
    implication,
    negation,
)
from rules.population import CapacityError, Population, PopulationStatus
from rules.priors import LIKELIHOODS, GeneExpressionPrior
from rules.symbolic import MODES, SymbolicExpression, SymbolicRule, evaluate

__all__ = [
    "C_ELEGANS_FOUNDERS",
    "IMPLICATIONS",
    "LIKELIHOODS",
    "MODES",
    "SEMANTICS",
    "AtLeast",
    "AtMost",
    "CapacityError",
    "CellCycle",
    "Constraint",
    "DifferentiationTable",
    "DivisionModel",
    "Exactly",
    "Exclusion",
    "GeneExpressionPrior",
    "History",
    "PayoffHazard",
    "Population",
    "PopulationStatus",
    "Shove",
    "SymbolicExpression",
    "SymbolicRule",
    "c_elegans_founders",
    "celegans",
    "check_lineage",
    "conjunction",
    "count_law",
    "count_truth",
    "disjunction",
    "evaluate",
    "event_probability",
    "divisions_by_birth",
    "expected_counts",
    "expected_divisions",
    "games",
    "hazard",
    "implication",
    "lineage",
    "lineage_graph",
    "logic",
    "negation",
    "payoff_hazard",
    "priors",
    "simulate",
    "symbolic",
    "tissue",
]
