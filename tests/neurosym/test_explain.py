"""neurosym.explain: Life-like recovery, rule tables of learned rules, sparse regression, attribution."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy

import automata
from automata.multistate import BriansBrain
from neurosym import explain as explain_module
from neurosym.explain import (
    Attribution,
    Equation,
    LifeLikeFit,
    RuleTable,
    attribute,
    extract_rule,
    fidelity,
    polynomial_library,
    recover_life_like,
    rule_table,
    sparse_regression,
)

SIDE = 48


def random_board(key, density, side=SIDE):
    return np.asarray(jax.random.bernoulli(key, density, (side, side)), np.int64)


def rollout_boards(rule, x0, num_steps, lattice=None):
    """Consecutive boards (num_steps + 1, H, W) from automata.rollout, the start included."""
    lattice = lattice or automata.Lattice(x0.shape)
    x = jnp.asarray(x0, jnp.uint8)[..., None]
    _, traj = automata.rollout(rule, lattice, automata.LatticeState(x=x), num_steps=num_steps)
    return np.concatenate([np.asarray(x0)[None], np.asarray(traj.x[..., 0])]).astype(np.int64)


def step_board(rule, x, lattice=None):
    lattice = lattice or automata.Lattice(x.shape)
    state = automata.LatticeState(x=jnp.asarray(x, jnp.uint8)[..., None])
    return np.asarray(automata.step(rule, lattice, state).x[..., 0]).astype(np.int64)


def flip(key, x, p):
    return np.asarray(x ^ np.asarray(jax.random.bernoulli(key, p, x.shape)), np.int64)


# ---------------------------------------------------------------------------- recover_life_like
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


# ---------------------------------------------------------------------------- rule tables
def life_fn(centre, neighbours):
    n = neighbours.sum(-1)
    return np.where(centre == 1, (n == 2) | (n == 3), n == 3)


def north(centre, neighbours):
    return neighbours[:, 1]  # offsets order: NW, N, NE, W, E, SW, S, SE


def test_rule_table_of_life_is_totalistic():
    t = extract_rule(automata.LIFE)
    assert isinstance(t, RuleTable)
    assert t.is_totalistic is True and t.to_bs() == "B3/S23"
    assert t.table.tolist() == [[0, 0, 0, 1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0, 0]]
    assert t.full.shape == (2,) * 9
    u = rule_table(life_fn)
    np.testing.assert_array_equal(t.full, u.full)
    # Probabilities and logits give the same table as states.
    prob = rule_table(lambda c, nb: 0.1 + 0.8 * life_fn(c, nb))
    logits = rule_table(lambda c, nb: np.stack([np.zeros(len(c)), 4.0 * life_fn(c, nb) - 2.0], -1))
    np.testing.assert_array_equal(prob.full, t.full)
    np.testing.assert_array_equal(logits.full, t.full)
    # A table is a rule: calling it and applying it agree with the engine.
    x = random_board(jax.random.key(0), 0.4, 32)
    np.testing.assert_array_equal(t.apply(x), step_board(automata.LIFE, x))
    np.testing.assert_array_equal(rule_table(t).full, t.full)


def test_non_totalistic_rule():
    t = rule_table(north)
    assert t.is_totalistic is False
    assert (0, 1) in t.conflicts and -2 in t.table
    with pytest.raises(ValueError, match="not outer-totalistic.*no B/S string"):
        t.to_bs()
    with pytest.raises(ValueError, match="not outer-totalistic.*form='full'"):
        t.to_sympy("totalistic")
    assert t.to_sympy() == sympy.Symbol("north")
    # The board step of the table is the northern neighbour moving south.
    x = random_board(jax.random.key(1), 0.5, 16)
    np.testing.assert_array_equal(t.apply(x), np.roll(x, 1, axis=0))


def test_to_sympy_round_trips():
    # Totalistic form of Life, over (c, n).
    t = rule_table(life_fn)
    expr = t.to_sympy()
    assert expr == sympy.sympify("(~c & Eq(n, 3)) | (c & (Eq(n, 2) | Eq(n, 3)))")
    f = sympy.lambdify(t.symbols("totalistic"), expr, "numpy")
    c, n = np.meshgrid([0, 1], np.arange(9), indexing="ij")
    np.testing.assert_array_equal(f(c, n).astype(int), t.table)
    # Runs of counts print as inequalities; subs agrees with the table.
    dn = rule_table(_day_and_night)
    e = dn.to_sympy()
    assert dn.to_bs() == "B3678/S34678"
    for cc in (0, 1):
        for nn in range(9):
            value = e.subs({sympy.Symbol("c"): bool(cc), sympy.Symbol("n"): nn})
            assert bool(value) == bool(dn.table[cc, nn])
    # Full form (a sum of products over the named neighbours) of a non-totalistic rule and of Life.
    for table in (rule_table(lambda c, nb: nb[:, 1] & (1 - c) | nb[:, 6] & nb[:, 4]), t):
        g = sympy.lambdify(table.symbols("full"), table.to_sympy("full"), "numpy")
        configs = np.indices((2,) * 9).reshape(9, -1)
        values = np.broadcast_to(g(*configs), (512,)).astype(int)
        np.testing.assert_array_equal(values, table.full.ravel())
    # Three states (Brian's Brain): a Piecewise over (c, n1, n2).
    bb = extract_rule(BriansBrain(), num_states=3)
    assert bb.is_totalistic is True
    h = sympy.lambdify(bb.symbols(), bb.to_sympy(), "numpy")
    cells = np.argwhere(bb.table >= 0)
    np.testing.assert_array_equal(np.asarray(h(*cells.T)), bb.table[tuple(cells.T)])
    with pytest.raises(ValueError, match="B/S string describes two-state rules"):
        bb.to_bs()


def _day_and_night(c, nb):
    n = nb.sum(-1)
    return np.where(c == 1, np.isin(n, (3, 4, 6, 7, 8)), np.isin(n, (3, 6, 7, 8)))


def test_three_state_table_matches_brians_brain():
    t = extract_rule(BriansBrain(), num_states=3)
    # Ready sites fire with exactly two firing neighbours, whatever the refractory ones.
    assert t.table[0, 2].tolist()[:7] == [1] * 7
    assert (t.table[0, 3, :6] == 0).all()
    assert (t.table[1][t.table[1] >= 0] == 2).all() and (t.table[2][t.table[2] >= 0] == 0).all()
    x = np.asarray(jax.random.randint(jax.random.key(2), (16, 16), 0, 3))
    lat = automata.Lattice((16, 16))
    ref = automata.step(BriansBrain(), lat, automata.LatticeState(x=jnp.asarray(x, jnp.int8)[..., None]))
    np.testing.assert_array_equal(t.apply(x), np.asarray(ref.x[..., 0]))


def test_representatives_when_too_many_configurations():
    t = rule_table(life_fn, max_configurations=100)
    assert t.is_totalistic is None and t.full is None and t.to_bs() == "B3/S23"
    with pytest.raises(ValueError, match="full table was not enumerated"):
        t.to_sympy("full")
    with pytest.raises(ValueError, match="more than max_configurations=100. Pass totalistic=True"):
        rule_table(life_fn, max_configurations=100, totalistic=False)


def test_von_neumann_table_and_lattice():
    def fn(c, nb):
        return (nb.sum(-1) == 1) | ((c == 1) & (nb.sum(-1) == 2))

    t = rule_table(fn, neighbourhood="von_neumann")
    assert t.num_neighbours == 4 and t.to_bs() == "B1/S12"
    assert t.symbols("full")[1:] == sympy.symbols("north west east south")
    lat = automata.Lattice((8, 8), neighbourhood="von_neumann")
    assert extract_rule(automata.LifeLike("B1/S12"), lattice=lat).to_bs() == "B1/S12"


def mlp_life(board):
    """A small ReLU network over (centre, count) that computes Life: a stand-in for a trained NCA.

    The logit is 8 * (0.75 - |s - 3|) with s = n + c / 2, written with two hidden ReLU units.
    """
    b = jnp.asarray(board, jnp.float32)
    n = sum(jnp.roll(b, (dy, dx), (0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) - b
    s = n + 0.5 * b
    hidden = jax.nn.relu(jnp.stack([s - 3.0, 3.0 - s], -1))
    logit = 8.0 * (0.75 - hidden @ jnp.array([1.0, 1.0]))
    return jax.nn.sigmoid(logit)


def test_extract_rule_from_a_network_and_fidelity():
    t = extract_rule(mlp_life)
    assert t.is_totalistic and t.to_bs() == "B3/S23"
    boards = np.stack([random_board(jax.random.key(60 + i), 0.4, 24) for i in range(2)])
    f = fidelity(t, mlp_life, boards, num_steps=5)
    assert f.overall == 1.0 and float(f) == 1.0
    np.testing.assert_array_equal(f.per_step, np.ones(5))
    np.testing.assert_array_equal(f.rollout_per_step, np.ones(5))
    assert f.num_sites == 2 * 24 * 24
    wrong = fidelity("B36/S23", mlp_life, boards, num_steps=5)
    assert wrong.overall < 1.0 and wrong.per_step.min() < 1.0
    seeds = fidelity("B2/S", automata.LIFE, boards[0], num_steps=3)
    assert seeds.overall < 0.95 and seeds.per_step.shape == (3,)
    # An automata Rule as the reference and a B/S string as the candidate.
    assert fidelity("B3/S23", automata.LIFE, boards, num_steps=3).overall == 1.0


def test_rule_table_and_extract_errors():
    with pytest.raises(TypeError, match="use extract_rule"):
        rule_table(automata.LIFE)
    with pytest.raises(ValueError, match="num_states must be at least 2"):
        rule_table(life_fn, num_states=1)
    with pytest.raises(ValueError, match=r"gave the state\(s\) \[3\] outside 0..1"):
        rule_table(lambda c, nb: np.full(len(c), 3))
    with pytest.raises(ValueError, match=r"returned shape \(5,\); expected next states of shape \(512,\)"):
        rule_table(lambda c, nb: np.zeros(5))
    with pytest.raises(ValueError, match="scores for 3 states"):
        rule_table(lambda c, nb: np.zeros((len(c), 3)))
    with pytest.raises(ValueError, match="produced the state 2 but num_states=2"):
        extract_rule(BriansBrain(), lattice=automata.Lattice((4, 4)))
    with pytest.raises(ValueError, match="neighbourhood='von_neumann' but the lattice has 'moore'"):
        extract_rule(automata.LIFE, neighbourhood="von_neumann", lattice=automata.Lattice((4, 4)))
    with pytest.raises(ValueError, match="radius-1 'moore' or 'von_neumann'"):
        extract_rule(automata.LIFE, lattice=automata.Lattice((4, 4), radius=2))
    with pytest.raises(TypeError, match="must be an automata.Rule, a B/S string"):
        extract_rule(42)
    t = rule_table(life_fn)
    with pytest.raises(ValueError, match=r"neighbours must have shape \(3, 8\)"):
        t(np.zeros(3, int), np.zeros((3, 4), int))
    with pytest.raises(ValueError, match="board must be binary"):
        t.apply(np.full((4, 4), 2))
    with pytest.raises(ValueError, match="form must be 'auto', 'totalistic' or 'full'"):
        t.to_sympy("dnf")


def test_fidelity_errors():
    boards = np.zeros((2, 8, 8), int)
    with pytest.raises(ValueError, match=r"one \(H, W\) board or a \(B, H, W\) stack"):
        fidelity("B3/S23", automata.LIFE, boards[..., None], 2)
    with pytest.raises(ValueError, match=r"the lattice has shape \(9, 9\) but the boards are \(8, 8\)"):
        fidelity("B3/S23", automata.LIFE, boards, 2, lattice=automata.Lattice((9, 9)))
    with pytest.raises(ValueError, match="num_steps must be at least 1"):
        fidelity("B3/S23", automata.LIFE, boards, 0)


# ---------------------------------------------------------------------------- sparse regression
def test_polynomial_library():
    u = sympy.Symbol("u")
    assert polynomial_library(["u"], 3) == (1, u, u**2, u**3)
    assert len(polynomial_library(["u", "v"], 2, include_bias=False)) == 5
    with pytest.raises(ValueError, match="degree must be at least 1"):
        polynomial_library(["u"], 0)
    with pytest.raises(ValueError, match="names must be a non-empty sequence of identifiers"):
        polynomial_library(["1u"], 2)


def test_sparse_regression_recovers_a_polynomial_from_noisy_samples():
    rng = np.random.default_rng(0)
    u = rng.uniform(-1, 1, 400)
    y = 0.3 + 0.5 * u - 1.2 * u**2 + rng.normal(0, 0.02, u.shape)
    eq = sparse_regression({"u": u}, y, polynomial_library(["u"], 4))
    assert isinstance(eq, Equation)
    us = sympy.Symbol("u")
    coef = eq.coefficients
    assert list(coef) == [1, us, us**2, us**3, us**4]
    assert coef[1] == pytest.approx(0.3, abs=0.01)
    assert coef[us] == pytest.approx(0.5, abs=0.03)
    assert coef[us**2] == pytest.approx(-1.2, abs=0.03)
    assert coef[us**3] == 0.0 and coef[us**4] == 0.0
    assert eq.terms == (1, us, us**2)
    assert eq.r2 > 0.99 and eq.residual_rms == pytest.approx(0.02, rel=0.15)
    # Evaluation: numpy in, numpy out; JAX in, JAX out and differentiable.
    np.testing.assert_allclose(eq({"u": u}), y, atol=0.1)
    grad = jax.grad(lambda v: eq({"u": v}).sum())(jnp.array([0.5]))
    assert float(grad[0]) == pytest.approx(coef[us] + 2 * coef[us**2] * 0.5, rel=1e-4)
    assert set(eq.expr.free_symbols) == {us}


def test_sparse_regression_division_hazard_zeroes_spurious_inputs():
    # h = 0.1 * (1 - w + w * payoff) with selection w = 0.4 is 0.06 + 0.04 * payoff; crowding
    # plays no part.
    rng = np.random.default_rng(1)
    payoff = rng.uniform(0, 3, 300)
    crowding = rng.uniform(0, 8, 300)
    h = 0.1 * (1 - 0.4 + 0.4 * payoff) + rng.normal(0, 0.001, 300)
    eq = sparse_regression({"payoff": payoff, "crowding": crowding}, h,
                           polynomial_library(["payoff", "crowding"], 2), digits=2)
    p = sympy.Symbol("payoff")
    assert eq.coefficients[1] == pytest.approx(0.06, abs=0.002)
    assert eq.coefficients[p] == pytest.approx(0.04, abs=0.002)
    assert eq.terms == (1, p)
    assert eq.expr == sympy.Float(0.04) * p + sympy.Float(0.06)
    assert str(eq) == "0.04*payoff + 0.06"


def test_sparse_regression_with_nonlinear_features():
    # Lenia's growth 2 exp(-(u - 0.15)^2 / (2 0.015^2)) - 1 is linear in a library holding the bump.
    u = np.linspace(0, 0.4, 300)
    bump = "exp(-(u - 0.15)**2 / (2 * 0.015**2))"
    target = 2 * np.exp(-((u - 0.15) ** 2) / (2 * 0.015**2)) - 1
    eq = sparse_regression({"u": u}, target, ["1", "u", "u**2", bump])
    values = list(eq.coefficients.values())
    assert values[0] == pytest.approx(-1, abs=1e-9) and values[3] == pytest.approx(2, abs=1e-9)
    assert values[1] == 0.0 and values[2] == 0.0
    assert eq.r2 == pytest.approx(1.0)


def test_sparse_regression_errors():
    u = np.linspace(0.0, 1.0, 20)
    lib = polynomial_library(["u"], 2)
    with pytest.raises(ValueError, match="inputs must be a non-empty mapping"):
        sparse_regression({}, u, lib)
    with pytest.raises(ValueError, match=r"input 'u' has shape \(20,\) but the target has \(19,\)"):
        sparse_regression({"u": u}, u[:-1], lib)
    with pytest.raises(ValueError, match=r"uses \['v'\], which are not inputs"):
        sparse_regression({"u": u}, u, ["u", "v**2"])
    with pytest.raises(ValueError, match="log\\(u\\) is not finite at some samples"):
        sparse_regression({"u": u}, u, ["u", "log(u)"])
    with pytest.raises(ValueError, match=r"the term\(s\) \['u', 'u\*\*2'\] are 0 at every sample"):
        sparse_regression({"u": np.zeros(20)}, u, lib)
    with pytest.raises(ValueError, match="contains the term u twice"):
        sparse_regression({"u": u}, u, ["u", "u"])
    with pytest.raises(ValueError, match="threshold must be a number >= 0"):
        sparse_regression({"u": u}, u, lib, threshold=-1)
    with pytest.raises(ValueError, match="3 samples cannot determine 4 library terms"):
        sparse_regression({"u": u[:3]}, u[:3], polynomial_library(["u"], 3))
    with pytest.raises(ValueError, match="the target has non-finite values"):
        sparse_regression({"u": u}, np.full(20, np.nan), lib)
    with pytest.raises(ValueError, match="the library is empty"):
        sparse_regression({"u": u}, u, [])
    with pytest.raises(ValueError, match="the target is 0 at every sample"):
        sparse_regression({"u": u}, np.zeros(20), lib)


# ---------------------------------------------------------------------------- attribution
def test_attribution_life_then_highlife_then_a_corrupted_step():
    x = random_board(jax.random.key(7), 0.5, 40)
    life = rollout_boards(automata.LIFE, x, 5)                    # boards 0..5
    high = rollout_boards(automata.HIGHLIFE, life[-1], 5)         # boards 5..10
    frames = np.concatenate([life, high[1:]])
    corrupt = step_board(automata.HIGHLIFE, frames[-1])
    corrupt[3, 4] ^= 1
    corrupt[20, 21] ^= 1
    frames = np.concatenate([frames, corrupt[None]])              # 12 boards, 11 transitions
    # Precondition: Life and HighLife disagree at every transition used.
    for t in range(10):
        assert (step_board(automata.LIFE, frames[t]) != step_board(automata.HIGHLIFE, frames[t])).any()

    a = attribute(frames, {"life": automata.LIFE, "highlife": "B36/S23"})
    assert isinstance(a, Attribution)
    assert a.explained_by[:5] == (("life",),) * 5
    assert a.explained_by[5:10] == (("highlife",),) * 5
    assert a.unexplained == (10,)
    assert a.site_explained.shape == (11, 40, 40)
    assert a.site_explained[:10].all()
    assert np.argwhere(~a.site_explained[10]).tolist() == [[3, 4], [20, 21]]
    assert a.scores["highlife"][10] == pytest.approx(1 - 2 / 1600)
    assert (a.scores["life"][5:10] < 1).all() and (a.scores["life"][:5] == 1).all()
    text = a.table()
    assert "transition" in text and "highlife" in text and "- (unexplained)" in text
    assert len(text.splitlines()) == 2 + 11
    # A tolerance of 0.2% lets the corrupted step count as HighLife.
    loose = attribute(frames, {"life": "B3/S23", "highlife": automata.HIGHLIFE}, tolerance=0.002)
    assert loose.unexplained == () and loose.explained_by[10] == ("highlife",)


def test_attribute_errors():
    x = np.zeros((6, 6), int)
    with pytest.raises(ValueError, match="rules must be a non-empty mapping"):
        attribute([(x, x)], {})
    with pytest.raises(ValueError, match=r"tolerance must be a fraction in \[0, 1\)"):
        attribute([(x, x)], {"life": "B3/S23"}, tolerance=1.0)
    with pytest.raises(ValueError, match=r"pair 1 has boards of shape \(5, 5\) but pair 0 has \(6, 6\)"):
        attribute([(x, x), (x[:5, :5], x[:5, :5])], {"life": "B3/S23"})
    with pytest.raises(ValueError, match=r"the lattice has shape \(7, 7\)"):
        attribute([(x, x)], {"life": "B3/S23"}, lattice=automata.Lattice((7, 7)))
    with pytest.raises(TypeError, match="rule 'bad' must be an automata.Rule"):
        attribute([(x, x)], {"bad": 3})
    with pytest.raises(ValueError, match="must hold non-negative integer states"):
        attribute([(x - 1, x)], {"life": "B3/S23"})


def test_docstring_examples():
    failures, attempted = doctest.testmod(explain_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 30 and failures == 0


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
