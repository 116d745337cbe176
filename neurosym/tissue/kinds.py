"""Cell kinds of the tissue model from Sulston names: the founder lineage of each cell.

The kinds are the model's symbolic state, read from names, never from label numbers. Kind 0 is
the medium; each other kind is a founder lineage of the C. elegans embryo (`rules.celegans`):

    medium, AB, MS, E, C, D, P, EMS

where `P` holds the germ line (P0, P1, P2, P3, P4 and P4's daughters Z2, Z3) and `EMS` the one
cell that gives MS and E. A name that is not a Sulston name has no kind (a clear error).
"""

from __future__ import annotations

import numpy as np

from automata._checks import fail
from rules.celegans import founder_of

__all__ = ["KIND_NAMES", "founder_kind", "kinds_of"]

KIND_NAMES = ("medium", "AB", "MS", "E", "C", "D", "P", "EMS")
"""The kinds, in index order: kind 0 the medium, then the founder lineages."""

_GERM_LINE = {"P0": "P", "P1": "P", "P2": "P", "P3": "P", "P4": "P"}


def founder_kind(name: str) -> str:
    """The kind of a cell from its Sulston name: its founder lineage, the germ line as "P".

    Example:
      >>> [founder_kind(n) for n in ("ABplp", "MSa", "Ep", "Caa", "D", "P3", "Z2", "EMS")]
      ['AB', 'MS', 'E', 'C', 'D', 'P', 'P', 'EMS']
    """
    founder = founder_of(name)
    if founder is None:
        raise fail("founder_kind", f"name must be a C. elegans Sulston name (e.g. 'ABpl', 'MSa', 'P2'), "
                   f"got {name!r}; a cell without a Sulston name has no founder kind.")
    return _GERM_LINE.get(founder, founder)


def kinds_of(names) -> np.ndarray:
    """The kind index (into `KIND_NAMES`) of each cell id of a lattice, from the cells' names.

    Args:
      names: the names of cell ids 1..N in order (a sequence of N Sulston names; id 0 is the
        medium and is not named).

    Returns:
      `(N + 1,)` int32 kinds with `kinds[0] = 0`, as `automata.potts.Potts` takes them.

    Example:
      >>> kinds_of(["ABa", "ABp", "EMS", "P2"]).tolist()
      [0, 1, 1, 7, 6]
    """
    if isinstance(names, str):
        raise fail("kinds_of", f"names must be a sequence of cell names (one per cell id 1..N), got the "
                   f"single string {names!r}; write [{names!r}] for one cell.", TypeError)
    index = {k: i for i, k in enumerate(KIND_NAMES)}
    out = [0]
    for name in names:
        founder = founder_of(name) if isinstance(name, str) else None
        if founder is None:
            raise fail("kinds_of", f"every name must be a C. elegans Sulston name (e.g. 'ABpl', 'MSa', "
                       f"'P2'), got {name!r}.")
        out.append(index[_GERM_LINE.get(founder, founder)])
    return np.asarray(out, np.int32)
