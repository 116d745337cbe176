"""The six founder classes a cell of a C. elegans embryo is named by, and a cell's class from its name.

The classes are the founder lineages AB, MS, E, C and D, and P: the germ line, P0 to P4 and
P4's daughters Z2 and Z3. EMS (the mother of MS and E) belongs to none of them: where a
fraction is needed it counts half to MS and half to E.

Example:
  >>> FOUNDERS.index("P"), founder_of("ABplaa"), founder_of("Z2")
  (5, 'AB', 'P')
"""

from __future__ import annotations

from rules.celegans import founder_of as _lineage_of

__all__ = ["FOUNDERS", "founder_of"]

FOUNDERS: tuple[str, ...] = ("AB", "MS", "E", "C", "D", "P")
"""The founder classes, in this order everywhere (class probabilities, compositions)."""

# A Sulston name's founder lineage (rules.celegans) -> its class.
_CLASS = {"AB": "AB", "MS": "MS", "E": "E", "C": "C", "D": "D",
          "P0": "P", "P1": "P", "P2": "P", "P3": "P", "P4": "P"}


def founder_of(name: str) -> str | None:
    """The founder class (one of `FOUNDERS`) of a cell from its Sulston name, or None.

    AB..., MS..., E..., C..., D... give their founder; P0 to P4, Z2, Z3 and their daughters
    give "P". EMS, which is half MS and half E, gives None, and so does anything that is not a
    Sulston name.

    Example:
      >>> [founder_of(n) for n in ("ABpla", "MSaap", "Ea", "Cpp", "Dap", "P1", "P4", "Z3")]
      ['AB', 'MS', 'E', 'C', 'D', 'P', 'P', 'P']
      >>> founder_of("EMS"), founder_of("Nuc12"), founder_of(7)
      (None, None, None)
    """
    if not isinstance(name, str):
        return None
    return _CLASS.get(_lineage_of(name))
