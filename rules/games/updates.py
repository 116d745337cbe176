"""Strategy update rules of spatial games, as objects: `ImitateBest`, `Fermi`, `MoranDeathBirth`,
`MoranBirthDeath`.

An update is a frozen pytree whose array fields (temperature, selection) are trainable leaves. A
`SpatialGame` computes every site's payoff and hands it to its update, which returns the next
state; the update reads the game only through `game.players` and `game.payoffs`. All updates are
synchronous (every site decides from the same old configuration; for the Moran updates a "local
synchronous" version in which all sites are replaced at once); wrap the game in
`automata.Asynchronous` for random-sequential updating. Szabó & Fáth 2007
(doi:10.1016/j.physrep.2007.04.004) review them all.

The strings of earlier versions map to these objects (`as_update`): `"imitate_best"`,
`"imitate_best_soft"`, `"fermi"`, `"moran_birth_death"`, `"moran_death_birth"`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from automata._checks import check_choice, check_numbers, concrete, fail
from automata.lattice import Lattice
from rules.games.neighbours import at_offset, take, zero_fill

__all__ = ["UPDATES", "Fermi", "ImitateBest", "MoranBirthDeath", "MoranDeathBirth", "as_update"]


def _check_leaf(value, name: str, owner: str, *, maximum=None, open_minimum=True, hint="") -> None:
    """Check a parameter's values when concrete. jax rebuilds rules from placeholder leaves (e.g.
    while matching `vmap` axes); those pass, and the rule is checked again where it runs."""
    placeholder = value is not None and not isinstance(value, (str, bytes))
    if placeholder and getattr(concrete(value), "dtype", None) == object:
        return
    check_numbers(value, name, minimum=0.0, maximum=maximum, open_minimum=open_minimum,
                  owner=owner, hint=hint)


def _fitness(payoff, selection):
    """Moran fitness `max(1 - w + w * payoff, 0)`, `w = selection` (Ohtsuki et al. 2006)."""
    w = jnp.asarray(selection, payoff.dtype)
    return jnp.maximum(1 - w + w * payoff, 0)


def _one_neighbour(lattice, key, dtype):
    """Two uniform numbers per site and one uniformly picked neighbour number per site."""
    u = lattice.uniform(key, (2,), dtype=dtype)
    k = lattice.num_neighbours
    return u, jnp.minimum((u[..., 0] * k).astype(jnp.int32), k - 1)


def _adopt_picked(game, lattice, x, prob_of, *, key):
    """Each occupied site adopts the strategy of one uniformly picked occupied neighbour with
    probability `prob_of(own payoff, neighbour payoff)`; only that neighbour is gathered."""
    z = zero_fill(lattice)
    e, occ, idx = game.players(x)
    payoff, _ = game.payoffs(lattice, e, occ)
    u, pick = _one_neighbour(lattice, key, payoff.dtype)
    prob = prob_of(payoff, at_offset(z, payoff, pick))
    adopt = occ & at_offset(z, occ, pick) & (u[..., 1] < prob)
    new = jnp.where(adopt, at_offset(z, idx, pick), idx)
    return x.at[..., 0].set(jnp.where(occ, new, x[..., 0]).astype(x.dtype))


class ImitateBest(struct.PyTreeNode):
    """Adopt the strategy of the best-scoring site among oneself and one's neighbours.

    Hard (`soft=False`): a site whose own payoff equals the highest keeps its strategy; among tied
    neighbours with different strategies the lowest strategy index wins (so the rule keeps the
    lattice's mirror symmetries). Deterministic. Nowak & May 1992 (doi:10.1038/359826a0).

    Soft (`soft=True`), its softmax relaxation for gradients: the state holds one probability per
    strategy in channels `0 .. n - 1` (build it with `jax.nn.one_hot(strategies, n)`, which also
    maps -1 to an empty site). Payoffs are expected payoffs `p_i^T A sum_j p_j`, and the new state
    is `p_i' = sum_j softmax_j(P_j / temperature) p_j` over `j` in the site and its neighbours. As
    `temperature -> 0` it tends to the hard rule wherever the best payoff is unique (ties are
    shared equally instead of kept). Gradients flow to the payoff, `temperature` and the state.

    Args:
      soft: use the softmax relaxation (configuration).
      temperature: softmax temperature in payoff units, positive; an array leaf (soft only).

    Example:
      >>> ImitateBest(soft=True, temperature=0.05).soft
      True
    """

    soft: bool = struct.field(pytree_node=False, default=False)
    temperature: Any = 0.1
    stochastic: ClassVar[bool] = False

    def __post_init__(self):
        _check_leaf(self.temperature, "temperature", "ImitateBest",
                    hint="Use a small value such as 0.01 for nearly deterministic imitation.")

    def check(self) -> None:
        """Raise a clear error for a bad temperature."""
        self.__post_init__()

    def __call__(self, game, lattice: Lattice, x: jax.Array, *, key=None) -> jax.Array:
        """The next state `x` (same shape and dtype) under `game`."""
        z = zero_fill(lattice)
        e, occ, idx = game.players(x)
        payoff, _ = game.payoffs(lattice, e, occ)
        n_payoff = z.neighbours(payoff)
        n_occ = z.neighbours(occ.astype(payoff.dtype)) > 0
        if self.soft:
            new = self._soft(z, e, occ, payoff, n_payoff, n_occ)
            return x.at[..., : game.num_strategies].set(new.astype(x.dtype))
        masked = jnp.where(n_occ, n_payoff, -jnp.inf)
        best = jnp.max(masked, axis=-1)
        tied = jnp.where(masked == best[..., None], z.neighbours(idx), game.num_strategies)
        new = jnp.where(occ & (best > payoff), jnp.min(tied, axis=-1), idx)
        return x.at[..., 0].set(jnp.where(occ, new, x[..., 0]).astype(x.dtype))

    def _soft(self, z, e, occ, payoff, n_payoff, n_occ):
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


class Fermi(struct.PyTreeNode):
    """Pick one neighbour uniformly at random and adopt its strategy with probability
    `1 / (1 + exp(-(P_neighbour - P_self) / temperature))`.

    Szabó & Tőke 1998 (doi:10.1103/PhysRevE.58.69). Stochastic.

    Args:
      temperature: the noise `K` in payoff units, positive; an array leaf.

    Example:
      >>> float(Fermi(0.5).temperature)
      0.5
    """

    temperature: Any = 0.1
    stochastic: ClassVar[bool] = True
    soft: ClassVar[bool] = False

    def __post_init__(self):
        _check_leaf(self.temperature, "temperature", "Fermi",
                    hint="Use a small value such as 0.01 for nearly deterministic imitation.")

    def check(self) -> None:
        """Raise a clear error for a bad temperature."""
        self.__post_init__()

    def __call__(self, game, lattice: Lattice, x: jax.Array, *, key) -> jax.Array:
        """The next state `x` under `game`."""
        def prob(own, other):
            return jax.nn.sigmoid((other - own) / jnp.asarray(self.temperature, own.dtype))

        return _adopt_picked(game, lattice, x, prob, key=key)


class MoranBirthDeath(struct.PyTreeNode):
    """Each site picks a neighbour uniformly at random, and that neighbour's offspring replaces it
    with probability `f_neighbour / f_max`, `f = max(1 - w + w * P, 0)`, `w = selection`.

    `f_max` bounds the fitness on the game, so every directed pair (parent -> site) fires at a rate
    proportional to the parent's fitness: the transition structure of the birth-death Moran
    process on a regular lattice (Ohtsuki et al. 2006, doi:10.1038/nature04605). Stochastic.

    Args:
      selection: intensity of selection `w` in [0, 1]; an array leaf.

    Example:
      >>> float(MoranBirthDeath(selection=0.2).selection)
      0.2
    """

    selection: Any = 0.1
    stochastic: ClassVar[bool] = True
    soft: ClassVar[bool] = False

    def __post_init__(self):
        _check_leaf(self.selection, "selection", "MoranBirthDeath", maximum=1.0, open_minimum=False,
                    hint="It is w in fitness = 1 - w + w * payoff.")

    def check(self) -> None:
        """Raise a clear error for a bad selection intensity."""
        self.__post_init__()

    def __call__(self, game, lattice: Lattice, x: jax.Array, *, key) -> jax.Array:
        """The next state `x` under `game`."""
        def prob(own, other):
            num_partners = lattice.num_neighbours + (1 if game.self_interaction else 0)
            best = jnp.maximum(jnp.max(game.payoff.astype(own.dtype)), 0) * num_partners
            f_max = jnp.maximum(_fitness(best, self.selection), jnp.finfo(own.dtype).tiny)
            return _fitness(other, self.selection) / f_max

        return _adopt_picked(game, lattice, x, prob, key=key)


class MoranDeathBirth(struct.PyTreeNode):
    """Each site's player dies and is replaced by the offspring of a neighbour chosen with
    probability proportional to its fitness `f = max(1 - w + w * P, 0)`, `w = selection`.

    If every neighbour has zero fitness one is chosen uniformly. Ohtsuki et al. 2006
    (doi:10.1038/nature04605). Stochastic.

    Args:
      selection: intensity of selection `w` in [0, 1]; an array leaf.

    Example:
      >>> float(MoranDeathBirth(selection=0.0).selection)  # the voter model
      0.0
    """

    selection: Any = 0.1
    stochastic: ClassVar[bool] = True
    soft: ClassVar[bool] = False

    def __post_init__(self):
        _check_leaf(self.selection, "selection", "MoranDeathBirth", maximum=1.0, open_minimum=False,
                    hint="It is w in fitness = 1 - w + w * payoff.")

    def check(self) -> None:
        """Raise a clear error for a bad selection intensity."""
        self.__post_init__()

    def __call__(self, game, lattice: Lattice, x: jax.Array, *, key) -> jax.Array:
        """The next state `x` under `game`."""
        z = zero_fill(lattice)
        e, occ, idx = game.players(x)
        payoff, _ = game.payoffs(lattice, e, occ)
        dt = payoff.dtype
        n_occ = z.neighbours(occ.astype(dt)) > 0
        u = lattice.uniform(key, (2,), dtype=dt)
        fit = jnp.where(n_occ, _fitness(z.neighbours(payoff), self.selection), 0)
        total = jnp.sum(fit, axis=-1, keepdims=True)
        # With no fit neighbour the parent is drawn uniformly among the occupied ones.
        weight = jnp.where(total > 0, fit, n_occ.astype(dt))
        cum = jnp.cumsum(weight, axis=-1)
        pick = jnp.minimum(jnp.sum(cum <= u[..., :1] * cum[..., -1:], axis=-1),
                           lattice.num_neighbours - 1)
        adopt = occ & (cum[..., -1] > 0)
        new = jnp.where(adopt, take(z.neighbours(idx), pick), idx)
        return x.at[..., 0].set(jnp.where(occ, new, x[..., 0]).astype(x.dtype))


UPDATES = ("imitate_best", "imitate_best_soft", "fermi", "moran_birth_death", "moran_death_birth")
_OBJECTS = (ImitateBest, Fermi, MoranBirthDeath, MoranDeathBirth)


def as_update(update, *, temperature=None, selection=None, owner: str = "SpatialGame"):
    """An update object from an object or one of the strings in `UPDATES`.

    With a string, `temperature` (for `"fermi"` and `"imitate_best_soft"`) and `selection` (for
    the Moran updates) fill the object (defaults 0.1); both are checked whichever string is given.
    With an object they must be None: the object holds its own parameters.

    Example:
      >>> as_update("fermi", temperature=0.3)
      Fermi(temperature=0.3)
    """
    if isinstance(update, _OBJECTS):
        if temperature is not None or selection is not None:
            raise fail(owner, "temperature and selection must be None when update is an object, "
                              f"which holds its own, got update={update!r}, "
                              f"temperature={temperature!r}, selection={selection!r}. Pass e.g. "
                              "update=Fermi(temperature=0.3).")
        return update
    if not isinstance(update, str):
        raise fail(owner, "update must be an update object (ImitateBest(), Fermi(temperature), "
                          "MoranDeathBirth(selection), MoranBirthDeath(selection)) or one of "
                          f"{', '.join(map(repr, UPDATES))}, got {type(update).__name__}.", TypeError)
    check_choice(update, "update", UPDATES, owner=owner, hint="Or pass an update object such as "
                 "Fermi(temperature=0.3).")
    t = 0.1 if temperature is None else temperature
    w = 0.1 if selection is None else selection
    _check_leaf(t, "temperature", owner)
    _check_leaf(w, "selection", owner, maximum=1.0, open_minimum=False)
    if update.startswith("imitate_best"):
        return ImitateBest(soft=update == "imitate_best_soft", temperature=t)
    if update == "fermi":
        return Fermi(temperature=t)
    return MoranBirthDeath(selection=w) if update == "moran_birth_death" else MoranDeathBirth(selection=w)
