"""Sulston names from the division axis: hand-made cases, frames, founder rules, errors."""

import numpy as np
import pytest

from rules.celegans import is_sulston_name, sulston_parent
from rules.tissue import daughter_names, division_letters

FRAME = {"anterior": [1.0, 0.0, 0.0], "dorsal": [0.0, 1.0, 0.0], "left": [0.0, 0.0, 1.0]}


@pytest.mark.parametrize("mother, axis, expected", [
    ("ABa", [0.1, 0.2, 0.95], ("ABal", "ABar")),      # left-right division
    ("ABa", [0.1, 0.2, -0.95], ("ABar", "ABal")),
    ("ABp", [-0.3, 0.1, -0.9], ("ABpr", "ABpl")),
    ("ABpl", [0.9, 0.3, 0.1], ("ABpla", "ABplp")),    # anterior-posterior
    ("ABpl", [-0.9, 0.3, 0.1], ("ABplp", "ABpla")),
    ("Ca", [0.2, -0.8, 0.3], ("Cav", "Cad")),          # dorsal-ventral
    ("MSp", [0.0, 0.7, 0.0], ("MSpd", "MSpv")),
])
def test_hand_made_divisions(mother, axis, expected):
    names = daughter_names(mother, axis, FRAME)
    assert names == expected
    assert all(is_sulston_name(n) and sulston_parent(n) == mother for n in names)


def test_rotated_frame_follows_the_body_axes_not_the_coordinates():
    # Embryo lying with anterior along -y, dorsal along +x, left along +z.
    frame = {"anterior": [0.0, -1.0, 0.0], "dorsal": [1.0, 0.0, 0.0], "left": [0.0, 0.0, 1.0]}
    assert daughter_names("ABal", [0.1, -0.9, 0.2], frame) == ("ABala", "ABalp")
    assert daughter_names("ABal", [0.95, 0.1, 0.2], frame) == ("ABald", "ABalv")
    # Unnormalised frame vectors are fine.
    big = {k: 5 * np.asarray(v) for k, v in frame.items()}
    assert daughter_names("ABal", [0.1, -0.9, 0.2], big) == ("ABala", "ABalp")


def test_letters_report_the_alignment_and_break_ties_towards_ap():
    pos, neg, cos = division_letters([1.0, 1.0, 0.0], FRAME)
    assert (pos, neg) == ("a", "p") and abs(cos - np.sqrt(0.5)) < 1e-12
    assert division_letters([0.0, -1.0, 1.0], FRAME)[:2] == ("v", "d")
    assert division_letters([0.0, 0.0, -3.0], FRAME) == ("r", "l", 1.0)
    # A 2D view with the default frame: e0 anterior, e1 left.
    assert division_letters([0.2, -0.9])[:2] == ("r", "l")
    # A frame with only the a-p axis always names a/p.
    assert division_letters([0.1, 0.0, 0.99], {"anterior": [1, 0, 0]})[:2] == ("a", "p")


def test_founder_rules_use_anterior_posterior():
    assert daughter_names("P0", [1.0, 0.2, 0.0], FRAME) == ("AB", "P1")
    assert daughter_names("EMS", [-1.0, 0.0, 0.3], FRAME) == ("E", "MS")
    assert daughter_names("P2", [0.3, 0.9, 0.0], FRAME) == ("C", "P3")


def test_errors():
    with pytest.raises(ValueError, match="daughter_names: mother must be a Sulston name"):
        daughter_names("cell7", [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="mother must be a Sulston name"):
        daughter_names("P4", [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="perpendicular to the anterior-posterior axis"):
        daughter_names("EMS", [0.0, 1.0, 0.0], FRAME)
    with pytest.raises(ValueError, match="frame must give 'anterior'"):
        daughter_names("EMS", [1.0, 0.0, 0.0], {"left": [0, 0, 1]})
    with pytest.raises(ValueError, match="division_letters: axis must be a finite nonzero vector"):
        division_letters([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="frame keys must be among"):
        division_letters([1.0, 0.0, 0.0], {"front": [1, 0, 0]})
    with pytest.raises(ValueError, match=r"frame\['left'\] must be a finite nonzero vector of 3"):
        division_letters([1.0, 0.0, 0.0], {"left": [1, 0]})
    with pytest.raises(TypeError, match="frame must be a dict"):
        division_letters([1.0, 0.0, 0.0], [[1, 0, 0]])


def test_names_follow_the_daughter_divide_cell_puts_on_the_positive_side():
    import jax.numpy as jnp

    from rules.tissue import divide_cell

    grid = np.indices((14, 14, 14)).astype(float)
    ball = (sum((g - 6.5) ** 2 for g in grid) <= 25).astype(np.int32)
    axis = np.array([0.2, -0.1, -0.97])
    y = np.asarray(divide_cell(jnp.asarray(ball), 1, jnp.asarray(axis), 2))
    new, old = (np.argwhere(y == i).mean(axis=0) for i in (2, 1))
    # The new-id daughter lies along +axis (here: the right side), and takes the first name.
    assert np.dot(new - old, axis) > 0
    assert daughter_names("ABa", axis, FRAME) == ("ABar", "ABal")
    assert daughter_names("ABa", new - old, FRAME)[0] == "ABar"
