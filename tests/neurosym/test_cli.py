"""The `neurosym` command: every bad input ends with a clear message, exit code 1 (2 for usage
errors), no traceback and no output folder; good input writes complete results."""

import json
import types

import numpy as np
import pytest

from neurosym import cli
from neurosym.growing import train_growing_nca
from neurosym.targets import embryo_target

TRACKS = "t,x,y,z,cell,parent\n"


def synthetic_tracks(path, periods=(8, 13), num_frames=30):
    """Two root cells R and S whose lineages divide every `periods[i]` frames."""
    rows = []

    def grow(name, parent, root, birth):
        end = min(birth + periods[root], num_frames)
        rows.extend(f"{t},{len(rows) % 17},{root},0,{name},{parent}\n" for t in range(birth, end))
        if birth + periods[root] < num_frames:
            for d in "ab":
                grow(name + d, name, root, birth + periods[root])

    grow("R", "", 0, 0)
    grow("S", "", 1, 0)
    path.write_text(TRACKS + "".join(rows))
    return path


def bad_inputs(d):
    """name -> (arguments after `fit`, expected exit code, a key phrase of the message)."""
    (d / "folder").mkdir()
    files = {
        "cd_header.csv": "cell,time,z,x,y,size\n",
        "tracks_header.csv": TRACKS,
        "cycle2.csv": TRACKS + "".join(f"{t},{i},1,0,{c},{p}\n" for t in range(2) for i, (c, p) in
                                       enumerate([("A", "B"), ("B", "A")])),
        "cycle3.csv": TRACKS + "".join(f"{t},{i},1,0,{c},{p}\n" for t in range(3) for i, (c, p) in
                                       enumerate([("A", "C"), ("B", "A"), ("C", "B")])),
        "single_cell.csv": TRACKS + "0,1,1,0,A,\n1,1,1,0,A,\n2,1,1,0,A,\n",
        "single_frame.csv": TRACKS + "0,1,1,0,A,\n0,2,2,0,B,\n",
        "negative.csv": TRACKS + "-5,1,1,0,A,\n-4,1,1,0,A,\n-3,1,1,0,Aa,A\n-3,2,1,0,Ab,A\n",
        "CDe1.csv": "cell,time,z,x,y,size\nEMS,1,5,10,10,20\nMS,2,5,8,10,16\nE,2,5,12,10,16\n",
        "TIMEe1.csv": "1,0\n2,90\n",
        "a_file": "keep me",
    }
    for name, text in files.items():
        (d / name).write_text(text)
    return {
        "data is a folder without tables": (["--data", str(d / "folder")], 1, "is a folder with no .csv"),
        "data is empty": (["--data", ""], 1, "--data must name a file"),
        "data is missing": (["--data", str(d / "missing.csv")], 1, "no such file"),
        "CD header only": (["--data", str(d / "cd_header.csv"), "--format", "cd", "--minutes-per-frame", "1"], 1,
                           "header (line 1) but no rows"),
        "tracks header only": (["--data", str(d / "tracks_header.csv")], 1, "header (line 1) but no rows"),
        "A parent of B, B of A": (["--data", str(d / "cycle2.csv")], 1, "cycle: 'A' (line 2) -> 'B' (line 3) -> 'A'"),
        "A->B->C->A": (["--data", str(d / "cycle3.csv")], 1, "cycle: 'A' (line 2) -> 'B' (line 3) -> 'C' (line 4) -> 'A'"),
        "single cell": (["--data", str(d / "single_cell.csv")], 1, "at least one division"),
        "single frame": (["--data", str(d / "single_frame.csv")], 1, "at least two frames"),
        "negative times": (["--data", str(d / "negative.csv")], 1, "expected a number >= 0"),
        "unknown embedded embryo": (["--embryo", "nope"], 1, "--embryo must be one of the embedded embryos"),
        "unknown embryo in a file": (["--data", str(d / "single_cell.csv"), "--embryo", "x"], 1,
                                     "--embryo 'x' is not in"),
        "embedded embryo without TIME file": (["--embryo", "20240930_JIM762_L4"], 1, "pass --minutes-per-frame"),
        "minutes per frame 1e300": (["--minutes-per-frame", "1e300"], 2, "--minutes-per-frame: must be"),
        "minutes per frame nan": (["--minutes-per-frame", "nan"], 2, "--minutes-per-frame: must be"),
        "minutes per frame 0": (["--minutes-per-frame", "0"], 2, "--minutes-per-frame: must be"),
        "minutes per frame and an embedded TIME file": (["--minutes-per-frame", "1.5"], 1,
                                                        "already says when each frame was taken"),
        "minutes per frame and a TIME file beside": (["--data", str(d / "CDe1.csv"), "--minutes-per-frame", "1.5"], 1,
                                                     "already says when each frame was taken"),
        "format without data": (["--format", "cd"], 1, "--format needs --data"),
        "unknown format": (["--data", str(d / "single_cell.csv"), "--format", "xml"], 2, "invalid choice"),
        "steps 0": (["--steps", "0"], 2, "--steps: must be at least 1"),
        "starts not a number": (["--starts", "two"], 2, "--starts: expected a whole number"),
        "out is a file": (["--out", str(d / "a_file")], 1, "is a file, not a folder"),
    }


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return bad_inputs(tmp_path_factory.mktemp("bad"))


CASE_NAMES = [
    "data is a folder without tables", "data is empty", "data is missing", "CD header only", "tracks header only",
    "A parent of B, B of A", "A->B->C->A", "single cell", "single frame", "negative times",
    "unknown embedded embryo", "unknown embryo in a file", "embedded embryo without TIME file",
    "minutes per frame 1e300", "minutes per frame nan", "minutes per frame 0",
    "minutes per frame and an embedded TIME file", "minutes per frame and a TIME file beside",
    "format without data", "unknown format", "steps 0", "starts not a number", "out is a file",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_fit_input_gets_a_message_an_exit_code_and_no_folder(name, cases, tmp_path, capsys):
    args, code, phrase = cases[name]
    out = tmp_path / "out"
    if "--out" not in args:
        args = args + ["--out", str(out)]
    if "--steps" not in args:
        args = args + ["--steps", "2", "--quiet"]
    assert cli.main(["fit", *args]) == code
    err = capsys.readouterr().err
    assert phrase in err, err
    assert "Traceback" not in err
    # The command's flags, never the library's argument names.
    assert not any(api in err for api in ("format=", "strict=True", "minutes_per_frame", "embryo="))
    assert not out.exists()


def test_all_bad_inputs_are_tested(cases):
    assert sorted(cases) == sorted(CASE_NAMES)


def test_library_warnings_speak_in_flags(capsys):
    import warnings

    with cli._warnings_in_flags():
        warnings.warn("2 lineage problems (pass strict=True to refuse such files)")
    err = capsys.readouterr().err
    assert "neurosym: warning:" in err and "pass --strict" in err and "strict=True" not in err


def test_a_non_finite_fit_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys):
    from neurosym.fit import report
    from neurosym.fit.lineage_model import build_model

    def nan_fit(tables, **kwargs):
        m = build_model(tables[0])
        result = types.SimpleNamespace(final_loss=float("nan"), diagnostics={"message": "Non-finite values."})
        return [types.SimpleNamespace(model=m, result=result, simulated=np.full(m.observed.shape, np.nan),
                                      cycle_minutes={"R": float("inf")})]

    monkeypatch.setattr(report, "fit_lineages", nan_fit)
    out = tmp_path / "out"
    data = synthetic_tracks(tmp_path / "t.csv")
    assert cli.main(["fit", "--data", str(data), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "non-finite values" in err and "--minutes-per-frame" in err and "Traceback" not in err
    assert not out.exists()


def test_flags_translate_the_library_names():
    assert cli.flags("pass format=... or strict=True") == "pass --format ... or --strict"
    assert cli.flags("minutes_per_frame must be positive") == "--minutes-per-frame must be positive"
    assert cli.flags("Pick one with table.select(embryo=...).") == "Pick one with --embryo."
    assert cli.flags("the format of the file") == "the format of the file"  # plain words stay


@pytest.mark.slow
def test_fit_then_simulate_the_fitted_model(tmp_path, capsys):
    data = synthetic_tracks(tmp_path / "tracks.csv")
    out = tmp_path / "fit"
    assert cli.main(["fit", "--data", str(data), "--minutes-per-frame", "2", "--steps", "3", "--starts", "2",
                     "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "compiling" in captured.err and "drawing figures" in captured.out
    result = json.loads((out / "fit.json").read_text())
    assert len(result["observed_counts"]) == len(result["simulated_counts"]) == result["data"]["frames"] == 30
    assert len(result["observed_counts_by_lineage"]["R"]) == 30 == len(result["all_lineages_tracked"])
    assert len(result["loss_history"]) == 3 and "unidentifiable" in result
    for name in ("counts_by_lineage.png", "lineage_tree.png", "parameters.png", "cycles_by_kind.png"):
        assert (out / name).stat().st_size > 1000
    assert sorted(p.name for p in out.iterdir()) == ["counts_by_lineage.png", "cycles_by_kind.png", "fit.json",
                                                     "lineage_tree.png", "parameters.png"]
    sim = tmp_path / "sim"
    assert cli.main(["simulate", "--from-fit", str(out / "fit.json"), "--minutes", "40", "--out", str(sim)]) == 0
    result = json.loads((sim / "simulation.json").read_text())
    assert result["model"] == "fitted"
    edges = result["lineage_edges"]
    assert edges and all(not a.isdigit() and b.startswith(a) for a, b in edges)  # R -> Ra, Rp, ...
    assert {a for a, _ in edges} >= {"R"}
    counts = [c for _, c in result["counts"]]
    assert len(edges) == 2 * (counts[-1] - 2)  # two roots, two edges a division


@pytest.mark.slow
def test_simulate_the_founder_divisions(tmp_path):
    out = tmp_path / "sim"
    assert cli.main(["simulate", "--minutes", "40", "--out", str(out)]) == 0
    result = json.loads((out / "simulation.json").read_text())
    counts = [c for _, c in result["counts"]]
    assert counts[0] >= 1 and counts[-1] > counts[0]
    assert all(b >= a for a, b in zip(counts, counts[1:]))  # no death in this model
    assert len(result["lineage_edges"]) == 2 * (counts[-1] - 1)
    assert ["P0", "AB"] in result["lineage_edges"] and ["P0", "P1"] in result["lineage_edges"]


@pytest.mark.parametrize("args, code, phrase", [
    (["--from-fit", "missing.json"], 1, "--from-fit 'missing.json' is not a fit.json"),
    (["--minutes", "0"], 2, "--minutes: must be at least 1"),
    (["--capacity", "2", "--minutes", "30"], 1, "raise --capacity"),
    (["--from-fit", "FIT", "--cv", "0.2"], 1, "--cv applies to the default model"),
])
def test_bad_simulate_input(args, code, phrase, tmp_path, capsys):
    fit_json = tmp_path / "fit.json"
    fit_json.write_text(json.dumps({"model": {"kinds": ["A.0"], "kind_lineage": ["A"], "daughters": {"A.0": ["A.0", "A.0"]},
                                              "period_min": [10.0], "cv": [0.1], "game": None,
                                              "roots": [{"name": "A", "kind": "A.0", "clock_min": 0.0}]}}))
    args = [str(fit_json) if a == "FIT" else str(tmp_path / a) if a.endswith(".json") else a for a in args]
    out = tmp_path / "out"
    assert cli.main(["simulate", *args, "--out", str(out)]) == code
    err = capsys.readouterr().err
    assert phrase.replace("'missing.json'", repr(str(tmp_path / "missing.json"))) in err, err
    assert "Traceback" not in err and not out.exists()


@pytest.mark.slow
def test_quick_demo_writes_pictures_and_summary(tmp_path):
    out = tmp_path / "demo"
    assert cli.main(["demo", "--quick", "--out", str(out)]) == 0
    for name in ("life.png", "brians_brain.png", "lenia.png", "nca_growth.png", "nca_loss.png"):
        assert (out / name).stat().st_size > 1000, name
    summary = json.loads((out / "summary.json").read_text())
    # Life from a 30% soup loses most of its cells; the orbium keeps its mass to a few percent;
    # training lowers the loss.
    assert summary["life"]["alive_end"] < summary["life"]["alive_start"]
    assert summary["lenia"]["max_relative_mass_change"] < 0.05
    assert summary["growing_nca"]["loss_last"] < summary["growing_nca"]["loss_first"]
    assert not list(out.glob("*.tmp")) and not list(tmp_path.glob(".*"))


def test_demo_out_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "not_a_folder"
    f.write_text("keep me")
    assert cli.main(["demo", "--out", str(f)]) == 1
    assert "--out" in capsys.readouterr().err and f.read_text() == "keep me"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().err


def test_help_exits_with_zero(capsys):
    assert cli.main(["fit", "--help"]) == 0
    assert "--minutes-per-frame" in capsys.readouterr().out


def test_embryo_target_is_premultiplied_rgba():
    t = embryo_target(32, num_cells=4, margin=4)
    assert t.shape == (32, 32, 4) and t.dtype == np.float32
    assert np.all(t[..., :3] <= t[..., 3:4] + 1e-6)
    assert t[:4].sum() == 0 and t[..., 3].max() == 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(target=np.zeros((8, 8, 3))), "RGBA picture"),
        (dict(target=np.full((8, 8, 4), np.nan)), "NaN"),
        (dict(target=np.zeros((8, 8, 4)), min_steps=5, max_steps=4), "min_steps <= max_steps"),
        (dict(target=np.zeros((8, 8, 4)), channels=3), "at least 4"),
    ],
)
def test_growing_errors(kwargs, message):
    import jax

    target = kwargs.pop("target")
    with pytest.raises(ValueError, match=message):
        train_growing_nca(target, key=jax.random.key(0), num_iterations=1, progress=False, **kwargs)


@pytest.mark.slow
def test_fit_the_embedded_embryo_one_count_per_frame(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["fit", "--out", str(out), "--steps", "5", "--starts", "2", "--quiet"]) == 0
    result = json.loads((out / "fit.json").read_text())
    assert {"AB", "MS", "E", "C", "D", "P4"} <= set(result["cycle_minutes"])
    frames = result["data"]["frames"]
    assert len(result["observed_counts"]) == len(result["simulated_counts"]) == frames > 100
    assert all(len(v) == frames for v in result["observed_counts_by_lineage"].values())
    assert [r["name"] for r in result["model"]["roots"]] == ["ABa", "ABp", "EMS", "P2"]


@pytest.mark.slow
def test_fit_several_embryos_then_predict_one(tmp_path, capsys):
    folder = tmp_path / "tables"
    folder.mkdir()
    synthetic_tracks(folder / "a.csv")
    synthetic_tracks(folder / "b.csv")
    out = tmp_path / "fit"
    assert cli.main(["fit", "--data", str(folder), "--minutes-per-frame", "2", "--steps", "3", "--starts", "1",
                     "--out", str(out), "--quiet"]) == 0
    result = json.loads((out / "fit.json").read_text())
    assert [e["data"]["source"].endswith(n) for e, n in zip(result["embryos"], ("a.csv", "b.csv"))] == [True, True]
    assert "shared" in result["model"] and not result["fit"]["predicted"]
    assert (out / "counts_by_lineage_a.png").exists() and (out / "counts_by_lineage_b.png").exists()
    pred = tmp_path / "pred"
    assert cli.main(["fit", "--predict-only", "--from-fit", str(out / "fit.json"), "--data", str(folder / "a.csv"),
                     "--minutes-per-frame", "2", "--out", str(pred), "--quiet"]) == 0
    result = json.loads((pred / "fit.json").read_text())
    assert result["predicted"] is True and result["loss_history"] == [] and "kind_cycle_minutes" in result
    assert not (pred / "parameters.png").exists() and (pred / "cycles_by_kind.png").exists()
    cal = tmp_path / "cal"
    assert cli.main(["fit", "--predict-only", "--from-fit", str(out / "fit.json"), "--data", str(folder / "b.csv"),
                     "--minutes-per-frame", "2", "--calibrate-minutes", "60", "--out", str(cal), "--quiet"]) == 0
    result = json.loads((cal / "fit.json").read_text())
    assert result["fit"]["calibrate_minutes"] == 60.0 and result["predicted"] is True
    capsys.readouterr()
    assert cli.main(["fit", "--predict-only", "--from-fit", str(out / "fit.json"), "--data", str(folder / "b.csv"),
                     "--minutes-per-frame", "2", "--calibrate-minutes", "10", "--out", str(tmp_path / "few"),
                     "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "--calibrate-minutes 10 sees fewer than two cells" in err and "Traceback" not in err
    assert not (tmp_path / "few").exists()
    assert cli.main(["fit", "--predict-only", "--out", str(tmp_path / "x")]) == 1
    assert "--predict-only needs --from-fit" in capsys.readouterr().err
    assert cli.main(["fit", "--calibrate-minutes", "0", "--out", str(tmp_path / "x")]) == 2
