"""The `rules` package: its public names, its docstring example, and what it imports."""

import subprocess
import sys

import rules
from rules import division, games, lineage, logic, population, priors, symbolic


def test_every_public_name_is_exported():
    for module in (division, lineage, logic, population, priors, symbolic):
        missing = [name for name in module.__all__ if name not in rules.__all__]
        assert not missing, f"{module.__name__}: {missing}"
    assert all(hasattr(rules, name) for name in rules.__all__)
    assert rules.games is games and rules.games.SpatialGame is games.SpatialGame
    assert rules.Population is population.Population


def test_importing_rules_loads_no_upper_layer():
    code = (
        "import sys, rules; "
        "print(','.join(m for m in ('neurosym', 'optax', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
