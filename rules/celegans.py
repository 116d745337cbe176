"""C. elegans embryo biology in one place: Sulston names, founders, founder rules, default periods.

The early embryo divides by a fixed pattern (Sulston, Schierenberg, White & Thomson 1983,
doi:10.1016/0012-1606(83)90201-4): the zygote P0 and the germline blastomeres P1-P3 divide
asymmetrically into the founder cells AB, MS, E, C, D and the germline precursor P4. Later cells
are named by their mother's name plus one letter for the daughter's side along the division axis
(a/p anterior/posterior, l/r left/right, d/v dorsal/ventral), e.g. ABpla is the anterior daughter
of ABpl.

Everything else in the toolkit (readers, simulators, synthetic embryos, the command line,
benchmarks) takes these facts from here.

Example:
  >>> sulston_parent("ABpla"), founder_of("MSaap"), sulston_generation("Ea")
  ('ABpl', 'MS', 4)
  >>> founder_table().names[:4]
  ('P0', 'AB', 'P1', 'EMS')
"""

from __future__ import annotations

import re
import types
from typing import Mapping

from rules.division.table import DifferentiationTable

__all__ = [
    "BLASTOMERES",
    "FOUNDERS",
    "FOUNDER_RULES",
    "SIMULATION_PERIODS",
    "founder_of",
    "founder_table",
    "is_named_blastomere",
    "is_sulston_name",
    "sulston_generation",
    "sulston_parent",
]

FOUNDER_RULES: Mapping[str, tuple[str, str]] = types.MappingProxyType({
    "P0": ("AB", "P1"),
    "P1": ("EMS", "P2"),
    "EMS": ("MS", "E"),
    "P2": ("C", "P3"),
    "P3": ("D", "P4"),
})
"""The founder divisions: mother -> (daughter, daughter)."""

FOUNDERS: tuple[str, ...] = ("AB", "MS", "E", "C", "D", "P4")
"""The six founder lineages; every later cell belongs to one of them."""

BLASTOMERES: tuple[str, ...] = ("P0", "AB", "P1", "EMS", "P2", "MS", "E", "C", "P3", "D", "P4")
"""The blastomeres of the founder rules in birth order: the kinds of `founder_table()`."""

SIMULATION_PERIODS: Mapping[str, float] = types.MappingProxyType({
    "P0": 15.0, "AB": 17.0, "P1": 18.0, "EMS": 20.0, "P2": 22.0, "MS": 24.0, "E": 35.0,
    "C": 25.0, "P3": 30.0, "D": 40.0, "P4": 60.0,
})
"""Default cell-cycle periods (minutes) per blastomere kind for simulations.

Round numbers in the order the lineages keep in real embryos (AB fastest; E, D and the germ line
P4 slowest; Bao et al. 2008, doi:10.1242/dev.024000). They are defaults for simulating, not
measurements: `neurosym fit` measures an embryo's own periods, and `neurosym simulate --from-fit`
uses those instead.
"""

# Named blastomeres that do not follow the "mother + one letter" rule.
_FIXED_PARENT = {
    "AB": "P0", "P1": "P0", "EMS": "P1", "P2": "P1", "MS": "EMS", "E": "EMS",
    "C": "P2", "P3": "P2", "D": "P3", "P4": "P3", "Z2": "P4", "Z3": "P4",
}
_FIXED_GENERATION = {
    "P0": 0, "AB": 1, "P1": 1, "EMS": 2, "P2": 2, "MS": 3, "E": 3, "C": 3, "P3": 3,
    "D": 4, "P4": 4, "Z2": 5, "Z3": 5,
}
_ROOT_FOUNDER = {
    "AB": "AB", "MS": "MS", "E": "E", "C": "C", "D": "D", "Z2": "P4", "Z3": "P4", "P4": "P4",
    "P0": "P0", "P1": "P1", "P2": "P2", "P3": "P3", "EMS": "EMS",
}
_SULSTON = re.compile(r"^(?:(AB|MS|E|C|D|Z2|Z3)([aplrdv]*)|(P0|P1|P2|P3|P4|EMS))$")


def _split(name: str) -> tuple[str, str] | None:
    """`(root, side letters)` of a Sulston name, or None."""
    m = _SULSTON.fullmatch(name) if isinstance(name, str) else None
    if m is None:
        return None
    if m.group(3):
        return m.group(3), ""
    return m.group(1), m.group(2)


def is_sulston_name(name) -> bool:
    """Whether `name` is a C. elegans Sulston name (P0..P4, EMS, or a founder plus side letters).

    Example:
      >>> is_sulston_name("ABplaa"), is_sulston_name("Nuc12")
      (True, False)
    """
    return _split(name) is not None


def is_named_blastomere(name) -> bool:
    """Whether `name` is a blastomere named outright (AB, P1, EMS, ..., P4, Z2, Z3), not by its
    mother's name plus a side letter.

    Example:
      >>> is_named_blastomere("EMS"), is_named_blastomere("Z2"), is_named_blastomere("ABa")
      (True, True, False)
    """
    return isinstance(name, str) and name in _FIXED_PARENT


def sulston_parent(name: str) -> str | None:
    """The mother of a cell from its Sulston name, or None (P0, or not a Sulston name).

    Args:
      name: a Sulston name such as "ABpla", "MSaap", "Ea", "P3", "Z2".

    Example:
      >>> sulston_parent("ABpla"), sulston_parent("E"), sulston_parent("Z2"), sulston_parent("P0")
      ('ABpl', 'EMS', 'P4', None)
    """
    parts = _split(name)
    if parts is None:
        return None
    root, letters = parts
    if letters:
        return root + letters[:-1]
    return _FIXED_PARENT.get(root)


def founder_of(name: str) -> str | None:
    """The founder lineage of a cell from its Sulston name, or None if it is not one.

    AB..., MS..., E..., C..., D... belong to AB, MS, E, C, D; P4, Z2, Z3 and their daughters to
    P4; P0, P1, P2, P3 and EMS are their own.

    Example:
      >>> [founder_of(n) for n in ("ABplaa", "MSp", "Ealp", "Z3", "EMS", "cell7")]
      ['AB', 'MS', 'E', 'P4', 'EMS', None]
    """
    parts = _split(name)
    return None if parts is None else _ROOT_FOUNDER[parts[0]]


def sulston_generation(name: str) -> int | None:
    """Rounds of division from the zygote P0 (generation 0) to the cell, or None if not a name.

    Example:
      >>> sulston_generation("P0"), sulston_generation("AB"), sulston_generation("ABpla")
      (0, 1, 4)
    """
    parts = _split(name)
    return None if parts is None else _FIXED_GENERATION[parts[0]] + len(parts[1])


def founder_table() -> DifferentiationTable:
    """The founder rules as a differentiation table over `BLASTOMERES`.

    P0 -> AB + P1, P1 -> EMS + P2, EMS -> MS + E, P2 -> C + P3, P3 -> D + P4; the founders AB,
    MS, E, C, D and P4 divide into themselves.

    Example:
      >>> t = founder_table()
      >>> [t.names[k] for k in t.daughters[t.names.index("P0")]]
      ['AB', 'P1']
    """
    return DifferentiationTable.from_names(BLASTOMERES, dict(FOUNDER_RULES))
