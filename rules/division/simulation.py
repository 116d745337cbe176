"""One stochastic history of a division model: the step, in named parts, and `simulate`.

A step, in order: the step's random numbers (`_draws`); clocks advance and new cells draw their
periods (`_draw_periods`); cells die (`_deaths`: at the death rate, or when a cycle that ends
by the clock ends in apoptosis); survivors divide by clock or hazard (`_dividers`); dividing cells place daughter B one at a time in a random order
(`_place_daughters`); the daughters are written into their slots (`_write_daughters`); the step
is recorded (`_record`). Every random event that depends on the parameters adds its
log-probability to the record, for the score-function estimator.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from automata import relax
from automata._checks import check_int, check_key, concrete, fail
from automata.lattice import Lattice
from rules._perkind import per_kind
from rules.division.model import DivisionModel, History, check_inputs
from rules.division.placement import flat_index
from rules.hazard import event_probability
from rules.population import CapacityError, Population

__all__ = ["simulate", "step"]


def _draws(key, pop: Population, lattice: Lattice):
    """The step's uniform numbers in (0, 1): period, death, divide, order `(C,)`, place `(C, P)`.

    One flat draw per step (threefry is costly to compile, more so for 2D shapes); every random
    choice reads a column of it.
    """
    num_place = max(lattice.num_neighbours, 2)
    tiny = jnp.finfo(pop.clock.dtype).tiny
    u = jax.random.uniform(key, (pop.capacity * (4 + num_place),), pop.clock.dtype, minval=tiny)
    u = u.reshape(pop.capacity, 4 + num_place)
    return u[:, 0], u[:, 1], u[:, 2], u[:, 3], u[:, 4:]


def _draw_periods(model: DivisionModel, pop: Population, u_period):
    """Periods after this step's draws, and their log-density.

    Each cell draws its period at its first step, so daughters get independent periods.
    """
    period = pop.period
    if model.cycle is None:
        return period, jnp.zeros((), pop.clock.dtype)
    drawn, drawn_lp = model.cycle.draw(u_period, pop.kind, model.num_kinds)
    need = pop.alive & jnp.isnan(period)
    period = jnp.where(need, drawn.astype(period.dtype), period)
    return period, jnp.sum(jnp.where(need, drawn_lp, 0.0))


def _deaths(model: DivisionModel, pop: Population, clock, period, u_death, u_divide):
    """Which cells die `(C,)`, and the log-probability of those events.

    A cell dies at the death rate (`u_death`), or when its clock reaches its period and the
    cycle ends in apoptosis (`u_divide`, which the hazard reads only for cells whose clock has
    not ended the cycle, so the two uses never meet).
    """
    dies = jnp.zeros(pop.capacity, bool)
    log_prob = jnp.zeros((), pop.clock.dtype)
    if model.death is not None:
        q = event_probability(per_kind(model.death, model.num_kinds)[pop.kind], model.dt)
        dies = pop.alive & (u_death < q)
        log_prob = jnp.sum(jnp.where(pop.alive, relax.bernoulli_log_prob(dies, q), 0.0))
    if model.cycle is not None:
        ended = pop.alive & ~dies & (clock >= period)
        share = model.cycle.death_share(model.num_kinds)[pop.kind].astype(pop.clock.dtype)
        apoptotic = ended & (u_divide < share)
        random = ended & (share > 0) & (share < 1)
        log_prob = log_prob + jnp.sum(jnp.where(random, relax.bernoulli_log_prob(apoptotic, share), 0.0))
        dies = dies | apoptotic
    return dies, log_prob


def _dividers(model: DivisionModel, lattice: Lattice, pop: Population, clock, period, survivors,
              u_divide):
    """Which survivors divide `(C,)` (clock reached its period, or a hazard event), and the
    log-probability of the hazard events."""
    # NaN periods (no cycle) compare False.
    by_clock = survivors & (clock >= period)
    if model.hazard is None and model.external is None:
        return by_clock, jnp.zeros((), clock.dtype)
    cap = pop.capacity
    h = jnp.zeros(cap, clock.dtype)
    if model.hazard is not None:
        h = h + per_kind(model.hazard, model.num_kinds)[pop.kind]
    if model.external is not None:
        h = h + jnp.broadcast_to(model.external(lattice, pop), (cap,))
    p = event_probability(h, model.dt)
    by_hazard = survivors & (u_divide < p)
    # A hazard draw matters only for cells the clock does not already divide.
    open_ = survivors & ~by_clock
    log_prob = jnp.sum(jnp.where(open_, relax.bernoulli_log_prob(by_hazard, p), 0.0))
    return by_clock | by_hazard, log_prob


def _place_daughters(model: DivisionModel, lattice: Lattice, pop: Population, occ, divide,
                     u_order, u_place):
    """Place the daughters of the dividing cells, one mother at a time in a random order, so two
    divisions never claim the same site and shoves see each other's moves.

    Returns `(occupancy, position, num_cells, first, dropped, blocked)`: `first[m]` is the slot
    of mother `m`'s daughter A (B takes the next one), -1 where `m` did not divide.
    """
    cap, num_sites = pop.capacity, lattice.num_sites
    order = jnp.argsort(jnp.where(divide, u_order, 2.0))
    num_divide = jnp.sum(divide)
    shape = jnp.asarray(lattice.shape, jnp.int32)

    def body(carry):
        i, occ, pos, nxt, first, dropped, blocked = carry
        cell = order[i]
        room = nxt + 2 <= cap
        ok, target, occ_p, pos_p = model.placement.place(
            lattice, occ, pos, cell, pop.kind[cell], u_place[cell]
        )
        do = ok & room
        occ = jnp.where(do, occ_p, occ)
        pos = jnp.where(do, pos_p, pos)
        here = pos[cell]
        occ = occ.at[jnp.where(do, flat_index(lattice, here), num_sites)].set(nxt, mode="drop")
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
    return occ, position, num_cells, first, dropped, blocked


def _write_daughters(model: DivisionModel, lattice: Lattice, pop: Population, *, clock, period,
                     survivors, dies, placed) -> Population:
    """The population after the step: mothers retired, daughters in their slots, status updated."""
    occ, position, num_cells, first, dropped, blocked = placed
    cap, t_new = pop.capacity, pop.t + 1
    divided = first >= 0
    # Daughters of mother m take slots first[m] (A) and first[m] + 1 (B); one scatter per field.
    slot_ab = jnp.concatenate([jnp.where(divided, first, cap), jnp.where(divided, first + 1, cap)])
    kind_a, kind_b = model.table.arrays()

    def put(arr, value_a, value_b=None):
        value_b = value_a if value_b is None else value_b
        return arr.at[slot_ab].set(jnp.concatenate([value_a, value_b]), mode="drop")

    return Population(
        alive=put(survivors & ~divided, jnp.ones(cap, bool)),
        kind=put(pop.kind, kind_a[pop.kind], kind_b[pop.kind]),
        parent=put(pop.parent, jnp.arange(cap, dtype=jnp.int32)),
        birth=put(pop.birth, jnp.broadcast_to(t_new, (cap,))),
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


def _record(model: DivisionModel, new: Population, *, divided, dies, blocked, log_prob) -> History:
    """The step's entry in the `History`."""
    return History(
        count=jnp.zeros(model.num_kinds, jnp.int32).at[new.kind].add(new.alive.astype(jnp.int32)),
        num_divisions=jnp.sum(divided).astype(jnp.int32),
        num_deaths=jnp.sum(dies).astype(jnp.int32),
        num_blocked=blocked,
        log_prob=log_prob,
        alive=new.alive,
        t=new.t,
    )


def step(model: DivisionModel, lattice: Lattice, pop: Population, key: jax.Array):
    """One step of division and death: `(next population, the step's History record)`.

    Unchecked and unbatched; `simulate` checks its inputs and scans this with the step key
    `fold_in(key, pop.t)`.
    """
    u_period, u_death, u_divide, u_order, u_place = _draws(key, pop, lattice)
    clock = jnp.where(pop.alive, pop.clock + model.dt, pop.clock)
    period, lp_period = _draw_periods(model, pop, u_period)
    dies, lp_death = _deaths(model, pop, clock, period, u_death, u_divide)
    survivors = pop.alive & ~dies
    occ = pop.occupancy.reshape(-1)
    occ = occ.at[jnp.where(dies, flat_index(lattice, pop.position), lattice.num_sites)].set(
        -1, mode="drop")
    divide, lp_divide = _dividers(model, lattice, pop, clock, period, survivors, u_divide)
    placed = _place_daughters(model, lattice, pop, occ, divide, u_order, u_place)
    new = _write_daughters(model, lattice, pop, clock=clock, period=period, survivors=survivors,
                           dies=dies, placed=placed)
    record = _record(model, new, divided=placed[3] >= 0, dies=dies, blocked=placed[5],
                     log_prob=lp_period + lp_death + lp_divide)
    return new, record


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _simulate(model, lattice, population, key, *, num_steps):
    def body(pop, _):
        return step(model, lattice, pop, jax.random.fold_in(key, pop.t))

    return jax.lax.scan(body, population, None, length=num_steps)


def _raise_overflow(overflow, capacity):
    if np.any(np.asarray(overflow)):
        raise CapacityError(
            f"simulate: capacity must hold every cell born in the run, but capacity={capacity} "
            "was too small, so some divisions were refused (status.overflow is set). Raise "
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
      >>> from rules.division import DifferentiationTable, DivisionModel
      >>> from rules.population import Population
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
        raise fail("simulate", f"lattice must be an automata.Lattice, got {type(lattice).__name__}.",
                   TypeError)
    check_inputs(model, lattice, population, owner="simulate")
    num_steps = check_int(num_steps, "num_steps", 1, owner="simulate")
    key = check_key(key, owner="simulate")
    final, history = _simulate(model, lattice, population, key, num_steps=num_steps)
    if throw:
        overflow = concrete(final.status.overflow)
        if overflow is not None:
            _raise_overflow(overflow, population.capacity)
        else:
            jax.debug.callback(functools.partial(_raise_overflow, capacity=population.capacity),
                               final.status.overflow)
    return final, history
