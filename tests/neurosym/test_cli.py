"""The `neurosym` command: the demo writes its pictures and summary; bad arguments fail clearly."""

import json

import numpy as np
import pytest

from neurosym import cli
from neurosym.growing import train_growing_nca
from neurosym.targets import embryo_target


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
    assert not list(out.glob("*.tmp")) and not list(out.glob("tmp*"))


def test_out_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "not_a_folder"
    f.write_text("keep me")
    with pytest.raises(SystemExit, match="is a file, not a folder"):
        cli.main(["demo", "--out", str(f)])
    assert f.read_text() == "keep me"


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "demo" in capsys.readouterr().err


def test_write_json_replaces_whole_file(tmp_path):
    path = tmp_path / "a" / "s.json"
    cli.write_json(path, {"x": 1})
    cli.write_json(path, {"y": [1, 2]})
    assert json.loads(path.read_text()) == {"y": [1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["s.json"]


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
