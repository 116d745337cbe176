"""Brian's Brain, Wireworld and Greenberg-Hastings: hand-built transitions and known behaviour."""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

import automata
from automata.multistate import BriansBrain, GreenbergHastings, Wireworld

MOORE = [o for o in itertools.product((-1, 0, 1), repeat=2) if any(o)]


def states(x, dtype=jnp.int8):
    return automata.LatticeState(x=jnp.asarray(x, dtype)[..., None])


def trajectory(rule, lattice, x, num_steps):
    _, traj = automata.rollout(rule, lattice, states(x), num_steps=num_steps)
    return np.asarray(traj.x[..., 0])


def patches(centre, neighbour_states):
    """A batch of 3x3 patches: the centre state and the 8 neighbours, one patch per row given."""
    out = []
    for ring in neighbour_states:
        p = np.zeros((3, 3), np.int8)
        p[1, 1] = centre
        for (di, dj), v in zip(MOORE, ring):
            p[1 + di, 1 + dj] = v
        out.append(p)
    return out


def next_centre(rule, patch):
    """The centre's next state on a 3x3 fixed-boundary lattice (fill 0: empty/ready/resting)."""
    lat = automata.Lattice((3, 3), boundary="fixed")
    return int(rule(lat, states(patch), key=None)[1, 1, 0])


# ---------------------------------------------------------------------------- Brian's Brain


@pytest.mark.parametrize("num_firing", range(9))
def test_brians_brain_transition_table(num_firing):
    rule = BriansBrain()
    # Firing neighbours mixed with refractory ones, which must not count.
    ring = [1] * num_firing + [2] * (8 - num_firing)
    ready, firing, refractory = (patches(c, [ring])[0] for c in (0, 1, 2))
    assert next_centre(rule, ready) == (1 if num_firing == 2 else 0)
    assert next_centre(rule, firing) == 2
    assert next_centre(rule, refractory) == 0


def test_brians_brain_pair_fires_sideways():
    x = np.zeros((8, 8), np.int8)
    x[3, 3:5] = 1
    traj = trajectory(BriansBrain(), automata.Lattice((8, 8)), x, 1)
    expected = np.zeros((8, 8), np.int8)
    expected[3, 3:5] = 2
    expected[2, 3:5] = expected[4, 3:5] = 1
    np.testing.assert_array_equal(traj[0], expected)


def test_brians_brain_every_firing_site_was_ready():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (16, 16)).astype(np.int8)
    traj = trajectory(BriansBrain(), automata.Lattice((16, 16)), x, 10)
    prev = np.concatenate([x[None], traj[:-1]])
    assert set(np.unique(traj)) <= {0, 1, 2}
    assert np.all(prev[traj == 1] == 0)
    assert np.all(traj[prev == 1] == 2)
    assert np.all(traj[prev == 2] == 0)


# ---------------------------------------------------------------------------- Wireworld


@pytest.mark.parametrize("num_heads", range(9))
def test_wireworld_transition_table(num_heads):
    rule = Wireworld()
    ring = [1] * num_heads + [3] * (8 - num_heads)
    empty, head, tail, wire = (patches(c, [ring])[0] for c in (0, 1, 2, 3))
    assert next_centre(rule, empty) == 0
    assert next_centre(rule, head) == 2
    assert next_centre(rule, tail) == 3
    assert next_centre(rule, wire) == (1 if num_heads in (1, 2) else 3)


def test_wireworld_electron_travels_one_cell_per_step():
    x = np.zeros((5, 24), np.int8)
    x[2, 1:23] = 3
    x[2, 1], x[2, 2] = 2, 1  # tail behind head: the electron moves right
    traj = trajectory(Wireworld(), automata.Lattice((5, 24), boundary="fixed"), x, 19)
    for t in range(1, 20):
        expected = np.zeros((5, 24), np.int8)
        expected[2, 1:23] = 3
        expected[2, 1 + t], expected[2, 2 + t] = 2, 1
        np.testing.assert_array_equal(traj[t - 1], expected, err_msg=f"step {t}")
    # At the end of the wire the electron dies out.
    end = trajectory(Wireworld(), automata.Lattice((5, 24), boundary="fixed"), x, 23)[-1]
    assert not np.any(end == 1)


def test_wireworld_electron_takes_both_branches_of_a_fork():
    x = np.zeros((7, 12), np.int8)
    x[3, 1:6] = 3
    x[2, 6:11] = 3  # upper branch
    x[4, 6:11] = 3  # lower branch
    x[3, 1], x[3, 2] = 2, 1
    traj = trajectory(Wireworld(), automata.Lattice((7, 12)), x, 6)
    assert traj[-1][2, 8] == 1 and traj[-1][4, 8] == 1


# ---------------------------------------------------------------------------- Greenberg-Hastings


def gh_ring(t, dist, num_states):
    """Closed form for one seed in a resting medium: a site at distance d is excited at step d."""
    age = t - dist
    return np.where((age >= 0) & (age <= num_states - 2), age + 1, 0)


@pytest.mark.parametrize("num_states", [3, 5])
@pytest.mark.parametrize("neighbourhood", ["moore", "von_neumann"])
def test_greenberg_hastings_expanding_ring(num_states, neighbourhood):
    n = 21
    x = np.zeros((n, n), np.int8)
    x[10, 10] = 1
    i, j = np.meshgrid(np.arange(n) - 10, np.arange(n) - 10, indexing="ij")
    dist = np.maximum(abs(i), abs(j)) if neighbourhood == "moore" else abs(i) + abs(j)
    lat = automata.Lattice((n, n), neighbourhood=neighbourhood, boundary="fixed")
    traj = trajectory(GreenbergHastings(num_states=num_states, threshold=1), lat, x, 10)
    for t in range(1, 11):
        expected = gh_ring(t, dist, num_states)
        np.testing.assert_array_equal(traj[t - 1], expected, err_msg=f"step {t}")


def test_greenberg_hastings_waves_annihilate_on_a_ring():
    # Two waves leave the seed in opposite directions around a ring of 8 and meet at site 4.
    expected = [
        [2, 1, 0, 0, 0, 0, 0, 1],
        [0, 2, 1, 0, 0, 0, 1, 2],
        [0, 0, 2, 1, 0, 1, 2, 0],
        [0, 0, 0, 2, 1, 2, 0, 0],
        [0, 0, 0, 0, 2, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0],
    ]
    x = np.zeros(8, np.int8)
    x[0] = 1
    traj = trajectory(GreenbergHastings(num_states=3, threshold=1), automata.Lattice((8,)), x, 7)
    assert traj.tolist() == expected


def test_greenberg_hastings_threshold():
    # With threshold 2 a lone excited site excites nothing; two adjacent ones excite the sites
    # that see both.
    rule = GreenbergHastings(num_states=4, threshold=2)
    lat = automata.Lattice((7, 7))
    x = np.zeros((7, 7), np.int8)
    x[3, 3] = 1
    assert trajectory(rule, lat, x, 1)[0].tolist() == np.where(x == 1, 2, 0).tolist()
    x[3, 4] = 1
    out = trajectory(rule, lat, x, 1)[0]
    expected = np.zeros((7, 7), np.int8)
    expected[3, 3:5] = 2
    expected[2, 3:5] = expected[4, 3:5] = 1
    np.testing.assert_array_equal(out, expected)


def test_greenberg_hastings_cycle_and_dtype():
    rule = GreenbergHastings(num_states=5, threshold=1)
    lat = automata.Lattice((5,), boundary="fixed")
    x = jnp.asarray([0, 1, 2, 3, 4], jnp.int32)[:, None]
    out = automata.step(rule, lat, automata.LatticeState(x=x)).x
    assert out.dtype == jnp.int32
    assert out[:, 0].tolist() == [1, 2, 3, 4, 0]


# ---------------------------------------------------------------------------- lattices and errors


@pytest.mark.parametrize(
    "rule", [BriansBrain(), Wireworld(), GreenbergHastings(num_states=4, threshold=2)]
)
def test_runs_in_1d_and_3d(rule):
    rng = np.random.default_rng(1)
    for shape in [(12,), (5, 6, 7)]:
        x = rng.integers(0, 3, shape).astype(np.int8)
        lat = automata.Lattice(shape, boundary="reflect")
        final, _ = automata.rollout(rule, lat, states(x), num_steps=3)
        assert final.x.shape == shape + (1,)


def test_fixed_fill_is_a_state():
    # Beyond a fixed edge filled with heads (1), the wire ends touching the edges spark.
    lat = automata.Lattice((4,), boundary="fixed", fill=1)
    assert automata.step(Wireworld(), lat, states([3, 0, 0, 3])).x[:, 0].tolist() == [1, 0, 0, 1]
    lat2 = automata.Lattice((4,), boundary="fixed", fill=2)  # tails do not spark
    assert automata.step(Wireworld(), lat2, states([3, 0, 0, 3])).x[:, 0].tolist() == [3, 0, 0, 3]


@pytest.mark.parametrize("num_states", [2, 0, -3])
def test_gh_too_few_states(num_states):
    with pytest.raises(ValueError, match="num_states must be at least 3"):
        GreenbergHastings(num_states=num_states, threshold=1)


@pytest.mark.parametrize("threshold", [0, -1])
def test_gh_threshold_too_small(threshold):
    with pytest.raises(ValueError, match="threshold must be at least 1"):
        GreenbergHastings(num_states=3, threshold=threshold)


@pytest.mark.parametrize(
    "kw", [dict(num_states=3.0), dict(threshold=1.5), dict(threshold=True), dict(num_states="3")]
)
def test_gh_not_integer(kw):
    with pytest.raises(TypeError, match="must be an integer"):
        GreenbergHastings(**kw)


def test_gh_threshold_above_num_neighbours():
    lat = automata.Lattice((6, 6), neighbourhood="von_neumann")
    with pytest.raises(ValueError, match="threshold=5 exceeds the 4 neighbours"):
        automata.step(GreenbergHastings(num_states=3, threshold=5), lat, states(np.zeros((6, 6))))


def test_gh_dtype_too_small():
    lat = automata.Lattice((6,))
    with pytest.raises(TypeError, match="needs a dtype that holds 299"):
        automata.step(GreenbergHastings(num_states=300), lat, states(np.zeros(6), jnp.int8))


@pytest.mark.parametrize("rule", [BriansBrain(), Wireworld(), GreenbergHastings()])
def test_bool_states_rejected(rule):
    with pytest.raises(TypeError, match="needs integer state indices"):
        automata.step(rule, automata.Lattice((6, 6)), states(np.zeros((6, 6)), jnp.bool_))


@pytest.mark.parametrize("rule", [BriansBrain(), Wireworld(), GreenbergHastings()])
def test_wrong_channels(rule):
    lat = automata.Lattice((6, 6))
    with pytest.raises(ValueError, match="needs one channel of state indices"):
        automata.step(rule, lat, automata.LatticeState(x=jnp.zeros((6, 6, 2), jnp.int8)))
