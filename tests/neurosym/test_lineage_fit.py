"""Fitting a division model to a lineage recovers known cycle lengths; the `fit` and `simulate`
commands write complete results."""

import json

import numpy as np
import pytest

from neurosym import cli
from neurosym.data import read_tracks
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


@pytest.mark.slow
def test_fit_command_writes_fit_json_and_figures(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["fit", "--out", str(out), "--steps", "5", "--starts", "1", "--quiet"]) == 0
    result = json.loads((out / "fit.json").read_text())
    for key in ("cycle_minutes", "params", "observed_counts", "simulated_counts", "loss_history", "data"):
        assert key in result
    assert {"AB", "MS", "E", "C", "D", "P4"} <= set(result["cycle_minutes"])
    assert len(result["observed_counts"]) == len(result["simulated_counts"])
    assert [t for t, _ in result["observed_counts"]] == [t for t, _ in result["simulated_counts"]]
    assert len(result["loss_history"]) == 5
    assert result["data"]["cells"] > 100 and result["data"]["frames"] > 10
    for name in ("counts_by_lineage.png", "lineage_tree.png", "parameters.png"):
        assert (out / name).stat().st_size > 1000


def test_fit_command_errors(tmp_path):
    with pytest.raises(SystemExit, match="does not exist"):
        cli.main(["fit", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o")])
    bad = tmp_path / "bad.csv"
    bad.write_text("t,x,y,cell\n0,1,abc,A\n")
    with pytest.raises(SystemExit, match="could not read"):
        cli.main(["fit", "--data", str(bad), "--format", "tracks", "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="at least 1"):
        cli.main(["fit", "--steps", "0", "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit, match="--format needs --data"):
        cli.main(["fit", "--format", "cd", "--out", str(tmp_path / "o")])


def test_simulate_command(tmp_path):
    out = tmp_path / "sim"
    assert cli.main(["simulate", "--minutes", "40", "--out", str(out)]) == 0
    result = json.loads((out / "simulation.json").read_text())
    counts = [c for _, c in result["counts"]]
    assert counts[0] >= 1 and counts[-1] > counts[0]
    assert all(b >= a for a, b in zip(counts, counts[1:]))  # no death in this model
    # Every division adds two lineage edges.
    assert len(result["lineage_edges"]) == 2 * (counts[-1] - 1)
    with pytest.raises(SystemExit, match="not a fit.json"):
        cli.main(["simulate", "--from-fit", str(tmp_path / "nope.json"), "--out", str(out)])
