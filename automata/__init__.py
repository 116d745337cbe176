"""Differentiable cellular-automaton engine: lattices, rules, update schemes and rollouts.

`automata` is biology-free and depends on jax, numpy and flax.struct only.
"""

from automata.engine import rollout, step
from automata.lattice import Lattice
from automata.rule import Rule
from automata.schemes import AliveMasked, Asynchronous, Stochastic, alive_mask
from automata.state import LatticeState

__all__ = [
    "AliveMasked",
    "Asynchronous",
    "Lattice",
    "LatticeState",
    "Rule",
    "Stochastic",
    "alive_mask",
    "rollout",
    "step",
]
