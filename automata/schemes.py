"""Update schemes: how the sites of a lattice take up what a rule proposes.

A scheme wraps a rule and is itself a rule, so schemes compose: the growing neural CA is
`AliveMasked(Stochastic(update, fire_rate=0.5), channel=3)`. Synchronous updating (every site at
once) is what a bare rule does.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState


def _sub_key(key, i):
    return None if key is None else jax.random.fold_in(key, i)


def _check_rule(rule, scheme):
    if not isinstance(rule, Rule):
        raise TypeError(f"{scheme} wraps an automata.Rule, got {type(rule).__name__}.")


class Stochastic(Rule):
    """Each site takes the rule's proposal with probability `fire_rate`, else keeps its value.

    Mordvintsev et al. 2020 (doi:10.23915/distill.00023) use `fire_rate=0.5` so that cells need
    no global clock.
    """

    rule: Rule
    fire_rate: float = struct.field(pytree_node=False, default=0.5)
    stochastic = True

    def __post_init__(self):
        _check_rule(self.rule, "Stochastic")
        if not 0.0 <= float(self.fire_rate) <= 1.0:
            raise ValueError(f"fire_rate is a probability in [0, 1], got {self.fire_rate}.")

    def reach(self, lattice):
        return self.rule.reach(lattice)

    def check(self, lattice, state):
        self.rule.check(lattice, state)

    def __call__(self, lattice: Lattice, state: LatticeState, *, key):
        new = self.rule(lattice, state, key=_sub_key(key, 0))
        fire = lattice.bernoulli(_sub_key(key, 1), self.fire_rate)
        fire = fire.reshape(fire.shape + (1,) * (state.x.ndim - fire.ndim))
        return jnp.where(fire, new, state.x)


def alive_mask(lattice: Lattice, x: jax.Array, channel: int, threshold: float) -> jax.Array:
    """True where the site or any neighbour has `x[..., channel] > threshold`."""
    a = x[..., channel]
    return jnp.maximum(a, jnp.max(lattice.neighbours(a), axis=lattice.ndim)) > threshold


class AliveMasked(Rule):
    """Zero every site that is not alive both before and after the inner rule's update.

    A site is alive when it or a neighbour has `x[..., channel] > threshold` (channel 3, the
    alpha channel, and 0.1 in the growing neural CA).
    """

    rule: Rule
    channel: int = struct.field(pytree_node=False, default=3)
    threshold: float = struct.field(pytree_node=False, default=0.1)

    def __post_init__(self):
        _check_rule(self.rule, "AliveMasked")

    @property
    def stochastic(self):  # type: ignore[override]
        return self.rule.stochastic

    def reach(self, lattice):
        return self.rule.reach(lattice) + lattice.radius

    def check(self, lattice, state):
        self.rule.check(lattice, state)
        if not -state.x.shape[-1] <= self.channel < state.x.shape[-1]:
            raise ValueError(
                f"AliveMasked reads channel {self.channel}, but the state has "
                f"{state.x.shape[-1]} channels."
            )

    def __call__(self, lattice: Lattice, state: LatticeState, *, key):
        pre = alive_mask(lattice, state.x, self.channel, self.threshold)
        new = self.rule(lattice, state, key=key)
        post = alive_mask(lattice, new, self.channel, self.threshold)
        return new * (pre & post)[..., None].astype(new.dtype)


def _patch_indices(lattice: Lattice, site: jax.Array, r: int):
    """Per axis: indices of the (2r+1) window around `site` and a mask of in-range entries."""
    idx, ok = [], []
    for a, n in enumerate(lattice.shape):
        i = site[a] + jnp.arange(-r, r + 1)
        if lattice.boundary == "wrap":
            idx.append(jnp.mod(i, n))
            ok.append(jnp.ones_like(i, bool))
        elif lattice.boundary == "reflect":
            i = jnp.where(i < 0, -i - 1, i)
            i = jnp.where(i >= n, 2 * n - 1 - i, i)
            idx.append(jnp.clip(i, 0, n - 1))
            ok.append(jnp.ones_like(i, bool))
        else:
            ok.append((i >= 0) & (i < n))
            idx.append(jnp.clip(i, 0, n - 1))
    return idx, ok


class Asynchronous(Rule):
    """Random-sequential updating: each step visits every site once, in a fresh random order,
    and each site sees the values its predecessors in that order already wrote.

    Each visit evaluates the inner rule on the `(2 * reach + 1) ** ndim` window around the site,
    so a step costs `num_sites` small sequential updates: use it on modest lattices.
    """

    rule: Rule
    stochastic = True

    def __post_init__(self):
        _check_rule(self.rule, "Asynchronous")

    def reach(self, lattice):
        return self.rule.reach(lattice)

    def check(self, lattice, state):
        self.rule.check(lattice, state)
        if lattice.sharded:
            raise ValueError("Asynchronous updating is sequential and cannot be sharded.")

    def __call__(self, lattice: Lattice, state: LatticeState, *, key):
        r = self.rule.reach(lattice)
        patch_lat = lattice.replace(shape=(2 * r + 1,) * lattice.ndim, boundary="fixed", shard=None)
        order = jax.random.permutation(_sub_key(key, 0), lattice.num_sites)
        centre = (r,) * lattice.ndim
        rule_key = _sub_key(key, 1)

        def visit(k, x):
            flat = order[k]
            site = jnp.stack(jnp.unravel_index(flat, lattice.shape))
            idx, ok = _patch_indices(lattice, site, r)
            patch = x[jnp.ix_(*idx)]
            inside = ok[0]
            for m in ok[1:]:
                inside = inside[..., None] & m
            fill = jnp.asarray(lattice.fill, x.dtype)
            patch = jnp.where(inside.reshape(inside.shape + (1,) * (x.ndim - lattice.ndim)), patch, fill)
            new = self.rule(patch_lat, LatticeState(x=patch, t=state.t), key=_sub_key(rule_key, flat))
            return x.at[tuple(site)].set(new[centre].astype(x.dtype))

        return jax.lax.fori_loop(0, lattice.num_sites, visit, state.x)
