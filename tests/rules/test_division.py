"""Division timing, placement, differentiation, transformations, errors and gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.stats import norm

import automata
from automata import relax
from rules.division import (
    C_ELEGANS_FOUNDERS,
    CellCycle,
    DifferentiationTable,
    DivisionModel,
    Exclusion,
    PayoffHazard,
    Shove,
    _step,
    c_elegans_founders,
    divisions_by_birth,
    expected_counts,
    expected_divisions,
    simulate,
)
from rules.hazard import event_probability
from rules.lineage import check_lineage, lineage_graph
from rules.population import Population

LAT = automata.Lattice((8, 8))
KEY = jax.random.key(0)


def run(model, pop, num_steps, key=KEY, lattice=LAT):
    return simulate(model, lattice, pop, key=key, num_steps=num_steps)


# ---------------------------------------------------------------------------- timing
def test_zero_noise_cycle_divides_exactly_at_its_period():
    model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=1.5),
                          dt=0.5)
    pop = Population.create(LAT, [[4, 4]], [0], capacity=16)
    final, h = run(model, pop, 7)
    # 1.5 minutes = 3 steps of 0.5: divisions at steps 3 and 6.
    np.testing.assert_array_equal(h.num_divisions, [0, 0, 1, 0, 0, 2, 0])
    np.testing.assert_array_equal(h.count[:, 0], [1, 1, 2, 2, 2, 4, 4])
    assert int(final.division[0]) == 3
    np.testing.assert_array_equal(final.birth[1:3], [3, 3])
    np.testing.assert_array_equal(final.division[1:3], [6, 6])
    np.testing.assert_allclose(final.period[:3], 1.5)
    np.testing.assert_allclose(final.clock[3:7], 0.5)  # born at step 6, one step old
    check_lineage(final)


def test_noisy_cycle_draws_a_period_per_cell():
    model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=1.5, cv=0.3),
                          dt=0.5)
    roots = [[i, j] for i in range(0, 8, 2) for j in range(0, 8, 2)]
    pop = Population.create(LAT, roots, [0] * 16, capacity=16)
    final, _ = run(model, pop, 7)
    periods = np.asarray(final.period)
    assert np.all(np.isfinite(periods)) and len(np.unique(periods)) == 16
    assert 0.8 < np.median(periods) < 2.5


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


def test_c_elegans_founders_from_p0():
    table = c_elegans_founders()
    assert table.names == C_ELEGANS_FOUNDERS
    period = np.full(table.num_kinds, np.inf, np.float32)
    for name in ("P0", "P1", "EMS", "P2", "P3"):
        period[C_ELEGANS_FOUNDERS.index(name)] = 2.0
    model = DivisionModel(table=table, cycle=CellCycle(period=jnp.asarray(period)))
    pop = Population.create(LAT, [[4, 4]], [C_ELEGANS_FOUNDERS.index("P0")], capacity=16)
    final, _ = run(model, pop, 9)
    alive = sorted(C_ELEGANS_FOUNDERS[k] for k in np.asarray(final.kind)[np.asarray(final.alive)])
    assert alive == sorted(["AB", "MS", "E", "C", "D", "P4"])
    g = lineage_graph(final, names=table.names)
    children = {g.nodes[n]["name"]: sorted(g.nodes[c]["name"] for c in g.successors(n)) for n in g}
    assert children["P0"] == ["AB", "P1"] and children["P1"] == ["EMS", "P2"]
    assert children["EMS"] == ["E", "MS"] and children["P2"] == ["C", "P3"]
    assert children["P3"] == ["D", "P4"]
    # Daughter A (the table's first kind) takes the lower of the two new slots.
    for n in g:
        kids = list(g.successors(n))
        if kids:
            a = min(kids)
            assert int(final.kind[a]) == table.daughters[g.nodes[n]["kind"]][0]


def test_table_helpers_and_asymmetric_division():
    t = DifferentiationTable.from_names(["stem", "diff"], {"stem": ("stem", "diff")})
    assert t.daughters == ((0, 1), (1, 1)) and t.num_kinds == 2
    model = DivisionModel(table=t, cycle=CellCycle(period=jnp.array([1.0, jnp.inf])))
    pop = Population.create(LAT, [[4, 4]], [0], capacity=16)
    _, h = run(model, pop, 3)
    np.testing.assert_array_equal(h.count, [[1, 1], [1, 2], [1, 3]])


# ---------------------------------------------------------------------------- placement
@pytest.mark.parametrize("direction, offset", [((0.0, 1.0), (0, 1)), ((-1.0, 0.0), (-1, 0)),
                                               ((1.0, 1.0), (1, 1))])
def test_oriented_division_goes_along_the_vector(direction, offset):
    model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=1.0),
                          placement=Exclusion(direction=jnp.array([direction])))
    pop = Population.create(LAT, [[4, 4]], [0], capacity=4)
    final, _ = run(model, pop, 1)
    np.testing.assert_array_equal(final.position[1], [4, 4])
    np.testing.assert_array_equal(final.position[2], np.add([4, 4], offset))


def test_oriented_division_takes_the_best_free_site():
    model = DivisionModel(table=DifferentiationTable.symmetric(2),
                          cycle=CellCycle(period=jnp.array([1.0, jnp.inf])),
                          placement=Exclusion(direction=jnp.array([[0.0, 1.0], [0.0, 1.0]])))
    # The site along the vector is taken, so the next best (a diagonal) is used.
    pop = Population.create(LAT, [[4, 4], [4, 5]], [0, 1], capacity=8)
    final, _ = run(model, pop, 1)
    assert tuple(np.asarray(final.position[3])) in {(3, 5), (5, 5)}


def test_exclusion_blocks_when_crowded_and_never_stacks_cells():
    lat = automata.Lattice((3, 3), boundary="fixed")
    model = DivisionModel(table=DifferentiationTable.symmetric(1), cycle=CellCycle(period=1.0))
    pop = Population.create(lat, [[1, 1]], [0], capacity=64)
    final, h = run(model, pop, 5, lattice=lat)
    assert int(final.num_alive) == 9  # the lattice is full, one cell per site
    assert int(final.status.num_blocked) > 0 and int(h.num_blocked.sum()) == int(final.status.num_blocked)
    check_lineage(final)


def test_shove_pushes_the_line():
    lat = automata.Lattice((6,), boundary="fixed")
    table = DifferentiationTable(daughters=((1, 1), (1, 1)))
    model = DivisionModel(table=table, cycle=CellCycle(period=jnp.array([1.0, jnp.inf])),
                          placement=Shove(axis=0))
    # Cell 0 at the left edge divides; pushing left is blocked, pushing right moves cells 1, 2.
    pop = Population.create(lat, [[0], [1], [2]], [0, 1, 1], capacity=8)
    final, h = run(model, pop, 8, lattice=lat)
    assert int(h.num_divisions.sum()) == 1
    np.testing.assert_array_equal(np.asarray(final.occupancy), [3, 4, 1, 2, -1, -1])
    np.testing.assert_array_equal(final.position[:5, 0], [0, 2, 3, 0, 1])
    check_lineage(final)


def test_shove_is_blocked_by_a_full_line():
    lat = automata.Lattice((6,), boundary="fixed")
    table = DifferentiationTable(daughters=((1, 1), (1, 1)))
    model = DivisionModel(table=table, cycle=CellCycle(period=jnp.array([1.0, jnp.inf])),
                          placement=Shove(axis=0))
    pop = Population.create(lat, [[i] for i in range(6)], [1, 0, 1, 1, 1, 1], capacity=8)
    final, h = run(model, pop, 8, lattice=lat)
    assert int(h.num_divisions.sum()) == 0 and int(final.status.num_blocked) == 8
    np.testing.assert_array_equal(np.asarray(final.occupancy), np.arange(6))


def test_shove_wraps_around_a_ring():
    lat = automata.Lattice((5,), boundary="wrap")
    table = DifferentiationTable(daughters=((1, 1), (1, 1)))
    model = DivisionModel(table=table, cycle=CellCycle(period=jnp.array([1.0, jnp.inf])),
                          placement=Shove(axis=0))
    pop = Population.create(lat, [[0], [1], [4]], [0, 1, 1], capacity=8)
    final, _ = run(model, pop, 1, lattice=lat)
    assert int(final.num_alive) == 4
    check_lineage(final)


def test_payoff_hazard_counts_neighbours():
    lat = automata.Lattice((6, 6), neighbourhood="von_neumann", boundary="fixed")
    game = PayoffHazard(payoff=jnp.array([[1.0, 3.0], [0.5, 2.0]]), base_rate=0.1, selection=1.0)
    pop = Population.create(lat, [[0, 0], [0, 1], [1, 0], [4, 4]], [0, 1, 0, 1], capacity=8)
    h = game(lat, pop)
    # cell 0: neighbours kinds 1 and 0 -> mean(3, 1) = 2; cell 1: neighbour 0 -> 0.5;
    # cell 2: neighbour 0 -> 1; cell 3: alone -> payoff 0.
    np.testing.assert_allclose(h[:4], 0.1 * np.array([2.0, 0.5, 1.0, 0.0]), rtol=1e-6)
    np.testing.assert_allclose(game.mean_field(jnp.array([1.0, 3.0])), 0.1 * np.array([2.5, 1.625]))


# ---------------------------------------------------------------------------- transformations
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


def test_jit_equals_eager_and_chunks_reproduce():
    first, _ = run(MIXED, MIXED_POP, 1)
    with jax.disable_jit():  # op by op, loops in Python: one step keeps it quick
        eager, _ = _step(MIXED, LAT, MIXED_POP, jax.random.fold_in(KEY, 0))
    assert_same(first, eager)
    assert int(first.num_cells) > 3  # the step did divide cells
    final, _ = run(MIXED, MIXED_POP, 2)
    second, _ = run(MIXED, first, 1)
    assert_same(final, second)


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


# ---------------------------------------------------------------------------- errors
ONE = DifferentiationTable.symmetric(2)
POP2 = Population.create(LAT, [[1, 1]], [0], capacity=4)


@pytest.mark.parametrize(
    "model_kwargs, match",
    [
        (dict(hazard=jnp.ones(3)), r"hazard has shape \(3,\), expected a scalar or shape \(2,\)"),
        (dict(hazard=-0.1), "hazard must be >= 0"),
        (dict(death=jnp.array([0.1, jnp.nan])), "death must be >= 0"),
        (dict(cycle=CellCycle(period=0.0)), r"CellCycle.period must be > 0.0 \(inf allowed\)"),
        (dict(cycle=CellCycle(period=5.0, cv=-0.1)), "CellCycle.cv must be >= 0"),
        (dict(external=PayoffHazard(payoff=jnp.ones((2, 2)), base_rate=0.1, selection=1.5)),
         r"selection must be in \[0.0, 1.0\]"),
        (dict(external=PayoffHazard(payoff=jnp.ones((3, 3)), base_rate=0.1)),
         r"payoff has shape \(3, 3\), expected \(2, 2\)"),
        (dict(placement=Exclusion(direction=jnp.ones((2, 3)))), r"direction has shape \(2, 3\)"),
        (dict(placement=Shove(axis=2)), "Shove.axis must be an axis of the lattice"),
        (dict(placement="exclusion"), "placement must be Exclusion"),
    ],
)
def test_model_errors(model_kwargs, match):
    model = DivisionModel(table=ONE, **model_kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        simulate(model, LAT, POP2, key=KEY, num_steps=1)


def test_table_and_config_errors():
    with pytest.raises(ValueError, match=r"divides into \(0, 2\), but the table only knows kinds 0 .. 1"):
        DifferentiationTable(daughters=((0, 2), (1, 1)))
    with pytest.raises(ValueError, match="Unknown kind 'Q'"):
        DifferentiationTable.from_names(["P0", "AB"], {"P0": ("AB", "Q")})
    with pytest.raises(ValueError, match="one name per kind"):
        DifferentiationTable(daughters=((0, 0),), names=("a", "b"))
    with pytest.raises(ValueError, match="dt is minutes per step and must be positive"):
        DivisionModel(table=ONE, dt=0.0)
    model = DivisionModel(table=ONE, hazard=0.1)
    with pytest.raises(ValueError, match="num_steps must be at least 1"):
        simulate(model, LAT, POP2, key=KEY, num_steps=0)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        simulate(model, LAT, POP2, key=None, num_steps=1)
    with pytest.raises(ValueError, match="temperature must be a positive"):
        expected_counts(model, POP2, num_steps=2, temperature=0.0)


# ---------------------------------------------------------------------------- relaxed gradients
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
    with pytest.raises(ValueError, match="temperature must be a positive"):
        expected_divisions(model, one, num_steps=4, temperature=0.0)
    with pytest.raises(TypeError, match="num_kinds must be an integer >= 1, got float 1.5. Pass model.num_kinds."):
        divisions_by_birth(one, start=0, num_steps=4, num_kinds=1.5)
    with pytest.raises(ValueError, match="num_kinds must be at least 1"):
        divisions_by_birth(one, start=0, num_steps=4, num_kinds=0)


# ---------------------------------------------------------------------------- score function
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
