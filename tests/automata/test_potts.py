"""The cellular Potts model: energy, exact Gibbs sampling on an enumerable lattice, sorting,
volumes, connectivity, transformations, pseudo-likelihood and log-probability gradients, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from automata.potts import (
    Potts,
    PottsParams,
    cell_surfaces,
    cell_volumes,
    energy,
    pseudo_log_likelihood,
    rollout_with_log_prob,
)
from automata.potts_energy import _delta_energy


# ---------------------------------------------------------------------------- helpers
def _np_energy(x, lattice, J, kinds, lam_v, tgt_v, lam_s=None, tgt_s=None):
    """The Hamiltonian written out in numpy, site by site (an independent reference)."""
    x = np.asarray(x)
    fill = int(lattice.fill)
    h, surface = 0.0, np.zeros(len(kinds))
    for idx in np.ndindex(*x.shape):
        a = x[idx]
        for off in lattice.offsets:
            j = tuple(i + o for i, o in zip(idx, off))
            if lattice.boundary == "wrap":
                b, weight = x[tuple(jj % n for jj, n in zip(j, x.shape))], 0.5
            elif all(0 <= jj < n for jj, n in zip(j, x.shape)):
                b, weight = x[j], 0.5
            else:
                b, weight = fill, 1.0
            if a != b:
                h += weight * J[kinds[a], kinds[b]]
                surface[a] += 1
    volume = np.bincount(x.ravel(), minlength=len(kinds))
    for c in range(1, len(kinds)):
        k = kinds[c]
        h += lam_v[k] * (volume[c] - tgt_v[k]) ** 2
        if lam_s is not None:
            h += lam_s[k] * (surface[c] - tgt_s[k]) ** 2
    return h


def _tiles(n, side, ndim=2):
    """Cell ids tiling an n^ndim lattice with cubes of the given side, ids from 1."""
    g = np.arange(n) // side
    per = n // side
    ids = np.zeros((n,) * ndim, np.int32)
    for a in range(ndim):
        ids = ids * per + g.reshape([-1 if b == a else 1 for b in range(ndim)])
    return ids + 1


def _like_fraction(x, kinds):
    """Share of face contacts between different cells that join cells of the same kind."""
    k = kinds[x]
    like = unlike = 0
    for ax in range(x.ndim):
        y = np.roll(x, -1, ax)
        both = (x != y) & (x > 0) & (y > 0)
        like += np.sum(both & (k == kinds[y]))
        unlike += np.sum(both & (k != kinds[y]))
    return like / (like + unlike)


def _pieces(x, c):
    """Face-connected pieces (periodic) of the sites of id c."""
    sites = set(zip(*np.nonzero(x == c)))
    seen, pieces = set(), 0
    for s in sites:
        if s in seen:
            continue
        pieces += 1
        stack = [s]
        seen.add(s)
        while stack:
            cur = stack.pop()
            for ax in range(x.ndim):
                for step in (-1, 1):
                    nb = list(cur)
                    nb[ax] = (nb[ax] + step) % x.shape[ax]
                    nb = tuple(nb)
                    if nb in sites and nb not in seen:
                        seen.add(nb)
                        stack.append(nb)
    return pieces


J3 = np.array([[0.0, 1.0, 1.5], [1.0, 0.5, 2.0], [1.5, 2.0, 0.5]])


def _params3(surface=False, temperature=1.5):
    extra = dict(lambda_surface=jnp.array([0.0, 0.05, 0.02]), target_surface=jnp.array([0.0, 10.0, 8.0])) if surface else {}
    return PottsParams(contact=jnp.asarray(J3, jnp.float32), lambda_volume=jnp.array([0.0, 0.5, 0.3]),
                       target_volume=jnp.array([0.0, 3.0, 2.0]), temperature=temperature, **extra)


# ---------------------------------------------------------------------------- energy
@pytest.mark.parametrize("shape, neighbourhood, boundary", [
    ((6, 8), "moore", "wrap"), ((6, 8), "von_neumann", "fixed"), ((4, 4, 6), "moore", "fixed"),
    ((4, 6, 4), "von_neumann", "wrap"), ((8, 8), "moore", "fixed"),
])
def test_energy_matches_written_out_sum(shape, neighbourhood, boundary):
    fill = 2 if boundary == "fixed" and len(shape) == 2 and neighbourhood == "moore" else 0
    lat = automata.Lattice(shape, neighbourhood, boundary=boundary, fill=fill)
    rng = np.random.default_rng(0)
    kinds = np.array([0, 1, 2, 1, 2])
    x = rng.integers(0, 5, shape)
    params = _params3(surface=True)
    want = _np_energy(x, lat, J3, kinds, [0, 0.5, 0.3], [0, 3, 2], [0, 0.05, 0.02], [0, 10, 8])
    got = energy(params, lat, jnp.asarray(x), jnp.asarray(kinds))
    np.testing.assert_allclose(float(got), want, rtol=1e-5)


@pytest.mark.parametrize("shape, neighbourhood, boundary", [
    ((6, 8), "moore", "wrap"), ((6, 8), "von_neumann", "fixed"), ((4, 4, 6), "moore", "fixed"),
    ((2, 4), "moore", "wrap"),
])
def test_delta_energy_equals_energy_difference(shape, neighbourhood, boundary):
    # The sampler prices a copy with _delta_energy; it must equal H(after) - H(before) exactly.
    lat = automata.Lattice(shape, neighbourhood, boundary=boundary, fill=1.0 if boundary == "fixed" else 0.0)
    kinds = jnp.array([0, 1, 2, 1])
    params = _params3(surface=True)
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.integers(0, 4, shape), jnp.int32)
    nb = jnp.moveaxis(lat.neighbours(x), lat.ndim, 0)
    volume, surface = cell_volumes(x, 4), cell_surfaces(lat, x, 4)
    ones = jnp.ones(shape, jnp.int32)
    inside = jnp.moveaxis(lat.replace(fill=0.0).neighbours(ones), lat.ndim, 0) == 1  # not the wall
    h0 = energy(params, lat, x, kinds)
    for _ in range(12):
        site = tuple(int(rng.integers(0, n)) for n in shape)
        new = int(rng.integers(0, 4))
        dh = _delta_energy(params, kinds, x[site], jnp.asarray(new), nb[(slice(None),) + site],
                           volume, surface, lat.num_neighbours, jnp.float32, inside[(slice(None),) + site])
        want = energy(params, lat, x.at[site].set(new), kinds) - h0
        np.testing.assert_allclose(float(dh), float(want), rtol=1e-5, atol=1e-4)


def test_surface_counts_bonds_of_the_neighbourhood():
    x = jnp.zeros((8, 8), jnp.int32).at[2:6, 2:6].set(1)
    assert cell_surfaces(automata.Lattice((8, 8), "von_neumann"), x, 2).tolist() == [16, 16]
    assert cell_surfaces(automata.Lattice((8, 8), "moore"), x, 2).tolist() == [44, 44]


# ---------------------------------------------------------------------------- exact sampling
def _reachable(lattice, x0, frozen=None):
    """All labelings reachable from `x0` by single copies that have a reverse: site i takes the id
    of a free neighbour, and keeps a free neighbour of its old id to copy back from. (The ids
    present on the free sites stay the same; on a tiny lattice not every such labeling need be
    reachable, so the class is found by search.)"""
    shape = x0.shape
    free = np.ones(shape, bool) if frozen is None else ~np.asarray(frozen)
    sites = list(np.ndindex(*shape))
    nbrs = {}
    for i in sites:
        out = []
        for off in lattice.offsets:
            j = tuple(a + o for a, o in zip(i, off))
            if lattice.boundary == "wrap":
                j = tuple(a % n for a, n in zip(j, shape))
            elif not all(0 <= a < n for a, n in zip(j, shape)):
                continue
            if free[j]:
                out.append(sites.index(j))
        nbrs[sites.index(i)] = out
    movable = [k for k, i in enumerate(sites) if free[i]]
    start = tuple(x0.ravel().tolist())
    seen, todo = {start}, [start]
    while todo:
        s = todo.pop()
        for i in movable:
            labels = [s[j] for j in nbrs[i]]
            if s[i] not in labels:
                continue
            for b in set(labels) - {s[i]}:
                t = s[:i] + (b,) + s[i + 1:]
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
    return np.array(sorted(seen))


def _gibbs_tv(rule, lattice, x0, *, frozen=None, replicas=512, burn=20, steps=400, seed=0):
    """Total variation between the sampler's visits and the exact Gibbs distribution over the
    labelings reachable from `x0` (the class the copy dynamics explores)."""
    shape, num = lattice.shape, rule.num_labels
    kinds = np.asarray(rule.kinds)
    p = rule.params
    lam_s = None if p.lambda_surface is None else np.asarray(p.lambda_surface)
    tgt_s = None if p.target_surface is None else np.asarray(p.target_surface)
    n = int(np.prod(shape))
    states = _reachable(lattice, np.asarray(x0).reshape(shape), frozen)
    h = np.array([_np_energy(s.reshape(shape), lattice, np.asarray(p.contact), kinds, np.asarray(p.lambda_volume),
                             np.asarray(p.target_volume), lam_s, tgt_s) for s in states])
    pi = np.exp(-(h - h.min()) / float(p.temperature))
    pi /= pi.sum()

    def one(key):
        s, _ = automata.rollout(rule, lattice, x0, key=key, num_steps=burn, record=False)
        return automata.rollout(rule, lattice, s, key=key, num_steps=steps)[1].x

    xs = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(seed), replicas))
    xs = np.asarray(xs).reshape(-1, n)
    base = num ** np.arange(n)[::-1]
    codes, all_codes = xs @ base, states @ base
    order = np.argsort(all_codes)
    pos = np.minimum(np.searchsorted(all_codes[order], codes), len(states) - 1)
    known = all_codes[order][pos] == codes
    counts = np.bincount(order[pos][known], minlength=len(states))
    return 0.5 * (np.abs(counts / len(codes) - pi).sum() + (~known).mean())


@pytest.mark.slow
def test_sampler_matches_exact_gibbs_distribution():
    # 2 x 4 periodic Moore lattice, medium and two cells of different kinds: 5796 reachable
    # labelings (every id present). With spacing 2 each colour updates two sites at once, and both may touch
    # the same cell, so the per-cell choice is exercised. 204,800 correlated samples give a TV of
    # about 0.03 against the exact distribution; the textbook acceptance (no Hastings factor,
    # medium may vanish) is far off, which shows the test can fail.
    lat = automata.Lattice((2, 4), "moore")
    x0 = jnp.asarray([[1, 1, 2, 2], [0, 1, 2, 0]])[..., None]
    rule = Potts(_params3(), kinds=jnp.array([0, 1, 2]), spacing=2)
    tv = _gibbs_tv(rule, lat, x0)
    assert tv < 0.06, tv
    tv_textbook = _gibbs_tv(rule.replace(detailed_balance=False), lat, x0, replicas=128, steps=200)
    assert tv_textbook > 0.3, tv_textbook


@pytest.mark.slow
def test_sampler_matches_gibbs_with_mask_wall_and_surface():
    # Fixed edges (a wall of id 2 beyond them), one site outside the mask, a surface term and a
    # von Neumann neighbourhood. The frozen site keeps its id in every sample.
    lat = automata.Lattice((2, 4), "von_neumann", boundary="fixed", fill=2)
    x0 = jnp.asarray([[1, 1, 2, 0], [0, 1, 2, 0]])[..., None]
    mask = np.ones((2, 4), bool)
    mask[0, 3] = False
    rule = Potts(_params3(surface=True, temperature=2.0), kinds=jnp.array([0, 1, 2]), mask=jnp.asarray(mask),
                 spacing=2)
    # 568 reachable labelings; 409,600 correlated samples give a TV of about 0.035.
    tv = _gibbs_tv(rule, lat, x0, frozen=~mask, replicas=1024, steps=400)
    assert tv < 0.06, tv


# ---------------------------------------------------------------------------- behaviour
def _sorting_setup(n=32, side=4, seed=0):
    ids = _tiles(n, side)
    num = ids.max()
    rng = np.random.default_rng(seed)
    kinds = np.concatenate([[0], rng.permutation(np.repeat([1, 2], num // 2))])
    params = PottsParams(contact=jnp.array([[0.0, 8.0, 8.0], [8.0, 2.0, 8.0], [8.0, 8.0, 2.0]]),
                         lambda_volume=1.0, target_volume=float(side * side), temperature=4.0)
    return ids, kinds, params


def test_differential_adhesion_sorts_two_kinds_and_volumes_hold():
    # 64 cells of 16 sites, kinds shuffled (like-kind share of cell-cell contacts about 0.5).
    # Like bonds cost 2, unlike 8: after 100 MCS the like share exceeds 0.8, and every cell's
    # volume stays within 25% of its target (mean absolute deviation below 10%).
    ids, kinds, params = _sorting_setup()
    lat = automata.Lattice(ids.shape, "moore")
    rule = Potts(params, kinds=jnp.asarray(kinds), spacing=4)
    start = _like_fraction(ids, kinds)
    assert 0.35 < start < 0.65
    final, _ = automata.rollout(rule, lat, jnp.asarray(ids)[..., None], key=jax.random.key(0), num_steps=100,
                                record=False)
    x = np.asarray(final.x[..., 0])
    assert _like_fraction(x, kinds) > 0.8
    v = np.bincount(x.ravel(), minlength=len(kinds))[1:]
    assert np.all(np.abs(v - 16) <= 4), v
    assert np.mean(np.abs(v - 16)) < 1.6


@pytest.mark.slow
def test_volumes_hold_in_3d_with_medium():
    # 3D, Moore: 64 cells of 48 sites with medium layers between them; after 30 MCS every cell
    # is within 15% of its target volume 48 (the contact energy with the medium pulls cells
    # a few sites above it).
    ids = _tiles(16, 4, 3)
    ids[::4] = 0
    kinds = np.array([0] + [1, 2] * 32)
    params = PottsParams(contact=jnp.array([[0.0, 6.0, 6.0], [6.0, 2.0, 8.0], [6.0, 8.0, 2.0]]),
                         lambda_volume=4.0, target_volume=48.0, temperature=4.0)
    lat = automata.Lattice((16, 16, 16), "moore")
    rule = Potts(params, kinds=jnp.asarray(kinds), spacing=4)
    final, _ = automata.rollout(rule, lat, jnp.asarray(ids)[..., None], key=jax.random.key(1), num_steps=30,
                                record=False)
    v = np.bincount(np.asarray(final.x).ravel(), minlength=65)[1:]
    assert np.all(np.abs(v - 48) <= 7), v


@pytest.mark.slow
def test_connectivity_veto_keeps_cells_whole():
    # At a temperature that tears cells apart, the veto keeps (nearly) every cell in one piece.
    ids = _tiles(24, 4)
    kinds = np.array([0] + [1] * 36)
    params = PottsParams(contact=jnp.array([[0.0, 4.0], [4.0, 4.0]]), lambda_volume=0.5, target_volume=16.0,
                         temperature=12.0)
    lat = automata.Lattice((24, 24), "moore")
    x0 = jnp.asarray(ids)[..., None]

    def fragments(connectivity):
        rule = Potts(params, kinds=jnp.asarray(kinds), spacing=4, connectivity=connectivity)
        final, _ = automata.rollout(rule, lat, x0, key=jax.random.key(2), num_steps=60, record=False)
        x = np.asarray(final.x[..., 0])
        return sum(_pieces(x, c) - 1 for c in range(1, 37))

    loose, whole = fragments(False), fragments(True)
    assert loose > 20, loose
    assert whole <= 2, whole


def test_frozen_sites_and_wall_do_not_change():
    ids = _tiles(16, 4)
    mask = np.zeros((16, 16), bool)
    mask[2:14, 2:14] = True
    params = PottsParams(contact=jnp.array([[0.0, 2.0], [2.0, 1.0]]), lambda_volume=1.0, target_volume=16.0,
                         temperature=3.0)
    lat = automata.Lattice((16, 16), "von_neumann", boundary="fixed", fill=0)
    rule = Potts(params, kinds=jnp.asarray([0] + [1] * 16), mask=jnp.asarray(mask), spacing=2)
    final, _ = automata.rollout(rule, lat, jnp.asarray(ids)[..., None], key=jax.random.key(3), num_steps=20,
                                record=False)
    x = np.asarray(final.x[..., 0])
    np.testing.assert_array_equal(x[~mask], ids[~mask])
    assert not np.array_equal(x[mask], ids[mask])


def test_stats_count_attempts_and_one_copy_per_cell_per_colour():
    ids, kinds, params = _sorting_setup(n=16)
    lat = automata.Lattice((16, 16), "moore")
    rule = Potts(params, kinds=jnp.asarray(kinds), spacing=2)
    x = jnp.asarray(ids)
    new, logp, stats = rule.sweep(lat, x, jax.random.key(0))
    proposed, eligible, won, accepted = np.asarray(stats)
    assert proposed >= eligible >= won >= accepted > 0
    # 16 cells, 4 colours: at most one copy per cell per colour, each touching two cells.
    assert won <= 4 * 16 // 2 * 2
    assert np.isfinite(float(logp)) and float(logp) <= 0
    changed = np.sum(np.asarray(new) != ids)
    assert changed == accepted


# ---------------------------------------------------------------------------- transformations
def _small_rule(connectivity=False, surface=False):
    params = _params3(surface=surface)
    return Potts(params, kinds=jnp.array([0, 1, 2, 1, 2]), spacing=4, connectivity=connectivity)


def _small_state(shape=(8, 8)):
    ids = np.zeros(shape, np.int32)
    ids[:4, :4], ids[:4, 4:], ids[4:, :4], ids[4:, 4:] = 1, 2, 3, 4
    ids[3:5, 3:5] = 0
    return jnp.asarray(ids)[..., None]


@pytest.mark.slow
def test_jit_equals_eager():
    # Eager: jax.disable_jit runs the colours' scan as a Python loop, op by op.
    params = _params3(surface=True)
    rule = Potts(params, kinds=jnp.array([0, 1, 2, 1, 2]), spacing=2, connectivity=True)
    lat = automata.Lattice((4, 4))
    x = jnp.asarray([[1, 1, 2, 2], [1, 0, 2, 2], [3, 3, 4, 0], [3, 3, 4, 4]])
    key = jax.random.key(4)
    jitted = jax.jit(rule.sweep, static_argnums=0)(lat, x, key)
    with jax.disable_jit():
        eager = rule.sweep(lat, x, key)
    np.testing.assert_array_equal(jitted[0], eager[0])
    np.testing.assert_array_equal(jitted[2], eager[2])
    np.testing.assert_allclose(jitted[1], eager[1], rtol=1e-5)


def test_unrolled_colours_give_the_same_states_and_tallies():
    rule, lat, x = _small_rule(surface=True), automata.Lattice((8, 8)), _small_state()
    unrolled = rule.replace(unroll=True)
    key = jax.random.key(6)
    looped = automata.rollout(rule, lat, x, key=key, num_steps=4, record=False)[0].x
    straight = automata.rollout(unrolled, lat, x, key=key, num_steps=4, record=False)[0].x
    np.testing.assert_array_equal(straight, looped)
    assert not np.array_equal(np.asarray(looped), np.asarray(x))  # the cells moved
    a, b = rule.sweep(lat, looped, key), unrolled.sweep(lat, looped, key)
    np.testing.assert_array_equal(a[2], b[2])
    np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
    assert rule.sweep(lat, looped, key, tally=False)[1:] == (None, None)


@pytest.mark.slow
def test_vmap_equals_loop():
    rule, lat, x = _small_rule(), automata.Lattice((8, 8)), _small_state()
    keys = jax.random.split(jax.random.key(5), 3)
    run = lambda k: automata.rollout(rule, lat, x, key=k, num_steps=5, record=False)[0].x  # noqa: E731
    batched = jax.vmap(run)(keys)
    for i, k in enumerate(keys):
        np.testing.assert_array_equal(batched[i], run(k))


@pytest.mark.slow
def test_chunked_rollout_equals_uncut_and_log_prob_rollout_agrees():
    rule, lat, x = _small_rule(surface=True), automata.Lattice((8, 8)), _small_state()
    key = jax.random.key(6)
    full, traj = automata.rollout(rule, lat, x, key=key, num_steps=8)
    half, _ = automata.rollout(rule, lat, x, key=key, num_steps=4, record=False)
    rest, _ = automata.rollout(rule, lat, half, key=key, num_steps=4, record=False)
    np.testing.assert_array_equal(rest.x, full.x)
    assert int(rest.t) == 8
    final, traj2, logp = rollout_with_log_prob(rule, lat, x, key=key, num_steps=8, record=True)
    np.testing.assert_array_equal(final.x, full.x)
    np.testing.assert_array_equal(traj2.x, traj.x)
    np.testing.assert_array_equal(traj2.t, traj.t)
    assert logp.shape == (8,) and np.all(np.asarray(logp) <= 0)
    assert not np.array_equal(traj.x[0], x)


@pytest.mark.slow
def test_log_prob_gradient_matches_finite_differences():
    # With the key fixed the decisions stay the same under a small change of the parameters, so
    # the summed log-probability is a smooth function of them.
    rule, lat, x = _small_rule(surface=True), automata.Lattice((8, 8)), _small_state()
    key = jax.random.key(8)

    def run(temperature, lam):
        params = rule.params.replace(temperature=temperature, lambda_volume=lam)
        return rollout_with_log_prob(rule.replace(params=params), lat, x, key=key, num_steps=3, record=True)

    def f(temperature, lam):
        return run(temperature, lam)[2].sum()

    t0, lam0 = jnp.float32(1.5), jnp.array([0.0, 0.5, 0.3])
    g_t, g_lam = jax.grad(f, argnums=(0, 1))(t0, lam0)
    eps = 1e-2
    # The premise: no decision flips between the finite-difference points.
    e1 = jnp.array([0.0, eps, 0.0])
    for t, lam in ((t0 + eps, lam0), (t0 - eps, lam0), (t0, lam0 + e1), (t0, lam0 - e1)):
        np.testing.assert_array_equal(run(t, lam)[1].x, run(t0, lam0)[1].x)
    fd_t = (f(t0 + eps, lam0) - f(t0 - eps, lam0)) / (2 * eps)
    np.testing.assert_allclose(g_t, fd_t, rtol=2e-2, atol=1e-2)
    fd_l = (f(t0, lam0 + e1) - f(t0, lam0 - e1)) / (2 * eps)
    np.testing.assert_allclose(g_lam[1], fd_l, rtol=2e-2, atol=1e-2)
    assert abs(float(g_t)) > 0
    # The score-function surrogate of automata.relax takes it as is.
    value = lambda t: automata.relax.score_function_surrogate(f(t, lam0), jnp.float32(2.0))  # noqa: E731
    np.testing.assert_allclose(jax.grad(value)(t0), 2.0 * g_t, rtol=1e-5)


# ---------------------------------------------------------------------------- pseudo-likelihood
def test_pseudo_likelihood_equals_conditionals_from_energy():
    lat = automata.Lattice((4, 6), "moore", boundary="fixed", fill=0)
    kinds = jnp.array([0, 1, 2, 1])
    params = _params3(surface=True)
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.integers(0, 4, (4, 6)), jnp.int32)
    mask = np.ones((4, 6), bool)
    mask[0, 0] = False
    per_site = pseudo_log_likelihood(params, x, lat, kinds, mask=jnp.asarray(mask), reduce="none")
    h_jit = jax.jit(lambda y: energy(params, lat, y, kinds))
    h = lambda y: float(h_jit(y))  # noqa: E731
    nb = np.moveaxis(np.asarray(lat.neighbours(x)), 2, 0)
    free = np.moveaxis(np.asarray(lat.replace(fill=0.0).neighbours(jnp.asarray(mask, jnp.int32))), 2, 0) == 1
    for site in [(0, 0), (1, 1), (2, 3), (3, 5), (0, 4)]:
        if not mask[site]:
            assert float(per_site[site]) == 0.0
            continue
        cands = {int(x[site])} | {int(nb[(j,) + site]) for j in range(8) if free[(j,) + site]}
        energies = np.array([h(x.at[site].set(c)) for c in sorted(cands)])
        want = -h(x) / 1.5 - np.log(np.sum(np.exp(-energies / 1.5)))
        np.testing.assert_allclose(float(per_site[site]), want, rtol=1e-4, atol=1e-4)
    total = pseudo_log_likelihood(params, x, lat, kinds, mask=jnp.asarray(mask))
    np.testing.assert_allclose(float(total), float(per_site.sum()), rtol=1e-5)


def test_pseudo_likelihood_gradient_matches_finite_differences():
    lat = automata.Lattice((8, 8), "moore")
    kinds = jnp.array([0, 1, 2, 1, 2])
    x = _small_state()
    params = _params3(surface=True)
    f = jax.jit(lambda p: pseudo_log_likelihood(p, x, lat, kinds))
    grad = jax.grad(f)(params)
    eps = 1e-2
    for name, index in [("contact", (1, 2)), ("lambda_volume", (1,)), ("target_volume", (2,)),
                        ("lambda_surface", (1,)), ("target_surface", (2,)), ("temperature", ())]:
        value = jnp.asarray(getattr(params, name), jnp.float32)
        step = jnp.zeros_like(value).at[index].set(eps)
        if name == "contact":  # keep J symmetric: move J[a, b] and J[b, a] together
            step = step + step.T
        up = f(params.replace(**{name: value + step}))
        down = f(params.replace(**{name: value - step}))
        fd = (up - down) / (2 * eps)
        g = getattr(grad, name)
        analytic = (g[index] + g[index[::-1]]) if name == "contact" else g[index]
        np.testing.assert_allclose(float(analytic), float(fd), rtol=2e-2, atol=2e-2, err_msg=name)


@pytest.mark.slow
def test_pseudo_likelihood_prefers_the_sampled_parameters():
    # Lattices sampled with like bonds 2 and unlike 8 are more likely under those energies than
    # under swapped ones, and the gradient in the unlike energy points back towards 8.
    ids, kinds, params = _sorting_setup(n=32)
    lat = automata.Lattice(ids.shape, "moore")
    rule = Potts(params, kinds=jnp.asarray(kinds), spacing=4)
    final, _ = automata.rollout(rule, lat, jnp.asarray(ids)[..., None], key=jax.random.key(8), num_steps=60,
                                record=False)
    swapped = params.replace(contact=jnp.array([[0.0, 8.0, 8.0], [8.0, 8.0, 2.0], [8.0, 2.0, 8.0]]))
    k = jnp.asarray(kinds)
    assert pseudo_log_likelihood(params, final, lat, k) > pseudo_log_likelihood(swapped, final, lat, k)
    lower = params.replace(contact=params.contact.at[1, 2].set(5.0).at[2, 1].set(5.0))
    g = jax.grad(pseudo_log_likelihood)(lower, final, lat, k).contact
    assert float(g[1, 2] + g[2, 1]) > 0


# ---------------------------------------------------------------------------- errors
def _good():
    params = PottsParams(contact=jnp.array([[0.0, 1.0], [1.0, 0.0]]), lambda_volume=1.0, target_volume=4.0)
    return params, jnp.array([0, 1]), automata.Lattice((4, 4)), jnp.zeros((4, 4, 1), jnp.int32).at[:2, :2].set(1)


@pytest.mark.parametrize("change, error, match", [
    (dict(contact=jnp.array([[0.0, 1.0], [2.0, 0.0]])), ValueError, "contact must be symmetric"),
    (dict(contact=jnp.ones((2, 3))), ValueError, "square"),
    (dict(temperature=0.0), ValueError, "temperature must be positive"),
    (dict(lambda_volume=-1.0), ValueError, "lambda_volume must be non-negative"),
    (dict(target_volume=jnp.ones(3)), ValueError, "one entry per kind"),
    (dict(lambda_surface=1.0), ValueError, "given together"),
    (dict(contact=jnp.array([[0.0, np.nan], [np.nan, 0.0]])), ValueError, "finite"),
])
def test_bad_params_raise(change, error, match):
    params, kinds, lat, x = _good()
    rule = Potts(params.replace(**change), kinds=kinds, spacing=2)
    with pytest.raises(error, match=match):
        automata.step(rule, lat, x, key=jax.random.key(0))
    with pytest.raises(error, match=match):
        pseudo_log_likelihood(params.replace(**change), x, lat, kinds)


def test_bad_inputs_raise():
    params, kinds, lat, x = _good()
    key = jax.random.key(0)
    step = lambda rule, lat=lat, x=x: automata.step(rule, lat, x, key=key)  # noqa: E731
    with pytest.raises(ValueError, match="kinds\\[0\\] must be 0"):
        step(Potts(params, kinds=jnp.array([1, 1])))
    with pytest.raises(ValueError, match="kind in 1..1"):
        step(Potts(params, kinds=jnp.array([0, 2])))
    with pytest.raises(TypeError, match="kinds must be integers"):
        step(Potts(params, kinds=jnp.array([0.0, 1.0])))
    with pytest.raises(ValueError, match="cell ids in 0..1"):
        step(Potts(params, kinds=kinds, spacing=2), x=x.at[0, 0].set(5))
    with pytest.raises(TypeError, match="integer cell ids"):
        step(Potts(params, kinds=kinds, spacing=2), x=x.astype(jnp.float32))
    with pytest.raises(ValueError, match="multiple of spacing=3"):
        step(Potts(params, kinds=kinds, spacing=3))
    with pytest.raises(ValueError, match="spacing must exceed the lattice radius"):
        step(Potts(params, kinds=kinds, spacing=2), lat=automata.Lattice((8, 8), radius=2))
    with pytest.raises(ValueError, match="'moore' or 'von_neumann'"):
        step(Potts(params, kinds=kinds, spacing=2), lat=automata.Lattice((4, 4), "hex"))
    with pytest.raises(ValueError, match="'wrap' or 'fixed'"):
        step(Potts(params, kinds=kinds, spacing=2), lat=automata.Lattice((4, 4), boundary="reflect"))
    with pytest.raises(ValueError, match="lattice.fill .* must be a cell id"):
        step(Potts(params, kinds=kinds, spacing=2), lat=automata.Lattice((4, 4), boundary="fixed", fill=7))
    with pytest.raises(ValueError, match="mask must be a boolean array of the lattice's shape"):
        step(Potts(params, kinds=kinds, spacing=2, mask=jnp.ones((3, 3), bool)))
    with pytest.raises(ValueError, match="mask is False everywhere"):
        step(Potts(params, kinds=kinds, spacing=2, mask=jnp.zeros((4, 4), bool)))
    with pytest.raises(ValueError, match="spacing must be at least 2"):
        Potts(params, kinds=kinds, spacing=1)
    with pytest.raises(TypeError, match="connectivity must be True or False"):
        Potts(params, kinds=kinds, connectivity=1)
    with pytest.raises(ValueError, match="needs a PRNG key"):
        automata.step(Potts(params, kinds=kinds, spacing=2), lat, x)
    with pytest.raises(ValueError, match="sharded_potts_rollout"):
        automata.sharded_rollout(Potts(params, kinds=kinds, spacing=2), automata.Lattice((8, 4)),
                                 jnp.zeros((8, 4, 1), jnp.int32), key=key, num_steps=1)
    with pytest.raises(ValueError, match="reduce must be 'sum' or 'none'"):
        pseudo_log_likelihood(params, x, lat, kinds, reduce="mean")
    with pytest.raises(TypeError, match="params must be an automata.potts.PottsParams"):
        pseudo_log_likelihood({"contact": 1}, x, lat, kinds)
