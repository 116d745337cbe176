"""Life-like rules: known patterns, a numpy reference on every lattice, and the bit-packed path."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import automata
from automata.lifelike import (
    DAY_AND_NIGHT,
    HIGHLIFE,
    LIFE,
    PRESETS,
    SEEDS,
    LifeLike,
    format_rule,
    parse_rule,
)

# ---------------------------------------------------------------------------- numpy reference


def np_shift(x, off, boundary, fill):
    """y[i] = x[i + off] with the boundary beyond the edges (x has only spatial axes)."""
    w = max(abs(o) for o in off)
    mode = {"wrap": "wrap", "reflect": "symmetric", "fixed": "constant"}[boundary]
    kw = {"constant_values": fill} if boundary == "fixed" else {}
    xp = np.pad(x, w, mode=mode, **kw)
    return xp[tuple(slice(w + o, w + o + n) for o, n in zip(off, x.shape))]


def np_lifelike(x, birth, survive, offsets, boundary="wrap", fill=0, num_steps=1):
    """Outer-totalistic update written from the definition, one offset at a time."""
    x = (np.asarray(x) != 0).astype(np.int64)
    for _ in range(num_steps):
        n = sum(np_shift(x, off, boundary, int(fill != 0)) for off in offsets)
        x = np.where(x == 1, np.isin(n, survive), np.isin(n, birth)).astype(np.int64)
    return x


MOORE_2D = [o for o in itertools.product((-1, 0, 1), repeat=2) if any(o)]
VON_NEUMANN_2D = [(-1, 0), (1, 0), (0, -1), (0, 1)]
HEX = [(0, 1), (0, -1), (1, 0), (-1, 0), (1, -1), (-1, 1)]
MOORE_3D = [o for o in itertools.product((-1, 0, 1), repeat=3) if any(o)]
CUSTOM = ((0, 2), (2, 0), (-1, -1))


def board(pattern, shape, at):
    x = np.zeros(shape, np.uint8)
    p = np.array([[c == "#" for c in row] for row in pattern], np.uint8)
    x[at[0] : at[0] + p.shape[0], at[1] : at[1] + p.shape[1]] = p
    return x


def trajectory(rule, lattice, x, num_steps):
    """Rollout (packed where possible), board after each step, shape (num_steps, *shape)."""
    _, traj = automata.rollout(
        rule, lattice, automata.LatticeState(x=jnp.asarray(x)[..., None]), num_steps=num_steps
    )
    return np.asarray(traj.x[..., 0])


def plain(rule, lattice, x, num_steps):
    """The site-by-site `__call__`, stepped eagerly: the reference for the packed path.

    Eager steps reuse the per-operation compilations across rules and lattices, which keeps the
    many rule/boundary combinations below cheap.
    """
    x = jnp.asarray(x)[..., None]
    out = []
    for _ in range(num_steps):
        x = rule(lattice, automata.LatticeState(x=x), key=None)
        out.append(x[..., 0])
    return np.asarray(jnp.stack(out))


def packed(rule, lattice, x, num_steps):
    """The packed representation stepped eagerly: encode, step_encoded per step, decode."""
    carry = rule.encode(lattice, jnp.asarray(x)[..., None])
    assert carry.dtype == jnp.uint32 and carry.shape == (x.shape[1] // 32, x.shape[0])
    out = []
    for t in range(num_steps):
        carry = rule.step_encoded(lattice, carry, jnp.int32(t), None)
        out.append(rule.decode(lattice, carry)[..., 0])
    return np.asarray(jnp.stack(out))


# ---------------------------------------------------------------------------- known patterns

GLIDER = [".#.", "..#", "###"]
BLINKER = ["###"]
# Bell's HighLife replicator (1994): after 12 steps there are two copies, displaced diagonally.
REPLICATOR = ["..###", ".#..#", "#...#", "#..#.", "###.."]


@pytest.mark.parametrize("shape", [(20, 20), (32, 64)])  # site-by-site and bit-packed
def test_glider_moves_one_cell_diagonally_every_4_steps(shape):
    x = board(GLIDER, shape, (1, 1))
    traj = trajectory(LIFE, automata.Lattice(shape), x, 40)
    for k in range(1, 11):
        np.testing.assert_array_equal(traj[4 * k - 1], np.roll(x, (k, k), axis=(0, 1)))


@pytest.mark.parametrize("shape", [(9, 9), (8, 32)])
def test_blinker_period_2(shape):
    x = board(BLINKER, shape, (4, 3))
    traj = trajectory(LIFE, automata.Lattice(shape), x, 6)
    vertical = board(["#", "#", "#"], shape, (3, 4))
    for t in range(0, 6, 2):
        np.testing.assert_array_equal(traj[t], vertical)
        np.testing.assert_array_equal(traj[t + 1], x)


@pytest.mark.parametrize("shape", [(40, 40), (48, 64)])
def test_highlife_replicator_makes_two_copies(shape):
    x = board(REPLICATOR, shape, (18, 18))
    traj = trajectory(HIGHLIFE, automata.Lattice(shape, boundary="fixed"), x, 24)
    two = board(REPLICATOR, shape, (16, 16)) | board(REPLICATOR, shape, (20, 20))
    np.testing.assert_array_equal(traj[11], two)
    # 12 steps later the two copies stand 4 sites out from the start along the diagonal.
    four_out = board(REPLICATOR, shape, (14, 14)) | board(REPLICATOR, shape, (22, 22))
    np.testing.assert_array_equal(traj[23], four_out)
    # Under Life the same pattern does not replicate.
    life = trajectory(LIFE, automata.Lattice(shape, boundary="fixed"), x, 12)
    assert not np.array_equal(life[11], two)


def test_seeds_every_live_site_dies():
    x = np.random.default_rng(0).integers(0, 2, (16, 16))
    out = trajectory(SEEDS, automata.Lattice((16, 16)), x, 1)[0]
    assert not np.any(out & x)


def test_day_and_night_is_symmetric_under_inversion():
    x = np.random.default_rng(1).integers(0, 2, (24, 24)).astype(np.uint8)
    lat = automata.Lattice((24, 24))
    np.testing.assert_array_equal(
        trajectory(DAY_AND_NIGHT, lat, 1 - x, 5), 1 - trajectory(DAY_AND_NIGHT, lat, x, 5)
    )


# ---------------------------------------------------------------------------- every lattice


@pytest.mark.parametrize(
    "rule,shape,lattice_kw,offsets",
    [
        ("B3/S23", (17, 19), dict(boundary="wrap"), MOORE_2D),
        ("B3/S23", (17, 19), dict(boundary="fixed", fill=1.0), MOORE_2D),
        ("B36/S23", (17, 19), dict(boundary="reflect"), MOORE_2D),
        ("B1/S012", (17, 19), dict(neighbourhood="von_neumann"), VON_NEUMANN_2D),
        ("B2/S34", (17, 19), dict(neighbourhood="von_neumann", boundary="fixed"), VON_NEUMANN_2D),
        ("B2/S34", (17, 19), dict(neighbourhood="hex", boundary="reflect"), HEX),
        ("B1/S1", (31,), dict(boundary="wrap"), [(-1,), (1,)]),
        ("B5,6,7/S4,5,6", (8, 9, 10), dict(boundary="wrap"), MOORE_3D),
        ("B4/S5,9,10,26", (8, 9, 10), dict(boundary="fixed"), MOORE_3D),
        ("B2/S23", (17, 19), dict(neighbourhood=CUSTOM), CUSTOM),
    ],
)
def test_matches_numpy_reference(rule, shape, lattice_kw, offsets):
    rule = LifeLike(rule)
    lat = automata.Lattice(shape, **lattice_kw)
    x = np.random.default_rng(2).integers(0, 2, shape).astype(np.uint8)
    traj = plain(rule, lat, x, 6)
    for t in range(6):
        expected = np_lifelike(x, rule.birth, rule.survive, offsets, lat.boundary, lat.fill, t + 1)
        np.testing.assert_array_equal(traj[t], expected, err_msg=f"step {t + 1}")


def test_radius_2_moore_matches_reference():
    rule = LifeLike("B10,11,12/S9,10,11,12,13")
    lat = automata.Lattice((17, 19), radius=2)
    offsets = [o for o in itertools.product(range(-2, 3), repeat=2) if any(o)]
    x = np.random.default_rng(3).integers(0, 2, (17, 19)).astype(np.uint8)
    np.testing.assert_array_equal(
        plain(rule, lat, x, 4)[-1], np_lifelike(x, rule.birth, rule.survive, offsets, num_steps=4)
    )


# ---------------------------------------------------------------------------- bit-packed path


def edge_board(shape, seed):
    """Random board plus live columns on both sides of every word edge and on the outer edges."""
    rng = np.random.default_rng(seed)
    x = (rng.random(shape) < 0.4).astype(np.uint8)
    for c in range(0, shape[1], 32):
        x[::3, c] = 1
        x[1::4, c + 31] = 1
    x[0, :] |= rng.integers(0, 2, shape[1]).astype(np.uint8)
    x[-1, :] |= rng.integers(0, 2, shape[1]).astype(np.uint8)
    return x


BOUNDARIES = [
    dict(boundary="wrap"),
    dict(boundary="fixed"),
    dict(boundary="fixed", fill=1.0),
    dict(boundary="reflect"),
]


@pytest.mark.parametrize("rule", [LIFE, HIGHLIFE, SEEDS, DAY_AND_NIGHT], ids=str)
@pytest.mark.parametrize("lattice_kw", BOUNDARIES, ids=lambda kw: "-".join(map(str, kw.values())))
def test_packed_equals_plain(rule, lattice_kw):
    lat = automata.Lattice((24, 96), **lattice_kw)
    x = edge_board((24, 96), 4)
    np.testing.assert_array_equal(packed(rule, lat, x, 24), plain(rule, lat, x, 24))


@pytest.mark.parametrize("lattice_kw", BOUNDARIES, ids=lambda kw: "-".join(map(str, kw.values())))
def test_packed_rollout_equals_plain(lattice_kw):
    lat = automata.Lattice((8, 64), **lattice_kw)
    x = edge_board((8, 64), 9)
    np.testing.assert_array_equal(trajectory(HIGHLIFE, lat, x, 40), plain(HIGHLIFE, lat, x, 40))


def test_packed_equals_plain_single_word_row():
    # One row of one word: every neighbour beyond the edges is this word again (wrap), itself
    # mirrored (reflect) or the fill.
    for lattice_kw in BOUNDARIES:
        lat = automata.Lattice((1, 32), **lattice_kw)
        x = edge_board((1, 32), 5)
        for rule in (LIFE, DAY_AND_NIGHT):
            np.testing.assert_array_equal(packed(rule, lat, x, 8), plain(rule, lat, x, 8))


@pytest.mark.parametrize("spec", ["B/S", "B012345678/S012345678", "B0/S8", "B1357/S02468", "B8/S"])
def test_packed_equals_plain_extreme_rules(spec):
    rule = LifeLike(spec)
    for lattice_kw in BOUNDARIES:
        lat = automata.Lattice((8, 64), **lattice_kw)
        x = edge_board((8, 64), 10)
        np.testing.assert_array_equal(packed(rule, lat, x, 3), plain(rule, lat, x, 3))


@settings(max_examples=10, deadline=None)
@given(
    birth=st.sets(st.integers(0, 8)),
    survive=st.sets(st.integers(0, 8)),
    lattice_kw=st.sampled_from(BOUNDARIES),
)
def test_packed_equals_plain_any_rule(birth, survive, lattice_kw):
    rule = LifeLike(format_rule(tuple(sorted(birth)), tuple(sorted(survive))))
    lat = automata.Lattice((8, 64), **lattice_kw)
    x = edge_board((8, 64), 6)
    np.testing.assert_array_equal(packed(rule, lat, x, 4), plain(rule, lat, x, 4))


def test_packed_path_only_where_it_applies():
    x32 = jnp.zeros((8, 32, 1), jnp.uint8)
    assert LIFE.encode(automata.Lattice((8, 32)), x32).dtype == jnp.uint32
    for lat in [
        automata.Lattice((8, 32), neighbourhood="von_neumann"),
        automata.Lattice((8, 32), radius=2),
        automata.Lattice((8, 32), boundary="fixed", fill=2.0),
    ]:
        assert LIFE.encode(lat, x32) is x32
    x33 = jnp.zeros((8, 33, 1), jnp.uint8)
    assert LIFE.encode(automata.Lattice((8, 33)), x33) is x33


def test_pack_roundtrip_and_dtypes():
    lat = automata.Lattice((8, 64))
    x = jnp.asarray(edge_board((8, 64), 7))[..., None]
    np.testing.assert_array_equal(LIFE.decode(lat, LIFE.encode(lat, x)), x)
    for dtype in (jnp.bool_, jnp.float32):
        state = automata.LatticeState(x=x.astype(dtype))
        final, traj = automata.rollout(LIFE, lat, state, num_steps=3)
        assert final.x.dtype == dtype and traj.x.dtype == dtype
        expected = plain(LIFE, lat, np.asarray(x[..., 0]), 3)[-1]
        np.testing.assert_array_equal(final.x[..., 0].astype(jnp.uint8), expected)


def test_packed_under_vmap_and_chunks():
    lat = automata.Lattice((8, 64))
    xs = jax.random.bernoulli(jax.random.key(0), 0.4, (3, 8, 64, 1)).astype(jnp.uint8)
    def run(x, n):
        state = automata.LatticeState(x=x)
        return automata.rollout(LIFE, lat, state, num_steps=n, record=False)[0]

    batched = jax.vmap(lambda x: run(x, 8).x)(xs)
    for b in range(3):
        expected = plain(LIFE, lat, np.asarray(xs[b, ..., 0]), 8)[-1]
        np.testing.assert_array_equal(batched[b, ..., 0], expected)
    half = run(run(xs[0], 4).x, 4)
    np.testing.assert_array_equal(half.x, batched[0])


def test_step_equals_rollout():
    lat = automata.Lattice((8, 32))
    state = automata.LatticeState(x=jnp.asarray(edge_board((8, 32), 8))[..., None])
    final, _ = automata.rollout(LIFE, lat, state, num_steps=3)
    s = state
    for _ in range(3):
        s = automata.step(LIFE, lat, s)
    np.testing.assert_array_equal(final.x, s.x)
    assert int(final.t) == int(s.t) == 3


# ---------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "spec,birth,survive,canonical",
    [
        ("B3/S23", (3,), (2, 3), "B3/S23"),
        ("b36/s23", (3, 6), (2, 3), "B36/S23"),
        ("B2/S", (2,), (), "B2/S"),
        ("B/S012345678", (), tuple(range(9)), "B/S012345678"),
        ("B3678/S34678", (3, 6, 7, 8), (3, 4, 6, 7, 8), "B3678/S34678"),
        ("S23/B3", (3,), (2, 3), "B3/S23"),
        ("23/3", (3,), (2, 3), "B3/S23"),
        ("  B33/S32 ", (3,), (2, 3), "B3/S23"),
        ("B5,6,7/S4,5,6", (5, 6, 7), (4, 5, 6), "B567/S456"),
        ("B4/S5, 9,10,26", (4,), (5, 9, 10, 26), "B4/S5,9,10,26"),
    ],
)
def test_parse(spec, birth, survive, canonical):
    assert parse_rule(spec) == (birth, survive)
    rule = LifeLike(spec)
    assert (rule.birth, rule.survive) == (birth, survive)
    assert str(rule) == rule.rule == canonical
    assert LifeLike(canonical) == rule


def test_presets():
    assert PRESETS == {
        "life": "B3/S23",
        "highlife": "B36/S23",
        "seeds": "B2/S",
        "day_and_night": "B3678/S34678",
    }
    assert [str(r) for r in (LIFE, HIGHLIFE, SEEDS, DAY_AND_NIGHT)] == list(PRESETS.values())


def test_equal_spellings_share_compilation():
    lat = automata.Lattice((8, 8))
    s = automata.LatticeState(x=jnp.zeros((8, 8, 1), jnp.uint8))
    automata.step(LifeLike("B3/S23"), lat, s)
    size = automata.engine._step._cache_size()
    automata.step(LifeLike("b3/s32"), lat, s)
    assert automata.engine._step._cache_size() == size


@pytest.mark.parametrize("spec", ["B3S23", "B3/S2/3", "", "life"])
def test_malformed_slash(spec):
    with pytest.raises(ValueError, match="with exactly one '/'"):
        LifeLike(spec)


@pytest.mark.parametrize("spec", ["B3/X23", "B3/23", "X3/S23", "3/S23"])
def test_malformed_letters(spec):
    expected = r'Cannot read the rule .*expected a "B<birth>/S<survive>" string'
    with pytest.raises(ValueError, match=expected):
        LifeLike(spec)


@pytest.mark.parametrize("spec", ["B3a/S23", "B3/S2-3", "B5,,6/S4", "B-1/S2", "B٣/S23"])
def test_malformed_counts(spec):
    with pytest.raises(ValueError, match="is not a non-negative integer"):
        LifeLike(spec)


def test_not_a_string():
    with pytest.raises(TypeError, match="Life-like rule is a"):
        LifeLike(23)


@pytest.mark.parametrize(
    "spec,lattice,top",
    [
        ("B9/S23", automata.Lattice((8, 8)), 9),
        ("B3/S5", automata.Lattice((8, 8), neighbourhood="von_neumann"), 5),
        ("B3/S23,27", automata.Lattice((4, 4, 4)), 27),
    ],
)
def test_count_above_num_neighbours(spec, lattice, top):
    x = jnp.zeros(lattice.shape + (1,), jnp.uint8)
    expected = f"count of {top}.*has only {lattice.num_neighbours} neighbours"
    with pytest.raises(ValueError, match=expected):
        automata.step(LifeLike(spec), lattice, automata.LatticeState(x=x))


def test_wrong_channels():
    lat = automata.Lattice((8, 8))
    with pytest.raises(ValueError, match="needs one channel"):
        automata.step(LIFE, lat, automata.LatticeState(x=jnp.zeros((8, 8, 2), jnp.uint8)))


def test_complex_dtype():
    lat = automata.Lattice((8, 8))
    with pytest.raises(TypeError, match="real or boolean site values"):
        automata.step(LIFE, lat, automata.LatticeState(x=jnp.zeros((8, 8, 1), jnp.complex64)))


@pytest.mark.parametrize("value, dtype", [(5, jnp.int32), (0.5, jnp.float32), (-1, jnp.int8)])
def test_non_binary_states_refused(value, dtype):
    lat = automata.Lattice((8, 8))
    x = jnp.zeros((8, 8, 1), dtype).at[2, 3, 0].set(value)
    with pytest.raises(ValueError, match="must hold 0 .dead. or 1 .alive."):
        automata.step(LIFE, lat, automata.LatticeState(x=x))
    with pytest.raises(ValueError, match="must hold 0 .dead. or 1 .alive."):
        automata.rollout(LIFE, lat, automata.LatticeState(x=x), num_steps=2)


def test_binary_states_of_any_dtype_accepted():
    lat = automata.Lattice((8, 8))
    x = jnp.zeros((8, 8, 1), jnp.uint8).at[3, 2:5, 0].set(1)
    for dtype in (jnp.uint8, jnp.int32, jnp.float32, jnp.bool_):
        out = automata.step(LIFE, lat, automata.LatticeState(x=x.astype(dtype)))
        assert int(out.x.astype(jnp.int32).sum()) == 3


def test_table_matches_the_step():
    rule = LifeLike("B36/S23")
    t = rule.table()
    assert t.shape == (2, 9) and t.dtype == np.uint8
    assert np.nonzero(t[0])[0].tolist() == [3, 6] and np.nonzero(t[1])[0].tolist() == [2, 3]
    assert LifeLike("B1/S12").table(4).shape == (2, 5)
    with pytest.raises(ValueError, match="num_neighbours must be at least 6"):
        rule.table(4)
