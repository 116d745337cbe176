"""The EPIC reporter prior over founders, reporter levels, stage columns and nuclei features."""

import numpy as np
import pytest

from neurosym.constraints import prior_loss
from neurosym.founders.classes import FOUNDERS, founder_of
from neurosym.founders.expression import (
    NUCLEI_FEATURES, nuclei_features, reporter_levels, reporter_prior, stage_expression,
)

# Two cells of each founder (plus EMS, which belongs to none).
CELLS = ("ABal", "ABpr", "MSa", "MSp", "Ea", "Ep", "Ca", "Cp", "Da", "Dp", "P4", "Z2", "EMS")


def _embryo(rng, on="E", scale=1.0):
    """Mean reporter per cell: high in the founder `on`, noise elsewhere, on any intensity scale."""
    return {c: float(scale * ((100.0 if founder_of(c) == on else 0.0) + rng.normal(0, 5))) for c in CELLS}


@pytest.fixture
def epic():
    rng = np.random.default_rng(0)
    table = {f"e{i}": _embryo(rng, scale=10.0**i) for i in range(3)}
    table["other"] = _embryo(rng, on="MS")
    embryos = {"e0": "elt-7", "e1": "elt-7", "e2": "elt-7", "other": "hlh-1"}
    return table, embryos


def test_founder_classes():
    assert FOUNDERS == ("AB", "MS", "E", "C", "D", "P")
    got = [founder_of(n) for n in ("ABplaa", "MSpp", "Ealp", "Cpa", "Daa", "P0", "P1", "P4", "Z2", "Z3", "EMS", "x")]
    assert got == ["AB", "MS", "E", "C", "D", "P", "P", "P", "P", "P", None, None]


def test_prior_favours_the_expressing_founder(epic):
    table, embryos = epic
    prior = reporter_prior(table, embryos, "elt-7")
    assert prior.kinds == FOUNDERS
    high, low = np.asarray(prior.log_prob(np.array([[1.5]])))[0], np.asarray(prior.log_prob(np.array([[-0.5]])))[0]
    assert int(np.argmax(high)) == FOUNDERS.index("E")
    assert low[FOUNDERS.index("E")] < np.log(1e-2)
    # The other reporter's embryo (on in MS) was not used: MS is not favoured by a high level.
    assert high[FOUNDERS.index("MS")] < high[FOUNDERS.index("E")] - 3


def test_excluded_embryo_does_not_change_the_prior(epic):
    table, embryos = epic
    a = reporter_prior(table, embryos, "elt-7", exclude=("e1",))
    changed = dict(table)
    changed["e1"] = {c: -v * 1e3 + 7.0 for c, v in table["e1"].items()}  # flipped: on everywhere but E
    b = reporter_prior(changed, embryos, "elt-7", exclude=("e1",))
    np.testing.assert_array_equal(np.asarray(a.loc), np.asarray(b.loc))
    np.testing.assert_array_equal(np.asarray(a.scale), np.asarray(b.scale))
    # ...while the same change does move a prior that uses e1.
    c = reporter_prior(changed, embryos, "elt-7")
    assert not np.allclose(np.asarray(a.loc), np.asarray(c.loc))


def test_prior_does_not_depend_on_intensity_scale(epic):
    table, embryos = epic
    scaled = {e: {c: v * 1e4 - 3.0 for c, v in cells.items()} for e, cells in table.items()}
    a, b = reporter_prior(table, embryos, "elt-7"), reporter_prior(scaled, embryos, "elt-7")
    np.testing.assert_allclose(np.asarray(a.loc), np.asarray(b.loc))


def test_stage_bins_are_separate_columns():
    # Early cells (AB, P) show nothing; late cells: E on.  Per stage, the late column tells E apart.
    rng = np.random.default_rng(1)
    stages = {c: (10.0 if c in ("ABal", "P4") else 150.0) for c in CELLS}
    table = {f"e{i}": _embryo(rng) for i in range(3)}
    prior = reporter_prior(table, {e: "r" for e in table}, "r", stages=stages, stage_edges=(50,))
    assert prior.genes == ("r|cells 0-50", "r|cells 50-inf")
    expr = stage_expression([1.5, 1.5], [120, 120], (50,))
    assert np.isnan(expr[:, 0]).all()
    assert int(np.argmax(np.asarray(prior.log_prob(expr))[0])) == FOUNDERS.index("E")
    # The prior plugs into prior_loss with per-stage expression (NaN outside a cell's bin).
    logits = np.zeros((2, len(FOUNDERS)))
    assert float(prior_loss(prior, logits, expr, FOUNDERS)) > 0.0


def test_reporter_prior_errors(epic):
    table, embryos = epic
    with pytest.raises(ValueError, match="reporter_prior: reporter must be carried by an embryo: no embryo carries 'pha-4'.*elt-7"):
        reporter_prior(table, embryos, "pha-4")
    with pytest.raises(ValueError, match="reporter_prior: embryos must name at least one embryo"):
        reporter_prior(table, {}, "elt-7")
    with pytest.raises(ValueError, match="all are excluded"):
        reporter_prior(table, embryos, "hlh-1", exclude=("other",))
    with pytest.raises(TypeError, match="single string"):
        reporter_prior(table, embryos, "elt-7", exclude="e0")
    with pytest.raises(ValueError, match="epic_table must hold every embryo used: e9"):
        reporter_prior(table, {**embryos, "e9": "elt-7"}, "elt-7")
    with pytest.raises(ValueError, match="stages must give"):
        reporter_prior(table, embryos, "elt-7", stage_edges=(50,))
    with pytest.raises(ValueError, match="stage_edges must increase"):
        reporter_prior(table, embryos, "elt-7", stages={}, stage_edges=(50, 20))
    no_d = {e: {c: v for c, v in cells.items() if founder_of(c) != "D"} for e, cells in table.items()}
    with pytest.raises(ValueError, match="every founder must have measured cells.*D have none"):
        reporter_prior(no_d, embryos, "elt-7")


def test_reporter_levels_are_rank_normal_scores():
    lv = reporter_levels([3.0, 1.0, np.nan, 2.0, 2.0])
    assert np.isnan(lv[2])
    assert lv[1] < lv[3] == lv[4] < lv[0]
    assert abs(lv[3]) < 1e-6
    np.testing.assert_allclose(reporter_levels(np.array([3.0, 1.0, 2.0]) * 1e5), reporter_levels([3.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="values must be 1-D"):
        reporter_levels(np.zeros((2, 2)))


def test_nuclei_features_body_frame():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(60, 3)) * [6.0, 2.0, 1.0]
    later = base + rng.normal(size=(60, 3)) * 0.05 + [50.0, -20.0, 0.0]  # moved a little, shifted
    time = np.repeat([1, 2], 60)
    xyz = np.concatenate([base, later])
    f = nuclei_features(time, xyz, np.full(120, 4.0))
    assert f.shape == (120, len(NUCLEI_FEATURES))
    # Centred and followed over time: the shifted time point has (nearly) the same coordinates.
    np.testing.assert_allclose(f[60:, :4], f[:60, :4], atol=0.05)
    assert np.isclose(np.mean(f[:60, 3] ** 2), 1.0)  # unit root-mean-square distance
    np.testing.assert_allclose(f[:, 4], 1.0)
    np.testing.assert_allclose(f[:, 5], np.log2(60))
    # A body frame: the same embryo turned in the microscope gets the same features.
    c, s_ = np.cos(0.7), np.sin(0.7)
    turned = xyz @ np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]]).T
    np.testing.assert_allclose(nuclei_features(time, turned, np.full(120, 4.0)), f, atol=1e-6)
    # z in planes of 2 units, scaled back by z_scale.
    squashed = xyz / [1.0, 1.0, 2.0]
    np.testing.assert_allclose(nuclei_features(time, squashed, np.full(120, 4.0), z_scale=2.0), f, atol=1e-6)
    assert not np.allclose(nuclei_features(time, squashed, np.full(120, 4.0)), f, atol=1e-3)


def test_nuclei_features_errors():
    with pytest.raises(ValueError, match="nuclei_features: xyz must have shape"):
        nuclei_features([1, 1], np.zeros((2, 2)), [1.0, 1.0])
    with pytest.raises(ValueError, match="size must be positive"):
        nuclei_features([1, 1], np.zeros((2, 3)), [1.0, 0.0])
    with pytest.raises(ValueError, match="z_scale must"):
        nuclei_features([1, 1], np.zeros((2, 3)), [1.0, 1.0], z_scale=0.0)
    with pytest.raises(ValueError, match="xyz and size must be finite"):
        nuclei_features([1, 1], np.array([[0.0, 0, np.nan], [1, 1, 1]]), [1.0, 1.0])
