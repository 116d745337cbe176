"""Cell division: when cells divide (clocks, hazards, payoffs), where daughters go, what they become.

A division model is a frozen pytree made of small pieces: a `CellCycle` (clock-driven division),
a per-kind `hazard` (memoryless division), an `external` hazard such as `PayoffHazard` (a game
payoff drives division), a per-kind `death` rate, a placement (`Exclusion` or `Shove`) and a
`DifferentiationTable` (the kinds of the two daughters). Array fields are the fittable
parameters; the table, the time step and the placement axis are configuration.

Two drivers:

- `simulate` draws one stochastic history of the population on the lattice (a `lax.scan`), and
  records the log-probability of every random event that depends on the parameters, so the
  score-function estimator (`automata.relax.score_function_surrogate`) gives unbiased gradients
  of an expected loss.
- `expected_counts` is the relaxed model: it follows the expected number of cells of each kind and
  age (a mean-field, age-structured branching process), so a loss on it is a smooth function of
  the parameters and has exact gradients. `temperature` smooths the cell-cycle clock.

Times are in minutes; one step lasts `dt` minutes.

Example:
  >>> import jax, automata
  >>> from rules.population import Population
  >>> lat = automata.Lattice((16, 16), neighbourhood="von_neumann")
  >>> pop = Population.create(lat, [[8, 8]], [0], capacity=64)
  >>> model = DivisionModel(table=DifferentiationTable.symmetric(1),
  ...                       cycle=CellCycle(period=[10.0], cv=0.0), dt=1.0)
  >>> final, history = simulate(model, lat, pop, key=jax.random.key(0), num_steps=20)
  >>> history.count[-1].tolist()  # divisions at minutes 10 and 20
  [4]
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax.scipy.special import log_ndtr, ndtri

from automata import relax
from automata._checks import check_int
from automata.engine import check_num_steps
from automata.lattice import Lattice
from rules.hazard import event_probability, payoff_hazard
from rules.population import CapacityError, Population, _concrete

__all__ = [
    "CellCycle",
    "DifferentiationTable",
    "DivisionModel",
    "Exclusion",
    "History",
    "PayoffHazard",
    "Shove",
    "divisions_by_birth",
    "expected_counts",
    "expected_divisions",
    "simulate",
]


# ---------------------------------------------------------------------------- helpers
def _float(x) -> jax.Array:
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.inexact) else x.astype(jnp.result_type(float))


def _per_kind(x, num_kinds: int) -> jax.Array:
    """A scalar or `(num_kinds,)` parameter as a `(num_kinds,)` float array."""
    return jnp.broadcast_to(_float(x), (num_kinds,))


def _check_param(x, name: str, num_kinds: int, *, low=0.0, allow_inf=False, strict=False,
                 high=None, shape=None) -> None:
    """Shape always; value range when concrete (tier-2 check at the public entry points)."""
    shp = tuple(np.shape(x))
    expected = shape if shape is not None else ((), (num_kinds,))
    if shape is not None:
        ok = shp == shape
    else:
        ok = shp in expected
    if not ok:
        want = (
            f"{shape}" if shape is not None
            else f"a scalar or shape ({num_kinds},), one value per kind"
        )
        raise ValueError(
            f"{name} has shape {shp}, expected {want}. The differentiation table defines "
            f"{num_kinds} kinds."
        )
    v = _concrete(x)
    if v is None or v.dtype == object:
        return
    v = v.astype(np.float64)
    bad = np.isnan(v) | (~np.isfinite(v) & ~(allow_inf & (v > 0)))
    bad |= (v <= low) if strict else (v < low)
    if high is not None:
        bad |= v > high
    if np.any(bad):
        lo = f"> {low}" if strict else f">= {low}"
        rng = f"in [{low}, {high}]" if high is not None else lo
        inf = " (inf allowed)" if allow_inf else ""
        raise ValueError(f"{name} must be {rng}{inf}, got {v.tolist()}.")


def _in_lattice(lattice: Lattice, sites: jax.Array):
    """Apply the boundary to integer sites `(..., D)`: (valid mask, sites inside the lattice).

    Cells cannot sit beyond an edge, so only `"wrap"` maps such sites back in; `"fixed"` and
    `"reflect"` lattices have hard edges for placement.
    """
    shape = jnp.asarray(lattice.shape, jnp.int32)
    if lattice.boundary == "wrap":
        return jnp.ones(sites.shape[:-1], bool), jnp.mod(sites, shape)
    valid = jnp.all((sites >= 0) & (sites < shape), axis=-1)
    return valid, jnp.clip(sites, 0, shape - 1)


def _flat(lattice: Lattice, sites: jax.Array) -> jax.Array:
    strides = np.cumprod((lattice.shape[1:] + (1,))[::-1])[::-1].astype(np.int32)
    return jnp.sum(sites * jnp.asarray(strides), axis=-1)


# ---------------------------------------------------------------------------- differentiation
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
            raise TypeError(
                "daughters must be a sequence of (kind A, kind B) integer pairs, one per kind, "
                f"got {self.daughters!r}."
            ) from err
        n = len(pairs)
        if n == 0:
            raise ValueError("A differentiation table needs at least one kind.")
        for k, (a, b) in enumerate(pairs):
            if not (0 <= a < n and 0 <= b < n):
                raise ValueError(
                    f"Kind {k} divides into ({a}, {b}), but the table only knows kinds 0 .. "
                    f"{n - 1}. Every daughter kind needs its own row; add rows for new kinds."
                )
        object.__setattr__(self, "daughters", pairs)
        if self.names is not None:
            names = tuple(str(s) for s in self.names)
            if len(names) != n:
                raise ValueError(
                    f"names has {len(names)} entries but the table has {n} kinds; give one name "
                    "per kind."
                )
            if len(set(names)) != n:
                raise ValueError(f"Kind names must be distinct, got {names}.")
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
                raise ValueError(
                    f"The rule for {mother!r} must be a pair of daughter names, got {pair!r}."
                ) from err
            for who in (mother, a, b):
                if who not in index:
                    raise ValueError(
                        f"Unknown kind {who!r} in the rule {mother!r} -> ({a!r}, {b!r}); known "
                        f"kinds are {list(names)}. Add it to names."
                    )
            pairs[index[mother]] = (index[a], index[b])
        return cls(daughters=tuple(pairs), names=names)

    def arrays(self) -> tuple[jax.Array, jax.Array]:
        """Daughter kinds as two `(num_kinds,)` int32 arrays (A, B)."""
        d = np.asarray(self.daughters, np.int32)
        return jnp.asarray(d[:, 0]), jnp.asarray(d[:, 1])


# ---------------------------------------------------------------------------- timing
class CellCycle(struct.PyTreeNode):
    """Clock-driven division: each cell draws a period at its first step and divides when its
    clock (minutes since birth) reaches it.

    Periods are lognormal with median `period` and coefficient of variation `cv`
    (`log period ~ Normal(log median, sigma)`, `sigma**2 = log(1 + cv**2)`), drawn independently
    by every cell, daughters included; with `cv = 0` a cell divides exactly `period` minutes
    after its birth. A period of `inf` switches clock division off for that kind.

    Args:
      period: median period in minutes, scalar or `(num_kinds,)`, positive (inf allowed).
      cv: coefficient of variation, scalar or `(num_kinds,)`, >= 0.

    Example:
      >>> cycle = CellCycle(period=[20.0, float("inf")], cv=0.1)
    """

    period: Any
    cv: Any = 0.0

    def sigma(self, num_kinds: int) -> jax.Array:
        """Standard deviation of the log period, `(num_kinds,)`."""
        return jnp.sqrt(jnp.log1p(_per_kind(self.cv, num_kinds) ** 2))

    def draw(self, uniform: jax.Array, kind: jax.Array, num_kinds: int):
        """Periods for cells of `kind` `(C,)` from uniform numbers in (0, 1) `(C,)`, and their
        log-densities (0 where the period is deterministic)."""
        median = _per_kind(self.period, num_kinds)[kind]
        sigma = self.sigma(num_kinds)[kind]
        z = ndtri(uniform.astype(median.dtype))
        period = median * jnp.exp(sigma * z)
        # The score needs log p(period | params) with the sample held fixed.
        fixed = jax.lax.stop_gradient(period)
        random = (sigma > 0) & jnp.isfinite(median)
        safe_sigma = jnp.where(random, sigma, 1.0)
        safe_median = jnp.where(random, median, 1.0)
        safe_p = jnp.where(random, fixed, 1.0)
        lp = (
            -jnp.log(safe_p) - jnp.log(safe_sigma) - 0.5 * math.log(2 * math.pi)
            - 0.5 * ((jnp.log(safe_p) - jnp.log(safe_median)) / safe_sigma) ** 2
        )
        return period, jnp.where(random, lp, 0.0)

    def log_survival(self, clock, kind, num_kinds: int, temperature) -> jax.Array:
        """`log P(period > clock)` for cells of `kind`, the log spread widened by `temperature`.

        The relaxed survival is lognormal with `sigma_eff**2 = sigma**2 + temperature**2`, smooth
        in `period` even when `cv = 0`. Where `clock <= 0` the result is 0.
        """
        median = _per_kind(self.period, num_kinds)[kind]
        sigma = self.sigma(num_kinds)[kind]
        sigma_eff = jnp.sqrt(sigma ** 2 + jnp.asarray(temperature) ** 2)
        positive = clock > 0
        safe = jnp.where(positive, clock, 1.0)
        z = (jnp.log(safe) - jnp.log(median)) / sigma_eff
        return jnp.where(positive, log_ndtr(-z), 0.0)

    def check(self, num_kinds: int) -> None:
        _check_param(self.period, "CellCycle.period", num_kinds, strict=True, allow_inf=True)
        _check_param(self.cv, "CellCycle.cv", num_kinds)


class PayoffHazard(struct.PyTreeNode):
    """Division hazard from a spatial game: `h = base_rate * (1 - w + w * payoff)`.

    A cell's payoff is the mean of `payoff[own kind, neighbour kind]` over its occupied
    neighbour sites (0 for a cell with no neighbours); the hazard follows
    `rules.hazard.payoff_hazard` (Nowak et al. 2004, doi:10.1038/nature02414). In
    `expected_counts` the population is taken as well mixed: the payoff of kind `k` is
    `sum_j payoff[k, j] * n_j / sum(n)`.

    Args:
      payoff: `(num_kinds, num_kinds)` payoff matrix, row = focal kind, column = partner kind.
      base_rate: division hazard per minute at neutral payoff, scalar or `(num_kinds,)`, >= 0.
      selection: intensity of selection `w` in [0, 1].

    Example:
      >>> import jax.numpy as jnp
      >>> game = PayoffHazard(payoff=jnp.array([[1.0, 0.0], [1.5, 0.2]]), base_rate=0.05,
      ...                     selection=0.5)
    """

    payoff: Any
    base_rate: Any
    selection: Any = 1.0

    def __call__(self, lattice: Lattice, population: Population) -> jax.Array:
        """Hazard per minute for every slot, `(capacity,)` (meaningful for alive cells)."""
        payoff = _float(self.payoff)
        k = payoff.shape[0]
        occ = population.occupancy
        kinds_at = jnp.where((occ >= 0)[..., None],
                             jax.nn.one_hot(population.kind[jnp.maximum(occ, 0)], k, dtype=payoff.dtype), 0.0)
        # Sites beyond a hard edge hold no cells: count with an empty fixed boundary.
        lat = lattice if lattice.boundary == "wrap" else lattice.replace(boundary="fixed", fill=0.0)
        counts = lat.neighbour_sum(kinds_at)
        cell_counts = counts[tuple(population.position.T)]
        total = jnp.sum(cell_counts, axis=-1)
        mean_payoff = jnp.sum(payoff[population.kind] * cell_counts, axis=-1) / jnp.maximum(total, 1.0)
        base = _per_kind(self.base_rate, k)[population.kind]
        return payoff_hazard(mean_payoff, base, self.selection)

    def mean_field(self, counts: jax.Array) -> jax.Array:
        """Hazard per minute of each kind in a well-mixed population with `counts` `(K,)`."""
        payoff = _float(self.payoff)
        k = payoff.shape[0]
        x = counts / jnp.maximum(jnp.sum(counts), 1e-12)
        return payoff_hazard(payoff @ x, _per_kind(self.base_rate, k), self.selection)

    def check(self, num_kinds: int) -> None:
        _check_param(self.payoff, "PayoffHazard.payoff", num_kinds, low=-np.inf,
                     shape=(num_kinds, num_kinds))
        _check_param(self.base_rate, "PayoffHazard.base_rate", num_kinds)
        _check_param(self.selection, "PayoffHazard.selection", num_kinds, high=1.0, shape=())


# ---------------------------------------------------------------------------- placement
class Exclusion(struct.PyTreeNode):
    """Daughter B takes a free neighbour site of the mother; no free site blocks the division.

    Neighbours are the lattice's neighbourhood. Without `direction` the site is drawn uniformly
    among the free ones; with it (oriented division) daughter B takes the free neighbour whose
    offset makes the smallest angle with the kind's vector (ties drawn at random; a zero vector
    means random placement for that kind).

    Args:
      direction: optional `(num_kinds, lattice.ndim)` orientation vector per kind, in sites.

    Example:
      >>> oriented = Exclusion(direction=[[1.0, 0.0]])  # divide along +axis 0
    """

    direction: Any = None

    def place(self, lattice, occ, pos, cell, kind, uniform):
        """(ok, flat site of daughter B, occupancy, positions) for the division of `cell`;
        `uniform` holds at least `lattice.num_neighbours` numbers in [0, 1)."""
        offs = jnp.asarray(lattice.offsets, jnp.int32)
        valid, sites = _in_lattice(lattice, pos[cell] + offs)
        flat = _flat(lattice, sites)
        free = valid & (occ[flat] < 0)
        score = uniform[: free.shape[0]]
        if self.direction is not None:
            v = _float(self.direction)[kind]
            o = offs.astype(v.dtype)
            norm_v = jnp.linalg.norm(v)
            cos = (o @ v) / (jnp.linalg.norm(o, axis=-1) * jnp.maximum(norm_v, 1e-30))
            best = jnp.max(jnp.where(free, cos, -jnp.inf))
            top = free & (cos >= best - 1e-6)
            score = jnp.where(norm_v > 0, score + 2.0 * top, score)
        j = jnp.argmax(jnp.where(free, score, -1.0))
        return jnp.any(free), flat[j], occ, pos

    def check(self, lattice: Lattice, num_kinds: int) -> None:
        if self.direction is not None:
            _check_param(self.direction, "Exclusion.direction", num_kinds, low=-np.inf,
                         shape=(num_kinds, lattice.ndim))


class Shove(struct.PyTreeNode):
    """Daughter B takes the site next to the mother along an axis, pushing the line of cells
    beyond it one site further, up to the first empty site.

    The direction is `+-axis` with a random sign (and a random axis when `axis` is None). If the
    line reaches a hard edge (or, on a wrapped axis, fills the whole ring) without an empty site,
    the division is blocked.

    Args:
      axis: the axis to push along, or None for a random axis at each division.

    Example:
      >>> shove = Shove(axis=0)
    """

    axis: int | None = struct.field(pytree_node=False, default=None)

    def place(self, lattice, occ, pos, cell, kind, uniform):
        """(ok, flat site of daughter B, occupancy, positions) for the division of `cell`;
        `uniform` holds at least two numbers in [0, 1)."""
        ndim = lattice.ndim
        length = max(lattice.shape)
        if self.axis is not None:
            axis = self.axis
        else:
            axis = jnp.minimum((uniform[0] * ndim).astype(jnp.int32), ndim - 1)
        sign = jnp.where(uniform[1] < 0.5, 1, -1)
        step = jax.nn.one_hot(axis, ndim, dtype=jnp.int32) * sign
        k = jnp.arange(1, length + 1, dtype=jnp.int32)
        valid, sites = _in_lattice(lattice, pos[cell] + k[:, None] * step)
        if lattice.boundary == "wrap":
            # k = axis length would come back to the mother's own site.
            valid = k < jnp.asarray(lattice.shape, jnp.int32)[axis]
        flat = _flat(lattice, sites)
        ids = occ[flat]
        empty = valid & (ids < 0)
        first_empty = jnp.argmax(empty)
        moves = jnp.arange(length) < first_empty
        dest_flat = jnp.roll(flat, -1)
        dest = jnp.roll(sites, -1, axis=0)
        num_sites, cap = occ.shape[0], pos.shape[0]
        # Reads above happen before the writes, so each cell moves exactly one site.
        occ = occ.at[jnp.where(moves, dest_flat, num_sites)].set(ids, mode="drop")
        pos = pos.at[jnp.where(moves, ids, cap)].set(dest, mode="drop")
        return jnp.any(empty), flat[0], occ, pos

    def check(self, lattice: Lattice, num_kinds: int) -> None:
        if self.axis is not None and not (
            isinstance(self.axis, (int, np.integer)) and 0 <= self.axis < lattice.ndim
        ):
            raise ValueError(
                f"Shove.axis must be an axis of the lattice, 0 .. {lattice.ndim - 1}, or None "
                f"for a random axis; got {self.axis!r}."
            )


# ---------------------------------------------------------------------------- model
class DivisionModel(struct.PyTreeNode, kw_only=True):
    """What makes cells divide and die, where daughters go, and what they become.

    A cell divides in a step when its cell-cycle clock reaches its period, or when a hazard
    event fires (probability `1 - exp(-h dt)` with `h = hazard[kind] + external hazard`).
    Within a step: clocks advance by `dt`, cells die (probability `1 - exp(-death dt)`), then the
    survivors divide, in a random order, each placing daughter B by `placement`.

    Args:
      table: `DifferentiationTable`; defines `num_kinds`.
      cycle: optional `CellCycle` (clock-driven division).
      hazard: optional division hazard per minute, scalar or `(num_kinds,)`, >= 0.
      external: optional hazard term, a pytree with `__call__(lattice, population) ->
        (capacity,)` hazards per minute (and `mean_field(counts) -> (num_kinds,)` for
        `expected_counts`), e.g. `PayoffHazard`.
      death: optional death (apoptosis) rate per minute, scalar or `(num_kinds,)`, >= 0.
      placement: `Exclusion()` (default) or `Shove()`.
      dt: minutes per step, positive.

    Example:
      >>> from rules.celegans import founder_table
      >>> model = DivisionModel(table=founder_table(), cycle=CellCycle(period=15.0),
      ...                       placement=Shove(), dt=1.0)
      >>> model.num_kinds
      11
    """

    table: DifferentiationTable
    cycle: CellCycle | None = None
    hazard: Any = None
    external: Any = None
    death: Any = None
    placement: Any = struct.field(default_factory=Exclusion)
    dt: float = struct.field(pytree_node=False, default=1.0)

    def __post_init__(self):
        try:
            dt = float(self.dt)
        except (TypeError, ValueError) as err:
            raise TypeError(f"dt is minutes per step, a positive number; got {self.dt!r}.") from err
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt is minutes per step and must be positive and finite, got {dt}.")
        object.__setattr__(self, "dt", dt)

    @property
    def num_kinds(self) -> int:
        """Number of kinds, from the differentiation table."""
        return self.table.num_kinds

    def check(self, lattice: Lattice | None = None) -> None:
        """Raise a clear error for a malformed model (shapes always, values when concrete)."""
        if not isinstance(self.table, DifferentiationTable):
            raise TypeError(
                f"table must be a DifferentiationTable, got {type(self.table).__name__}; e.g. "
                "DifferentiationTable.symmetric(num_kinds)."
            )
        k = self.num_kinds
        if self.cycle is not None:
            if not isinstance(self.cycle, CellCycle):
                raise TypeError(f"cycle must be a CellCycle or None, got {type(self.cycle).__name__}.")
            self.cycle.check(k)
        if self.hazard is not None:
            _check_param(self.hazard, "hazard", k)
        if self.death is not None:
            _check_param(self.death, "death", k)
        if self.external is not None:
            if not callable(self.external):
                raise TypeError(
                    "external must be callable as external(lattice, population) -> (capacity,) "
                    f"hazards per minute, got {type(self.external).__name__}."
                )
            if hasattr(self.external, "check"):
                self.external.check(k)
        if not isinstance(self.placement, (Exclusion, Shove)):
            raise TypeError(
                f"placement must be Exclusion(...) or Shove(...), got {type(self.placement).__name__}."
            )
        if lattice is not None:
            self.placement.check(lattice, k)


class History(struct.PyTreeNode):
    """Per-step records of a run, stacked on a leading axis of length `num_steps`.

    Attributes:
      count: `(num_steps, num_kinds)` cells alive of each kind after each step (int32 from
        `simulate`, expected values from `expected_counts`).
      num_divisions: `(num_steps,)` divisions in each step.
      num_deaths: `(num_steps,)` deaths in each step.
      num_blocked: `(num_steps,)` divisions refused for lack of room in each step.
      log_prob: `(num_steps,)` log-probability of the step's random events that depend on the
        parameters (division and death events, period draws); the input of
        `automata.relax.score_function_surrogate`. Zero in `expected_counts`.
      alive: `(num_steps, capacity)` alive mask after each step, or None (`expected_counts`).
      t: `(num_steps,)` step counter after each step.
    """

    count: jax.Array
    num_divisions: jax.Array
    num_deaths: jax.Array
    num_blocked: jax.Array
    log_prob: jax.Array
    alive: jax.Array | None
    t: jax.Array


# ---------------------------------------------------------------------------- one step
def _step(model: DivisionModel, lattice: Lattice, pop: Population, key: jax.Array):
    num_kinds, cap, dt = model.num_kinds, pop.capacity, model.dt
    num_sites = lattice.num_sites
    t_new = pop.t + 1
    kind, alive = pop.kind, pop.alive
    # One flat draw per step (threefry is costly to compile, more so for 2D shapes); every
    # random choice reads a column of it.
    num_place = max(lattice.num_neighbours, 2)
    tiny = jnp.finfo(pop.clock.dtype).tiny
    u = jax.random.uniform(key, (cap * (4 + num_place),), pop.clock.dtype, minval=tiny)
    u = u.reshape(cap, 4 + num_place)
    u_period, u_death, u_divide, u_order, u_place = u[:, 0], u[:, 1], u[:, 2], u[:, 3], u[:, 4:]
    clock = jnp.where(alive, pop.clock + dt, pop.clock)
    log_prob = jnp.zeros((), clock.dtype)

    # Each cell draws its period at its first step, so daughters get independent periods.
    period = pop.period
    if model.cycle is not None:
        drawn, drawn_lp = model.cycle.draw(u_period, kind, num_kinds)
        need = alive & jnp.isnan(period)
        period = jnp.where(need, drawn.astype(period.dtype), period)
        log_prob = log_prob + jnp.sum(jnp.where(need, drawn_lp, 0.0))

    dies = jnp.zeros(cap, bool)
    if model.death is not None:
        q = event_probability(_per_kind(model.death, num_kinds)[kind], dt)
        dies = alive & (u_death < q)
        log_prob = log_prob + jnp.sum(jnp.where(alive, relax.bernoulli_log_prob(dies, q), 0.0))
    survivors = alive & ~dies
    occ = pop.occupancy.reshape(-1)
    occ = occ.at[jnp.where(dies, _flat(lattice, pop.position), num_sites)].set(-1, mode="drop")

    # NaN periods (no cycle) compare False.
    by_clock = survivors & (clock >= period)
    by_hazard = jnp.zeros(cap, bool)
    if model.hazard is not None or model.external is not None:
        h = jnp.zeros(cap, clock.dtype)
        if model.hazard is not None:
            h = h + _per_kind(model.hazard, num_kinds)[kind]
        if model.external is not None:
            h = h + jnp.broadcast_to(model.external(lattice, pop), (cap,))
        p = event_probability(h, dt)
        by_hazard = survivors & (u_divide < p)
        # A hazard draw matters only for cells the clock does not already divide.
        open_ = survivors & ~by_clock
        log_prob = log_prob + jnp.sum(jnp.where(open_, relax.bernoulli_log_prob(by_hazard, p), 0.0))
    divide = by_clock | by_hazard

    # Dividing cells are placed one at a time in a random order, so that two divisions never
    # claim the same site and shoves see each other's moves.
    order = jnp.argsort(jnp.where(divide, u_order, 2.0))
    num_divide = jnp.sum(divide)
    placement = model.placement
    shape = jnp.asarray(lattice.shape, jnp.int32)

    def body(carry):
        i, occ, pos, nxt, first, dropped, blocked = carry
        cell = order[i]
        room = nxt + 2 <= cap
        ok, target, occ_p, pos_p = placement.place(
            lattice, occ, pos, cell, kind[cell], u_place[cell]
        )
        do = ok & room
        occ = jnp.where(do, occ_p, occ)
        pos = jnp.where(do, pos_p, pos)
        here = pos[cell]
        occ = occ.at[jnp.where(do, _flat(lattice, here), num_sites)].set(nxt, mode="drop")
        occ = occ.at[jnp.where(do, target, num_sites)].set(nxt + 1, mode="drop")
        there = jnp.stack(jnp.unravel_index(target, lattice.shape)).astype(jnp.int32)
        pos = pos.at[jnp.where(do, nxt, cap)].set(here, mode="drop")
        pos = pos.at[jnp.where(do, nxt + 1, cap)].set(jnp.minimum(there, shape - 1), mode="drop")
        first = first.at[cell].set(jnp.where(do, nxt, -1))
        return (i + 1, occ, pos, nxt + 2 * do.astype(nxt.dtype), first,
                dropped + (~room).astype(jnp.int32), blocked + (room & ~ok).astype(jnp.int32))

    zero = jnp.zeros((), jnp.int32)
    _, occ, position, num_cells, first, dropped, blocked = jax.lax.while_loop(
        lambda c: c[0] < num_divide, body,
        (zero, occ, pop.position, pop.num_cells, jnp.full(cap, -1, jnp.int32), zero, zero),
    )

    divided = first >= 0
    # Daughters of mother m take slots first[m] (A) and first[m] + 1 (B); one scatter per field.
    slot_ab = jnp.concatenate([jnp.where(divided, first, cap), jnp.where(divided, first + 1, cap)])
    kind_a, kind_b = model.table.arrays()

    def put(arr, value_a, value_b=None):
        value_b = value_a if value_b is None else value_b
        return arr.at[slot_ab].set(jnp.concatenate([value_a, value_b]), mode="drop")

    slots = jnp.arange(cap, dtype=jnp.int32)
    new_kind = put(kind, kind_a[kind], kind_b[kind])
    births = jnp.broadcast_to(t_new, (cap,))
    new_alive = put(survivors & ~divided, jnp.ones(cap, bool))
    new = Population(
        alive=new_alive,
        kind=new_kind,
        parent=put(pop.parent, slots),
        birth=put(pop.birth, births),
        generation=put(pop.generation, pop.generation + 1),
        clock=put(clock, jnp.zeros_like(clock)),
        period=put(period, jnp.full_like(period, jnp.nan)),
        features=put(pop.features, pop.features),
        position=position,
        occupancy=occ.reshape(lattice.shape),
        division=jnp.where(divided, t_new, pop.division),
        death=put(jnp.where(dies, t_new, pop.death), jnp.full(cap, -1, jnp.int32)),
        num_cells=num_cells,
        t=t_new,
        status=pop.status.replace(
            overflow=pop.status.overflow | (dropped > 0),
            num_dropped=pop.status.num_dropped + dropped,
            num_blocked=pop.status.num_blocked + blocked,
        ),
    )
    record = History(
        count=jnp.zeros(num_kinds, jnp.int32).at[new_kind].add(new_alive.astype(jnp.int32)),
        num_divisions=jnp.sum(divided).astype(jnp.int32),
        num_deaths=jnp.sum(dies).astype(jnp.int32),
        num_blocked=blocked,
        log_prob=log_prob,
        alive=new_alive,
        t=t_new,
    )
    return new, record


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _simulate(model, lattice, population, key, *, num_steps):
    def body(pop, _):
        return _step(model, lattice, pop, jax.random.fold_in(key, pop.t))

    return jax.lax.scan(body, population, None, length=num_steps)


def _check_num_steps(num_steps) -> int:
    return check_num_steps(num_steps)


def _check_inputs(model, lattice, population):
    if not isinstance(model, DivisionModel):
        raise TypeError(
            f"model must be a rules.DivisionModel, got {type(model).__name__}. Build one with "
            "DivisionModel(table=..., cycle=CellCycle(...), hazard=..., placement=...)."
        )
    if not isinstance(population, Population):
        raise TypeError(
            f"population must be a rules.Population, got {type(population).__name__}. Build one "
            "with Population.create(lattice, positions, kinds, capacity)."
        )
    model.check(lattice)
    if lattice is not None:
        population.check(lattice, model.num_kinds)
    else:
        kind = _concrete(population.kind)
        n = _concrete(population.num_cells)
        if kind is not None and n is not None and int(n) and kind[: int(n)].max() >= model.num_kinds:
            raise ValueError(
                f"The population has a cell of kind {int(kind[: int(n)].max())}, but the model "
                f"knows {model.num_kinds} kinds. Add the kind to the differentiation table."
            )


def _raise_overflow(overflow, capacity):
    if np.any(np.asarray(overflow)):
        raise CapacityError(
            f"The population ran out of slots: capacity={capacity} was too small for the cells "
            "born in this run, so some divisions were refused (status.overflow is set). Raise "
            "`capacity` in Population.create (every cell ever born needs a slot: roots plus two "
            "per division)."
        )


def simulate(
    model: DivisionModel,
    lattice: Lattice,
    population: Population,
    *,
    key: jax.Array,
    num_steps: int,
    throw: bool = False,
) -> tuple[Population, History]:
    """Run `num_steps` stochastic steps of division and death as one `lax.scan`.

    Step `t` uses the key `jax.random.fold_in(key, t)` (`t = population.t`), so a run cut into
    chunks reproduces an uncut one. Divisions that find no free slot set
    `population.status.overflow` instead of failing; pass `throw=True` to raise a
    `CapacityError` after the run (under `jit`/`vmap` it is raised by a host callback).

    For gradients of an expected loss use the score-function estimator with `history.log_prob`:
    `automata.relax.score_function_surrogate(history.log_prob.sum(), loss)`; for a smooth
    relaxed loss see `expected_counts`.

    Args:
      model: the `DivisionModel`.
      lattice: the `automata.Lattice` the population lives on.
      population: the starting `Population`.
      key: PRNG key, e.g. `jax.random.key(0)`.
      num_steps: number of steps (static); the run covers `num_steps * model.dt` minutes.
      throw: raise `CapacityError` if the capacity overflowed.

    Returns:
      `(final_population, history)`.

    Example:
      >>> import jax, jax.numpy as jnp, automata
      >>> from automata import relax
      >>> lat = automata.Lattice((8, 8))
      >>> pop = Population.create(lat, [[4, 4]], [0], capacity=32)
      >>> def surrogate(rate, key):
      ...     model = DivisionModel(table=DifferentiationTable.symmetric(1), hazard=rate)
      ...     _, h = simulate(model, lat, pop, key=key, num_steps=3)
      ...     loss = jnp.sum((h.count[:, 0] - 3.0) ** 2)
      ...     return relax.score_function_surrogate(h.log_prob.sum(), loss)
      >>> grads = jax.vmap(jax.grad(surrogate), (None, 0))(0.2, jax.random.split(jax.random.key(0), 8))
    """
    if not isinstance(lattice, Lattice):
        raise TypeError(
            f"lattice must be an automata.Lattice, got {type(lattice).__name__}."
        )
    _check_inputs(model, lattice, population)
    num_steps = _check_num_steps(num_steps)
    if key is None or not (
        hasattr(key, "dtype")
        and (jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or key.shape[-1:] == (2,))
    ):
        raise TypeError(
            f"key must be a JAX PRNG key such as jax.random.key(0), got {type(key).__name__}."
        )
    final, history = _simulate(model, lattice, population, key, num_steps=num_steps)
    if throw:
        overflow = _concrete(final.status.overflow)
        if overflow is not None:
            _raise_overflow(overflow, population.capacity)
        else:
            jax.debug.callback(functools.partial(_raise_overflow, capacity=population.capacity),
                               final.status.overflow)
    return final, history


# ---------------------------------------------------------------------------- relaxed model
@functools.partial(jax.jit, static_argnames=("num_steps",))
def _expected(model, pop, temperature, *, num_steps):
    num_kinds, dt = model.num_kinds, model.dt
    kind_a, kind_b = model.table.arrays()
    # offspring[k, j]: daughters of kind j from one division of kind k.
    offspring = jax.nn.one_hot(kind_a, num_kinds) + jax.nn.one_hot(kind_b, num_kinds)
    dtype = _float(pop.clock).dtype
    kinds = jnp.arange(num_kinds)
    cycle = model.cycle

    def log_surv(clock, kind):
        if cycle is None:
            return jnp.zeros(jnp.broadcast_shapes(jnp.shape(clock), jnp.shape(kind)), dtype)
        return cycle.log_survival(clock, kind, num_kinds, temperature)

    def fates(mass, kind, log_s, log_s_prev, p_h, q):
        # Conditional probability of reaching the period in this step, given not before.
        p_c = -jnp.expm1(jnp.minimum(log_s - log_s_prev, 0.0))
        live = mass * (1.0 - q[kind])
        stay = (1.0 - p_c) * (1.0 - p_h[kind])
        return live * stay, live * (1.0 - stay), mass * q[kind]

    root_kind = pop.kind
    root_mass = pop.alive.astype(dtype)
    drawn = ~jnp.isnan(pop.period)
    # A drawn period is known to exceed the clock; an undrawn one is drawn afresh.
    root_prev = jnp.where(drawn & pop.alive, log_surv(pop.clock, root_kind), 0.0)
    cohort = jnp.zeros((num_steps, num_kinds), dtype)
    born = jnp.arange(num_steps)
    q = (jnp.zeros(num_kinds, dtype) if model.death is None
         else event_probability(_per_kind(model.death, num_kinds), dt))

    def body(carry, s):
        root_mass, root_prev, cohort = carry
        counts = jnp.zeros(num_kinds, dtype).at[root_kind].add(root_mass) + jnp.sum(cohort, 0)
        h = jnp.zeros(num_kinds, dtype)
        if model.hazard is not None:
            h = h + _per_kind(model.hazard, num_kinds)
        if model.external is not None:
            h = h + model.external.mean_field(counts)
        p_h = event_probability(h, dt)
        log_s = log_surv(pop.clock + (s + 1) * dt, root_kind)
        root_mass, root_div, root_die = fates(root_mass, root_kind, log_s, root_prev, p_h, q)
        # Cohort b was born in step b, so in step s its clock reads (s - b) * dt.
        age = (s - born)[:, None].astype(dtype) * dt
        c_s = log_surv(age, kinds[None, :])
        c_prev = log_surv(age - dt, kinds[None, :])
        cohort, coh_div, coh_die = fates(cohort, kinds[None, :], c_s, c_prev, p_h, q)
        divisions = jnp.zeros(num_kinds, dtype).at[root_kind].add(root_div) + jnp.sum(coh_div, 0)
        cohort = cohort.at[s].set(divisions @ offspring)
        after = jnp.zeros(num_kinds, dtype).at[root_kind].add(root_mass) + jnp.sum(cohort, 0)
        rec = (after, jnp.sum(divisions), jnp.sum(root_die) + jnp.sum(coh_die), coh_div)
        return (root_mass, log_s, cohort), rec

    _, (count, num_div, num_death, by_cohort) = jax.lax.scan(
        body, (root_mass, root_prev, cohort), jnp.arange(num_steps)
    )
    zeros = jnp.zeros(num_steps, dtype)
    history = History(
        count=count, num_divisions=num_div, num_deaths=num_death, num_blocked=zeros,
        log_prob=zeros, alive=None, t=pop.t + 1 + jnp.arange(num_steps, dtype=jnp.int32),
    )
    return history, by_cohort


def _check_expected(model, population, num_steps, temperature, caller):
    _check_inputs(model, None, population)
    num_steps = _check_num_steps(num_steps)
    t = _concrete(temperature)
    if t is not None:
        if t.shape != () or not (np.isfinite(t) and t > 0):
            raise ValueError(
                f"temperature must be a positive finite scalar, got {temperature!r}; use a small "
                "value such as 0.05 for a sharp clock."
            )
    if model.external is not None and not hasattr(model.external, "mean_field"):
        raise TypeError(
            f"{caller} needs external.mean_field(counts) -> (num_kinds,) hazards, and "
            f"{type(model.external).__name__} has none. Add a mean_field method (see "
            "PayoffHazard) or use simulate with the score-function estimator."
        )
    return num_steps, jnp.asarray(temperature, _float(population.clock).dtype)


def expected_counts(
    model: DivisionModel,
    population: Population,
    *,
    num_steps: int,
    temperature=0.1,
) -> History:
    """Expected numbers of cells of each kind over `num_steps` steps (the relaxed model).

    A mean-field, age-structured branching process: every alive cell of `population`, and every
    cohort of daughters of one kind born in one step, carries an expected mass that each step
    dies (`1 - exp(-death dt)`), divides (clock or hazard) or stays, and dividing mass feeds the
    daughter kinds of the differentiation table. Divisions are therefore soft quantities (expected
    counts), the history is a smooth function of the parameters, and `jax.grad` of a loss on it
    gives exact gradients. For hazard-driven division without crowding, `history.count` equals
    the expectation of `simulate`'s counts; the clock is exact in expectation as
    `temperature -> 0` when `cv > 0`.

    `temperature` relaxes the clock: the period distribution used here is lognormal with
    `sigma**2 = log(1 + cv**2) + temperature**2` (so with `cv = 0` the division time is smooth
    in `period`, spread by a factor of about `exp(+-temperature)`). Space is ignored: there is no
    blocking for lack of room, and an external hazard is evaluated through its
    `mean_field(counts)` (well mixed).

    Args:
      model: the `DivisionModel`.
      population: the starting `Population` (its alive cells, kinds and clocks are used).
      num_steps: number of steps (static).
      temperature: extra spread of the log period, positive (dimensionless).

    Returns:
      a `History` with float `count`, `num_divisions` and `num_deaths`; `alive` is None.

    Example:
      >>> import jax, automata
      >>> lat = automata.Lattice((8,))
      >>> pop = Population.create(lat, [[4]], [0], capacity=4)
      >>> def loss(period):
      ...     model = DivisionModel(table=DifferentiationTable.symmetric(1),
      ...                           cycle=CellCycle(period=period))
      ...     h = expected_counts(model, pop, num_steps=20, temperature=0.2)
      ...     return (h.count[-1, 0] - 3.0) ** 2
      >>> g = jax.grad(loss)(12.0)
    """
    num_steps, temperature = _check_expected(model, population, num_steps, temperature,
                                             "expected_counts")
    return _expected(model, population, temperature, num_steps=num_steps)[0]


def expected_divisions(
    model: DivisionModel,
    population: Population,
    *,
    num_steps: int,
    temperature=0.1,
) -> jax.Array:
    """Expected divisions by step, birth step and kind in the relaxed model of `expected_counts`.

    The mean-field model follows daughters as cohorts born in one step, so it knows the age at
    which each expected division happens: entry `[s, b, k]` is the expected number of cells of
    kind `k` born in step `b` that divide in step `s` (zero unless `b < s`). Cells alive at the
    start are not included (their birth is before the run). Summed over births and kinds it is
    `expected_counts(...).num_divisions` less the divisions of the starting cells. Compare with
    `divisions_by_birth` of a simulated or observed population: the two use the same step
    indices, so cycle-length distributions (`s - b`) can enter a loss next to the counts.

    Args:
      model: the `DivisionModel`.
      population: the starting `Population`.
      num_steps: number of steps (static).
      temperature: extra spread of the log period, positive (as in `expected_counts`).

    Returns:
      float array `(num_steps, num_steps, num_kinds)`.

    Example:
      >>> import automata
      >>> lat = automata.Lattice((8,))
      >>> pop = Population.create(lat, [[4]], [0], capacity=4)
      >>> model = DivisionModel(table=DifferentiationTable.symmetric(1),
      ...                       cycle=CellCycle(period=5.0, cv=0.1))
      >>> d = expected_divisions(model, pop, num_steps=12, temperature=0.05)
      >>> d.shape
      (12, 12, 1)
    """
    num_steps, temperature = _check_expected(model, population, num_steps, temperature,
                                             "expected_divisions")
    return _expected(model, population, temperature, num_steps=num_steps)[1]


def divisions_by_birth(final: Population, *, start, num_steps: int, num_kinds: int) -> jax.Array:
    """Divisions by step, birth step and kind of a run, on the layout of `expected_divisions`.

    Reads the birth and division times that a `Population` keeps for every cell (one slot per
    cell, as `simulate` leaves it): entry `[s, b, k]` counts cells of kind `k` born in step `b`
    that divided in step `s`, where step `i` ends at time `start + i + 1`. Cells born before the
    run are left out. Jittable.

    Args:
      final: the population after the run (e.g. `simulate(...)[0]`).
      start: the step counter `t` of the population the run started from.
      num_steps: number of steps of the run (static).
      num_kinds: number of kinds (static), e.g. `model.num_kinds`.

    Returns:
      int32 array `(num_steps, num_steps, num_kinds)`.
    """
    num_steps = _check_num_steps(num_steps)
    k = check_int(num_kinds, "num_kinds", 1, hint="Pass model.num_kinds.")
    b = final.birth - start - 1
    s = final.division - start - 1
    used = jnp.arange(final.capacity) < final.num_cells
    ok = used & (b >= 0) & (s > b) & (s < num_steps)
    flat = jnp.where(ok, (s * num_steps + b) * k + final.kind, num_steps * num_steps * k)
    out = jnp.zeros(num_steps * num_steps * k, jnp.int32).at[flat].add(1, mode="drop")
    return out.reshape(num_steps, num_steps, k)


def __getattr__(name):
    # The C. elegans founder table moved to `rules.celegans`; the old names keep working.
    if name in ("C_ELEGANS_FOUNDERS", "c_elegans_founders"):
        from rules import celegans

        return celegans.BLASTOMERES if name == "C_ELEGANS_FOUNDERS" else celegans.founder_table
    raise AttributeError(f"module 'rules.division' has no attribute {name!r}")
