"""The relaxed (mean-field) model: closed forms, gradients, divisions by birth step."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from jax.scipy.stats import norm

from rules.division import (
    CellCycle,
    DifferentiationTable,
    DivisionModel,
    PayoffHazard,
    Shove,
    divisions_by_birth,
    expected_counts,
    expected_divisions,
    simulate,
)
from rules.hazard import event_probability
from rules.population import Population

LAT = automata.Lattice((8, 8))
KEY = jax.random.key(0)


def run(model, pop, num_steps, key=KEY, lattice=LAT):
    return simulate(model, lattice, pop, key=key, num_steps=num_steps)


def _fd(f, x, eps):
    x = np.asarray(x, np.float32)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        out[i] = (float(f(jnp.asarray(x + d))) - float(f(jnp.asarray(x - d)))) / (2 * eps)
    return out


RELAX_POP = Population.create(LAT, [[1, 1], [5, 5]], [0, 1], capacity=4)


TARGET = jnp.linspace(2.0, 6.0, 12)


def _relaxed_loss(period, hazard, death, payoff):
    model = DivisionModel(table=DifferentiationTable(daughters=((0, 1), (1, 1))),
                          cycle=CellCycle(period=period, cv=0.1), hazard=hazard, death=death,
                          external=PayoffHazard(payoff=payoff, base_rate=0.05, selection=0.5))
    h = expected_counts(model, RELAX_POP, num_steps=12, temperature=0.2)
    return jnp.sum((h.count.sum(-1) - TARGET) ** 2)


@pytest.mark.slow
def test_relaxed_gradients_match_finite_differences():
    args = [jnp.array([4.0, 6.0]), jnp.array([0.03, 0.02]), jnp.array([0.01, 0.02]),
            jnp.array([[1.0, 2.0], [0.5, 1.5]])]
    grads = jax.grad(_relaxed_loss, argnums=(0, 1, 2, 3))(*args)
    for i, (g, eps) in enumerate(zip(grads, [1e-2, 1e-3, 1e-3, 1e-2])):
        f = lambda x, i=i: _relaxed_loss(*[x if j == i else a for j, a in enumerate(args)])
        fd = _fd(f, args[i], eps)
        np.testing.assert_allclose(g, fd, rtol=3e-2, atol=3e-2 * np.abs(fd).max())
        assert np.all(np.abs(np.asarray(g)) > 0)


def test_expected_counts_equal_closed_forms():
    # Hazard + death without crowding: E[N_t] = N0 ((1 - q)(1 + p))^t.
    model = DivisionModel(table=DifferentiationTable.symmetric(2), hazard=0.1, death=0.02)
    h = expected_counts(model, RELAX_POP, num_steps=12)
    p, q = float(event_probability(0.1, 1.0)), float(event_probability(0.02, 1.0))
    np.testing.assert_allclose(h.count.sum(-1), 2 * ((1 - q) * (1 + p)) ** np.arange(1, 13), rtol=1e-5)
    # One clock division (daughters never divide): E[N_t] = 1 + F(t dt), F lognormal.
    model = DivisionModel(table=DifferentiationTable(daughters=((1, 1), (1, 1))),
                          cycle=CellCycle(period=jnp.array([4.0, jnp.inf]), cv=0.25))
    one = Population.create(LAT, [[1, 1]], [0], capacity=4)
    h = expected_counts(model, one, num_steps=8, temperature=1e-4)
    sigma = np.sqrt(np.log1p(0.25 ** 2))
    closed = 1 + norm.cdf((np.log(np.arange(1, 9)) - np.log(4.0)) / sigma)
    np.testing.assert_allclose(h.count.sum(-1), closed, rtol=1e-4)


def test_expected_divisions_closed_form_and_totals():
    # Hazard-driven symmetric division from one cell: divisions in step b are p (1 + p)^b, so
    # 2 p (1 + p)^b cells are born in step b, and each divides in step s > b w.p.
    # (1 - p)^(s - b - 1) p.
    steps, hazard = 10, 0.15
    model = DivisionModel(table=DifferentiationTable.symmetric(1), hazard=hazard)
    one = Population.create(LAT, [[3, 3]], [0], capacity=4)
    d = np.asarray(expected_divisions(model, one, num_steps=steps))
    p = float(event_probability(hazard, 1.0))
    s, b = np.meshgrid(np.arange(steps), np.arange(steps), indexing="ij")
    closed = np.where(s > b, 2 * p * (1 + p) ** b * (1 - p) ** np.maximum(s - b - 1, 0) * p, 0.0)
    assert d.shape == (steps, steps, 1)
    np.testing.assert_allclose(d[..., 0], closed, rtol=1e-5, atol=1e-7)
    # Totals: all divisions less the starting cell's own (p (1 - p)^s in step s).
    h = expected_counts(model, one, num_steps=steps)
    roots = p * (1 - p) ** np.arange(steps)
    np.testing.assert_allclose(d.sum((1, 2)), np.asarray(h.num_divisions) - roots, rtol=1e-5,
                               atol=1e-7)


def test_divisions_by_birth_reads_a_deterministic_lineage():
    # cv = 0, period 3: the root divides in step 2 (clock 3), its daughters (born in step 2)
    # in step 5, their daughters (born in step 5) in step 8.
    model = DivisionModel(table=DifferentiationTable(daughters=((1, 1), (1, 1))),
                          cycle=CellCycle(period=3.0), placement=Shove())
    lat = automata.Lattice((16, 16))
    for start in (0, 4):
        pop = Population.create(lat, [[8, 8]], [0], capacity=32).replace(t=jnp.int32(start))
        final, _ = simulate(model, lat, pop, key=KEY, num_steps=9)
        d = np.asarray(divisions_by_birth(final, start=start, num_steps=9, num_kinds=2))
        expected = np.zeros((9, 9, 2), int)
        expected[5, 2, 1] = 2
        expected[8, 5, 1] = 4
        np.testing.assert_array_equal(d, expected)
        # Jittable with the same result.
        jitted = jax.jit(divisions_by_birth, static_argnames=("num_steps", "num_kinds"))
        np.testing.assert_array_equal(jitted(final, start=start, num_steps=9, num_kinds=2), d)


@pytest.mark.slow
def test_expected_divisions_match_the_mean_of_simulations():
    # Clock (cv 0.15) and hazard together, without crowding (a large lattice, few cells): the
    # mean cycle-length histogram of many runs matches the relaxed model's.
    steps = 16
    model = DivisionModel(table=DifferentiationTable(daughters=((0, 1), (1, 1))),
                          cycle=CellCycle(period=jnp.array([4.0, 6.0]), cv=0.15),
                          hazard=jnp.array([0.0, 0.05]), placement=Shove())
    lat = automata.Lattice((48, 48))
    pop = Population.create(lat, [[12, 12], [12, 36], [36, 24]], [0, 0, 0], capacity=512)

    @jax.jit
    def ages(keys):
        def one(k):
            final, _ = simulate(model, lat, pop, key=k, num_steps=steps)
            return divisions_by_birth(final, start=0, num_steps=steps, num_kinds=2)
        return jax.vmap(one)(keys)

    def by_age(d):  # (..., S, B, K) -> (..., age, K)
        s, b = np.meshgrid(np.arange(steps), np.arange(steps), indexing="ij")
        onehot = np.eye(steps)[np.clip(s - b, 0, steps - 1)] * (s > b)[..., None]
        return np.einsum("...sbk,sba->...ak", d, onehot)

    sims = by_age(np.asarray(ages(jax.random.split(KEY, 400)), float))
    model_ages = by_age(np.asarray(expected_divisions(model, pop, num_steps=steps,
                                                      temperature=1e-3)))
    mean, se = sims.mean(0), sims.std(0) / np.sqrt(sims.shape[0])
    assert model_ages.sum() > 10
    np.testing.assert_array_less(np.abs(mean - model_ages), 4 * se + 0.05 * model_ages + 0.02)


def test_divisions_errors():
    model = DivisionModel(table=DifferentiationTable.symmetric(1), hazard=0.1)
    one = Population.create(LAT, [[3, 3]], [0], capacity=4)
    with pytest.raises(ValueError, match="expected_divisions: temperature must be a finite number > 0"):
        expected_divisions(model, one, num_steps=4, temperature=0.0)
    with pytest.raises(TypeError, match="expected_counts: temperature must be a finite number"):
        expected_counts(model, one, num_steps=4, temperature="warm")
    with pytest.raises(TypeError, match="external must have mean_field"):
        expected_counts(model.replace(external=lambda lattice, pop: 0.1), one, num_steps=4)
    with pytest.raises(TypeError, match="num_kinds must be an integer >= 1, got float 1.5. Pass model.num_kinds."):
        divisions_by_birth(one, start=0, num_steps=4, num_kinds=1.5)
    with pytest.raises(ValueError, match="num_kinds must be at least 1"):
        divisions_by_birth(one, start=0, num_steps=4, num_kinds=0)


@pytest.mark.slow
def test_terminal_and_apoptosis_agree_with_the_mean_of_simulations():
    # Kind 0 divides into kind 1; kind 1 exits the cycle (terminal 0.4) or dies at its period
    # (apoptosis 0.25) or divides into more kind 1. The mean counts and deaths of many runs
    # match the relaxed model's at every step.
    steps = 18
    model = DivisionModel(table=DifferentiationTable(daughters=((1, 1), (1, 1))),
                          cycle=CellCycle(period=jnp.array([3.0, 5.0]), cv=0.2,
                                          terminal=jnp.array([0.0, 0.4]),
                                          apoptosis=jnp.array([0.0, 0.25])),
                          placement=Shove())
    lat = automata.Lattice((48, 48))
    pop = Population.create(lat, [[12, 12], [36, 36]], [0, 0], capacity=256)

    @jax.jit
    def runs(keys):
        def one(k):
            _, hist = simulate(model, lat, pop, key=k, num_steps=steps)
            return hist.count, jnp.cumsum(hist.num_deaths)
        return jax.vmap(one)(keys)

    counts, deaths = (np.asarray(x, float) for x in runs(jax.random.split(KEY, 400)))
    hist = expected_counts(model, pop, num_steps=steps, temperature=1e-3)
    for sim, mf in ((counts, np.asarray(hist.count)), (deaths, np.cumsum(np.asarray(hist.num_deaths)))):
        mean, se = sim.mean(0), sim.std(0) / np.sqrt(sim.shape[0])
        np.testing.assert_array_less(np.abs(mean - mf), 4 * se + 0.03 * np.abs(mf) + 0.05)
    assert deaths[:, -1].mean() > 1.0  # apoptosis happened
    # Without fates the same model grows more: the test can tell them apart.
    plain = expected_counts(model.replace(cycle=model.cycle.replace(terminal=0.0, apoptosis=0.0)),
                            pop, num_steps=steps, temperature=1e-3)
    assert float(plain.count[-1].sum()) > 1.5 * counts[:, -1].sum(-1).mean()
