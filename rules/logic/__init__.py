"""Fuzzy-logic constraints: sympy Boolean formulas over soft predicates, scored in [0, 1].

A constraint such as `Implies(neuron, Not(muscle))` or `Implies(gut, AtLeast(2, gut))` is a
sympy Boolean expression whose symbols are named predicates. Each predicate has a truth value
in [0, 1] per site or per cell (e.g. the probability a cell is of a kind, from an encoder head).
The formula's degree of satisfaction is computed with a t-norm (And), its t-conorm (Or), the
standard negation `1 - a` (Not) and a chosen implication, under one of three semantics
(`"product"`, `"goedel"`, `"lukasiewicz"`; see `rules.logic.semantics` for the table). On crisp
0/1 inputs every semantics gives the classical truth table.

Modules: `semantics` (the connectives, `SEMANTICS`, `IMPLICATIONS`), `counting` (`AtLeast`,
`AtMost`, `Exactly` over lattice or contact-graph neighbours, `count_law`, `count_truth`),
`formula` (`parse_formula`), `constraint` (`Constraint`).

Example:
  >>> import jax.numpy as jnp, sympy
  >>> from rules.logic import Constraint
  >>> c = Constraint("Implies(neuron, Not(muscle))", semantics="lukasiewicz")
  >>> truth = {"neuron": jnp.array([1.0, 0.9]), "muscle": jnp.array([0.0, 0.4])}
  >>> [round(float(v), 4) for v in c(truth)]  # 1 - a + (1 - b), capped at 1
  [1.0, 0.7]
"""

from rules.logic.constraint import Constraint
from rules.logic.counting import (
    COUNTS,
    AtLeast,
    AtMost,
    Count,
    Exactly,
    count_law,
    count_truth,
    neighbour_values,
)
from rules.logic.formula import CONNECTIVES, check_known_symbols, parse_formula
from rules.logic.semantics import (
    IMPLICATIONS,
    SEMANTICS,
    conjunction,
    disjunction,
    fuzzy_connective,
    implication,
    negation,
    resolve_implication,
)

__all__ = [
    "AtLeast",
    "AtMost",
    "Constraint",
    "Exactly",
    "IMPLICATIONS",
    "SEMANTICS",
    "conjunction",
    "count_law",
    "count_truth",
    "disjunction",
    "implication",
    "negation",
]
