"""The relaxed division model: expected counts of a mean-field, age-structured branching process,
its divisions by birth step, and the same layout read from a run.

`expected_counts` follows the expected number of cells of each kind and age, so a loss on it is a
smooth function of the parameters with exact gradients; `temperature` smooths the cell-cycle
clock. `expected_divisions` gives the cycle lengths behind those counts, and `divisions_by_birth`
reads the same layout from a simulated or observed population.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from automata._checks import as_float, check_int, check_number, concrete, fail
from rules._perkind import per_kind
from rules.division import renewal
from rules.division.model import DivisionModel, History, check_inputs
from rules.hazard import event_probability
from rules.population import Population

__all__ = ["divisions_by_birth", "expected_counts", "expected_divisions"]


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _expected(model, pop, temperature, *, num_steps):
    num_kinds, dt = model.num_kinds, model.dt
    kind_a, kind_b = model.table.arrays()
    # offspring[k, j]: daughters of kind j from one division of kind k.
    offspring = jax.nn.one_hot(kind_a, num_kinds) + jax.nn.one_hot(kind_b, num_kinds)
    dtype = as_float(pop.clock).dtype
    kinds = jnp.arange(num_kinds)
    cycle = model.cycle

    def log_surv(clock, kind):
        if cycle is None:
            return jnp.zeros(jnp.broadcast_shapes(jnp.shape(clock), jnp.shape(kind)), dtype)
        return cycle.log_survival(clock, kind, num_kinds, temperature)

    share = jnp.zeros(num_kinds, dtype) if cycle is None else cycle.death_share(num_kinds).astype(dtype)

    def fates(mass, kind, log_s, log_s_prev, p_h, q):
        # Conditional probability that the cycle ends in this step, given not before; an ended
        # cycle is a death with probability share[kind], else a division.
        p_c = -jnp.expm1(jnp.minimum(log_s - log_s_prev, 0.0))
        live = mass * (1.0 - q[kind])
        ended = live * p_c
        by_hazard = live * (1.0 - p_c) * p_h[kind]
        stay = live * (1.0 - p_c) * (1.0 - p_h[kind])
        return stay, ended * (1.0 - share[kind]) + by_hazard, mass * q[kind] + ended * share[kind]

    root_kind = pop.kind
    root_mass = pop.alive.astype(dtype)
    drawn = ~jnp.isnan(pop.period)
    # A drawn period is known to exceed the clock; an undrawn one is drawn afresh.
    root_prev = jnp.where(drawn & pop.alive, log_surv(pop.clock, root_kind), 0.0)
    cohort = jnp.zeros((num_steps, num_kinds), dtype)
    q = (jnp.zeros(num_kinds, dtype) if model.death is None
         else event_probability(per_kind(model.death, num_kinds), dt))
    # Cohort b was born in step b, so in step s its clock reads (s - b) * dt: the survival of
    # every age is computed once. table[j] is the log survival at age max(num_steps - j, 0)
    # steps, so rows num_steps - s + b (this step) and one further (the last) line up with b.
    ages = jnp.maximum(num_steps - jnp.arange(2 * num_steps + 1), 0).astype(dtype) * dt
    table = log_surv(ages[:, None], kinds[None, :])

    def body(carry, s):
        root_mass, root_prev, cohort = carry
        counts = jnp.zeros(num_kinds, dtype).at[root_kind].add(root_mass) + jnp.sum(cohort, 0)
        h = jnp.zeros(num_kinds, dtype)
        if model.hazard is not None:
            h = h + per_kind(model.hazard, num_kinds)
        if model.external is not None:
            h = h + model.external.mean_field(counts)
        p_h = event_probability(h, dt)
        log_s = log_surv(pop.clock + (s + 1) * dt, root_kind)
        root_mass, root_div, root_die = fates(root_mass, root_kind, log_s, root_prev, p_h, q)
        c_s = jax.lax.dynamic_slice_in_dim(table, num_steps - s, num_steps)
        c_prev = jax.lax.dynamic_slice_in_dim(table, num_steps - s + 1, num_steps)
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


@functools.lru_cache(maxsize=256)
def _rounds(daughters) -> int | None:
    return renewal.rounds(daughters)


@functools.partial(jax.jit, static_argnames=("num_steps", "num_rounds"))
def _expected_renewal(model, pop, temperature, *, num_steps, num_rounds):
    count, num_div, num_death = renewal.expected(model, pop, temperature, num_steps=num_steps,
                                                 num_rounds=num_rounds)
    zeros = jnp.zeros(num_steps, count.dtype)
    return History(count=count, num_divisions=num_div, num_deaths=num_death, num_blocked=zeros,
                   log_prob=zeros, alive=None, t=pop.t + 1 + jnp.arange(num_steps, dtype=jnp.int32))


def _check_expected(model, population, num_steps, temperature, owner):
    check_inputs(model, None, population, owner=owner)
    num_steps = check_int(num_steps, "num_steps", 1, owner=owner)
    if concrete(temperature) is not None:
        check_number(temperature, "temperature", minimum=0.0, open_minimum=True, owner=owner,
                     hint="Use a small value such as 0.05 for a sharp clock.")
    if model.external is not None and not hasattr(model.external, "mean_field"):
        raise fail(owner, f"model.external must have mean_field(counts) -> (num_kinds,) hazards, "
                          f"and {type(model.external).__name__} has none. Add a mean_field method "
                          "(see PayoffHazard) or use simulate with the score-function estimator.",
                   TypeError)
    return num_steps, jnp.asarray(temperature, as_float(population.clock).dtype)


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

    Without an `external` term, and when kinds divide into each other in no cycle other than
    self-renewal, the same expectation is computed without a loop over steps, as the solution
    of a renewal equation (`rules.division.renewal`): much faster for long runs with many
    kinds, equal to the step-by-step recursion to rounding.

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
      >>> from rules.division import CellCycle, DifferentiationTable, DivisionModel
      >>> from rules.population import Population
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
    num_rounds = None if model.external is not None else _rounds(model.table.daughters)
    if num_rounds is not None:
        return _expected_renewal(model, population, temperature, num_steps=num_steps,
                                 num_rounds=num_rounds)
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
      >>> from rules.division import CellCycle, DifferentiationTable, DivisionModel
      >>> from rules.population import Population
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

    Example:
      >>> import jax, automata
      >>> from rules.division import CellCycle, DifferentiationTable, DivisionModel, simulate
      >>> lat = automata.Lattice((16,))
      >>> pop = Population.create(lat, [[8]], [0], capacity=8)
      >>> model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=3.0))
      >>> final, _ = simulate(model, lat, pop, key=jax.random.key(0), num_steps=6)
      >>> d = divisions_by_birth(final, start=0, num_steps=6, num_kinds=1)
      >>> int(d[5, 2, 0])  # both daughters born in step 2 divide in step 5
      2
    """
    num_steps = check_int(num_steps, "num_steps", 1, owner="divisions_by_birth")
    k = check_int(num_kinds, "num_kinds", 1, owner="divisions_by_birth", hint="Pass model.num_kinds.")
    b = final.birth - start - 1
    s = final.division - start - 1
    used = jnp.arange(final.capacity) < final.num_cells
    ok = used & (b >= 0) & (s > b) & (s < num_steps)
    flat = jnp.where(ok, (s * num_steps + b) * k + final.kind, num_steps * num_steps * k)
    out = jnp.zeros(num_steps * num_steps * k, jnp.int32).at[flat].add(1, mode="drop")
    return out.reshape(num_steps, num_steps, k)
