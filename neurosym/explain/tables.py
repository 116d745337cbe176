"""Rule tables: a local rule written out as the next state of every neighbourhood configuration.

A `RuleTable` says whether the rule is outer-totalistic, writes it as a B/S string or a sympy
formula, and runs as an `automata` rule (`RuleTable.to_rule`, a `TableRule`), so a table is
stepped by the same engine as every other rule. Tables are made by
`neurosym.explain.tabulate_rule` and `neurosym.explain.extract_rule`.

Example:
  >>> import numpy as np
  >>> configs = np.indices((2,) * 9).reshape(9, -1).T            # every Moore configuration
  >>> n = configs[:, 1:].sum(1)
  >>> life = np.where(configs[:, 0] == 1, (n == 2) | (n == 3), n == 3).astype(int)
  >>> RuleTable.from_outputs(configs, life, 2, "moore", exhaustive=True).to_bs()
  'B3/S23'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import struct

from automata._checks import concrete, fail
from automata.engine import step
from automata.lattice import Lattice
from automata.lifelike import format_rule
from automata.rule import Rule
from automata.state import LatticeState
from neurosym.explain.boards import as_board, check_boundary

__all__ = ["RuleTable", "TableRule"]

# Readable names of the radius-1 neighbours (row offset, column offset); row -1 is north.
_DIRECTIONS = {
    (-1, -1): "north_west", (-1, 0): "north", (-1, 1): "north_east",
    (0, -1): "west", (0, 1): "east",
    (1, -1): "south_west", (1, 0): "south", (1, 1): "south_east",
}

_IMPOSSIBLE = -1  # a RuleTable cell whose counts cannot occur (they sum past the neighbourhood)
_CONFLICT = -2    # a RuleTable cell whose configurations disagree (not outer-totalistic there)


def _count_symbols(num_states: int) -> tuple[sympy.Symbol, ...]:
    if num_states == 2:
        return (sympy.Symbol("n"),)
    return tuple(sympy.Symbol(f"n{s}") for s in range(1, num_states))


def _runs(counts: Sequence[int]) -> list[list[int]]:
    """Consecutive counts grouped: `[1, 2, 3, 6]` -> `[[1, 2, 3], [6]]`."""
    runs: list[list[int]] = []
    for c in counts:
        if runs and c == runs[-1][-1] + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    return runs


def _counts_condition(n: sympy.Symbol, counts: Sequence[int], k: int):
    """`n` in `counts` as Eq / inequalities over runs of consecutive counts."""
    parts = []
    for run in _runs(counts):
        a, b = run[0], run[-1]
        if a == 0 and b == k:
            parts.append(sympy.true)
        elif len(run) <= 2:
            parts.extend(sympy.Eq(n, c) for c in run)
        elif a == 0:
            parts.append(n <= b)
        elif b == k:
            parts.append(n >= a)
        else:
            parts.append(sympy.And(n >= a, n <= b))
    return sympy.Or(*parts)


def _piecewise(syms, cells, values) -> sympy.Piecewise:
    default = max(set(values), key=values.count)
    branches = []
    for s in sorted(set(values) - {default}):
        cond = sympy.Or(*[
            sympy.And(*[sympy.Eq(sym, v) for sym, v in zip(syms, cell)])
            for cell, out in zip(cells, values) if out == s
        ])
        branches.append((sympy.Integer(s), cond))
    return sympy.Piecewise(*branches, (sympy.Integer(default), True))


@dataclasses.dataclass(frozen=True, eq=False)
class RuleTable:
    """A local rule written out as a table: the next state of every neighbourhood configuration.

    Made by `tabulate_rule` (from a function of neighbourhoods) or `extract_rule` (by probing a
    board -> board step). Two forms:

    - `full`: `(S,) * (1 + k)` int8, `full[c, x_1, ..., x_k]` is the next state of a site in
      state `c` whose neighbours (in `offsets` order) are in states `x_1..x_k`; None when the
      configurations were too many to enumerate (only one per class was evaluated).
    - `table`, the outer-totalistic form: for binary rules `(2, k + 1)`, `table[c, n]` the next
      state of centre `c` with `n` live neighbours; for `S` states `(S,) + (k + 1,) * (S - 1)`,
      `table[c, n_1, ..., n_{S-1}]` with `n_s` the number of neighbours in state `s`. A cell
      holds -1 where its counts cannot occur (they sum past `k`) and -2 where configurations of
      that class disagree (the rule is not outer-totalistic there; see `conflicts`).

    Attributes:
      table, full: as above.
      is_totalistic: True when every configuration with the same centre and neighbour counts
        gives the same next state, False when some do not, None when only one configuration per
        class was evaluated (totalism assumed, not checked).
      num_states: `S`.
      neighbourhood: `"moore"` (k = 8) or `"von_neumann"` (k = 4).

    A table is itself a rule: `table(centre, neighbours)` follows the calling convention of
    `tabulate_rule`, `table.apply(board)` advances a board by one step and `table.to_rule()`
    is the `automata.Rule` that does so.

    Example:
      >>> import automata
      >>> from neurosym.explain import extract_rule
      >>> t = extract_rule(automata.LIFE)
      >>> t.is_totalistic, t.to_bs(), t.table[0].tolist()
      (True, 'B3/S23', [0, 0, 0, 1, 0, 0, 0, 0, 0])
    """

    table: np.ndarray
    full: np.ndarray | None
    is_totalistic: bool | None
    num_states: int
    neighbourhood: str

    @classmethod
    def from_outputs(
        cls, configs, outputs, num_states: int, neighbourhood: str, *, exhaustive: bool
    ) -> RuleTable:
        """The table of `outputs[i]`, the next state of configuration `configs[i]`.

        Args:
          configs: `(M, 1 + k)` int configurations (centre, then neighbours in offsets order):
            all `S ** (1 + k)` of them in row-major order when `exhaustive`, else at least one
            per (centre, neighbour counts) class.
          outputs: `(M,)` int next states.
          num_states: `S`.
          neighbourhood: `"moore"` or `"von_neumann"`.
          exhaustive: whether `configs` holds every configuration (then `full` is kept and
            outer totalism is checked).
        """
        configs, outputs = np.asarray(configs, np.int64), np.asarray(outputs, np.int64)
        k = configs.shape[1] - 1
        dims = (num_states,) + (k + 1,) * (num_states - 1)
        cls_index = np.ravel_multi_index(
            (configs[:, 0], *[(configs[:, 1:] == s).sum(1) for s in range(1, num_states)]), dims
        )
        size = int(np.prod(dims))
        lo = np.full(size, num_states, np.int64)
        hi = np.full(size, -1, np.int64)
        np.minimum.at(lo, cls_index, outputs)
        np.maximum.at(hi, cls_index, outputs)
        table = np.where(hi < 0, _IMPOSSIBLE, np.where(lo == hi, lo, _CONFLICT)).reshape(dims)
        full = outputs.reshape((num_states,) * (1 + k)).astype(np.int8) if exhaustive else None
        is_totalistic = bool((table != _CONFLICT).all()) if exhaustive else None
        return cls(
            table=table.astype(np.int8), full=full, is_totalistic=is_totalistic,
            num_states=num_states, neighbourhood=neighbourhood,
        )

    @property
    def offsets(self) -> tuple[tuple[int, int], ...]:
        """Neighbour offsets (row, column) in the order of the neighbour axes."""
        return Lattice((3, 3), self.neighbourhood).offsets

    @property
    def num_neighbours(self) -> int:
        """k: 8 for Moore, 4 for von Neumann."""
        return len(self.offsets)

    @property
    def conflicts(self) -> tuple[tuple[int, ...], ...]:
        """Table cells `(centre, n_1, ...)` whose configurations give different next states."""
        return tuple(tuple(int(i) for i in idx) for idx in np.argwhere(self.table == _CONFLICT))

    def __call__(self, centre, neighbours) -> np.ndarray:
        """Next states `(N,)` from `centre` `(N,)` and `neighbours` `(N, k)` state indices."""
        centre = np.asarray(centre).astype(np.int64)
        neighbours = np.asarray(neighbours).astype(np.int64)
        k = self.num_neighbours
        if neighbours.shape != centre.shape + (k,):
            raise ValueError(
                f"RuleTable: neighbours must have shape {centre.shape + (k,)} (centre's shape plus "
                f"{k} neighbours in the offsets order); got {neighbours.shape}."
            )
        for name, v in (("centre", centre), ("neighbours", neighbours)):
            if v.size and (v.min() < 0 or v.max() >= self.num_states):
                raise ValueError(
                    f"RuleTable: {name} must hold states 0..{self.num_states - 1}; found "
                    f"{np.unique(v[(v < 0) | (v >= self.num_states)])[:5].tolist()}."
                )
        return np.asarray(_look_up(self.full, self.table, self.num_states, centre, neighbours), np.int64)

    def to_rule(self) -> TableRule:
        """This table as an `automata.Rule` (a `TableRule`) for `automata.step` and `rollout`."""
        return TableRule(
            table=jnp.asarray(self.table),
            full=None if self.full is None else jnp.asarray(self.full),
            num_states=self.num_states,
            neighbourhood=self.neighbourhood,
        )

    def apply(self, board, *, boundary: str = "wrap", fill: int = 0) -> np.ndarray:
        """One synchronous step of the table on a 2D board of states (by `automata.step`).

        Args:
          board: `(H, W)` state indices (numpy or JAX).
          boundary: `"wrap"`, `"fixed"` (sites beyond the edge hold `fill`) or `"reflect"`.
          fill: the state beyond a fixed edge.

        Returns:
          `(H, W)` int64 next states.
        """
        owner = "RuleTable.apply"
        check_boundary(boundary, owner)
        board = as_board(board, owner, "the board", "board", self.num_states)
        lattice = Lattice(board.shape, self.neighbourhood, boundary=boundary, fill=fill)
        state = LatticeState(x=jnp.asarray(board, jnp.int32)[..., None])
        return np.asarray(step(self.to_rule(), lattice, state).x[..., 0], np.int64)

    def to_bs(self) -> str:
        """The B/S string of a binary outer-totalistic table (`"B3/S23"`)."""
        if self.num_states != 2:
            raise ValueError(
                f"to_bs: a B/S string describes two-state rules; this table has "
                f"{self.num_states} states. Use to_sympy() instead."
            )
        if self.is_totalistic is False:
            shown = ", ".join(f"(centre {c}, {n} live neighbours)" for c, n in self.conflicts[:4])
            raise ValueError(
                f"to_bs: the rule is not outer-totalistic: configurations with the same centre "
                f"and live-neighbour count give different next states at {shown}"
                f"{' and more' if len(self.conflicts) > 4 else ''}, so no B/S string describes "
                "it. Use .full or .to_sympy() (which falls back to the full table)."
            )
        birth = tuple(int(n) for n in np.nonzero(self.table[0] == 1)[0])
        survive = tuple(int(n) for n in np.nonzero(self.table[1] == 1)[0])
        return format_rule(birth, survive)

    def symbols(self, form: str = "totalistic") -> tuple[sympy.Symbol, ...]:
        """The sympy symbols of `to_sympy(form)`, in the order of the table's axes."""
        if form == "totalistic":
            return (sympy.Symbol("c"),) + _count_symbols(self.num_states)
        if form == "full":
            return (sympy.Symbol("c"),) + tuple(sympy.Symbol(_DIRECTIONS[o]) for o in self.offsets)
        raise ValueError(f"symbols: form must be 'totalistic' or 'full'; got {form!r}.")

    def to_sympy(self, form: str = "auto") -> sympy.Basic:
        """The rule as a sympy formula.

        Forms:
          - `"totalistic"` (needs an outer-totalistic table). Binary rules: a Boolean formula in
            `c` (the centre is alive) and `n` (live neighbours), `(~c & B(n)) | (c & S(n))` with
            `B` and `S` written as `Eq(n, 3)`, `n >= 6` or `(n >= 2) & (n <= 5)` over runs of
            counts; Life is `(~c & Eq(n, 3)) | (c & (Eq(n, 2) | Eq(n, 3)))`. `S` states: a
            `Piecewise` giving each next state where `And(Eq(c, .), Eq(n1, .), ...)` holds, `n_s`
            the number of neighbours in state `s`, the most common next state as the default.
          - `"full"` (needs `full`). Binary rules: a minimal sum of products
            (`sympy.SOPform`, Quine-McCluskey) over Boolean symbols `c` and the neighbours
            named by direction (`north_west, north, north_east, west, east, south_west, south,
            south_east`; von Neumann: `north, west, east, south`); rules far from simple take
            long to minimise. `S` states: a `Piecewise` over `Eq(north, .)`, ... conditions,
            one conjunction per configuration (large).
          - `"auto"`: `"totalistic"` unless `is_totalistic` is False.

        `sympy.lambdify(table.symbols(form), expr)` evaluated on 0/1 (or state) arrays gives back
        the table; `rules.symbolic.SymbolicExpression(expr, inputs=...)` compiles it to JAX.
        """
        if form not in ("auto", "totalistic", "full"):
            raise ValueError(f"to_sympy: form must be 'auto', 'totalistic' or 'full'; got {form!r}.")
        if form == "auto":
            form = "full" if self.is_totalistic is False else "totalistic"
        if form == "totalistic":
            return self._totalistic_sympy()
        return self._full_sympy()

    def _totalistic_sympy(self) -> sympy.Basic:
        if self.is_totalistic is False:
            raise ValueError(
                f"to_sympy: the rule is not outer-totalistic (conflicting cells "
                f"{list(self.conflicts[:4])}); use form='full'."
            )
        syms, k = self.symbols("totalistic"), self.num_neighbours
        if self.num_states == 2:
            c, n = syms
            birth = [i for i in range(k + 1) if self.table[0, i] == 1]
            survive = [i for i in range(k + 1) if self.table[1, i] == 1]
            return sympy.Or(
                sympy.And(sympy.Not(c), _counts_condition(n, birth, k)),
                sympy.And(c, _counts_condition(n, survive, k)),
            )
        cells = [tuple(int(i) for i in idx) for idx in np.argwhere(self.table >= 0)]
        values = [int(self.table[cell]) for cell in cells]
        return _piecewise(syms, cells, values)

    def _full_sympy(self) -> sympy.Basic:
        if self.full is None:
            raise ValueError(
                "to_sympy: the full table was not enumerated (too many configurations); use "
                "form='totalistic', or rebuild with totalistic=False and a larger max_configurations."
            )
        syms = self.symbols("full")
        configs = np.argwhere(np.ones_like(self.full, bool))
        values = self.full.reshape(-1).astype(int).tolist()
        if self.num_states == 2:
            minterms = [cfg.tolist() for cfg, v in zip(configs, values) if v == 1]
            return sympy.SOPform(list(syms), minterms)
        return _piecewise(syms, [tuple(cfg.tolist()) for cfg in configs], values)


def _look_up(full, table, num_states: int, centre, neighbours):
    """Next states from the full table when there is one, else from the outer-totalistic one.

    Works on numpy and JAX arrays alike: `centre` `(...)`, `neighbours` `(..., k)`.
    """
    if full is not None:
        return full[(centre, *[neighbours[..., i] for i in range(neighbours.shape[-1])])]
    counts = [(neighbours == s).sum(-1) for s in range(1, num_states)]
    return table[(centre, *counts)]


class TableRule(Rule):
    """An `automata.Rule` whose next state is looked up in a `RuleTable` (`RuleTable.to_rule`).

    Runs on 2D lattices with the table's radius-1 neighbourhood (any boundary); the state has
    one channel of integer states `0..num_states - 1`.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> from neurosym.explain import extract_rule
      >>> rule = extract_rule(automata.LIFE).to_rule()
      >>> x = jnp.zeros((6, 6, 1), jnp.int32).at[2, 1:4, 0].set(1)    # a blinker
      >>> y = automata.step(rule, automata.Lattice((6, 6)), automata.LatticeState(x=x)).x
      >>> y[1:4, 2, 0].tolist()
      [1, 1, 1]
    """

    table: jax.Array
    full: jax.Array | None
    num_states: int = struct.field(pytree_node=False)
    neighbourhood: str = struct.field(pytree_node=False)

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        super().check(lattice, state)
        owner = "TableRule"
        if lattice.ndim != 2 or lattice.radius != 1 or lattice.neighbourhood != self.neighbourhood:
            raise fail(
                owner,
                f"lattice must be 2D with the table's radius-1 {self.neighbourhood!r} "
                f"neighbourhood; got {lattice.ndim}D, {lattice.neighbourhood!r}, radius "
                f"{lattice.radius}.",
            )
        if lattice.boundary == "fixed" and not (
            lattice.fill == int(lattice.fill) and 0 <= lattice.fill < self.num_states
        ):
            raise fail(
                owner,
                f"the lattice's fill (the state beyond a fixed edge) must be one of the states "
                f"0..{self.num_states - 1}; got {lattice.fill}.",
            )
        x = state.x
        if x.ndim != 3 or x.shape[-1] != 1:
            raise fail(
                owner, f"state.x must have one channel, shape {lattice.shape + (1,)}; got {tuple(x.shape)}."
            )
        values = concrete(x)
        if values is not None and values.size:
            bad = values[(values < 0) | (values >= self.num_states) | (values != np.round(values))]
            if bad.size:
                raise fail(
                    owner,
                    f"state.x must hold states 0..{self.num_states - 1}; found "
                    f"{np.unique(bad)[:5].tolist()}.",
                )

    def __call__(self, lattice: Lattice, state: LatticeState, *, key=None) -> jax.Array:
        centre = state.x[..., 0].astype(jnp.int32)
        neighbours = jnp.moveaxis(lattice.neighbours(centre), lattice.ndim, -1)
        out = _look_up(self.full, self.table, self.num_states, centre, neighbours)
        return out[..., None].astype(state.x.dtype)
