"""simulate: rates, transformations (jit, chunks, vmap) and score-function gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import norm

import automata
from automata import relax
from rules.division import (
    CellCycle,
    DifferentiationTable,
    DivisionModel,
    PayoffHazard,
    expected_counts,
    simulate,
)
from rules.division.simulation import step
from rules.hazard import event_probability
from rules.population import Population

LAT = automata.Lattice((8, 8))
KEY = jax.random.key(0)


def run(model, pop, num_steps, key=KEY, lattice=LAT):
    return simulate(model, lattice, pop, key=key, num_steps=num_steps)


@pytest.mark.slow
def test_empirical_division_and_death_rates_match_hazards():
    h_div, h_death, dt = 0.1, 0.05, 1.0
    model = DivisionModel(table=DifferentiationTable.symmetric(1), hazard=h_div, death=h_death, dt=dt)
    roots = [[i, j] for i in range(0, 8, 2) for j in range(0, 8, 2)]
    pop = Population.create(LAT, roots, [0] * 16, capacity=48)
    keys = jax.random.split(jax.random.key(42), 200)
    _, h = jax.vmap(lambda k: run(model, pop, 1, key=k))(keys)
    trials = 16 * 200
    q = float(event_probability(h_death, dt))
    p = float(event_probability(h_div, dt))
    deaths = float(h.num_deaths.sum()) / trials
    # Division is tried by the cells that survive; tolerance 4 standard errors.
    divisions = float(h.num_divisions.sum()) / float(trials - h.num_deaths.sum())
    assert abs(deaths - q) < 4 * np.sqrt(q * (1 - q) / trials)
    assert abs(divisions - p) < 4 * np.sqrt(p * (1 - p) / trials)
    assert int(h.num_blocked.sum()) == 0


MIXED = DivisionModel(table=DifferentiationTable(daughters=((0, 1), (1, 1))),
                      cycle=CellCycle(period=jnp.array([2.0, 3.0]), cv=0.2),
                      hazard=jnp.array([0.05, 0.1]), death=0.05, dt=1.0)


MIXED_POP = Population.create(LAT, [[1, 1], [5, 5], [2, 6]], [0, 1, 0], capacity=48,
                              features=[[1.0], [2.0], [3.0]], clocks=[3.0, 5.0, 0.0])


def assert_same(a, b):
    """Integer and boolean fields exactly; floats to rounding (fusion may reorder operations)."""
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        if jnp.issubdtype(x.dtype, jnp.inexact):
            np.testing.assert_allclose(x, y, rtol=1e-6)
        else:
            np.testing.assert_array_equal(x, y)


@pytest.mark.slow
def test_jit_equals_eager_and_chunks_reproduce():
    first, _ = run(MIXED, MIXED_POP, 1)
    with jax.disable_jit():  # op by op, loops in Python: one step keeps it quick
        eager, _ = step(MIXED, LAT, MIXED_POP, jax.random.fold_in(KEY, 0))
    assert_same(first, eager)
    assert int(first.num_cells) > 3  # the step did divide cells
    final, _ = run(MIXED, MIXED_POP, 2)
    second, _ = run(MIXED, first, 1)
    assert_same(final, second)


@pytest.mark.slow
def test_vmap_over_keys_and_parameters_equals_a_loop():
    keys = jax.random.split(jax.random.key(3), 3)
    periods = jnp.array([[2.0, 3.0], [2.0, 3.0], [50.0, 50.0]])
    model_of = lambda p: MIXED.replace(cycle=MIXED.cycle.replace(period=p))
    finals, hs = jax.vmap(lambda p, k: run(model_of(p), MIXED_POP, 2, key=k))(periods, keys)
    for i, k in enumerate(keys):
        f, h = run(model_of(periods[i]), MIXED_POP, 2, key=k)
        np.testing.assert_array_equal(hs.count[i], h.count)
        np.testing.assert_array_equal(finals.kind[i], f.kind)
        np.testing.assert_array_equal(finals.features[i], f.features)
    assert hs.count.shape == (3, 2, 2)


# One model structure serves three closed-form cases, so the estimator compiles once. Kinds:
# 0 divides into 0 (a Galton-Watson process), 1 divides by the clock into 2, 2 never divides.
SF_LAT = automata.Lattice((9, 9))  # 8 neighbours: up to 8 cells a division is never blocked


SF_TABLE = DifferentiationTable(daughters=((0, 0), (2, 2), (2, 2)))


SF_STEPS, SF_KEYS = 5, 3000


INF = jnp.inf


def sf_model(period=(INF, INF, INF), cv=0.25, hazard=(0.0, 0.0, 0.0), death=(0.0, 0.0, 0.0),
             payoff=np.zeros((3, 3)), base_rate=0.0):
    return DivisionModel(table=SF_TABLE, cycle=CellCycle(period=jnp.asarray(period), cv=cv),
                         hazard=jnp.asarray(hazard), death=jnp.asarray(death),
                         external=PayoffHazard(payoff=jnp.asarray(payoff, jnp.float32),
                                               base_rate=base_rate, selection=0.5))


def sf_pop(positions, kinds):
    return Population.create(SF_LAT, positions, kinds, capacity=16)


@jax.jit
def sf_gradients(model, pop, quad, lin, horizon, baseline, keys):
    """Score-function gradients of `sum_t quad_t N_t^2 + lin_t N_t`, one per key.

    Only the events of the first `horizon` steps can change the loss, so only their
    log-probability enters (later events' scores have zero mean; leaving them out lowers the
    variance and keeps the estimator unbiased).
    """

    def surrogate(model, key):
        _, h = simulate(model, SF_LAT, pop, key=key, num_steps=SF_STEPS)
        n = h.count.sum(-1).astype(jnp.float32)
        loss = jnp.sum(quad * n ** 2 + lin * n)
        log_prob = jnp.sum(jnp.where(jnp.arange(SF_STEPS) < horizon, h.log_prob, 0.0))
        return relax.score_function_surrogate(log_prob, loss, baseline)

    return jax.vmap(jax.grad(surrogate), (None, 0))(model, keys)


def assert_unbiased(samples, exact):
    samples, exact = np.asarray(samples), np.asarray(exact)
    mean, se = samples.mean(0), samples.std(0) / np.sqrt(samples.shape[0])
    # An unbiased estimator: within 4 standard errors of the exact gradient.
    assert np.all(np.abs(mean - exact) <= 4 * se + 1e-6), (mean, exact, se)


def _gw_expected_loss(hazard, death, target):
    """E[sum_t (N_t - y_t)^2] for a Galton-Watson process with 0, 1 or 2 offspring per step."""
    p, q = event_probability(hazard, 1.0), event_probability(death, 1.0)
    mu = (1 - q) * (1 + p)
    var1 = (1 - q) * (1 - p) + 4 * (1 - q) * p - mu ** 2
    t = jnp.arange(1, 4)
    mean = mu ** t
    var = var1 * mu ** (t - 1) * (mu ** t - 1) / (mu - 1)
    return jnp.sum(var + (mean - target) ** 2)


@pytest.mark.slow
def test_score_function_hazard_and_death():
    target = jnp.array([1.0, 1.5, 2.0])
    hazard, death = 0.3, 0.1
    exact = jax.grad(_gw_expected_loss, argnums=(0, 1))(hazard, death, target)
    for i, e in enumerate(exact):  # the closed form itself against finite differences
        args = [hazard, death]
        up, dn = list(args), list(args)
        up[i] += 1e-3
        dn[i] -= 1e-3
        fd = (float(_gw_expected_loss(*up, target)) - float(_gw_expected_loss(*dn, target))) / 2e-3
        np.testing.assert_allclose(float(e), fd, rtol=2e-2)
    quad = jnp.array([1.0, 1.0, 1.0, 0.0, 0.0])
    lin = -2 * jnp.concatenate([target, jnp.zeros(2)])
    model = sf_model(hazard=(hazard, 0.0, 0.0), death=(death, 0.0, 0.0))
    keys = jax.random.split(jax.random.key(7), SF_KEYS)
    g = sf_gradients(model, sf_pop([[4, 4]], [0]), quad, lin, 3, -3.0, keys)
    assert_unbiased(g.hazard[:, 0], exact[0])
    assert_unbiased(g.death[:, 0], exact[1])


@pytest.mark.slow
def test_score_function_and_relaxed_for_the_cycle_period():
    # One clock division (the daughters never divide): E[N_t] = 1 + F(t dt), F lognormal.
    weights = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0])
    sigma = np.sqrt(np.log1p(0.25 ** 2))

    def expected(period):
        t = jnp.arange(1.0, 6.0)
        return jnp.sum(weights * (1 + norm.cdf((jnp.log(t) - jnp.log(period)) / sigma)))

    def relaxed(period):
        model = sf_model(period=jnp.stack([INF, period, INF]))
        h = expected_counts(model, sf_pop([[4, 4]], [1]), num_steps=5, temperature=1e-3)
        return jnp.sum(weights * h.count.sum(-1))

    exact = float(jax.grad(expected)(3.0))
    np.testing.assert_allclose(float(jax.grad(relaxed)(3.0)), exact, rtol=1e-2)
    model = sf_model(period=(INF, 3.0, INF))
    keys = jax.random.split(jax.random.key(1), SF_KEYS)
    g = sf_gradients(model, sf_pop([[4, 4]], [1]), jnp.zeros(5), weights, 5,
                     float(expected(3.0)), keys)
    assert_unbiased(g.cycle.period[:, 1], exact)


@pytest.mark.slow
def test_score_function_for_payoffs():
    # Two neighbours of kinds 0 and 2, one step: payoff_i = A[k_i, k_other],
    # h_i = 0.2 (1 - w + w payoff_i), loss (N_1 - 3)^2.
    def expected_loss(a):
        h = lambda x: 0.2 * (0.5 + 0.5 * x)
        p0, p2 = event_probability(h(a[0, 2]), 1.0), event_probability(h(a[2, 0]), 1.0)
        return p0 * (1 - p0) + p2 * (1 - p2) + (2 + p0 + p2 - 3.0) ** 2

    a = jnp.array([[1.0, 0.0, 2.0], [0.0, 0.0, 0.0], [0.5, 0.0, 1.0]])
    exact = np.asarray(jax.grad(expected_loss)(a))
    model = sf_model(payoff=a, base_rate=0.2)
    quad = jnp.array([1.0, 0.0, 0.0, 0.0, 0.0])
    lin = jnp.array([-6.0, 0.0, 0.0, 0.0, 0.0])
    keys = jax.random.split(jax.random.key(2), SF_KEYS)
    g = sf_gradients(model, sf_pop([[2, 2], [2, 3]], [0, 2]), quad, lin, 1, -8.6, keys)
    assert_unbiased(g.external.payoff, exact)
    assert abs(exact[0, 2]) > 0.01 and abs(exact[2, 0]) > 0.01
