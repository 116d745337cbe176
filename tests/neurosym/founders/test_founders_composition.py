"""Founder classes of Sulston names, the founder composition and its loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from neurosym.founders.classes import FOUNDERS, founder_of
from neurosym.founders.composition import (
    FounderComposition,
    composition_from_fit,
    composition_from_tables,
    composition_loss,
    embedded_composition,
)
from neurosym.io import CellTable

FOUR_CELL = [0.5, 0.125, 0.125, 0.0, 0.0, 0.25]


def test_founder_of_names():
    names = ["AB", "ABplaap", "MS", "MSappa", "E", "Ealp", "C", "Cpaa", "D", "Dpp",
             "P0", "P1", "P2", "P3", "P4", "Z2", "Z3", "Z2a"]
    assert [founder_of(n) for n in names] == (["AB"] * 2 + ["MS"] * 2 + ["E"] * 2 + ["C"] * 2 + ["D"] * 2
                                              + ["P"] * 8)
    assert [founder_of(n) for n in ("EMS", "Nuc007", "", "ABx", "P5", None, 3)] == [None] * 7
    assert FOUNDERS == ("AB", "MS", "E", "C", "D", "P")


def test_fractions_are_renormalised_rows_summing_to_one():
    comp = FounderComposition([4, 8], [[0.5, 0.125, 0.125, 0, 0, 0.2501], [0.5, 0.125, 0.125, 0.125, 0, 0.125]])
    np.testing.assert_allclose(comp.fractions.sum(axis=1), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="fractions must be rows summing to 1"):
        FounderComposition([4], [[0.5, 0.5, 0.5, 0, 0, 0]])


@pytest.mark.parametrize("totals, fractions, match", [
    ([4, 4], [FOUR_CELL, FOUR_CELL], "totals must increase strictly"),
    ([4], [[0.5, 0.5]], r"fractions must have shape \(len\(totals\), 6\)"),
    ([4], [[1.5, -0.5, 0, 0, 0, 0]], "fractions must be non-negative"),
    ([], np.zeros((0, 6)), "totals must be a non-empty 1-D array"),
    ([np.nan], [FOUR_CELL], "totals must hold finite numbers"),
])
def test_bad_tables_are_refused(totals, fractions, match):
    with pytest.raises(ValueError, match=match):
        FounderComposition(totals, fractions)


def test_at_interpolates_in_the_total_and_clamps():
    two = [0.5, 0, 0, 0, 0, 0.5]
    comp = FounderComposition([2, 4], [two, FOUR_CELL])
    np.testing.assert_allclose(comp.at(3), [0.5, 0.0625, 0.0625, 0, 0, 0.375])
    np.testing.assert_allclose(comp.at(2.5), 0.75 * np.array(two) + 0.25 * np.array(FOUR_CELL))
    np.testing.assert_allclose(comp.at(1), two)
    np.testing.assert_allclose(comp.at(100), FOUR_CELL)
    grid = comp.at(np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 2.2]]))
    assert grid.shape == (2, 3, 6)
    np.testing.assert_allclose(grid.sum(axis=-1), 1.0)
    with pytest.raises(ValueError, match="total_cells must hold finite numbers"):
        comp.at([4, np.inf])


def test_json_round_trip(tmp_path):
    comp = FounderComposition([2, 4], [[0.5, 0, 0, 0, 0, 0.5], FOUR_CELL], source="by hand", embryos=("e1", "e2"),
                              command="made in a test")
    back = FounderComposition.from_json(comp.to_json(tmp_path / "c.json"))
    np.testing.assert_allclose(back.totals, comp.totals)
    np.testing.assert_allclose(back.fractions, comp.fractions)
    assert (back.source, back.embryos, back.command) == ("by hand", ("e1", "e2"), "made in a test")
    with pytest.raises(ValueError, match="data must be a founder composition"):
        FounderComposition.from_dict({"totals": [4]})


def _table(embryo, frames):
    """A CellTable of one embryo from a list of frames, each a list of cell names."""
    cells = [c for f in frames for c in f]
    frame = [i + 1 for i, f in enumerate(frames) for _ in f]
    zeros = np.zeros(len(cells))
    return CellTable(embryo=embryo, cell=cells, time_min=[1.5 * (f - 1) for f in frame], frame=frame,
                     x=zeros, y=zeros, z=zeros)


def test_empirical_composition_of_a_small_table_is_exact():
    one = _table("one", [["AB", "P1"], ["ABa", "ABp", "P1"], ["ABa", "ABp", "EMS", "P2"],
                         ["ABa", "ABp", "MS", "E", "P2"]])
    # Two frames of 4 cells in one embryo are averaged before the embryos are; a cell with no
    # Sulston name counts in the total but in no class.
    two = _table("two", [["ABa", "ABp", "MS", "E"], ["ABa", "ABp", "EMS", "Nuc1"],
                         ["ABal", "ABar", "ABpl", "ABpr", "MS", "E", "C", "P3"]])
    comp = composition_from_tables([one, two])
    assert comp.totals.tolist() == [2, 3, 4, 5, 8]
    assert comp.embryos == ("one", "two")
    np.testing.assert_allclose(comp.at(2), [0.5, 0, 0, 0, 0, 0.5])
    np.testing.assert_allclose(comp.at(3), [2 / 3, 0, 0, 0, 0, 1 / 3])
    embryo_two = (np.array([0.5, 0.25, 0.25, 0, 0, 0]) + np.array([2 / 3, 1 / 6, 1 / 6, 0, 0, 0])) / 2
    np.testing.assert_allclose(comp.at(4), (np.array(FOUR_CELL) + embryo_two) / 2)
    np.testing.assert_allclose(comp.at(5), [0.4, 0.2, 0.2, 0, 0, 0.2])
    np.testing.assert_allclose(comp.at(8), [0.5, 0.125, 0.125, 0.125, 0, 0.125])
    # Both embryos in one table give the same.
    both = composition_from_tables(CellTable.concat([one, two]))
    np.testing.assert_allclose(both.fractions, comp.fractions)


def test_empirical_composition_stops_where_a_class_stops_being_tracked():
    ab8 = [f"AB{s}" for s in ("ala", "alp", "ara", "arp", "pla", "plp", "pra", "prp")]
    lost = _table("lost", [ab8 + ["E"], ab8[:3] + ["Ea", "Ep"]])  # AB falls from 8 to 3: tracking lost
    comp = composition_from_tables(lost)
    assert comp.totals.tolist() == [9]


def test_bad_tables_input_is_refused():
    with pytest.raises(TypeError, match="tables must be a CellTable"):
        composition_from_tables([np.zeros(3)])
    with pytest.raises(ValueError, match="tables must hold cells with Sulston names"):
        composition_from_tables(_table("x", [["Nuc1", "Nuc2"]]))


def _cells():
    p = jax.nn.softmax(jax.random.normal(jax.random.key(0), (7, 6)), axis=-1)
    groups = jnp.array([0, 0, 1, 1, 1, 2, 2])
    return p, groups


def _means(p, groups, num_groups):
    return jnp.stack([p[groups == g].mean(axis=0) for g in range(num_groups)])


def test_loss_is_zero_at_the_expected_mean_and_positive_elsewhere():
    p, groups = _cells()
    expected = _means(p, groups, 3)
    assert abs(float(composition_loss(p, groups, expected))) < 1e-6
    other = jnp.asarray(np.tile(FOUR_CELL, (3, 1)), jnp.float32)
    value = float(composition_loss(p, groups, other))
    kl = [float(jnp.sum(jnp.where(e > 0, e * jnp.log(jnp.where(e > 0, e, 1.0) / q), 0.0)))
          for e, q in zip(other, expected)]
    np.testing.assert_allclose(value, np.mean(kl), rtol=1e-5)
    assert value > 0.01


def test_loss_gradient_is_finite_and_matches_finite_differences():
    p, groups = _cells()
    logits = jnp.log(p)
    # Zeros in the expected composition, and an empty group (3), are part of normal use.
    expected = jnp.asarray(np.array([FOUR_CELL, [0.5, 0.125, 0.125, 0.125, 0, 0.125], [1, 0, 0, 0, 0, 0],
                                     [0.2] * 5 + [0]]), jnp.float32)

    def loss(z):
        return composition_loss(jax.nn.softmax(z, axis=-1), groups, expected)

    grad = jax.grad(loss)(logits)
    assert bool(jnp.all(jnp.isfinite(grad))) and float(jnp.abs(grad).max()) > 0
    check_grads(loss, (logits.astype(jnp.float64) if jax.config.jax_enable_x64 else logits,), order=1,
                modes=["rev"], atol=5e-2, rtol=5e-2)
    assert abs(float(jax.jit(loss)(logits)) - float(loss(logits))) < 1e-5


def test_loss_mask_leaves_cells_out():
    p, groups = _cells()
    expected = _means(p, groups, 3)
    extra = jnp.concatenate([p, jnp.eye(6)[:1]])
    padded_groups = jnp.concatenate([groups, jnp.array([0])])
    mask = jnp.array([True] * 7 + [False])
    assert abs(float(composition_loss(extra, padded_groups, expected, mask=mask))) < 1e-6
    assert float(composition_loss(extra, padded_groups, expected)) > 1e-3


@pytest.mark.parametrize("args, match", [
    ((jnp.ones(6) / 6, jnp.zeros(1, int), jnp.ones((1, 6)) / 6), r"probabilities must have shape \(N, K\)"),
    ((jnp.ones((2, 6)) / 6, jnp.zeros(2, int), jnp.ones((1, 5)) / 5), r"expected must have shape \(G, 6\)"),
    ((jnp.ones((2, 6)) / 6, jnp.zeros(2), jnp.ones((1, 6)) / 6), "groups must be integers"),
    ((jnp.ones((2, 6)) / 6, jnp.array([0, 1]), jnp.ones((1, 6)) / 6), r"groups must lie in 0..0"),
])
def test_loss_refuses_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        composition_loss(*args)


def test_shipped_composition_loads_with_its_provenance():
    comp = embedded_composition()
    assert comp.source == "division-timing model"
    assert len(comp.embryos) == 9 and "make_composition.py" in comp.command
    np.testing.assert_allclose(comp.fractions.sum(axis=1), 1.0, atol=1e-9)
    assert abs(comp.at(4)[0] - 0.5) < 0.02
    np.testing.assert_allclose(comp.at(4), FOUR_CELL, atol=0.02)
    assert 0.6 <= comp.at(350)[0] <= 0.75


@pytest.mark.slow
def test_model_composition_starts_from_the_first_frame():
    from neurosym.fit.lineage import fit_lineage
    from neurosym.io import load_celegans

    comp = composition_from_fit(fit_lineage(load_celegans(), num_steps=2, num_starts=1, progress=False))
    assert comp.totals[0] == 4 and np.all(np.diff(comp.totals) == 1)
    np.testing.assert_allclose(comp.at(4), FOUR_CELL, atol=1e-6)
    np.testing.assert_allclose(comp.fractions.sum(axis=1), 1.0, atol=1e-9)
    with pytest.raises(TypeError, match="fit must be a LineageFit"):
        composition_from_fit([])
