"""neurosym.explain.tables: RuleTable forms, sympy round trips, and the table as an automata rule."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from explain_helpers import life_fn, north, random_board

import automata
from automata.multistate import BriansBrain
from neurosym.explain import RuleTable, TableRule, extract_rule, tabulate_rule

def test_non_totalistic_rule():
    t = tabulate_rule(north)
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
    t = tabulate_rule(life_fn)
    expr = t.to_sympy()
    assert expr == sympy.sympify("(~c & Eq(n, 3)) | (c & (Eq(n, 2) | Eq(n, 3)))")
    f = sympy.lambdify(t.symbols("totalistic"), expr, "numpy")
    c, n = np.meshgrid([0, 1], np.arange(9), indexing="ij")
    np.testing.assert_array_equal(f(c, n).astype(int), t.table)
    # Runs of counts print as inequalities; subs agrees with the table.
    dn = tabulate_rule(_day_and_night)
    e = dn.to_sympy()
    assert dn.to_bs() == "B3678/S34678"
    for cc in (0, 1):
        for nn in range(9):
            value = e.subs({sympy.Symbol("c"): bool(cc), sympy.Symbol("n"): nn})
            assert bool(value) == bool(dn.table[cc, nn])
    # Full form (a sum of products over the named neighbours) of a non-totalistic rule and of Life.
    for table in (tabulate_rule(lambda c, nb: nb[:, 1] & (1 - c) | nb[:, 6] & nb[:, 4]), t):
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


def _numpy_step(table, board, boundary, fill=0):
    """Reference: the table looked up on numpy-padded neighbourhoods (np.pad's modes)."""
    mode = {"wrap": "wrap", "fixed": "constant", "reflect": "symmetric"}[boundary]
    kw = {"constant_values": fill} if boundary == "fixed" else {}
    xp = np.pad(board, 1, mode=mode, **kw)
    h, w = board.shape
    nb = np.stack([xp[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in table.offsets], -1)
    return table(board, nb)


@pytest.mark.parametrize("boundary, fill", [("wrap", 0), ("fixed", 0), ("fixed", 1), ("reflect", 0)])
@pytest.mark.parametrize("neighbourhood", ["moore", "von_neumann"])
def test_apply_runs_on_the_engine_and_matches_a_numpy_reference(boundary, fill, neighbourhood):
    t = tabulate_rule(lambda c, nb: nb[:, 0] ^ (c & nb[:, -1]), neighbourhood=neighbourhood)
    x = random_board(jax.random.key(4), 0.5, 12)
    np.testing.assert_array_equal(t.apply(x, boundary=boundary, fill=fill), _numpy_step(t, x, boundary, fill))


def test_table_rule_rolls_out_like_life():
    rule = extract_rule(automata.LIFE).to_rule()
    assert isinstance(rule, TableRule) and isinstance(rule, automata.Rule)
    lat = automata.Lattice((16, 16), boundary="fixed")
    x = jnp.asarray(random_board(jax.random.key(8), 0.4, 16), jnp.int32)[..., None]
    state = automata.LatticeState(x=x)
    _, mine = automata.rollout(rule, lat, state, num_steps=6)
    _, ref = automata.rollout(automata.LIFE, lat, state, num_steps=6)
    np.testing.assert_array_equal(mine.x, ref.x)


def test_table_rule_of_representatives_uses_the_totalistic_table():
    t = tabulate_rule(life_fn, max_configurations=100)
    assert t.full is None
    x = random_board(jax.random.key(9), 0.4, 16)
    np.testing.assert_array_equal(t.apply(x), _numpy_step(t, x, "wrap"))


def test_table_rule_errors():
    rule = extract_rule(automata.LIFE).to_rule()
    x = jnp.zeros((6, 6, 1), jnp.int32)
    with pytest.raises(ValueError, match="TableRule: lattice must be 2D with the table's radius-1 'moore'"):
        automata.step(rule, automata.Lattice((6, 6), "von_neumann"), automata.LatticeState(x=x))
    with pytest.raises(ValueError, match=r"TableRule: state.x must hold states 0..1"):
        automata.step(rule, automata.Lattice((6, 6)), automata.LatticeState(x=x.at[0, 0, 0].set(2)))
    with pytest.raises(ValueError, match="TableRule: state.x must have one channel"):
        automata.step(rule, automata.Lattice((6, 6)), automata.LatticeState(x=jnp.zeros((6, 6, 2), jnp.int32)))
    t = tabulate_rule(life_fn)
    with pytest.raises(ValueError, match="TableRule: the lattice's fill .* must be one of the states 0..1"):
        t.apply(np.zeros((4, 4), int), boundary="fixed", fill=5)
    with pytest.raises(ValueError, match="RuleTable.apply: boundary must be one of"):
        t.apply(np.zeros((4, 4), int), boundary="torus")
    with pytest.raises(ValueError, match=r"RuleTable: neighbours must have shape \(3, 8\)"):
        t(np.zeros(3, int), np.zeros((3, 4), int))
    with pytest.raises(ValueError, match="RuleTable: centre must hold states 0..1"):
        t(np.full(3, 2), np.zeros((3, 8), int))


def test_from_outputs_marks_impossible_and_conflicting_cells():
    configs = np.indices((2,) * 5).reshape(5, -1).T
    t = RuleTable.from_outputs(configs, configs[:, 1], 2, "von_neumann", exhaustive=True)
    assert t.is_totalistic is False and t.full.shape == (2,) * 5
    assert t.table[0, 0] == 0 and t.table[0, 4] == 1   # no / every neighbour alive agree
    assert t.table[0, 1] == -2 and (0, 1) in t.conflicts
    three = RuleTable.from_outputs([[0, 0, 0, 0, 0]], [1], 3, "von_neumann", exhaustive=False)
    assert three.full is None and three.is_totalistic is None
    assert three.table[0, 0, 0] == 1 and three.table[0, 4, 4] == -1  # 8 > 4 neighbours: impossible
