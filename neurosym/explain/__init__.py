"""Explain observed or learned dynamics with rules people can read.

Four tools, from the most structured rule family to the least, one module each:

- `recover_life_like` (`recovery`): boards before and after one step (binary, 2D) -> the
  Life-like B/S rule that explains them, by a vote of every observed site, robust to bit-flip
  noise (`LifeLikeFit`).
- `tabulate_rule` / `extract_rule` (`extraction`), `RuleTable` (`tables`) and `fidelity`
  (`agreement`): a learned local rule (a function of a neighbourhood, or a board -> board step
  such as a trained neural CA) enumerated on every neighbourhood configuration into a
  `RuleTable`, which says whether the rule is outer-totalistic, writes it as a B/S string or a
  sympy formula and runs on the `automata` engine (`RuleTable.to_rule`); `fidelity` measures how
  often the table reproduces the network on held-out boards.
- `sparse_regression` (`regression`): an equation `target = sum_j xi_j term_j(inputs)` with few
  nonzero coefficients over a library of sympy terms (`polynomial_library`), by sequentially
  thresholded least squares (Brunton, Proctor & Kutz 2016), as an `Equation`.
- `attribute` (`attribution`): which of several expert rules explains each transition of an
  observed sequence of boards, and each site of it (`Attribution`).

Boards are 2D arrays of state indices (0/1 for binary rules), numpy or JAX, without the channel
axis of an `automata.LatticeState` (`state.x[..., 0]`); see `neurosym.explain.boards`.
`rule_table` is the earlier name of `tabulate_rule` and still works.

Example:
  >>> import automata
  >>> from neurosym import explain
  >>> explain.extract_rule(automata.LIFE).to_sympy()
  (~c & Eq(n, 3)) | (c & (Eq(n, 2) | Eq(n, 3)))
"""

from neurosym.explain.attribution import Attribution, attribute
from neurosym.explain.boards import NEIGHBOURHOODS
from neurosym.explain.extraction import extract_rule, rule_table, tabulate_rule
from neurosym.explain.agreement import Fidelity, fidelity
from neurosym.explain.recovery import NOISE_GRID, LifeLikeFit, recover_life_like
from neurosym.explain.regression import Equation, polynomial_library, sparse_regression
from neurosym.explain.tables import RuleTable, TableRule

__all__ = [
    "NEIGHBOURHOODS",
    "NOISE_GRID",
    "Attribution",
    "Equation",
    "Fidelity",
    "LifeLikeFit",
    "RuleTable",
    "TableRule",
    "attribute",
    "extract_rule",
    "fidelity",
    "polynomial_library",
    "recover_life_like",
    "rule_table",
    "sparse_regression",
    "tabulate_rule",
]
