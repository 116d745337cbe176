"""SpatialGame: payoffs against loops, Nowak-May ground truths, reach, transformations, checks."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from automata import Lattice, LatticeState, rollout, step
from rules import games
from rules.games import SpatialGame


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


@pytest.mark.parametrize(
    "game, expect_reach",
    [
        (SpatialGame(games.prisoners_dilemma(1.9)), 2),
        (SpatialGame(games.prisoners_dilemma(1.9), update=games.ImitateBest(soft=True)), 2),
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


@pytest.mark.slow
def test_jit_equals_eager():
    lat = Lattice((16, 16), neighbourhood="moore")
    x = jnp.asarray(random_strategies(20, lat.shape, [0.8, 0.2]))[..., None]
    game = SpatialGame(games.prisoners_dilemma(1.9), update=games.Fermi(temperature=0.3))
    eager = game(lat, LatticeState(x=x), key=jax.random.key(0))
    jitted = jax.jit(lambda g, k: g(lat, LatticeState(x=x), key=k))(game, jax.random.key(0))
    np.testing.assert_array_equal(eager, jitted)


def test_update_strings_map_to_objects():
    pd = games.prisoners_dilemma(1.9)
    cases = {
        "imitate_best": games.ImitateBest(temperature=0.3),
        "imitate_best_soft": games.ImitateBest(soft=True, temperature=0.3),
        "fermi": games.Fermi(temperature=0.3),
        "moran_death_birth": games.MoranDeathBirth(selection=0.4),
        "moran_birth_death": games.MoranBirthDeath(selection=0.4),
    }
    for name, update in cases.items():
        game = SpatialGame(pd, update=name, temperature=0.3, selection=0.4)
        assert type(game.update) is type(update)
        assert jax.tree.map(float, jax.tree.leaves(game.update)) == jax.tree.leaves(update)
        assert game.stochastic == update.stochastic and game.soft == bool(update.soft)
    assert isinstance(SpatialGame(pd).update, games.ImitateBest)
    # The object and the string give the same run.
    lat = Lattice((8, 8), neighbourhood="moore")
    x = LatticeState(x=jnp.asarray(random_strategies(3, lat.shape, [0.5, 0.5]))[..., None])
    key = jax.random.key(1)
    by_name = step(SpatialGame(pd, update="fermi", temperature=0.3), lat, x, key=key)
    by_object = step(SpatialGame(pd, update=games.Fermi(0.3)), lat, x, key=key)
    np.testing.assert_array_equal(by_name.x, by_object.x)


def test_game_errors():
    pd = games.prisoners_dilemma(1.9)
    with pytest.raises(ValueError, match=r"square \(n, n\) matrix"):
        SpatialGame(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"n >= 2 strategies"):
        SpatialGame(jnp.ones((1, 1)))
    with pytest.raises(ValueError, match=r"square \(n, n\) matrix.*got shape \(4,\)"):
        SpatialGame([1.0, 0.0, 1.9, 0.0])
    with pytest.raises(TypeError, match=r"payoff must be an \(n, n\) array, got str"):
        SpatialGame("prisoners dilemma")
    with pytest.raises(ValueError, match=r"payoff must hold finite numbers, but entry \(1, 0\) is nan"):
        SpatialGame(jnp.array([[1.0, 0.0], [jnp.nan, 0.0]]))
    with pytest.raises(ValueError, match="update must be one of"):
        SpatialGame(pd, update="imitate")
    with pytest.raises(TypeError, match="update must be an update object"):
        SpatialGame(pd, update=3)
    with pytest.raises(ValueError, match="temperature and selection must be None"):
        SpatialGame(pd, update=games.Fermi(0.2), temperature=0.5)
    with pytest.raises(ValueError, match="interaction must be one of"):
        SpatialGame(pd, interaction="triples")
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        SpatialGame(pd, update="fermi", temperature=0.0)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        SpatialGame(pd, update="imitate_best_soft", temperature=-1.0)
    with pytest.raises(ValueError, match=r"selection must be a finite number in \[0.0, 1.0\]"):
        SpatialGame(pd, update="moran_death_birth", selection=1.5)
    with pytest.raises(ValueError, match="self_interaction must be True with interaction='group'"):
        SpatialGame(games.public_goods(3.0), interaction="group", self_interaction=False)


def test_state_errors():
    lat = Lattice((8, 8))
    x = jnp.zeros((8, 8, 1), jnp.int32)
    pd = games.prisoners_dilemma(1.9)
    soft = SpatialGame(pd, update=games.ImitateBest(soft=True))
    with pytest.raises(ValueError, match=r"strategy indices in 0..1 .* site \(3, 4\) holds 2\b"):
        step(SpatialGame(pd), lat, LatticeState(x=x.at[3, 4, 0].set(2)))
    with pytest.raises(ValueError, match=r"site \(0, 0\) holds 0.5"):
        step(SpatialGame(pd), lat, LatticeState(x=x.astype(jnp.float32).at[0, 0, 0].set(0.5)))
    with pytest.raises(ValueError, match="fill must not be a strategy index"):
        step(SpatialGame(pd), Lattice((8, 8), boundary="fixed", fill=0.0), LatticeState(x=x))
    with pytest.raises(ValueError, match="fill must be 0 on a 'fixed' boundary"):
        step(soft, Lattice((8, 8), boundary="fixed", fill=-1), LatticeState(x=jax.nn.one_hot(x[..., 0], 2)))
    with pytest.raises(ValueError, match=r"one probability channel per strategy \(0..1\)"):
        step(soft, lat, LatticeState(x=x.astype(jnp.float32)))
    with pytest.raises(TypeError, match="must be floating point"):
        step(soft, lat, LatticeState(x=jnp.zeros((8, 8, 2), jnp.int32)))
    with pytest.raises(ValueError, match="needs a PRNG key"):
        step(SpatialGame(pd, update=games.Fermi()), lat, LatticeState(x=x))
    with pytest.raises(ValueError, match=r"state.x must have shape \(8, 8\) plus one channel"):
        step(SpatialGame(pd), lat, LatticeState(x=x[..., 0]))
    with pytest.raises(TypeError, match=r"must hold strategy indices \(integers\)"):
        step(SpatialGame(pd), lat, LatticeState(x=x.astype(jnp.complex64)))
    with pytest.raises(ValueError, match=r"must fit state.x's dtype uint8"):
        step(SpatialGame(pd), Lattice((8, 8), boundary="fixed", fill=-1), LatticeState(x=x.astype(jnp.uint8)))
    with pytest.raises(ValueError, match=r"must hold strategy probabilities .* site \(2, 5\)"):
        step(soft, lat, LatticeState(x=jax.nn.one_hot(x[..., 0], 2).at[2, 5].set(0.7)))


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


def test_state_errors_when_the_state_is_traced():
    lat = Lattice((8, 8))
    pd = games.prisoners_dilemma(1.9)
    run = jax.jit(lambda x: step(SpatialGame(pd), lat, LatticeState(x=x)).x)
    x = jnp.zeros((8, 8, 1), jnp.int32)
    assert run(x).shape == x.shape
    with pytest.raises(jax.errors.JaxRuntimeError, match=r"strategy indices in 0..1"):
        jax.block_until_ready(run(x.at[3, 4, 0].set(2)))
    soft = SpatialGame(pd, update=games.ImitateBest(soft=True))
    run_soft = jax.jit(lambda p: step(soft, lat, LatticeState(x=p)).x)
    with pytest.raises(jax.errors.JaxRuntimeError, match="must hold strategy probabilities"):
        jax.block_until_ready(run_soft(jnp.full((8, 8, 2), 0.7)))
