"""The differentiation table: the kinds of the two daughters of a cell of each kind."""

from __future__ import annotations

import operator
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import fail

__all__ = ["DifferentiationTable"]

_OWNER = "DifferentiationTable"


class DifferentiationTable(struct.PyTreeNode):
    """The kinds of the two daughters of a cell of each kind: `kind -> (daughter A, daughter B)`.

    Daughter A keeps the mother's site; daughter B takes the new site (along the orientation
    vector for oriented division). A kind whose daughters are both itself divides symmetrically.

    Args:
      daughters: one `(A, B)` pair of kind indices per kind, `len(daughters) = num_kinds`.
      names: optional kind names, one per kind (used by `lineage_graph` and messages).

    Example:
      >>> table = DifferentiationTable.from_names(["stem", "diff"], {"stem": ("stem", "diff")})
      >>> table.daughters
      ((0, 1), (1, 1))
    """

    daughters: tuple[tuple[int, int], ...] = struct.field(pytree_node=False)
    names: tuple[str, ...] | None = struct.field(pytree_node=False, default=None)

    def __post_init__(self):
        try:
            pairs = tuple((operator.index(a), operator.index(b)) for a, b in self.daughters)
        except (TypeError, ValueError) as err:
            raise fail(_OWNER, "daughters must be a sequence of (kind A, kind B) integer pairs, one "
                               f"per kind, got {self.daughters!r}.", TypeError) from err
        n = len(pairs)
        if n == 0:
            raise fail(_OWNER, "daughters must hold at least one kind, got none.")
        for k, (a, b) in enumerate(pairs):
            if not (0 <= a < n and 0 <= b < n):
                raise fail(_OWNER, f"daughters must name kinds 0 .. {n - 1}, but kind {k} divides into "
                                   f"({a}, {b}), and the table only knows kinds 0 .. {n - 1}. Every "
                                   "daughter kind needs its own row; add rows for new kinds.")
        object.__setattr__(self, "daughters", pairs)
        if self.names is not None:
            names = tuple(str(s) for s in self.names)
            if len(names) != n:
                raise fail(_OWNER, f"names must give one name per kind, got {len(names)} names for "
                                   f"{n} kinds.")
            if len(set(names)) != n:
                raise fail(_OWNER, f"names must be distinct, got {names}.")
            object.__setattr__(self, "names", names)

    @property
    def num_kinds(self) -> int:
        """Number of kinds (rows of the table)."""
        return len(self.daughters)

    @classmethod
    def symmetric(cls, num_kinds: int, names: Sequence[str] | None = None) -> "DifferentiationTable":
        """Every kind divides into two cells of its own kind.

        Example:
          >>> DifferentiationTable.symmetric(2).daughters
          ((0, 0), (1, 1))
        """
        return cls(daughters=tuple((k, k) for k in range(int(num_kinds))),
                   names=None if names is None else tuple(names))

    @classmethod
    def from_names(cls, names: Sequence[str], rules: Mapping[str, tuple[str, str]]) -> "DifferentiationTable":
        """A table from kind names and `{mother: (daughter A, daughter B)}`; unlisted kinds divide
        into themselves.

        Example:
          >>> t = DifferentiationTable.from_names(["P0", "AB", "P1"], {"P0": ("AB", "P1")})
          >>> t.daughters
          ((1, 2), (1, 1), (2, 2))
        """
        names = tuple(str(s) for s in names)
        index = {s: i for i, s in enumerate(names)}
        pairs = [(i, i) for i in range(len(names))]
        for mother, pair in rules.items():
            try:
                a, b = pair
            except (TypeError, ValueError) as err:
                raise fail(_OWNER, f"rules must map each mother to a pair of daughter names, but "
                                   f"{mother!r} maps to {pair!r}.") from err
            for who in (mother, a, b):
                if who not in index:
                    raise fail(_OWNER, f"rules must use known kinds, got the unknown kind {who!r} in "
                                       f"the rule {mother!r} -> ({a!r}, {b!r}); known kinds are "
                                       f"{list(names)}. Add it to names.")
            pairs[index[mother]] = (index[a], index[b])
        return cls(daughters=tuple(pairs), names=names)

    def arrays(self) -> tuple[jax.Array, jax.Array]:
        """Daughter kinds as two `(num_kinds,)` int32 arrays (A, B)."""
        d = np.asarray(self.daughters, np.int32)
        return jnp.asarray(d[:, 0]), jnp.asarray(d[:, 1])
