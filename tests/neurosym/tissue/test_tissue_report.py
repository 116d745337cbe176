"""`neurosym tissue fit` and `neurosym tissue predict` on the embedded embryo, and their refusals."""

import csv
import json

import numpy as np
import pytest

from neurosym.cli import main
from neurosym.tissue.report import complete_frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("tissue")
    assert main(["tissue", "fit", "--until", "9", "--steps", "3", "--out", str(root / "fit"), "--quiet"]) == 0
    return root


@pytest.mark.slow
def test_fit_writes_what_predict_reads(fitted):
    fit = json.loads((fitted / "fit" / "fit.json").read_text())
    assert fit["times"] == [1, 3, 5, 7, 9] and fit["factor"] == 1
    j = np.asarray(fit["contact"])
    assert np.allclose(j, j.T) and (j[1:, 1:] > 0).all()
    assert len(fit["losses"]) == 4 and fit["losses"][-1] < fit["losses"][0]
    assert {d["mother"] for d in fit["divisions"]} == {"ABa", "ABp"}   # 4 -> 8 cells: AB's two
    assert set(fit["frame"]) == {"anterior", "dorsal", "left"} and fit["frame_observed"] == ["left"]
    assert (fitted / "fit" / "fit.png").stat().st_size > 0


@pytest.mark.slow
def test_predict_writes_named_contacts_and_scores(fitted, capsys):
    out = fitted / "pred"
    assert main(["tissue", "predict", "--fit", str(fitted / "fit"), "--time", "9", "--until", "13",
                 "--mcs-per-time", "1", "--out", str(out)]) == 0
    assert "persistence" in capsys.readouterr().err  # progress lines
    with open(out / "contacts.csv") as f:
        rows = list(csv.DictReader(f))
    assert set(rows[0]) == {"time", "cell_a", "cell_b", "area"}
    assert {r["time"] for r in rows} == {"11", "13"}
    assert all(r["cell_a"] < r["cell_b"] and float(r["area"]) > 0 for r in rows)
    assert {"ABal", "MS", "E"} <= {r["cell_a"] for r in rows} | {r["cell_b"] for r in rows}
    with open(out / "scores.csv") as f:
        scores = list(csv.DictReader(f))
    assert [s["time"] for s in scores] == ["11", "13"]
    assert all(0 <= float(s[k]) <= 1 for s in scores for k in ("f1", "overlap", "persistence_f1"))
    assert {p.name for p in out.iterdir()} == {"contacts.csv", "scores.csv", "slices.png", "contacts.png"}


@pytest.mark.slow
def test_predict_with_the_timed_schedule_reads_no_later_name(fitted, capsys):
    out = fitted / "timed"
    assert main(["tissue", "predict", "--fit", str(fitted / "fit"), "--time", "41", "--until", "45",
                 "--mcs-per-time", "1", "--schedule", "timed", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "minutes per time point (calibrated on time points up to 41)" in err
    with open(out / "scores.csv") as f:
        scores = list(csv.DictReader(f))
    assert [s["time"] for s in scores] == ["43", "45"] and all(0 <= float(s["f1"]) <= 1 for s in scores)
    code = main(["tissue", "predict", "--fit", str(fitted / "fit"), "--time", "3", "--until", "5",
                 "--schedule", "timed", "--out", str(fitted / "early")])
    err = capsys.readouterr().err
    assert code == 1 and "--time 3" in err and "--schedule" in err and not (fitted / "early").exists()


@pytest.mark.parametrize("argv, words", [
    (["--time", "10", "--until", "13"], "--time 10 is not a time point"),
    (["--time", "9", "--until", "9"], "--until 9 must be a later time point than --time 9"),
    (["--time", "9", "--until", "99"], None),
])
def test_predict_refuses_bad_times_and_writes_nothing(tmp_path, capsys, argv, words):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"contact": [[0.0]], "lambda_volume": [0.0], "kind_names": ["x"], "frame": {},
                               "axes_mean": [], "axes_concentration": [], "factor": 1}))
    code = main(["tissue", "predict", "--fit", str(fit), *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("neurosym: ") and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    if words:
        assert "refit" in err or words in err


def test_predict_refuses_a_missing_or_foreign_fit(tmp_path, capsys):
    assert main(["tissue", "predict", "--fit", str(tmp_path / "nope"), "--time", "9", "--until", "11"]) == 1
    assert "--fit" in capsys.readouterr().err
    (tmp_path / "fit.json").write_text('{"a": 1}')
    assert main(["tissue", "predict", "--fit", str(tmp_path), "--time", "9", "--until", "11"]) == 1
    err = capsys.readouterr().err
    assert "not a fit.json of `neurosym tissue fit`" in err and "--fit" in err


def test_fit_refuses_a_folder_without_names(tmp_path, capsys):
    np.savez_compressed(tmp_path / "seg_T001.npz", seg=np.ones((4, 4, 4), np.uint16))
    assert main(["tissue", "fit", "--segmentation", str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "--segmentation" in err and "label_names.json" in err
    assert not (tmp_path / "o").exists()


def test_fit_refuses_times_outside_the_series(tmp_path, capsys):
    assert main(["tissue", "fit", "--until", "0", "--out", str(tmp_path / "o")]) == 1
    assert "--until 0 leaves no time point" in capsys.readouterr().err


def test_a_frame_is_completed_orthonormal_and_keeps_what_was_seen():
    seen = np.array([0.6, 0.8, 0.0])
    f = complete_frame({"left": seen}, 3)
    m = np.stack([f["anterior"], f["dorsal"], f["left"]])
    assert np.allclose(m @ m.T, np.eye(3), atol=1e-9)
    assert np.allclose(f["left"], seen)
