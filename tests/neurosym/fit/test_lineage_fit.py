"""Fitting a division model to a lineage recovers known cycle lengths; what a fit reports."""

import types

import jax.numpy as jnp
import numpy as np
import pytest

from neurosym.data import read_tracks
from neurosym.fit.lineage import LineageFit, initial_params
from neurosym.fit.report import PARAMETERS_CAPTION, figures, summary_lines
from neurosym.lineage_fit import build_model, fit_lineage


def synthetic_tracks(path, periods, num_frames=44, lengthening=1.0):
    """Two root cells whose lineages divide every `periods[i] * lengthening**g` frames."""
    rows = []

    def grow(name, parent, root, gen, birth):
        period = int(round(periods[root] * lengthening ** gen))
        end = min(birth + period, num_frames)
        for t in range(birth, end):
            rows.append((t, float(len(rows) % 17), float(gen), 0.0, name, parent))
        if birth + period < num_frames:
            for d in "ab":
                grow(name + d, name, root, gen + 1, birth + period)

    for i, root in enumerate(("R", "S")):
        grow(root, "", i, 0, 0)
    with open(path, "w") as f:
        f.write("t,x,y,z,cell,parent\n")
        for r in rows:
            f.write(",".join(map(str, r)) + "\n")
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = synthetic_tracks(tmp_path_factory.mktemp("tracks") / "tracks.csv", periods=(8, 13))
    return read_tracks(path, minutes_per_frame=2.0)


def test_model_structure_follows_the_lineage(table):
    m = build_model(table)
    assert m.lineages == ("R", "S")
    assert m.dt == pytest.approx(2.0)
    # Observed counts: both roots at frame 0 are the start; the last frame has every leaf.
    assert m.observed[-1].sum() == len([c for c in set(table.cell)
                                        if table.track(c).frame.max() == table.frames()[-1]])
    assert m.measured_cycle == pytest.approx({"R": 16.0, "S": 26.0})


@pytest.mark.slow
def test_fit_recovers_cycle_lengths_and_counts(table):
    res = fit_lineage(table, num_steps=150, num_starts=2, game=False, progress=False)
    for lineage, err in res.cycle_errors().items():
        assert err < 0.1, (lineage, res.cycle_minutes, res.measured_cycle)
    assert res.relative_rms() < 0.1
    assert res.result.losses[-1].min() < res.result.losses[0].min()


def test_several_embryos_are_refused(table, tmp_path):
    import dataclasses

    two = type(table).concat([table, dataclasses.replace(table, embryo=np.full(len(table), "other"))])
    with pytest.raises(ValueError, match="one embryo at a time"):
        build_model(two)


def fake_fit(table, periods_per_start, final_losses):
    """A LineageFit whose starts ended with the given periods (minutes, (S, L)) and losses."""
    m = build_model(table)
    params = initial_params(m, game=False)
    log_period = jnp.log(jnp.asarray(periods_per_start, jnp.float32))
    all_params = {k: jnp.stack([v] * len(final_losses)) for k, v in params.items()}
    all_params["log_period"] = log_period
    result = types.SimpleNamespace(final_losses=lambda: np.asarray(final_losses), all_params=all_params,
                                   num_starts=len(final_losses))
    best = dict(params, log_period=log_period[0])
    return LineageFit(model=m, params=best, result=result, cycle_minutes={"R": 16.0, "S": 26.0},
                      measured_cycle=dict(m.measured_cycle), simulated=np.zeros_like(m.observed), game=False)


def test_counts_cover_every_frame(table):
    frames = fake_fit(table, [[16.0, 26.0]], [1.0]).per_frame()
    assert len(frames["minutes"]) == len(frames["observed"]) == len(table.frames())
    assert frames["minutes"][0] == 0.0 and frames["observed"][0].sum() == len(table.at(table.frames()[0]))
    np.testing.assert_array_equal(frames["simulated"][0], frames["observed"][0])  # the model's start


def test_parameters_that_equally_good_starts_disagree_on_are_flagged(table):
    # Starts 0 and 1 converge with S's period 11 and 112 min; start 2 did not converge.
    res = fake_fit(table, [[16.0, 11.0], [16.5, 112.0], [40.0, 40.0]], [1.0, 3.0, 50.0])
    unsure = res.unidentifiable()
    assert set(unsure) == {"period_ref_min[S]"}
    assert unsure["period_ref_min[S]"] == pytest.approx((11.0, 112.0), rel=1e-4)
    assert any("period_ref_min[S]" in line for line in summary_lines(res))
    assert fake_fit(table, [[16.0, 11.0]], [1.0]).unidentifiable() == {}  # one start: nothing to compare


def test_parameters_figure_says_why_the_reference_period_differs(table):
    res = fake_fit(table, [[16.0, 11.0], [16.5, 112.0]], [1.0, 1.0])
    from neurosym.data import lineage

    fig = figures(res, lineage(table), embryo="e")["parameters.png"]
    texts = [t.get_text() for t in fig.texts] + [fig.axes[0].get_title()]
    assert PARAMETERS_CAPTION in texts
    assert any("not pinned down" in t for t in texts)
    assert any("g_ref" in t.get_text() for t in fig.axes[0].get_xticklabels())
