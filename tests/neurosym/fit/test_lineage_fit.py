"""Fitting a division model to a lineage recovers known cycle lengths; what a fit reports."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurosym.data import read_tracks
from neurosym.fit import timing
from neurosym.fit.lineage import LineageFit
from neurosym.fit.report import PARAMETERS_CAPTION, figures, summary_lines
from neurosym.lineage_fit import build_model, fit_lineage
from neurosym.data import lineage as lineage_of


def synthetic_tracks(path, periods, num_frames=44, lengthening=1.0, spread=None):
    """Two root cells whose lineages divide every `periods[i] * lengthening**g` frames; with
    `spread={g: s}` the cells of generation g divide `s` times sooner or later by their last letter."""
    rows = []

    def grow(name, parent, root, gen, birth):
        period = periods[root] * lengthening ** gen
        if spread and gen in spread:
            period *= 1 - spread[gen] if name.endswith("a") else 1 + spread[gen]
        period = int(round(period))
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
    batch = timing.embryo_batch([m])
    params = timing.initial_params(batch)
    log_period = jnp.log(jnp.asarray(periods_per_start, jnp.float32))
    all_params = {k: jnp.stack([v] * len(final_losses)) for k, v in params.items()}
    all_params["log_period"] = log_period
    result = types.SimpleNamespace(final_losses=lambda: np.asarray(final_losses), all_params=all_params,
                                   num_starts=len(final_losses))
    best = dict(params, log_period=log_period[0])
    return LineageFit(model=m, batch=batch, embryo=0, params=best, result=result,
                      cycle_minutes={"R": 16.0, "S": 26.0}, measured_cycle=dict(m.measured_cycle),
                      simulated=np.zeros_like(m.observed))


def test_counts_cover_every_frame(table):
    frames = fake_fit(table, [[16.0, 26.0]], [1.0]).per_frame()
    assert len(frames["minutes"]) == len(frames["observed"]) == len(table.frames())
    assert frames["minutes"][0] == 0.0 and frames["observed"][0].sum() == len(table.at(table.frames()[0]))
    np.testing.assert_array_equal(frames["simulated"][0], frames["observed"][0])  # the model's start


def test_parameters_that_equally_good_starts_disagree_on_are_flagged(table):
    # Starts 0 and 1 converge with S's period 11 and 112 min; start 2 did not converge.
    res = fake_fit(table, [[16.0, 11.0], [16.5, 112.0], [40.0, 40.0]], [1.0, 1.05, 50.0])
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


def test_every_born_cell_has_a_fate_and_a_collapsed_lineage_is_masked(tmp_path):
    # Lineage S's tracking stops for all but one of its cells at frame 30: from there S is not data.
    path = synthetic_tracks(tmp_path / "t.csv", periods=(8, 6), num_frames=44)
    rows = [line for line in path.read_text().splitlines()]
    head, body = rows[0], rows[1:]
    kept = [r for r in body if not (r.split(",")[4].startswith("S") and int(r.split(",")[0]) >= 30
                                    and r.split(",")[4] not in ("Saaaa",))]
    path.write_text("\n".join([head] + kept) + "\n")
    m = build_model(read_tracks(path, minutes_per_frame=2.0))
    s = m.lineages.index("S")
    frame_min = m.times / 2.0
    assert m.mask[frame_min < 29, s].all() and not m.mask[frame_min >= 30, s].any()
    assert m.mask[:, m.lineages.index("R")].all()
    # Fates: divided cells carry their cycle, cells seen to the end are censored, none vanished in R.
    r_kinds = [k for k, (L, _) in enumerate(m.kinds) if L == "R"]
    in_r = np.isin(m.cell_kinds, r_kinds)
    assert set(np.unique(m.cell_status[in_r])) == {0, 1}
    np.testing.assert_allclose(m.cell_age[in_r & (m.cell_status == 0)], 16.0)
    assert (m.cell_window >= m.cell_age - 1e-9).all()


@pytest.mark.slow
def test_two_embryos_share_kinds_and_differ_in_time_scale(tmp_path):
    from neurosym.fit.lineage import fit_lineages

    a = read_tracks(synthetic_tracks(tmp_path / "a.csv", periods=(8, 13)), minutes_per_frame=2.0)
    b = read_tracks(synthetic_tracks(tmp_path / "b.csv", periods=(8, 13)), minutes_per_frame=2.4)
    fits = fit_lineages([a, b], num_steps=200, num_starts=2, progress=False)
    assert [f.embryo for f in fits] == [0, 1] and fits[0].batch is fits[1].batch
    scale = np.exp(np.asarray(fits[0].params["log_scale"]))
    assert scale[1] / scale[0] == pytest.approx(1.2, rel=0.05)  # b runs 20% slower in minutes
    for f in fits:
        for lineage, err in f.cycle_errors().items():
            assert err < 0.1, (lineage, f.cycle_minutes, f.measured_cycle)
        assert f.relative_rms() < 0.1


def test_a_round_departs_from_its_lineage_asynchrony_only_with_kind_deviations(table):
    m = build_model(table)
    batch = timing.embryo_batch([m])
    p = timing.initial_params(batch)
    p["cv_dev"] = jnp.zeros_like(p["cv_dev"]).at[1].set(np.log(3.0))
    base = np.asarray(timing.fates(p, batch)["cv"])
    lineage_cv = float(np.asarray(jax.nn.softplus(p["cv_raw"]))[batch.kind_lineage[1]])
    assert base[1] == pytest.approx(3.0 * lineage_cv, rel=1e-5)
    off = np.asarray(timing.fates(timing.Terms(kind_deviations=False).apply(p), batch)["cv"])
    assert off[1] == pytest.approx(lineage_cv, rel=1e-5)


@pytest.mark.slow
def test_an_asynchronous_round_gets_its_own_spread(tmp_path):
    # Generation 2 of both lineages splits into early and late cells (x0.7 and x1.3); the others
    # are synchronous. The fitted spread of that round stands out from its neighbours'.
    path = synthetic_tracks(tmp_path / "a.csv", periods=(8, 11), num_frames=60, spread={2: 0.3})
    res = fit_lineage(read_tracks(path, minutes_per_frame=2.0), num_steps=200, num_starts=2, progress=False)
    cv = dict(zip(res.batch.kind_names, np.asarray(timing.fates(res.params, res.batch)["cv"]).tolist()))
    for root in ("R", "S"):
        assert cv[f"{root}.2"] > 2.0 * max(cv[f"{root}.1"], cv[f"{root}.3"]), cv
        assert cv[f"{root}.2"] > 0.2, cv
    for lineage, err in res.cycle_errors().items():
        assert err < 0.1, (lineage, res.cycle_minutes, res.measured_cycle)


@pytest.mark.slow
def test_a_fitted_model_predicts_a_new_embryo_without_fitting_it(tmp_path):
    from neurosym.fit.lineage import predict_lineage

    train = read_tracks(synthetic_tracks(tmp_path / "a.csv", periods=(8, 13)), minutes_per_frame=2.0)
    new = read_tracks(synthetic_tracks(tmp_path / "b.csv", periods=(8, 13), num_frames=40), minutes_per_frame=2.0)
    spec = fit_lineage(train, num_steps=150, num_starts=1, progress=False).model_spec()
    pred = predict_lineage(spec, new)
    assert pred.predicted and pred.result is None and pred.unidentifiable() == {}
    for lineage, err in pred.cycle_errors().items():
        assert err < 0.1, (lineage, pred.cycle_minutes, pred.measured_cycle)
    assert pred.relative_rms() < 0.1
    # A different biology is predicted worse: the prediction reads the spec, not the new data.
    slow = read_tracks(synthetic_tracks(tmp_path / "c.csv", periods=(11, 17), num_frames=40), minutes_per_frame=2.0)
    assert predict_lineage(spec, slow).relative_rms() > 2 * pred.relative_rms()
    with pytest.raises(ValueError, match="spec must be a fitted model"):
        predict_lineage({"kinds": []}, new)


def test_a_lineage_without_an_observed_cycle_is_flagged(tmp_path):
    # S never divides inside the recording: nothing but its start sets its period.
    table = read_tracks(synthetic_tracks(tmp_path / "t.csv", periods=(8, 60)), minutes_per_frame=2.0)
    res = fake_fit(table, [[16.0, 30.0], [16.2, 31.0]], [1.0, 1.01])
    assert set(res.unidentifiable()) == {"period_ref_min[S]"}
    assert res.unidentifiable()["period_ref_min[S]"] == pytest.approx((30.0, 31.0), rel=1e-4)


@pytest.mark.slow
def test_calibrating_the_time_scale_of_a_slower_embryo(tmp_path):
    from neurosym.fit.lineage import predict_lineage

    train = read_tracks(synthetic_tracks(tmp_path / "a.csv", periods=(8, 13)), minutes_per_frame=2.0)
    slow = read_tracks(synthetic_tracks(tmp_path / "b.csv", periods=(8, 13)), minutes_per_frame=2.6)
    spec = fit_lineage(train, num_steps=150, num_starts=1, progress=False).model_spec()
    plain = predict_lineage(spec, slow)
    calibrated = predict_lineage(spec, slow, calibrate_minutes=60.0)
    assert calibrated.named_params()["time_scale"] == pytest.approx(1.3, rel=0.08)
    assert calibrated.relative_rms() < 0.5 * plain.relative_rms()
    with pytest.raises(ValueError, match="calibrate_minutes must be a positive"):
        predict_lineage(spec, slow, calibrate_minutes=-1.0)


def test_calibration_needs_reference_cycles_and_enough_cells(table):
    from neurosym.fit.lineage import predict_lineage

    spec = fit_lineage(table, num_steps=2, num_starts=1, progress=False).model_spec()
    assert set(spec["reference_cycles"]) >= {"R.1", "S.1"}
    # Every reference cycle is a (birth, cycle) pair in minutes, the cycle on its embryo's scale.
    assert all(len(pair) == 2 and pair[1] > 0 for pairs in spec["reference_cycles"].values() for pair in pairs)
    with pytest.raises(ValueError, match="no reference cycles"):
        predict_lineage({k: v for k, v in spec.items() if k != "reference_cycles"}, table, calibrate_minutes=40.0)
    with pytest.raises(ValueError, match="fewer than two cells born and divided in the first 10 minutes"):
        predict_lineage(spec, table, calibrate_minutes=10.0)


def test_robust_trend_ignores_artefact_cycles():
    rng = np.random.default_rng(0)
    x = np.repeat(np.arange(6.0), 8)
    y = 3.0 + 0.25 * x + rng.normal(0, 0.05, x.size)
    late = np.nonzero(x >= 4)[0][:4]
    y[late] = np.log(3.0)  # "cycles" of 3 minutes: tracking artefacts late in the lineage
    icept, slope = timing.robust_trend(x, y)
    assert slope == pytest.approx(0.25, abs=0.03) and icept == pytest.approx(3.0, abs=0.05)
    # Plain least squares is tilted by the same four cells.
    assert np.polyfit(x, y, 1)[0] < 0.2


def test_robust_trend_keeps_its_line_when_every_weight_vanishes():
    # Two tight clusters 3 apart: after one fit, every residual lies beyond the biweight's
    # cutoff of their tiny spread, so no point keeps a weight; the last line stands.
    x = np.array([2.0, 0, 1, 0, 1, 2, 1])
    y = np.array([-1.3e-4, -6.6e-5, 3.00009, 3.000005, 3.0002, 3.00002, 2.99994])
    icept, slope = timing.robust_trend(x, y)
    np.testing.assert_allclose(np.polyval([slope, icept], x), np.polyval(np.polyfit(x, y, 1), x), atol=1e-9)


def test_a_stray_record_before_the_recording_is_left_out(tmp_path):
    path = synthetic_tracks(tmp_path / "t.csv", periods=(8, 13))
    lines = path.read_text().splitlines()
    # One cell annotated ten frames before the recording, on its own (no mother, no daughters).
    later = [",".join([str(int(r.split(",")[0]) + 10)] + r.split(",")[1:]) for r in lines[1:]]
    path.write_text("\n".join(lines[:1] + ["0,1.0,1.0,0.0,Q,"] + later) + "\n")
    clean = build_model(read_tracks(synthetic_tracks(tmp_path / "c.csv", periods=(8, 13)), minutes_per_frame=2.0))
    with pytest.warns(UserWarning, match="start at frame 10, not 0"):
        m = build_model(read_tracks(path, minutes_per_frame=2.0))
    assert m.root_names == clean.root_names == ("R", "S")
    np.testing.assert_array_equal(m.observed, clean.observed)
    np.testing.assert_allclose(m.times, clean.times)
    assert m.num_steps == clean.num_steps and m.t0 == clean.t0 + 20.0


def test_a_late_orphan_does_not_cut_most_of_the_recording(tmp_path):
    from neurosym.fit.lineage_model import recording_start

    path = synthetic_tracks(tmp_path / "t.csv", periods=(8, 13))
    lines = path.read_text().splitlines()
    # A cell without a mother late in the recording (a tracking glitch) moves no start.
    path.write_text("\n".join(lines + ["40,1.0,1.0,0.0,Z,"]) + "\n")
    table = read_tracks(path, minutes_per_frame=2.0)
    assert recording_start(lineage_of(table), table.frames()) == 0
