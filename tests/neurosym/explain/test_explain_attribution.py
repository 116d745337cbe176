"""neurosym.explain.attribution: which expert rule explains each transition and each site."""

import jax
import numpy as np
import pytest
from explain_helpers import random_board, rollout_boards, step_board

import automata
from neurosym.explain import Attribution, attribute

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
