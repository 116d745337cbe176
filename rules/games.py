"""Spatial evolutionary games: payoff matrices, strategy update rules, and payoffs as hazards.

A spatial game is an `automata.Rule`. In the discrete updates channel 0 of the state holds each
site's strategy index (`0 .. n - 1`, or `-1` for an empty site that holds no player); the soft
update `"imitate_best_soft"` keeps one probability per strategy in channels `0 .. n - 1` instead.
Each step every site collects a payoff from the games it plays with its neighbours, then takes up
a strategy by one of the update rules (Szabó & Fáth 2007, doi:10.1016/j.physrep.2007.04.004).

Payoff matrices are `(n, n)` arrays, row = the focal player's strategy, column = the opponent's;
for two strategies, strategy 0 cooperates and strategy 1 defects. The matrix is an array leaf of
the rule, so it can be differentiated and fitted.

Example:
  >>> import jax, jax.numpy as jnp, automata
  >>> from rules import games
  >>> lat = automata.Lattice((64, 64), neighbourhood="moore")
  >>> game = games.SpatialGame(games.prisoners_dilemma(1.9))
  >>> x = jax.random.bernoulli(jax.random.key(0), 0.1, (64, 64, 1)).astype(jnp.int32)
  >>> final, traj = automata.rollout(game, lat, automata.LatticeState(x=x), num_steps=50)
  >>> coop = (traj.x[..., 0] == 0).mean(axis=(1, 2))  # cooperator fraction per step
"""

from __future__ import annotations

import functools
import numbers

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState, as_state
from rules.hazard import event_probability, payoff_hazard

__all__ = [
    "SpatialGame",
    "hawk_dove",
    "payoff_to_division",
    "prisoners_dilemma",
    "public_goods",
    "replicator",
    "site_payoffs",
    "snowdrift",
    "stag_hunt",
]

UPDATES = ("imitate_best", "imitate_best_soft", "fermi", "moran_birth_death", "moran_death_birth")
INTERACTIONS = ("pairwise", "group")
_STOCHASTIC_UPDATES = ("fermi", "moran_birth_death", "moran_death_birth")
EMPTY = -1


# ---------------------------------------------------------------------------- payoff matrices
def _entry(value, name: str) -> jax.Array:
    value = jnp.asarray(value)
    if value.ndim != 0:
        raise ValueError(
            f"{name} must be a scalar, got shape {value.shape}. For a batch of games, "
            "jax.vmap over the payoff function."
        )
    return value if jnp.issubdtype(value.dtype, jnp.inexact) else value.astype(jnp.result_type(float))


def _two_by_two(r, s, t, p) -> jax.Array:
    """`[[R, S], [T, P]]` in one floating dtype (R: mutual cooperation, S: sucker, T: temptation,
    P: mutual defection)."""
    entries = [_entry(v, n) for v, n in ((r, "R"), (s, "S"), (t, "T"), (p, "P"))]
    dtype = jnp.result_type(*entries)
    r, s, t, p = (e.astype(dtype) for e in entries)
    return jnp.stack([jnp.stack([r, s]), jnp.stack([t, p])])


def prisoners_dilemma(b) -> jax.Array:
    """The weak prisoner's dilemma of Nowak & May: R = 1, T = b, S = P = 0.

    Strategy 0 cooperates, 1 defects. With `1 < b < 2` defection pays against anyone while mutual
    cooperation beats mutual defection. Nowak & May 1992 (doi:10.1038/359826a0).

    Args:
      b: temptation to defect, a scalar.

    Returns:
      `(2, 2)` payoff matrix, row = focal strategy, column = opponent.

    Example:
      >>> prisoners_dilemma(1.9).tolist()
      [[1.0, 0.0], [1.899999976158142, 0.0]]
    """
    b = _entry(b, "b")
    return _two_by_two(jnp.ones_like(b), jnp.zeros_like(b), b, jnp.zeros_like(b))


def snowdrift(b, c) -> jax.Array:
    """The snowdrift game: a cooperator pays `c` for a benefit `b` that both players receive.

    R = b - c/2, S = b - c, T = b, P = 0 (strategy 0 cooperates, 1 defects). For `b > c > 0`
    the well-mixed population settles at the cooperator fraction `1 - c / (2b - c)`.
    Hauert & Doebeli 2004 (doi:10.1038/nature02360).

    Args:
      b: benefit, a scalar.
      c: cost, a scalar.

    Returns:
      `(2, 2)` payoff matrix, row = focal strategy, column = opponent.

    Example:
      >>> snowdrift(1.0, 0.5).tolist()
      [[0.75, 0.5], [1.0, 0.0]]
    """
    b, c = _entry(b, "b"), _entry(c, "c")
    return _two_by_two(b - c / 2, b - c, b, jnp.zeros_like(b * c))


def hawk_dove(v, c) -> jax.Array:
    """The hawk-dove game over a resource of value `v` with a cost of fighting `c`.

    Strategy 0 is dove (shares), 1 is hawk (fights): dove-dove v/2, dove-hawk 0, hawk-dove v,
    hawk-hawk (v - c)/2. For `c > v` hawks settle at the fraction `v / c` in a well-mixed
    population. Maynard Smith & Price 1973 (doi:10.1038/246015a0).

    Args:
      v: value of the resource, a scalar.
      c: cost of an escalated fight, a scalar.

    Returns:
      `(2, 2)` payoff matrix, row = focal strategy, column = opponent.

    Example:
      >>> hawk_dove(2.0, 3.0).tolist()
      [[1.0, 0.0], [2.0, -0.5]]
    """
    v, c = _entry(v, "v"), _entry(c, "c")
    return _two_by_two(v / 2, jnp.zeros_like(v * c), v, (v - c) / 2)


def stag_hunt(stag=2.0, hare=1.0, alone=0.0) -> jax.Array:
    """The stag hunt: hunting the stag pays only if the partner hunts it too.

    Strategy 0 hunts the stag (cooperates), 1 hunts the hare: stag-stag `stag`, stag-hare
    `alone`, hare-anything `hare`. With `stag > hare > alone` both pure strategies are stable
    (Skyrms 2004, The Stag Hunt and the Evolution of Social Structure, doi:10.1017/CBO9781139165228).

    Args:
      stag: payoff of a successful stag hunt (each), a scalar.
      hare: payoff of hunting the hare, whatever the partner does, a scalar.
      alone: payoff of hunting the stag alone, a scalar.

    Returns:
      `(2, 2)` payoff matrix, row = focal strategy, column = opponent.

    Example:
      >>> stag_hunt(4.0, 3.0, 0.0).tolist()
      [[4.0, 0.0], [3.0, 3.0]]
    """
    hare = _entry(hare, "hare")
    return _two_by_two(stag, alone, hare, hare)


def public_goods(r, cost=1.0) -> jax.Array:
    """The linear public goods game written as a matrix, for `SpatialGame(interaction="group")`.

    In a group of `G` players each cooperator puts `cost` into a pool; the pool is multiplied by
    `r` and shared equally by all `G`. A player's share of the group is then
    `(1/G) * sum_{j in group, j itself included} A[own, s_j]` with
    `A = [[(r - 1) cost, -cost], [r cost, 0]]`, which this function returns: a cooperator gets
    `r cost n_C / G - cost`, a defector `r cost n_C / G`. With `interaction="group"` every site
    plays in the groups centred on itself and on each of its neighbours, as in Szabó & Hauert
    2002 (doi:10.1103/PhysRevLett.89.118101). With `1 < r < G` it is a social dilemma.

    Args:
      r: multiplication factor of the pool, a scalar.
      cost: contribution of a cooperator, a scalar.

    Returns:
      `(2, 2)` matrix, row = focal strategy (0 contributes, 1 free-rides), column = co-player.

    Example:
      >>> public_goods(3.0).tolist()
      [[2.0, -1.0], [3.0, 0.0]]
    """
    r, cost = _entry(r, "r"), _entry(cost, "cost")
    return _two_by_two((r - 1) * cost, -cost * jnp.ones_like(r), r * cost, jnp.zeros_like(r * cost))


def replicator(payoff, x) -> jax.Array:
    """Replicator velocity `dx_i/dt = x_i ((A x)_i - x . A x)` of a well-mixed population.

    Taylor & Jonker 1978 (doi:10.1016/0025-5564(78)90077-9). For two strategies it reduces to
    `dx_0/dt = x_0 x_1 ((A x)_0 - (A x)_1)`.

    Args:
      payoff: `(n, n)` matrix, row = focal strategy.
      x: strategy frequencies, shape `(..., n)`, summing to 1.

    Returns:
      `dx/dt`, shape of `x`.

    Example:
      >>> float(replicator(snowdrift(1.0, 0.6), jnp.array([4 / 7, 3 / 7]))[0])  # equilibrium
      0.0
    """
    a = _check_payoff(payoff, "replicator")
    x = jnp.asarray(x)
    if x.shape[-1:] != a.shape[:1]:
        raise ValueError(
            f"x has {x.shape[-1]} strategies on its last axis but the payoff matrix is "
            f"{a.shape}; give one frequency per strategy, shape (..., {a.shape[0]})."
        )
    fit = x @ a.T
    return x * (fit - jnp.sum(x * fit, axis=-1, keepdims=True))


# ---------------------------------------------------------------------------- validation
def _check_payoff(payoff, where: str) -> jax.Array:
    if isinstance(payoff, (list, tuple, np.ndarray, np.generic, numbers.Number)):
        payoff = np.asarray(payoff)
    if not hasattr(payoff, "shape") or not hasattr(payoff, "dtype"):
        raise TypeError(
            f"{where}: payoff must be an (n, n) array, got {type(payoff).__name__}. Build one with "
            "e.g. rules.games.prisoners_dilemma(1.9)."
        )
    shape = tuple(payoff.shape)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 2:
        raise ValueError(
            f"{where}: payoff must be a square (n, n) matrix with n >= 2 strategies (row = focal "
            f"strategy, column = opponent), got shape {shape}. For two strategies pass a 2x2 "
            "matrix such as prisoners_dilemma(1.9) = [[1, 0], [1.9, 0]]; for a batch of matrices "
            "jax.vmap over the game."
        )
    if not (jnp.issubdtype(payoff.dtype, jnp.number) or jnp.issubdtype(payoff.dtype, jnp.bool_)):
        raise TypeError(f"{where}: payoff must hold numbers, got dtype {payoff.dtype}.")
    if isinstance(payoff, (np.ndarray, np.generic)):
        payoff = jnp.asarray(payoff)
    value = _concrete(payoff)
    if value is not None and value.dtype != object and not np.all(np.isfinite(value)):
        entry = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
        raise ValueError(
            f"{where}: payoff must be finite, but entry {entry} is {value[entry]}. Replace NaN or "
            "infinite payoffs by finite numbers."
        )
    if isinstance(payoff, jax.Array) and not jnp.issubdtype(payoff.dtype, jnp.inexact):
        payoff = payoff.astype(jnp.result_type(float))
    return payoff


def _concrete(value):
    """`value` as a NumPy array, or None when it is traced (unknown at trace time)."""
    try:
        return np.asarray(value)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None
    except (TypeError, ValueError):
        return None


def _check_temperature(temperature) -> None:
    value = _concrete(temperature)
    if value is None or value.dtype == object:
        return
    if not np.all(np.isfinite(value) & (value > 0)):
        raise ValueError(
            f"temperature must be positive and finite, got {temperature!r}. Use a small value "
            "such as 0.01 for nearly deterministic imitation, or update='imitate_best' for the "
            "exact discrete rule."
        )


def _check_selection(selection) -> None:
    value = _concrete(selection)
    if value is None or value.dtype == object:
        return
    if not np.all((value >= 0) & (value <= 1)):
        raise ValueError(
            f"selection (the intensity of selection w in fitness = 1 - w + w * payoff) must lie "
            f"in [0, 1], got {selection!r}."
        )


def _check_non_negative(value, name: str, what: str) -> None:
    concrete = _concrete(value)
    if concrete is None or concrete.dtype == object:
        return
    if not np.all(np.isfinite(concrete) & (concrete >= 0)):
        raise ValueError(f"{name} is {what} and must be finite and >= 0, got {value!r}.")


# ---------------------------------------------------------------------------- the rule
class SpatialGame(Rule):
    """An evolutionary game on a lattice: payoffs from neighbours, then a strategy update.

    Each step, every site's payoff is `sum_j payoff[own, s_j]` over its neighbours `j` (and
    itself when `self_interaction`), all sites at once; then each site updates its strategy:

    - `"imitate_best"`: adopt the strategy of the site with the highest payoff among itself and
      its neighbours (Nowak & May 1992, doi:10.1038/359826a0). Ties: a site whose own payoff
      equals the highest keeps its strategy; among tied neighbours with different strategies the
      lowest strategy index wins (so the rule keeps the lattice's mirror symmetries).
      Deterministic.
    - `"imitate_best_soft"`: its softmax relaxation for gradients. The state holds one
      probability per strategy in channels `0 .. n - 1` (one-hot for pure strategies; build it
      with `jax.nn.one_hot(strategies, n)`, which also maps -1 to an empty site). Payoffs are
      expected payoffs `p_i^T A sum_j p_j`, and the new state is
      `p_i' = sum_j softmax_j(P_j / temperature) p_j` over `j` in the site and its neighbours.
      As `temperature -> 0` it tends to `"imitate_best"` wherever the best payoff is unique
      (ties are shared equally instead of kept). Deterministic; gradients flow to `payoff`,
      `temperature` and the state.
    - `"fermi"`: pick one neighbour uniformly at random and adopt its strategy with probability
      `1 / (1 + exp(-(P_neighbour - P_self) / temperature))` (Szabó & Tőke 1998,
      doi:10.1103/PhysRevE.58.69; Szabó & Fáth 2007, doi:10.1016/j.physrep.2007.04.004).
    - `"moran_death_birth"`: each site's player dies and is replaced by the offspring of a
      neighbour chosen with probability proportional to its fitness
      `f = max(1 - w + w * P, 0)`, `w = selection` (Ohtsuki et al. 2006, doi:10.1038/nature04605).
      If every neighbour has zero fitness one is chosen uniformly.
    - `"moran_birth_death"`: each site picks a neighbour uniformly at random, and that
      neighbour's offspring replaces it with probability `f_neighbour / f_max`, where `f_max`
      bounds the fitness on this game; every directed pair (parent -> site) thus fires at a rate
      proportional to the parent's fitness, the transition structure of the birth-death Moran
      process on a regular lattice (Ohtsuki et al. 2006).

    Synchronous by default (every site decides from the same old configuration; for the Moran
    updates a "local synchronous" version in which all sites are replaced at once). Wrap in
    `automata.Asynchronous(game)` for random-sequential updating, where each visit is one
    imitation, one Moran death-birth or birth-death event at the visited site and later visits
    see earlier changes; or in `automata.Stochastic(game, fire_rate)` for a random fraction of
    sites per step. `reach` covers the neighbours' payoffs (2 sites for pairwise games on radius-1
    neighbourhoods, 3 for group games), so both schemes and sharded rollouts see all they need.

    With `interaction="group"` the game is a group game: every site plays in the groups centred
    on itself and on each of its neighbours, and its share of a group `g` of `|g|` players is
    `(1/|g|) sum_{j in g} payoff[own, s_j]` (the focal player included); `public_goods(r)` gives
    the matrix of the linear public goods game in this form.

    Empty sites (strategy -1, or all-zero probabilities in the soft update) hold no player: they
    neither play nor update nor are imitated. On a `"fixed"` boundary the sites beyond the edge
    are empty, which needs a fill value that cannot be a strategy: `fill=-1` (255 for uint8
    states) for the discrete updates, `fill=0` for the soft update.

    Args:
      payoff: `(n, n)` payoff matrix, row = focal strategy, column = opponent, `n >= 2`; an
        array leaf (trainable).
      update: one of `"imitate_best"`, `"imitate_best_soft"`, `"fermi"`,
        `"moran_birth_death"`, `"moran_death_birth"` (configuration).
      self_interaction: also play against oneself (Nowak & May's convention; configuration).
      temperature: noise `K` of `"fermi"` and softmax temperature of `"imitate_best_soft"`, in
        payoff units, positive; an array leaf.
      selection: intensity of selection `w` in [0, 1] for the Moran updates; an array leaf.
      interaction: `"pairwise"` or `"group"` (configuration).

    Example:
      >>> import jax, jax.numpy as jnp, automata
      >>> lat = automata.Lattice((9, 9), neighbourhood="moore")
      >>> x = jnp.zeros((9, 9, 1), jnp.int32).at[4, 4, 0].set(1)  # one defector
      >>> s1 = automata.step(SpatialGame(prisoners_dilemma(1.9)), lat, automata.LatticeState(x=x))
      >>> int(s1.x.sum())  # the defector's 3x3 block turns to defection
      9
    """

    payoff: jax.Array
    update: str = struct.field(pytree_node=False, default="imitate_best")
    self_interaction: bool = struct.field(pytree_node=False, default=True)
    temperature: jax.Array = 0.1
    selection: jax.Array = 0.1
    interaction: str = struct.field(pytree_node=False, default="pairwise")

    def __post_init__(self):
        if self.update not in UPDATES:
            raise ValueError(
                f"Unknown update {self.update!r}; choose one of {', '.join(map(repr, UPDATES))}."
            )
        if self.interaction not in INTERACTIONS:
            raise ValueError(
                f"Unknown interaction {self.interaction!r}; choose 'pairwise' (a matrix game with "
                "each neighbour) or 'group' (groups centred on the site and its neighbours)."
            )
        if self.interaction == "group" and not self.self_interaction:
            raise ValueError(
                "A group game always includes the focal player in its own groups; leave "
                "self_interaction=True with interaction='group'."
            )
        # jax rebuilds rules from placeholder leaves (e.g. when matching vmap axes); only real
        # arrays and Python numbers are checked here, and `check` sees the rule actually run.
        if isinstance(self.payoff, (list, tuple, str, np.ndarray, np.generic, numbers.Number, jax.Array)):
            object.__setattr__(self, "payoff", _check_payoff(self.payoff, "SpatialGame"))
        _check_temperature(self.temperature)
        _check_selection(self.selection)

    # ------------------------------------------------------------------ configuration
    @property
    def stochastic(self):  # type: ignore[override]
        return self.update in _STOCHASTIC_UPDATES

    @property
    def num_strategies(self) -> int:
        """Number of strategies `n` (the payoff matrix is `(n, n)`)."""
        return int(self.payoff.shape[0])

    @property
    def soft(self) -> bool:
        """True when the state holds strategy probabilities (`update="imitate_best_soft"`)."""
        return self.update == "imitate_best_soft"

    def payoff_reach(self, lattice: Lattice) -> int:
        """How far (sites per axis) a site's payoff looks: the radius, twice it for group games."""
        return lattice.radius * (2 if self.interaction == "group" else 1)

    def reach(self, lattice: Lattice) -> int:
        """Payoff reach plus the radius: an update compares the payoffs of the neighbours."""
        return self.payoff_reach(lattice) + lattice.radius

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        lattice.check_field(state.x, "state.x")
        _check_payoff(self.payoff, "SpatialGame")
        _check_temperature(self.temperature)
        _check_selection(self.selection)
        x = state.x
        n = self.num_strategies
        if x.ndim != lattice.ndim + 1:
            raise ValueError(
                f"state.x has shape {x.shape}; SpatialGame needs {lattice.shape} plus one channel "
                f"axis, e.g. {lattice.shape + ((n,) if self.soft else (1,))}."
            )
        if self.soft:
            self._check_soft(lattice, x, n)
        else:
            self._check_discrete(lattice, x, n)

    def _check_discrete(self, lattice, x, n):
        if not (jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.floating)
                or x.dtype == jnp.bool_):
            raise TypeError(f"state.x must hold strategy indices (integers), got dtype {x.dtype}.")
        if lattice.boundary == "fixed":
            fill = lattice.fill
            fits = (np.iinfo(x.dtype).min <= fill <= np.iinfo(x.dtype).max
                    if jnp.issubdtype(x.dtype, jnp.integer) else x.dtype != jnp.bool_)
            if 0 <= fill < n or not fits:
                raise ValueError(
                    f"On a 'fixed' boundary SpatialGame treats the sites beyond the edge as empty, "
                    f"so the fill value must not be a strategy index 0..{n - 1} and must fit "
                    f"state.x's dtype {x.dtype}; got fill={fill}. Use Lattice(..., "
                    f"boundary='fixed', fill=-1) with a signed or float state (fill=255 for uint8)."
                )
        s = _concrete(x[..., 0])
        if s is None:
            return
        bad = ~((s == EMPTY) | ((s >= 0) & (s < n) & (s == np.round(s))))
        if np.any(bad):
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"state.x[..., 0] holds strategy indices in 0..{n - 1} (or -1 for an empty site) "
                f"for this {n}x{n} payoff matrix, but site {where} holds {s[where].item()!r}. Use a "
                f"larger payoff matrix for more strategies, or fix the state."
            )

    def _check_soft(self, lattice, x, n):
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(
                f"update='imitate_best_soft' keeps strategy probabilities in state.x, which must be "
                f"floating point, got dtype {x.dtype}. Use jax.nn.one_hot(strategies, {n})."
            )
        if x.shape[-1] < n:
            raise ValueError(
                f"update='imitate_best_soft' keeps one probability per strategy in channels "
                f"0..{n - 1}, but state.x has {x.shape[-1]} channels. Build the state with "
                f"jax.nn.one_hot(strategies, {n})."
            )
        if lattice.boundary == "fixed" and lattice.fill != 0.0:
            raise ValueError(
                f"On a 'fixed' boundary the soft update treats the sites beyond the edge as empty "
                f"(all probabilities 0), which needs fill=0; got fill={lattice.fill}."
            )
        p = _concrete(x[..., :n])
        if p is None:
            return
        total = p.sum(-1)
        bad = np.any(p < -1e-6, axis=-1) | ((np.abs(total - 1) > 1e-3) & (np.abs(total) > 1e-3))
        if np.any(bad):
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"state.x[..., :{n}] must hold strategy probabilities (non-negative, summing to 1, "
                f"or all 0 for an empty site); site {where} holds {p[where].tolist()}."
            )

    # ------------------------------------------------------------------ payoffs
    def _dtype(self):
        dt = jnp.result_type(self.payoff)
        return dt if jnp.issubdtype(dt, jnp.inexact) else jnp.result_type(float)

    def _players(self, x):
        """Strategy weights `(*shape, n)` (one-hot or probabilities), occupancy, indices."""
        n, dt = self.num_strategies, self._dtype()
        if self.soft:
            e = x[..., :n].astype(dt)
            occ = jnp.sum(e, axis=-1) > 0
            return e, occ, None
        s = x[..., 0]
        occ = (s >= 0) & (s < n)
        idx = jnp.where(occ, s, 0).astype(jnp.int32)
        e = jax.nn.one_hot(idx, n, dtype=dt) * occ[..., None].astype(dt)
        return e, occ, idx

    def _payoffs(self, lattice, e, occ):
        """Per-site payoff (0 at empty sites) and the per-strategy partner weights behind it."""
        # Derived fields are padded with 0 so that sites beyond a fixed edge are empty.
        z = _zero_fill(lattice)
        a = self.payoff.astype(e.dtype)
        if self.interaction == "pairwise":
            partners = z.neighbour_sum(e)
            if self.self_interaction:
                partners = partners + e
        else:
            members = e + z.neighbour_sum(e)  # strategy counts of the group centred on each site
            size = jnp.sum(members, axis=-1, keepdims=True)
            live = occ[..., None] & (size > 0)
            share = jnp.where(live, members / jnp.where(live, size, 1), 0)
            partners = share + z.neighbour_sum(share)
        # Counts enter as integers and are contracted in a fixed order, so sites with the same
        # surroundings get bit-identical payoffs (mirror-symmetric patterns stay symmetric).
        payoff = jnp.einsum("...a,ab,...b->...", e, a, partners)
        return payoff, partners

    def _fitness(self, payoff):
        w = jnp.asarray(self.selection, payoff.dtype)
        return jnp.maximum(1 - w + w * payoff, 0)

    def _max_fitness(self, lattice, dtype):
        num_partners = lattice.num_neighbours + (1 if self.self_interaction else 0)
        best = jnp.maximum(jnp.max(self.payoff.astype(dtype)), 0) * num_partners
        return jnp.maximum(self._fitness(best), jnp.finfo(dtype).tiny)

    # ------------------------------------------------------------------ update
    def __call__(self, lattice: Lattice, state: LatticeState, *, key) -> jax.Array:
        x = state.x
        z = _zero_fill(lattice)
        e, occ, idx = self._players(x)
        payoff, _ = self._payoffs(lattice, e, occ)
        dt = payoff.dtype

        if self.update in ("fermi", "moran_birth_death"):
            # One uniformly chosen neighbour per site: gather just that one, so the cost does
            # not grow with the size of the neighbourhood.
            u = lattice.uniform(key, (2,), dtype=dt)
            k = lattice.num_neighbours
            pick = jnp.minimum((u[..., 0] * k).astype(jnp.int32), k - 1)
            other = _at_offset(z, payoff, pick)
            if self.update == "fermi":
                t = jnp.asarray(self.temperature, dt)
                prob = jax.nn.sigmoid((other - payoff) / t)
            else:  # moran_birth_death
                prob = self._fitness(other) / self._max_fitness(lattice, dt)
            adopt = occ & _at_offset(z, occ, pick) & (u[..., 1] < prob)
            new = jnp.where(adopt, _at_offset(z, idx, pick), idx)
            return x.at[..., 0].set(jnp.where(occ, new, x[..., 0]).astype(x.dtype))

        n_payoff = z.neighbours(payoff)
        n_occ = z.neighbours(occ.astype(dt)) > 0
        if self.soft:
            return x.at[..., : self.num_strategies].set(
                self._soft_imitation(z, e, occ, payoff, n_payoff, n_occ).astype(x.dtype)
            )

        n_idx = z.neighbours(idx)
        if self.update == "imitate_best":
            masked = jnp.where(n_occ, n_payoff, -jnp.inf)
            best = jnp.max(masked, axis=-1)
            tied = jnp.where(masked == best[..., None], n_idx, self.num_strategies)
            new = jnp.where(occ & (best > payoff), jnp.min(tied, axis=-1), idx)
        else:  # moran_death_birth
            u = lattice.uniform(key, (2,), dtype=dt)
            k = lattice.num_neighbours
            fit = jnp.where(n_occ, self._fitness(n_payoff), 0)
            total = jnp.sum(fit, axis=-1, keepdims=True)
            # With no fit neighbour the parent is drawn uniformly among the occupied ones.
            weight = jnp.where(total > 0, fit, n_occ.astype(dt))
            cum = jnp.cumsum(weight, axis=-1)
            pick = jnp.minimum(jnp.sum(cum <= u[..., :1] * cum[..., -1:], axis=-1), k - 1)
            adopt = occ & (cum[..., -1] > 0)
            new = jnp.where(adopt, _take(n_idx, pick), idx)
        new = jnp.where(occ, new, x[..., 0])
        return x.at[..., 0].set(new.astype(x.dtype))

    def _soft_imitation(self, z, e, occ, payoff, n_payoff, n_occ):
        t = jnp.asarray(self.temperature, payoff.dtype)
        cand_payoff = jnp.concatenate([payoff[..., None], n_payoff], axis=-1)
        cand_occ = jnp.concatenate([occ[..., None], n_occ], axis=-1)
        # The site itself stays a finite candidate so an empty site gives a finite softmax.
        cand_occ = cand_occ.at[..., 0].set(True)
        logits = jnp.where(cand_occ, cand_payoff / t, -jnp.inf)
        weight = jax.nn.softmax(logits, axis=-1)
        cand = jnp.concatenate([e[..., None, :], z.neighbours(e)], axis=-2)
        new = jnp.einsum("...j,...jn->...n", weight, cand)
        return jnp.where(occ[..., None], new, e)


def _zero_fill(lattice: Lattice) -> Lattice:
    return lattice.replace(fill=0.0) if lattice.boundary == "fixed" else lattice


def _take(values, pick):
    return jnp.take_along_axis(values, pick[..., None], axis=-1)[..., 0]


def _at_offset(lattice: Lattice, field: jax.Array, pick: jax.Array) -> jax.Array:
    """`field` at each site's neighbour number `pick` (an index into `lattice.offsets`), with the
    boundary applied: the same values as `lattice.neighbours(field)[..., pick]`, gathered
    directly."""
    r = lattice.radius
    padded = lattice.pad(field, r)
    offsets = jnp.asarray(np.asarray(lattice.offsets, np.int32).reshape(-1, lattice.ndim))
    chosen = offsets[pick]  # (*shape, ndim)
    grid = jnp.indices(lattice.shape, dtype=jnp.int32)
    return padded[tuple(grid[d] + r + chosen[..., d] for d in range(lattice.ndim))]


# ---------------------------------------------------------------------------- payoffs as hazards
def _checked_state(game, lattice, state) -> LatticeState:
    """`state` as a `LatticeState`, after checking that `game` can run on `lattice` with it."""
    if not isinstance(game, SpatialGame):
        raise TypeError(f"game must be a rules.games.SpatialGame, got {type(game).__name__}.")
    if not isinstance(lattice, Lattice):
        raise TypeError(f"lattice must be an automata.Lattice, got {type(lattice).__name__}.")
    state = as_state(state)
    game.check(lattice, state)
    return state


def site_payoffs(game: SpatialGame, lattice: Lattice, state, *, average: bool = False) -> jax.Array:
    """Each site's payoff under `game` in the current state (0 at empty sites).

    The same payoffs the game's update compares, so a division model can turn them into hazards
    with `rules.hazard.payoff_hazard` (see `payoff_to_division`).

    Args:
      game: a `SpatialGame` (its update rule is not used).
      lattice: the lattice.
      state: `LatticeState` (or array) of shape `(*lattice.shape, channels)` as the game expects.
      average: divide by the number of games played (partners present for pairwise games,
        groups for group games), giving the payoff per interaction.

    Returns:
      payoffs, shape `lattice.shape`.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> lat = automata.Lattice((5, 5))
      >>> x = jnp.zeros((5, 5, 1), jnp.int32)  # all cooperate: 9 partners each, R = 1
      >>> float(site_payoffs(SpatialGame(prisoners_dilemma(1.9)), lat, x)[0, 0])
      9.0
    """
    state = _checked_state(game, lattice, state)
    return _site_payoffs(game, lattice, state.x, average=bool(average))


@functools.partial(jax.jit, static_argnames=("average",))
def _site_payoffs(game: SpatialGame, lattice: Lattice, x: jax.Array, *, average: bool) -> jax.Array:
    e, occ, _ = game._players(x)
    payoff, partners = game._payoffs(lattice, e, occ)
    if not average:
        return payoff
    if game.interaction == "pairwise":
        count = jnp.sum(partners, axis=-1)
    else:
        z = _zero_fill(lattice)
        live = occ.astype(payoff.dtype)
        count = live + z.neighbour_sum(live)
    return jnp.where(occ & (count > 0), payoff / jnp.where(count > 0, count, 1), 0)


def payoff_to_division(
    game: SpatialGame,
    lattice: Lattice,
    state,
    *,
    base_rate,
    selection,
    dt,
    average: bool = True,
) -> jax.Array:
    """Per-site probability of dividing within `dt` minutes, driven by the game's payoffs.

    `h = base_rate * (1 - w + w * payoff)` (`rules.hazard.payoff_hazard`, clipped at 0) and
    `P = 1 - exp(-h dt)` (`rules.hazard.event_probability`); empty sites get 0. Nowak et al. 2004
    (doi:10.1038/nature02414) use the same fitness form.

    Args:
      game: a `SpatialGame` giving the payoffs.
      lattice, state: as for `site_payoffs`.
      base_rate: division hazard at payoff 1 (or w = 0), per minute; broadcasts to the lattice.
      selection: intensity of selection w in [0, 1].
      dt: time step in minutes.
      average: use the payoff per interaction (default), so the hazard does not grow with the
        number of neighbours; False uses the accumulated payoff.

    Returns:
      probabilities in [0, 1), shape `lattice.shape`.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> lat = automata.Lattice((5, 5))
      >>> x = jnp.zeros((5, 5, 1), jnp.int32)
      >>> p = payoff_to_division(SpatialGame(prisoners_dilemma(1.9)), lat, x,
      ...                        base_rate=0.01, selection=0.5, dt=10.0)
      >>> round(float(p[0, 0]), 4)  # 1 - exp(-0.01 * 10)
      0.0952
    """
    state = _checked_state(game, lattice, state)
    _check_selection(selection)
    _check_non_negative(base_rate, "base_rate", "a division hazard per minute")
    _check_non_negative(dt, "dt", "a time step in minutes")
    return _division_probability(game, lattice, state.x, base_rate, selection, dt, average=bool(average))


@functools.partial(jax.jit, static_argnames=("average",))
def _division_probability(game, lattice, x, base_rate, selection, dt, *, average):
    payoff = _site_payoffs(game, lattice, x, average=average)
    _, occ, _ = game._players(x)
    prob = event_probability(payoff_hazard(payoff, base_rate, selection), dt)
    return jnp.where(occ, prob, 0)
