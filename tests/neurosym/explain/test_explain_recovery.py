"""neurosym.explain.recovery: Life-like rules read back from board pairs, with and without noise."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from explain_helpers import SIDE, flip, random_board, rollout_boards, step_board

import automata
from neurosym.explain import LifeLikeFit, recover_life_like

@pytest.mark.parametrize("name", ["life", "highlife", "seeds", "day_and_night"])
def test_recovers_named_rules_from_rollouts(name):
    rule = automata.LifeLike(automata.PRESETS[name])
    pairs = []
    for i, density in enumerate((0.15, 0.5, 0.85)):
        boards = rollout_boards(rule, random_board(jax.random.key(i), density), num_steps=3)
        pairs += [(boards[t], boards[t + 1]) for t in range(3)]
    fit = recover_life_like(pairs)
    assert isinstance(fit, LifeLikeFit)
    assert fit.rule == rule.rule == str(fit)
    assert (fit.birth, fit.survive) == (rule.birth, rule.survive)
    assert fit.agreement == 1.0
    # Every entry that is in the rule was seen (a default "not in rule" did not decide it).
    for n in rule.birth:
        assert (0, n) not in fit.unobserved
    for n in rule.survive:
        assert (1, n) not in fit.unobserved
    assert fit.evidence.shape == (2, 9, 2)
    assert fit.evidence.sum() == len(pairs) * SIDE * SIDE


def test_trajectory_array_equals_list_of_pairs_and_jax_input():
    boards = rollout_boards(automata.HIGHLIFE, random_board(jax.random.key(3), 0.4), num_steps=4)
    a = recover_life_like(boards)
    b = recover_life_like([(boards[t], boards[t + 1]) for t in range(4)])
    c = recover_life_like(jnp.asarray(boards, jnp.bool_))
    d = recover_life_like((boards[0], boards[1]))  # one pair
    assert a.rule == b.rule == c.rule == "B36/S23"
    np.testing.assert_array_equal(a.evidence, b.evidence)
    np.testing.assert_array_equal(a.evidence, c.evidence)
    assert d.evidence.sum() == SIDE * SIDE


def test_blinker_evidence_confidence_and_unobserved():
    blinker = np.zeros((5, 5), int)
    blinker[2, 1:4] = 1
    fit = recover_life_like([(blinker, blinker.T)])
    assert fit.rule == "B3/S2"
    assert fit.evidence[1, 2].tolist() == [0, 1]  # the middle cell: 2 neighbours, survives
    assert fit.evidence[1, 1].tolist() == [2, 0]  # the ends: 1 neighbour, die
    assert fit.evidence[0, 3].tolist() == [0, 2]  # above and below the middle: born
    assert (1, 3) in fit.unobserved and (0, 8) in fit.unobserved and (0, 3) not in fit.unobserved
    assert np.isnan(fit.confidence[1, 3]) and fit.confidence[0, 3] == 1.0
    assert fit.agreement == 1.0
    assert isinstance(fit.to_rule(), automata.LifeLike) and fit.to_rule().rule == "B3/S2"
    # Entries need min_evidence votes; with too few every entry defaults to "not in rule".
    assert recover_life_like([(blinker, blinker.T)], min_evidence=100).rule == "B/S"


def test_noise_robustness_with_fixed_keys():
    x = random_board(jax.random.key(10), 0.35, side=64)
    y = step_board(automata.LIFE, x)
    # 5% of the output board flipped.
    fit = recover_life_like([(x, flip(jax.random.key(11), y, 0.05))])
    assert fit.rule == "B3/S23"
    assert fit.agreement == pytest.approx(0.95, abs=0.01)
    assert fit.confidence[0, 3] > 0.85 and fit.confidence[1, 2] > 0.85
    # 5% of both boards flipped, three pairs: the majority still holds for every entry.
    pairs = []
    for i in range(3):
        x = random_board(jax.random.key(20 + i), 0.35, side=64)
        y = step_board(automata.LIFE, x)
        pairs.append((flip(jax.random.key(30 + i), x, 0.05), flip(jax.random.key(40 + i), y, 0.05)))
    fit = recover_life_like(pairs)
    assert fit.rule == "B3/S23"
    assert 0.7 < fit.agreement < 0.9  # input flips change many true outcomes, not only 5%


def test_fixed_boundary_and_von_neumann():
    lat = automata.Lattice((24, 24), boundary="fixed")
    boards = rollout_boards(automata.LIFE, random_board(jax.random.key(5), 0.4, 24), 3, lat)
    assert recover_life_like(boards, boundary="fixed").agreement == 1.0
    assert recover_life_like(boards, boundary="fixed").rule == "B3/S23"
    assert recover_life_like(boards, boundary="wrap").agreement < 1.0

    vn = automata.Lattice((24, 24), neighbourhood="von_neumann")
    rule = automata.LifeLike("B1/S12")
    pairs = []
    for i, d in enumerate((0.2, 0.5, 0.8)):
        x = random_board(jax.random.key(50 + i), d, 24)
        pairs.append((x, step_board(rule, x, vn)))
    fit = recover_life_like(pairs, neighbourhood="von_neumann")
    assert fit.rule == "B1/S12" and fit.evidence.shape == (2, 5, 2) and fit.agreement == 1.0


def test_recover_life_like_errors():
    x = np.zeros((4, 4), int)
    with pytest.raises(ValueError, match="got no transitions"):
        recover_life_like([])
    with pytest.raises(ValueError, match=r"pair 1: board_t_plus_1 must be binary .* \[2\]"):
        recover_life_like([(x, x), (x, x + 2)])
    shapes = r"pair 0: board_t has shape \(4, 4\) but board_t_plus_1 has shape \(4, 5\)"
    with pytest.raises(ValueError, match=shapes):
        recover_life_like([(x, np.zeros((4, 5), int))])
    with pytest.raises(ValueError, match=r"pair 0: board_t must be a 2D board .* x\[\.\.\., 0\]"):
        recover_life_like([(x[..., None], x[..., None])])
    with pytest.raises(ValueError, match=r"pair 0: board_t must be a 2D board"):
        recover_life_like([(x[0], x[0])])
    with pytest.raises(ValueError, match="pair 0 is not a"):
        recover_life_like([x])
    with pytest.raises(ValueError, match=r"shape \(T, H, W\) with T >= 2"):
        recover_life_like(x[None])
    with pytest.raises(TypeError, match="must be a list of"):
        recover_life_like(3)
    with pytest.raises(ValueError, match="recover_life_like: min_evidence must be at least 1, got 0"):
        recover_life_like([(x, x)], min_evidence=0)
    with pytest.raises(ValueError, match="boundary must be one of"):
        recover_life_like([(x, x)], boundary="torus")
    with pytest.raises(ValueError, match="neighbourhood must be 'moore'"):
        recover_life_like([(x, x)], neighbourhood="hex")


def _noisy_life_pair(rng, density, flip=0.05):
    a = (rng.random((64, 64)) < density).astype(np.int64)
    n = sum(np.roll(a, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - a
    b = ((n == 3) | ((a == 1) & (n == 2))).astype(np.int64)
    return a ^ (rng.random(a.shape) < flip), b ^ (rng.random(b.shape) < flip)


def test_noise_aware_decoder_beats_majority_on_noisy_boards():
    rng = np.random.default_rng(11)
    pairs = [_noisy_life_pair(rng, d) for d in np.linspace(0.2, 0.6, 12)]
    noise_aware = [recover_life_like([p]) for p in pairs]
    majority = [recover_life_like([p], noise=None) for p in pairs]
    assert all(f.rule == "B3/S23" for f in noise_aware)
    assert all(0.02 <= f.noise <= 0.1 for f in noise_aware)
    # majority voting is the noise=0 decoder; flips in board_t bias it (one of these 12 fails)
    assert sum(f.rule == "B3/S23" for f in majority) < len(pairs)
    assert all(f.noise == 0.0 for f in majority)


def test_noise_aware_decoder_on_clean_boards_is_exact_and_matches_majority():
    rng = np.random.default_rng(12)
    a = (rng.random((32, 32)) < 0.4).astype(np.int64)
    n = sum(np.roll(a, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - a
    b = ((n == 3) | (n == 6) | ((a == 1) & (n == 2))).astype(np.int64)
    auto = recover_life_like([(a, b)])
    plain = recover_life_like([(a, b)], noise=0)
    assert auto.rule == plain.rule
    assert auto.noise == 0.0
    with pytest.raises(ValueError, match="noise must be 'auto', a flip rate"):
        recover_life_like([(a, b)], noise=0.7)
    with pytest.raises(ValueError, match="noise must be 'auto', a flip rate"):
        recover_life_like([(a, b)], noise="guess")
    with pytest.raises(ValueError, match="penalty must be a finite number of nats"):
        recover_life_like([(a, b)], penalty=-1)
