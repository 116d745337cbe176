"""Spatial games: closed-form payoffs, Nowak-May densities and symmetry, the replicator limit,
Fermi and Moran statistics, the soft relaxation's gradients, update schemes and errors."""

import doctest
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from automata import Asynchronous, Lattice, LatticeState, rollout, step
from rules import games, hazard
from rules.games import SpatialGame
from rules.hazard import event_probability, payoff_hazard


def random_strategies(seed, shape, probs):
    """Strategy indices drawn independently per site with the given probabilities."""
    rng = np.random.default_rng(seed)
    return rng.choice(len(probs), size=shape, p=probs).astype(np.int32)


def reference_payoffs(lattice, s, payoff, self_interaction=True, group=False):
    """Direct loops over sites and offsets (numpy); -1 marks an empty site, edges per boundary."""
    s = np.asarray(s)
    a = np.asarray(payoff, np.float64)
    offs = [tuple(o) for o in lattice.offsets]
    shape = s.shape

    def at(site, off):
        j = []
        for i, o, n in zip(site, off, shape):
            k = i + o
            if lattice.boundary == "wrap":
                k %= n
            elif not 0 <= k < n:
                return -1
            j.append(k)
        return s[tuple(j)]

    def closed(site):  # the site and its neighbours as positions (None beyond a fixed edge)
        out = [site]
        for off in offs:
            pos = []
            for i, o, n in zip(site, off, shape):
                k = i + o
                if lattice.boundary == "wrap":
                    k %= n
                elif not 0 <= k < n:
                    pos = None
                    break
                pos.append(k)
            out.append(None if pos is None else tuple(pos))
        return out

    p = np.zeros(shape)
    for site in itertools.product(*map(range, shape)):
        own = s[site]
        if own < 0:
            continue
        if not group:
            others = [at(site, off) for off in offs] + ([own] if self_interaction else [])
            p[site] = sum(a[own, o] for o in others if o >= 0)
        else:
            for centre in closed(site):
                if centre is None or s[centre] < 0:
                    continue
                members = [s[m] for m in closed(centre) if m is not None and s[m] >= 0]
                p[site] += sum(a[own, m] for m in members) / len(members)
    return p


# ---------------------------------------------------------------------------- payoff matrices
def test_payoff_matrices_closed_form():
    np.testing.assert_allclose(games.prisoners_dilemma(1.9), [[1, 0], [1.9, 0]], rtol=1e-6)
    b, c = 1.0, 0.6
    np.testing.assert_allclose(games.snowdrift(b, c), [[b - c / 2, b - c], [b, 0]], rtol=1e-6)
    np.testing.assert_allclose(games.hawk_dove(2.0, 3.0), [[1.0, 0.0], [2.0, -0.5]], rtol=1e-6)
    np.testing.assert_allclose(games.stag_hunt(4.0, 3.0, 1.0), [[4, 1], [3, 3]], rtol=1e-6)
    np.testing.assert_allclose(games.public_goods(3.0, 2.0), [[4, -2], [6, 0]], rtol=1e-6)
    for m in (games.prisoners_dilemma(2), games.snowdrift(2, 1), games.public_goods(2)):
        assert m.shape == (2, 2) and jnp.issubdtype(m.dtype, jnp.floating)
    # Mixed equilibria of the well-mixed games: 1 - c/(2b - c) cooperators, v/c hawks.
    x_star = 1 - c / (2 * b - c)
    assert abs(float(games.replicator(games.snowdrift(b, c), jnp.array([x_star, 1 - x_star]))[0])) < 1e-6
    hawks = 2.0 / 3.0
    assert abs(float(games.replicator(games.hawk_dove(2.0, 3.0), jnp.array([1 - hawks, hawks]))[0])) < 1e-6
    # The payoff functions are differentiable in their parameters.
    assert float(jax.grad(lambda b: games.prisoners_dilemma(b)[1, 0])(1.9)) == 1.0


def test_replicator_two_strategies_closed_form():
    a = games.snowdrift(1.0, 0.6)
    for x in (0.1, 0.5, 0.9):
        f_c = x * a[0, 0] + (1 - x) * a[0, 1]
        f_d = x * a[1, 0] + (1 - x) * a[1, 1]
        dx = games.replicator(a, jnp.array([x, 1 - x]))
        np.testing.assert_allclose(dx, [x * (1 - x) * (f_c - f_d), -x * (1 - x) * (f_c - f_d)], atol=1e-6)


@pytest.mark.parametrize("boundary", ["wrap", "fixed"])
@pytest.mark.parametrize("self_interaction", [True, False])
def test_pairwise_payoffs_against_loops(boundary, self_interaction):
    lat = Lattice((6, 7), neighbourhood="moore", boundary=boundary, fill=-1)
    payoff = jnp.array([[1.0, -0.5, 2.0], [0.3, 0.0, 1.5], [-1.0, 4.0, 0.25]])
    s = random_strategies(1, lat.shape, [0.3, 0.3, 0.3, 0.1])  # index 3 -> empty below
    s = np.where(s == 3, -1, s)
    game = SpatialGame(payoff, self_interaction=self_interaction)
    got = games.site_payoffs(game, lat, jnp.asarray(s)[..., None])
    np.testing.assert_allclose(got, reference_payoffs(lat, s, payoff, self_interaction), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("boundary", ["wrap", "fixed"])
def test_public_goods_group_payoffs_against_loops(boundary):
    lat = Lattice((6, 6), neighbourhood="von_neumann", boundary=boundary, fill=-1)
    r = 3.0
    s = random_strategies(2, lat.shape, [0.5, 0.4, 0.1])
    s = np.where(s == 2, -1, s)
    game = SpatialGame(games.public_goods(r), interaction="group")
    got = games.site_payoffs(game, lat, jnp.asarray(s)[..., None])
    np.testing.assert_allclose(got, reference_payoffs(lat, s, games.public_goods(r), group=True), rtol=1e-5, atol=1e-5)
    # Full lattice of cooperators: G = 5 groups of 5 cooperators, each paying r - 1 per player.
    full = games.site_payoffs(game, lat.replace(boundary="wrap"), jnp.zeros((6, 6, 1), jnp.int32))
    np.testing.assert_allclose(full, 5 * (r - 1), rtol=1e-6)


# ---------------------------------------------------------------------------- Nowak and May 1992
def test_nowak_may_cooperator_density():
    # Imitate-best, synchronous, Moore neighbourhood with self-interaction, 1.8 < b < 2, 10%
    # defectors at random: the cooperator fraction fluctuates around 12 ln 2 - 8 = 0.318
    # (Nowak & May 1992). Averaged over steps 100-299 of a 200x200 torus; measured 0.315.
    lat = Lattice((200, 200), neighbourhood="moore")
    x = jax.random.bernoulli(jax.random.key(0), 0.1, (200, 200, 1)).astype(jnp.int8)
    _, traj = rollout(SpatialGame(games.prisoners_dilemma(1.9)), lat, LatticeState(x=x), num_steps=300)
    coop = np.asarray((traj.x[100:, ..., 0] == 0).mean(axis=(1, 2)))
    assert abs(coop.mean() - (12 * math.log(2) - 8)) < 0.02, coop.mean()
    assert coop.min() > 0.2 and coop.max() < 0.45  # it fluctuates, neither side takes over


def test_single_defector_grows_a_mirror_symmetric_pattern():
    n = 61
    lat = Lattice((n, n), neighbourhood="moore")
    x = jnp.zeros((n, n, 1), jnp.int8).at[n // 2, n // 2, 0].set(1)
    _, traj = rollout(SpatialGame(games.prisoners_dilemma(1.9)), lat, LatticeState(x=x), num_steps=40)
    d = np.asarray(traj.x[..., 0])
    assert d[-1].sum() > 100 and len({int(v) for v in d.sum(axis=(1, 2))}) > 5  # it grows and changes
    for grid in d:
        np.testing.assert_array_equal(grid, grid[::-1, :])
        np.testing.assert_array_equal(grid, grid[:, ::-1])
        np.testing.assert_array_equal(grid, grid.T)


def test_imitate_best_tie_rule():
    # Rows constant: strategies 1 and 2 earn one per partner, strategy 0 nothing.
    payoff = jnp.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    lat = Lattice((5,), neighbourhood="moore")
    x = jnp.array([2, 0, 1, 2, 1], jnp.int32)[:, None]
    out = SpatialGame(payoff)(lat, LatticeState(x=x), key=None)[:, 0]
    # Site 1 (strategy 0) sees 2 and 1 tied at the best payoff: the lower index, 1, wins.
    # Sites with 1 or 2 equal the best payoff around them, so they keep their own strategy.
    np.testing.assert_array_equal(out, [2, 1, 1, 2, 1])


# ---------------------------------------------------------------------------- well-mixed limit
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
    game = SpatialGame(a, update="fermi", self_interaction=False, temperature=k / (2 * WELL_MIXED_H))
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


# ---------------------------------------------------------------------------- Fermi
def test_fermi_with_huge_temperature_is_neutral_drift():
    # At K -> infinity every proposal is accepted with probability 1/2, whatever the payoffs:
    # the same draws as a game with all payoffs 0.
    lat = Lattice((32, 32), neighbourhood="von_neumann")
    x = jnp.asarray(random_strategies(5, lat.shape, [0.5, 0.5]))[..., None]
    key = jax.random.key(6)
    hot = SpatialGame(games.prisoners_dilemma(1.9), update="fermi", temperature=1e9)
    neutral = SpatialGame(jnp.zeros((2, 2)), update="fermi", temperature=1.0)
    _, a = rollout(hot, lat, LatticeState(x=x), key=key, num_steps=20)
    _, b = rollout(neutral, lat, LatticeState(x=x), key=key, num_steps=20)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x[-1], x)


def test_fermi_with_tiny_temperature_imitates_better_neighbours():
    lat = Lattice((64, 64), neighbourhood="moore")
    a = games.prisoners_dilemma(1.9)
    s = random_strategies(7, lat.shape, [0.6, 0.4])
    x = jnp.asarray(s)[..., None]
    game = SpatialGame(a, update="fermi", temperature=1e-4)
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


@pytest.mark.parametrize(
    "lattice",
    [
        Lattice((7, 9), neighbourhood="moore", radius=2, boundary="wrap"),
        Lattice((7, 9), neighbourhood="von_neumann", boundary="fixed", fill=-1),
        Lattice((7, 9), neighbourhood="hex", boundary="reflect"),
        Lattice((11,), neighbourhood="moore", radius=3, boundary="fixed", fill=0),
        Lattice((4, 5, 3), neighbourhood="moore", boundary="wrap"),
    ],
    ids=["moore-r2-wrap", "von-neumann-fixed", "hex-reflect", "1d-fixed", "3d-wrap"],
)
def test_one_neighbour_gather_equals_the_neighbour_stack(lattice):
    # Fermi and Moran birth-death read only the chosen neighbour; the direct gather they use
    # must agree with lattice.neighbours for every neighbourhood and boundary.
    rng = np.random.default_rng(24)
    field = jnp.asarray(rng.integers(-1, 5, lattice.shape), jnp.int32)
    pick = jnp.asarray(rng.integers(0, lattice.num_neighbours, lattice.shape), jnp.int32)
    want = jnp.take_along_axis(lattice.neighbours(field), pick[..., None], axis=-1)[..., 0]
    np.testing.assert_array_equal(games._at_offset(lattice, field, pick), want)


# ---------------------------------------------------------------------------- Moran
def _one_site_distribution(game, lat, x, site, num_keys=4000):
    keys = jax.random.split(jax.random.key(9), num_keys)
    out = jax.jit(jax.vmap(lambda k: game(lat, LatticeState(x=x), key=k)[site + (0,)]))(keys)
    return np.bincount(np.asarray(out), minlength=game.num_strategies) / num_keys


def test_moran_death_birth_picks_parents_by_fitness():
    lat = Lattice((5, 5), neighbourhood="von_neumann")
    a = jnp.array([[1.0, 0.0, 2.0], [3.0, 1.0, 0.0], [0.5, 2.0, 1.0]])
    s = random_strategies(10, lat.shape, [0.4, 0.3, 0.3])
    x = jnp.asarray(s)[..., None]
    game = SpatialGame(a, update="moran_death_birth", selection=0.5)
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
    game = SpatialGame(a, update="moran_birth_death", selection=w)
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
    game = SpatialGame(games.prisoners_dilemma(1.9), update="moran_death_birth", selection=0.0)
    got = _one_site_distribution(game, lat, x, (2, 2))
    expect = np.bincount(s[1:4, 1:4].ravel(), minlength=2) - np.eye(2)[s[2, 2]]
    np.testing.assert_allclose(got, expect / 8, atol=0.03)


# ---------------------------------------------------------------------------- soft relaxation
def test_soft_imitation_tends_to_imitate_best():
    lat = Lattice((24, 24), neighbourhood="moore")
    a = games.prisoners_dilemma(1.9)
    s = random_strategies(13, lat.shape, [0.7, 0.3])
    hard, soft = SpatialGame(a), SpatialGame(a, update="imitate_best_soft", temperature=0.005)
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
        game = SpatialGame(payoff, update="imitate_best_soft", temperature=0.5)
        final, _ = rollout(game, lat, state, num_steps=3, record=False)
        return jnp.mean(final.x[..., 0])

    a = games.prisoners_dilemma(1.3)
    check_grads(coop, (a,), order=1, modes=("rev",), eps=1e-2, atol=2e-3, rtol=2e-2)
    g = jax.grad(coop)(a)
    assert np.all(np.isfinite(g)) and np.all(np.abs(g) > 1e-4), g
    # A larger temptation helps defectors, so the cooperator share falls.
    assert float(g[1, 0]) < 0


# ---------------------------------------------------------------------------- update schemes
@pytest.mark.parametrize(
    "game, expect_reach",
    [
        (SpatialGame(games.prisoners_dilemma(1.9)), 2),
        (SpatialGame(games.prisoners_dilemma(1.9), update="imitate_best_soft"), 2),
        (SpatialGame(games.public_goods(3.0), interaction="group"), 3),
    ],
)
def test_reach_covers_each_sites_update(game, expect_reach):
    # What Asynchronous and sharded rollouts rely on: the centre of a (2 reach + 1) patch,
    # with anything beyond the patch, updates exactly as on the whole lattice.
    lat = Lattice((12, 12), neighbourhood="moore")
    assert game.reach(lat) == expect_reach
    s = random_strategies(15, lat.shape, [0.6, 0.4])
    x = jax.nn.one_hot(s, 2) if game.soft else jnp.asarray(s)[..., None]
    full = game(lat, LatticeState(x=x), key=None)
    mismatches = {}
    for r in (expect_reach - 1, expect_reach):
        patch_lat = lat.replace(shape=(2 * r + 1,) * 2, boundary="fixed", fill=0.0)
        on_patch = jax.jit(lambda xp, patch_lat=patch_lat, r=r: game(patch_lat, LatticeState(x=xp), key=None)[r, r])
        bad = 0
        for i, j in itertools.product(range(12), range(12)):
            idx = np.ix_((np.arange(-r, r + 1) + i) % 12, (np.arange(-r, r + 1) + j) % 12)
            centre = on_patch(x[idx])
            bad += not np.allclose(centre, full[i, j], atol=1e-6)
        mismatches[r] = bad
    assert mismatches[expect_reach] == 0
    assert mismatches[expect_reach - 1] > 0  # one site less would not do


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


# ---------------------------------------------------------------------------- transformations
def test_vmap_over_payoffs_equals_a_loop():
    lat = Lattice((16, 16), neighbourhood="moore")
    x = jnp.asarray(random_strategies(20, lat.shape, [0.8, 0.2]))[..., None]
    bs = jnp.array([1.2, 1.6, 1.9])

    def run(b):
        final, _ = rollout(SpatialGame(games.prisoners_dilemma(b)), lat, LatticeState(x=x),
                           num_steps=5, record=False)
        return final.x

    batched = jax.vmap(run)(bs)
    for i, b in enumerate(bs):
        np.testing.assert_array_equal(batched[i], run(b))


def test_jit_equals_eager():
    lat = Lattice((16, 16), neighbourhood="moore")
    x = jnp.asarray(random_strategies(20, lat.shape, [0.8, 0.2]))[..., None]
    game = SpatialGame(games.prisoners_dilemma(1.9), update="fermi", temperature=0.3)
    eager = game(lat, LatticeState(x=x), key=jax.random.key(0))
    jitted = jax.jit(lambda g, k: g(lat, LatticeState(x=x), key=k))(game, jax.random.key(0))
    np.testing.assert_array_equal(eager, jitted)


# ---------------------------------------------------------------------------- payoffs as hazards
def test_payoff_to_division_is_the_payoff_hazard():
    lat = Lattice((6, 6), neighbourhood="moore", boundary="fixed", fill=-1)
    s = random_strategies(21, lat.shape, [0.5, 0.4, 0.1])
    s = np.where(s == 2, -1, s)
    x = jnp.asarray(s)[..., None]
    game = SpatialGame(games.snowdrift(1.0, 0.6))
    per_game = games.site_payoffs(game, lat, x, average=True)
    total = games.site_payoffs(game, lat, x)
    count = np.asarray(lat.replace(fill=0.0).neighbour_sum(jnp.asarray(s >= 0, jnp.float32)[..., None]))[..., 0] + 1
    np.testing.assert_allclose(per_game, np.where(s >= 0, total / count, 0), rtol=1e-6)
    p = games.payoff_to_division(game, lat, x, base_rate=0.02, selection=0.5, dt=10.0)
    want = event_probability(payoff_hazard(per_game, 0.02, 0.5), 10.0)
    np.testing.assert_allclose(p, np.where(s >= 0, want, 0), rtol=1e-6)
    assert float(p[s < 0].max(initial=0)) == 0


# ---------------------------------------------------------------------------- errors
def test_errors():
    lat = Lattice((8, 8))
    x = jnp.zeros((8, 8, 1), jnp.int32)
    pd = games.prisoners_dilemma(1.9)
    with pytest.raises(ValueError, match=r"square \(n, n\) matrix"):
        SpatialGame(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"n >= 2 strategies"):
        SpatialGame(jnp.ones((1, 1)))
    with pytest.raises(ValueError, match=r"square \(n, n\) matrix.*got shape \(4,\)"):
        SpatialGame([1.0, 0.0, 1.9, 0.0])
    with pytest.raises(ValueError, match="Unknown update 'imitate'"):
        SpatialGame(pd, update="imitate")
    with pytest.raises(ValueError, match="Unknown interaction"):
        SpatialGame(pd, interaction="triples")
    with pytest.raises(ValueError, match="temperature must be positive"):
        SpatialGame(pd, update="fermi", temperature=0.0)
    with pytest.raises(ValueError, match="temperature must be positive"):
        SpatialGame(pd, update="imitate_best_soft", temperature=-1.0)
    with pytest.raises(ValueError, match=r"selection .* must lie in \[0, 1\]"):
        SpatialGame(pd, update="moran_death_birth", selection=1.5)
    with pytest.raises(ValueError, match="self_interaction=True with interaction='group'"):
        SpatialGame(games.public_goods(3.0), interaction="group", self_interaction=False)
    with pytest.raises(ValueError, match=r"strategy indices in 0..1 .* site \(3, 4\) holds 2\b"):
        step(SpatialGame(pd), lat, LatticeState(x=x.at[3, 4, 0].set(2)))
    with pytest.raises(ValueError, match=r"site \(0, 0\) holds 0.5"):
        step(SpatialGame(pd), lat, LatticeState(x=x.astype(jnp.float32).at[0, 0, 0].set(0.5)))
    with pytest.raises(ValueError, match="fill value must not be a strategy index"):
        step(SpatialGame(pd), Lattice((8, 8), boundary="fixed", fill=0.0), LatticeState(x=x))
    with pytest.raises(ValueError, match="needs fill=0"):
        step(SpatialGame(pd, update="imitate_best_soft"), Lattice((8, 8), boundary="fixed", fill=-1),
             LatticeState(x=jax.nn.one_hot(x[..., 0], 2)))
    with pytest.raises(ValueError, match="one probability per strategy in channels 0..1"):
        step(SpatialGame(pd, update="imitate_best_soft"), lat, LatticeState(x=x.astype(jnp.float32)))
    with pytest.raises(TypeError, match="must be floating point"):
        step(SpatialGame(pd, update="imitate_best_soft"), lat, LatticeState(x=jnp.zeros((8, 8, 2), jnp.int32)))
    with pytest.raises(ValueError, match="needs a PRNG key"):
        step(SpatialGame(pd, update="fermi"), lat, LatticeState(x=x))
    with pytest.raises(ValueError, match=r"3 strategies on its last axis"):
        games.replicator(pd, jnp.ones(3) / 3)
    with pytest.raises(ValueError, match="b must be a scalar"):
        games.prisoners_dilemma(jnp.array([1.2, 1.9]))
    with pytest.raises(TypeError, match=r"payoff must be an \(n, n\) array, got str"):
        SpatialGame("prisoners dilemma")
    with pytest.raises(TypeError, match="payoff must hold numbers"):
        games.replicator(np.array([["a", "b"], ["c", "d"]]), jnp.ones(2) / 2)
    with pytest.raises(ValueError, match=r"payoff must be finite, but entry \(1, 0\) is nan"):
        SpatialGame(jnp.array([[1.0, 0.0], [jnp.nan, 0.0]]))
    with pytest.raises(ValueError, match=r"shape \(8, 8\); SpatialGame needs \(8, 8\) plus one channel"):
        step(SpatialGame(pd), lat, LatticeState(x=x[..., 0]))
    with pytest.raises(TypeError, match=r"must hold strategy indices \(integers\)"):
        step(SpatialGame(pd), lat, LatticeState(x=x.astype(jnp.complex64)))
    with pytest.raises(ValueError, match=r"must fit state.x's dtype uint8"):
        step(SpatialGame(pd), Lattice((8, 8), boundary="fixed", fill=-1), LatticeState(x=x.astype(jnp.uint8)))
    with pytest.raises(ValueError, match=r"must hold strategy probabilities .* site \(2, 5\)"):
        step(SpatialGame(pd, update="imitate_best_soft"), lat,
             LatticeState(x=jax.nn.one_hot(x[..., 0], 2).at[2, 5].set(0.7)))
    with pytest.raises(TypeError, match="game must be a rules.games.SpatialGame"):
        games.site_payoffs(pd, lat, x)
    with pytest.raises(TypeError, match="lattice must be an automata.Lattice"):
        games.site_payoffs(SpatialGame(pd), (8, 8), x)
    with pytest.raises(ValueError, match=r"selection .* must lie in \[0, 1\], got -0.2"):
        games.payoff_to_division(SpatialGame(pd), lat, x, base_rate=0.1, selection=-0.2, dt=1.0)
    with pytest.raises(ValueError, match=r"base_rate is a division hazard .* must be finite and >= 0"):
        games.payoff_to_division(SpatialGame(pd), lat, x, base_rate=-0.1, selection=0.5, dt=1.0)
    with pytest.raises(ValueError, match=r"dt is a time step in minutes and must be finite and >= 0"):
        games.payoff_to_division(SpatialGame(pd), lat, x, base_rate=0.1, selection=0.5, dt=float("inf"))


@pytest.mark.parametrize("update", ["imitate_best", "fermi", "moran_birth_death", "moran_death_birth"])
def test_empty_sites_are_inert(update):
    lat = Lattice((9, 9), neighbourhood="moore", boundary="fixed", fill=-1)
    s = random_strategies(22, lat.shape, [0.45, 0.45, 0.1])
    s = np.where(s == 2, -1, s)
    x = jnp.asarray(s)[..., None]
    game = SpatialGame(games.prisoners_dilemma(1.9), update=update, temperature=0.2)
    final, _ = rollout(game, lat, LatticeState(x=x), key=jax.random.key(23), num_steps=4)
    f = np.asarray(final.x[..., 0])
    np.testing.assert_array_equal(f == -1, s == -1)
    assert not np.array_equal(f, s)  # the occupied sites did play


@pytest.mark.parametrize("module", [games, hazard], ids=["games", "hazard"])
def test_docstring_examples_run(module):
    failures, attempted = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failures == 0
