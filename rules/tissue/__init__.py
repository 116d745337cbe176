"""Tissue mechanics on a cell-id lattice (the cellular Potts model of `automata.potts`): cells
divide by a plane through their centre, along axes drawn per lineage, daughters are named by the
Sulston convention from the axis, fates can depend on contacts, and adhesion can come from a game.

Modules: `division` (`divide_cell`, `divide_cells`), `axes` (`DivisionAxes`, von Mises-Fisher
axes per kind), `naming` (`daughter_names`, `division_letters`), `contacts` (`ContactFate`,
`EMS_INDUCTION`), `adhesion` (`payoff_to_contact`).

Example:
  >>> import jax, jax.numpy as jnp
  >>> from rules import tissue
  >>> x = jnp.zeros((8, 8), jnp.int32).at[2:6, 1:7].set(1)
  >>> axes = tissue.DivisionAxes(mean=jnp.array([[0.0, 1.0]]), concentration=jnp.array([100.0]))
  >>> axis = axes.sample(jax.random.key(0), 0)
  >>> y = tissue.divide_cell(x, 1, axis, 2)
  >>> int((y == 1).sum()), int((y == 2).sum())
  (12, 12)
  >>> tissue.daughter_names("ABa", axis, frame={"anterior": [0.0, 1.0], "left": [1.0, 0.0]})
  ('ABaa', 'ABap')
"""

from rules.tissue.adhesion import payoff_to_contact
from rules.tissue.axes import DivisionAxes
from rules.tissue.contacts import EMS_INDUCTION, ContactFate
from rules.tissue.division import divide_cell, divide_cells
from rules.tissue.naming import BODY_AXES, daughter_names, division_letters

__all__ = [
    "BODY_AXES",
    "EMS_INDUCTION",
    "ContactFate",
    "DivisionAxes",
    "daughter_names",
    "divide_cell",
    "divide_cells",
    "division_letters",
    "payoff_to_contact",
]
