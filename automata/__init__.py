"""Differentiable cellular-automaton engine: lattices, rules, update schemes and rollouts.

`automata` is biology-free and depends on jax, numpy and flax.struct only.

Core: `Lattice`, `LatticeState`, `Rule`, `step`, `rollout`. Rules: `Elementary`, `LifeLike`
(and the presets `LIFE`, `HIGHLIFE`, `SEEDS`, `DAY_AND_NIGHT`), `BriansBrain`, `Wireworld`,
`GreenbergHastings`, `Lenia`, the growing neural CA (`automata.nca`), the cellular Potts model
(`Potts`, `PottsParams`; `automata.potts`, sharded in `automata.potts_sharding`). Update schemes:
`Stochastic`, `AliveMasked`, `Asynchronous`. Relaxations for gradients through discrete events
live in `automata.relax`; rollouts over several devices in `automata.sharding`.
"""

from automata import nca, potts, relax
from automata.elementary import Elementary
from automata.engine import rollout, step
from automata.lattice import Lattice
from automata.lenia import Lenia, orbium, orbium_pattern
from automata.lifelike import DAY_AND_NIGHT, HIGHLIFE, LIFE, PRESETS, SEEDS, LifeLike, format_rule, parse_rule
from automata.multistate import BriansBrain, GreenbergHastings, Wireworld
from automata.nca import NCAParams, NCAUpdate, growing_nca, init_nca, seed_state
from automata.potts import Potts, PottsParams
from automata.potts_sharding import sharded_potts_rollout
from automata.rule import Rule
from automata.schemes import AliveMasked, Asynchronous, Stochastic, alive_mask
from automata.sharding import sharded_rollout
from automata.state import LatticeState

__all__ = [
    "DAY_AND_NIGHT",
    "HIGHLIFE",
    "LIFE",
    "PRESETS",
    "SEEDS",
    "AliveMasked",
    "Asynchronous",
    "BriansBrain",
    "Elementary",
    "GreenbergHastings",
    "Lattice",
    "LatticeState",
    "Lenia",
    "LifeLike",
    "NCAParams",
    "NCAUpdate",
    "Potts",
    "PottsParams",
    "Rule",
    "Stochastic",
    "Wireworld",
    "alive_mask",
    "format_rule",
    "growing_nca",
    "init_nca",
    "nca",
    "orbium",
    "orbium_pattern",
    "parse_rule",
    "potts",
    "relax",
    "rollout",
    "seed_state",
    "sharded_potts_rollout",
    "sharded_rollout",
    "step",
]
