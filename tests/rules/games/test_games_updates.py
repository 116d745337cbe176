"""Update rules: imitate-best and its relaxation, Fermi, Moran death-birth and birth-death."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from automata import Asynchronous, Lattice, LatticeState, rollout, step
from rules import games
from rules.games import SpatialGame


def random_strategies(seed, shape, probs):
    """Strategy indices drawn independently per site with the given probabilities."""
    rng = np.random.default_rng(seed)
    return rng.choice(len(probs), size=shape, p=probs).astype(np.int32)


def test_imitate_best_tie_rule():
    # Rows constant: strategies 1 and 2 earn one per partner, strategy 0 nothing.
    payoff = jnp.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    lat = Lattice((5,), neighbourhood="moore")
    x = jnp.array([2, 0, 1, 2, 1], jnp.int32)[:, None]
    out = SpatialGame(payoff)(lat, LatticeState(x=x), key=None)[:, 0]
    # Site 1 (strategy 0) sees 2 and 1 tied at the best payoff: the lower index, 1, wins.
    # Sites with 1 or 2 equal the best payoff around them, so they keep their own strategy.
    np.testing.assert_array_equal(out, [2, 1, 1, 2, 1])


# Reshuffling all players before every step removes spatial structure. Under the Fermi rule with
# noise K, a cooperator copies a defector with probability sigmoid((P_D - P_C) / K) and vice
# versa, so the cooperator fraction x changes on average by x (1 - x) E[tanh((P_C - P_D) / 2K)].
# With k partners each, the two compared players meet k - 1 random partners and each other:
# E[P_C - P_D] = (k - 1) g(x) + A[0, 1] - A[1, 0], with g(x) = (A x)_0 - (A x)_1. Setting
# K = k / (2h) makes the expected change h x (1 - x) g_k(x) per step to first order in h, where
# g_k = ((k - 1) g + A[0, 1] - A[1, 0]) / k: the replicator equation of the matrix
# A_k = A + (A[0, 1] - A[1, 0]) / (k - 1) [[1, 1], [0, 0]] in time tau = h t (k - 1) / k.
# A_k -> A as k grows; the payoffs are those of the snowdrift game, whose interior equilibrium
# 1 - c / (2b - c) = 4/7 moves by 0.86 / (k - 1) in A_k.
WELL_MIXED_SNOWDRIFT = (1.0, 0.6)


WELL_MIXED_H = 0.8  # expected change per step = h x (1 - x) g_k(x), to first order in h


WELL_MIXED_BATCH = 16


def _well_mixed_game():
    a = games.snowdrift(*WELL_MIXED_SNOWDRIFT)
    lat = Lattice((100, 100), neighbourhood="moore", radius=6)
    k = lat.num_neighbours  # 168
    game = SpatialGame(a, update=games.Fermi(k / (2 * WELL_MIXED_H)), self_interaction=False)
    return np.asarray(a, np.float64), lat, k, game


@jax.jit
def _batched_step(game, lat, x, keys):
    """One synchronous step of `game` on a batch of lattices, one key each."""
    return jax.vmap(lambda x, key: game(lat, LatticeState(x=x), key=key))(x, keys)


def _finite_k_matrix(a, k):
    return a + (a[0, 1] - a[1, 0]) / (k - 1) * np.array([[1.0, 1.0], [0.0, 0.0]])


def _gain(a, x):
    """g(x) = (A x)_0 - (A x)_1 at the cooperator fraction x."""
    return (a[0, 0] - a[1, 0]) * x + (a[0, 1] - a[1, 1]) * (1 - x)


@pytest.mark.slow
def test_well_mixed_fermi_drift_is_the_replicator_velocity():
    # One synchronous step from well-mixed populations (independent random strategies) at nine
    # cooperator fractions, 64 lattices of 10 000 players each: the mean change matches
    # x (1 - x) tanh(h g_k(x)), the expected change above (E[tanh] = tanh(E) to ~1e-4 relative
    # here). The standard error of each mean is about 5e-4, a few per cent of the change; a
    # wrong time scale (2h, h/2) or sign is far outside.
    a, lat, k, game = _well_mixed_game()
    h, ak = WELL_MIXED_H, _finite_k_matrix(a, k)
    rng = np.random.default_rng(30)
    xs = np.linspace(0.1, 0.9, 9)
    got, want, se = [], [], []
    for i, x0 in enumerate(xs):
        d, before = [], []
        for j in range(4):
            x = (rng.random((WELL_MIXED_BATCH, *lat.shape, 1)) >= x0).astype(np.int32)
            keys = jax.random.split(jax.random.key(100 * i + j), WELL_MIXED_BATCH)
            new = np.asarray(_batched_step(game, lat, x, keys))
            b = (x[..., 0] == 0).mean(axis=(1, 2))
            before.append(b)
            d.append((new[..., 0] == 0).mean(axis=(1, 2)) - b)
        d, before = np.concatenate(d), np.concatenate(before)
        got.append(d.mean())
        se.append(d.std(ddof=1) / math.sqrt(len(d)))
        want.append(np.mean(before * (1 - before) * np.tanh(h * (k - 1) / k * _gain(ak, before))))
    got, want, se = map(np.array, (got, want, se))
    assert np.all(np.abs(got - want) < 4 * se + 1e-4), (got, want, se)
    # The same to first order in h and 1/k: h times the replicator velocity of A itself.
    velocity = np.asarray(games.replicator(jnp.asarray(a, jnp.float32), jnp.stack([xs, 1 - xs], -1))[:, 0])
    np.testing.assert_allclose(got, h * velocity, atol=0.0025)


def test_well_mixed_fermi_follows_the_replicator_equation():
    # Eight reshuffled populations of 10 000 players from each of two starts, one below and one
    # above the interior equilibrium, follow the replicator equation of A_k in time
    # tau = h t (k - 1) / k. One population wanders about 0.012 around the curve (the Fermi
    # rule flips ~x (1 - x) N players each way per step, and the curve pulls back slowly), so
    # the test compares the mean of eight; the discrete time step itself accounts for up to
    # 0.006. A wrong time scale (2h, h/2) is 0.08 away. The starts avoid x near 0 or 1, where
    # the flow pushes away from the boundary and would amplify early fluctuations into a
    # random time shift of the whole curve.
    a, lat, k, game = _well_mixed_game()
    h, ak, steps = WELL_MIXED_H, _finite_k_matrix(a, k), 30
    starts = np.array([0.25, 0.85])
    num_runs = WELL_MIXED_BATCH // len(starts)
    rng = np.random.default_rng(31)
    n = lat.num_sites
    # Exactly round(x0 N) cooperators (strategy 0) in each population.
    x = np.stack([np.arange(n) >= round(x0 * n) for x0 in starts for _ in range(num_runs)]).astype(np.int32)
    sim = []
    for t in range(steps):
        x = rng.permuted(x, axis=1)  # reshuffle every population
        keys = jax.random.split(jax.random.key(t), WELL_MIXED_BATCH)
        x = np.asarray(_batched_step(game, lat, x.reshape(-1, *lat.shape, 1), keys)).reshape(-1, n)
        sim.append((x == 0).mean(axis=1))
    sim = np.stack(sim, axis=1).reshape(len(starts), num_runs, steps).mean(axis=1)

    def velocity(x):  # replicator equation of A_k for two strategies
        return x * (1 - x) * _gain(ak, x)

    dt, sub, xc, ode = h * (k - 1) / k, 20, starts.copy(), []
    for _ in range(steps):
        for _ in range(sub):  # RK4
            k1 = velocity(xc)
            k2 = velocity(xc + dt / sub * k1 / 2)
            k3 = velocity(xc + dt / sub * k2 / 2)
            k4 = velocity(xc + dt / sub * k3)
            xc = xc + dt / sub * (k1 + 2 * k2 + 2 * k3 + k4) / 6
        ode.append(xc)
    ode = np.stack(ode, axis=1)
    assert np.max(np.abs(sim - ode)) < 0.02, np.max(np.abs(sim - ode), axis=1)
    # Both starts end near the interior equilibrium of A_k, which is within 0.006 of 4/7.
    b, c = WELL_MIXED_SNOWDRIFT
    x_k = (ak[1, 1] - ak[0, 1]) / (ak[0, 0] - ak[1, 0] - ak[0, 1] + ak[1, 1])
    assert abs(x_k - (1 - c / (2 * b - c))) < 0.006
    assert np.all(np.abs(sim[:, -5:].mean(axis=1) - x_k) < 0.01), sim[:, -5:].mean(axis=1)


def test_fermi_with_huge_temperature_is_neutral_drift():
    # At K -> infinity every proposal is accepted with probability 1/2, whatever the payoffs:
    # the same draws as a game with all payoffs 0.
    lat = Lattice((32, 32), neighbourhood="von_neumann")
    x = jnp.asarray(random_strategies(5, lat.shape, [0.5, 0.5]))[..., None]
    key = jax.random.key(6)
    hot = SpatialGame(games.prisoners_dilemma(1.9), update=games.Fermi(temperature=1e9))
    neutral = SpatialGame(jnp.zeros((2, 2)), update=games.Fermi(temperature=1.0))
    _, a = rollout(hot, lat, LatticeState(x=x), key=key, num_steps=20)
    _, b = rollout(neutral, lat, LatticeState(x=x), key=key, num_steps=20)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x[-1], x)


def test_fermi_with_tiny_temperature_imitates_better_neighbours():
    lat = Lattice((64, 64), neighbourhood="moore")
    a = games.prisoners_dilemma(1.9)
    s = random_strategies(7, lat.shape, [0.6, 0.4])
    x = jnp.asarray(s)[..., None]
    game = SpatialGame(a, update=games.Fermi(temperature=1e-4))
    p = np.asarray(games.site_payoffs(game, lat, x))
    n_s = np.asarray(lat.neighbours(jnp.asarray(s)))
    n_p = np.asarray(lat.neighbours(jnp.asarray(p)))
    better = (n_p > p[..., None]) & (n_s != s[..., None])  # no C/D ties exist at b = 1.9
    new = np.asarray(step(game, lat, LatticeState(x=x), key=jax.random.key(8)).x[..., 0])
    changed = new != s
    # Every change copies a strictly better neighbour with that strategy ...
    assert np.all(np.any(better & (n_s == new[..., None]), axis=-1)[changed])
    # ... and a site changes exactly when its random neighbour is better: probability
    # (#better neighbours) / 8 per site. Binomial count, 5 standard deviations.
    q = better.sum(-1) / lat.num_neighbours
    assert abs(changed.sum() - q.sum()) < 5 * math.sqrt((q * (1 - q)).sum()), (changed.sum(), q.sum())


def _one_site_distribution(game, lat, x, site, num_keys=4000):
    keys = jax.random.split(jax.random.key(9), num_keys)
    out = jax.jit(jax.vmap(lambda k: game(lat, LatticeState(x=x), key=k)[site + (0,)]))(keys)
    return np.bincount(np.asarray(out), minlength=game.num_strategies) / num_keys


def test_moran_death_birth_picks_parents_by_fitness():
    lat = Lattice((5, 5), neighbourhood="von_neumann")
    a = jnp.array([[1.0, 0.0, 2.0], [3.0, 1.0, 0.0], [0.5, 2.0, 1.0]])
    s = random_strategies(10, lat.shape, [0.4, 0.3, 0.3])
    x = jnp.asarray(s)[..., None]
    game = SpatialGame(a, update=games.MoranDeathBirth(selection=0.5))
    f = 1 - 0.5 + 0.5 * np.asarray(games.site_payoffs(game, lat, x))
    site = (2, 2)
    expect = np.zeros(3)
    for off in lat.offsets:
        j = tuple((np.array(site) + off) % 5)
        expect[s[j]] += f[j]
    expect /= expect.sum()
    got = _one_site_distribution(game, lat, x, site)
    np.testing.assert_allclose(got, expect, atol=0.03)  # sd of a frequency <= 0.008


def test_moran_birth_death_replacement_rates():
    lat = Lattice((5, 5), neighbourhood="von_neumann")
    a = games.snowdrift(1.0, 0.6)
    s = random_strategies(11, lat.shape, [0.5, 0.5])
    x = jnp.asarray(s)[..., None]
    w = 0.8
    game = SpatialGame(a, update=games.MoranBirthDeath(selection=w))
    f = 1 - w + w * np.asarray(games.site_payoffs(game, lat, x))
    f_max = 1 - w + w * 1.0 * 5  # largest entry of the matrix times 5 partners (self included)
    site = (2, 2)
    expect = np.zeros(2)
    for off in lat.offsets:
        j = tuple((np.array(site) + off) % 5)
        expect[s[j]] += f[j] / f_max / lat.num_neighbours
    expect[s[site]] = 0
    expect[s[site]] = 1 - expect.sum()
    got = _one_site_distribution(game, lat, x, site)
    np.testing.assert_allclose(got, expect, atol=0.03)


def test_moran_zero_selection_is_the_voter_model():
    # With w = 0 fitness is 1 everywhere: death-birth copies a uniformly random neighbour.
    lat = Lattice((5, 5), neighbourhood="moore")
    s = random_strategies(12, lat.shape, [0.5, 0.5])
    x = jnp.asarray(s)[..., None]
    game = SpatialGame(games.prisoners_dilemma(1.9), update=games.MoranDeathBirth(selection=0.0))
    got = _one_site_distribution(game, lat, x, (2, 2))
    expect = np.bincount(s[1:4, 1:4].ravel(), minlength=2) - np.eye(2)[s[2, 2]]
    np.testing.assert_allclose(got, expect / 8, atol=0.03)


@pytest.mark.slow
def test_soft_imitation_tends_to_imitate_best():
    lat = Lattice((24, 24), neighbourhood="moore")
    a = games.prisoners_dilemma(1.9)
    s = random_strategies(13, lat.shape, [0.7, 0.3])
    hard, soft = SpatialGame(a), SpatialGame(a, update=games.ImitateBest(soft=True, temperature=0.005))
    for t in range(5):
        want = hard(lat, LatticeState(x=jnp.asarray(s)[..., None]), key=None)[..., 0]
        p = soft(lat, LatticeState(x=jax.nn.one_hot(s, 2)), key=None)
        np.testing.assert_allclose(p.sum(-1), 1.0, atol=1e-5)
        np.testing.assert_array_equal(np.argmax(p, -1), want)
        assert float(p.max(-1).min()) > 0.99
        s = np.asarray(want)


def test_soft_imitation_gradient_matches_finite_differences():
    lat = Lattice((8, 8), neighbourhood="moore")
    s = random_strategies(14, lat.shape, [0.6, 0.4])
    state = LatticeState(x=jax.nn.one_hot(s, 2))

    def coop(payoff):
        game = SpatialGame(payoff, update=games.ImitateBest(soft=True, temperature=0.5))
        final, _ = rollout(game, lat, state, num_steps=3, record=False)
        return jnp.mean(final.x[..., 0])

    a = games.prisoners_dilemma(1.3)
    check_grads(coop, (a,), order=1, modes=("rev",), eps=1e-2, atol=2e-3, rtol=2e-2)
    g = jax.grad(coop)(a)
    assert np.all(np.isfinite(g)) and np.all(np.abs(g) > 1e-4), g
    # A larger temptation helps defectors, so the cooperator share falls.
    assert float(g[1, 0]) < 0


@pytest.mark.parametrize("update", ["fermi", "moran_birth_death", "moran_death_birth"])
def test_asynchronous_updating_runs(update):
    lat = Lattice((10, 10), neighbourhood="moore")
    game = SpatialGame(games.prisoners_dilemma(1.6), update=update, temperature=0.5, selection=0.5)
    s = random_strategies(16, lat.shape, [0.5, 0.5])
    x = jnp.asarray(s)[..., None]
    key = jax.random.key(17)
    final, _ = rollout(Asynchronous(game), lat, LatticeState(x=x), key=key, num_steps=3, record=False)
    f = np.asarray(final.x)
    assert set(np.unique(f)) <= {0, 1} and not np.array_equal(f, np.asarray(x))


def test_asynchronous_imitation_is_sequential():
    # A random-sequential sweep equals visiting sites one by one, each applying the
    # synchronous rule to the current lattice and keeping only the visited site's value.
    lat = Lattice((7, 7), neighbourhood="moore")
    game = SpatialGame(games.prisoners_dilemma(1.7))
    x = jnp.asarray(random_strategies(18, lat.shape, [0.6, 0.4]))[..., None]
    key = jax.random.key(19)
    got = step(Asynchronous(game), lat, LatticeState(x=x), key=key).x
    # The scheme draws its order from the step key (fold_in(key, t)), sub-key 0.
    order = np.asarray(jax.random.permutation(jax.random.fold_in(jax.random.fold_in(key, 0), 0), 49))
    sync = jax.jit(lambda x: game(lat, LatticeState(x=x), key=None))
    ref = x
    for flat in order:
        i, j = divmod(int(flat), 7)
        ref = ref.at[i, j].set(sync(ref)[i, j])
    np.testing.assert_array_equal(got, ref)


def test_update_errors():
    with pytest.raises(ValueError, match="Fermi: temperature must be a finite number > 0"):
        games.Fermi(temperature=0.0)
    with pytest.raises(ValueError, match="Fermi: temperature must be a finite number"):
        games.Fermi(temperature=float("nan"))
    with pytest.raises(TypeError, match="ImitateBest: temperature must be a finite number"):
        games.ImitateBest(soft=True, temperature="hot")
    with pytest.raises(TypeError, match="Fermi: temperature must be a finite number"):
        games.Fermi(temperature=None)
    with pytest.raises(ValueError, match=r"MoranDeathBirth: selection must be a finite number in \[0.0, 1.0\]"):
        games.MoranDeathBirth(selection=1.5)
    with pytest.raises(ValueError, match=r"MoranBirthDeath: selection must be a finite number in \[0.0, 1.0\]"):
        games.MoranBirthDeath(selection=-0.1)
    assert games.MoranDeathBirth(selection=0.0).stochastic and not games.ImitateBest().stochastic
