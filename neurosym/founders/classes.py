"""The founder lineages of the C. elegans embryo as classes: which founder a named cell belongs to.

`FOUNDERS` is the alphabet a founder classifier predicts: AB, MS, E, C, D and P, where P holds
the germ line P0, P1, P2, P3, P4 and P4's daughters Z2 and Z3. EMS (the mother of MS and E)
belongs to none of them and is left out.

Example:
  >>> FOUNDERS
  ('AB', 'MS', 'E', 'C', 'D', 'P')
  >>> [founder_of(n) for n in ("ABplaa", "MSp", "Ealp", "Caa", "Dp", "P2", "Z3", "EMS", "Nuc7")]
  ['AB', 'MS', 'E', 'C', 'D', 'P', 'P', None, None]
"""

from __future__ import annotations

from rules.celegans import founder_of as _lineage_root

__all__ = ["FOUNDERS", "founder_of"]

FOUNDERS = ("AB", "MS", "E", "C", "D", "P")

_GERM_LINE = {"P0", "P1", "P2", "P3", "P4"}


def founder_of(name) -> str | None:
    """The founder class of a cell from its Sulston name: one of `FOUNDERS`, or None.

    None for EMS (mother of MS and E, in no founder lineage) and for names that are not Sulston
    names.

    Example:
      >>> founder_of("ABpra"), founder_of("Z2"), founder_of("EMS")
      ('AB', 'P', None)
    """
    root = _lineage_root(name) if isinstance(name, str) else None
    if root in _GERM_LINE:
        return "P"
    return root if root in FOUNDERS else None
