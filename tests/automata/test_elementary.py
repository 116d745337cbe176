"""Elementary cellular automata against Wolfram's definition and the published rows."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from automata.elementary import Elementary


def wolfram_rows(number, row, num_steps, boundary="fixed", fill=0):
    """Rows 0..num_steps straight from the definition: new[i] = bit (4 l + 2 c + r) of number."""
    table = [(number >> k) & 1 for k in range(8)]
    rows = [np.asarray(row, np.uint8)]
    for _ in range(num_steps):
        c = rows[-1]
        if boundary == "wrap":
            l, r = np.roll(c, 1), np.roll(c, -1)
        elif boundary == "reflect":
            l, r = np.concatenate([c[:1], c[:-1]]), np.concatenate([c[1:], c[-1:]])
        else:
            l, r = np.concatenate([[fill], c[:-1]]), np.concatenate([c[1:], [fill]])
        rows.append(np.array([table[4 * a + 2 * b + d] for a, b, d in zip(l, c, r)], np.uint8))
    return np.stack(rows)


def run(number, row, num_steps, **lattice_kw):
    lat = automata.Lattice((len(row),), **lattice_kw)
    x = jnp.asarray(row, jnp.uint8)[:, None]
    state = automata.LatticeState(x=x)
    _, traj = automata.rollout(Elementary(number), lat, state, num_steps=num_steps)
    return np.concatenate([np.asarray(row, np.uint8)[None], np.asarray(traj.x[..., 0])])


def picture(rows):
    return ["".join(".#"[int(v)] for v in r) for r in rows]


def seed(width):
    row = np.zeros(width, np.uint8)
    row[width // 2] = 1
    return row


# Rule 30 from one live site (Wolfram, A New Kind of Science, p. 27).
RULE_30 = [
    ".......#.......",
    "......###......",
    ".....##..#.....",
    "....##.####....",
    "...##..#...#...",
    "..##.####.###..",
    ".##..#....#..#.",
    "##.####..######",
]

# Rule 110 from one live site on the right: the pattern grows to the left only.
RULE_110 = [
    "...........#",
    "..........##",
    ".........###",
    "........##.#",
    ".......#####",
    "......##...#",
    ".....###..##",
    "....##.#.###",
    "...#######.#",
]


def test_rule_30_published_rows():
    assert picture(run(30, seed(15), 7)) == RULE_30


def test_rule_110_published_rows():
    row = np.zeros(12, np.uint8)
    row[-1] = 1
    assert picture(run(110, row, 8)) == RULE_110


def test_rule_30_centre_column():
    # The centre column of rule 30 from a single seed (OEIS A051023), used as a random generator.
    expected = [1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 1]
    rows = run(30, seed(41), 19)
    assert rows[:, 20].tolist() == expected


@pytest.mark.parametrize("number", [30, 110])
def test_rows_match_definition_from_single_seed(number):
    rows = run(number, seed(101), 50)
    np.testing.assert_array_equal(rows, wolfram_rows(number, seed(101), 50))


@pytest.mark.parametrize("boundary,fill", [("wrap", 0), ("fixed", 0), ("fixed", 1), ("reflect", 0)])
def test_boundaries_match_definition(boundary, fill):
    row = np.random.default_rng(0).integers(0, 2, 37)
    for number in (30, 110):
        rows = run(number, row, 25, boundary=boundary, fill=fill)
        np.testing.assert_array_equal(rows, wolfram_rows(number, row, 25, boundary, fill))


def test_every_rule_number_one_step():
    # Every neighbourhood appears on this row, so one step fixes all 8 table entries.
    row = np.random.default_rng(1).integers(0, 2, 64)
    lat = automata.Lattice((64,))
    state = automata.LatticeState(x=jnp.asarray(row, jnp.int32)[:, None])
    for number in range(256):
        got = np.asarray(Elementary(number)(lat, state, key=None)[:, 0])
        np.testing.assert_array_equal(got, wolfram_rows(number, row, 1, "wrap")[1])


def test_dtype_and_values():
    lat = automata.Lattice((16,))
    x = jnp.zeros((16, 1), bool).at[8, 0].set(True)
    final, _ = automata.rollout(Elementary(90), lat, automata.LatticeState(x=x), num_steps=3)
    assert final.x.dtype == jnp.bool_
    xf = jnp.zeros((16, 1), jnp.float32).at[8, 0].set(2.0)  # nonzero counts as 1
    out = automata.step(Elementary(90), lat, automata.LatticeState(x=xf)).x
    assert out.dtype == jnp.float32
    assert np.asarray(out[:, 0]).tolist() == [0] * 7 + [1, 0, 1] + [0] * 6


def test_jit_vmap():
    lat = automata.Lattice((32,))
    rows = jax.random.bernoulli(jax.random.key(0), 0.5, (4, 32, 1)).astype(jnp.uint8)
    def run_one(x):
        return automata.rollout(Elementary(110), lat, automata.LatticeState(x=x), num_steps=10)[0].x

    batched = jax.jit(jax.vmap(run_one))(rows)
    for b in range(4):
        np.testing.assert_array_equal(batched[b], run_one(rows[b]))


@pytest.mark.parametrize("number", [256, -1])
def test_number_out_of_range(number):
    with pytest.raises(ValueError, match=r"must lie in 0\.\.255"):
        Elementary(number)


@pytest.mark.parametrize("number", [30.0, "30", True])
def test_number_not_integer(number):
    with pytest.raises(TypeError, match="must be an integer in 0..255"):
        Elementary(number)


def test_numpy_integer_number():
    assert Elementary(np.int64(30)).number == 30


def test_not_1d():
    lat = automata.Lattice((8, 8))
    with pytest.raises(ValueError, match="runs on a 1D lattice"):
        automata.step(Elementary(30), lat, automata.LatticeState(x=jnp.zeros((8, 8, 1), jnp.uint8)))


@pytest.mark.parametrize(
    "lattice_kw", [dict(radius=2), dict(neighbourhood=((-1,), (2,))), dict(neighbourhood=((1,),))]
)
def test_wrong_neighbourhood(lattice_kw):
    lat = automata.Lattice((16,), **lattice_kw)
    with pytest.raises(ValueError, match="reads the left and right nearest neighbours"):
        automata.step(Elementary(30), lat, automata.LatticeState(x=jnp.zeros((16, 1), jnp.uint8)))


def test_explicit_nearest_offsets_accepted():
    lat = automata.Lattice((15,), neighbourhood=((1,), (-1,)), boundary="fixed")
    _, traj = automata.rollout(
        Elementary(30), lat, automata.LatticeState(x=jnp.asarray(seed(15))[:, None]), num_steps=7
    )
    assert picture(traj.x[..., 0])[-1] == RULE_30[-1]


def test_wrong_channels():
    lat = automata.Lattice((16,))
    with pytest.raises(ValueError, match="one\\s+channel"):
        automata.step(Elementary(30), lat, automata.LatticeState(x=jnp.zeros((16, 2), jnp.uint8)))
