"""Tests of benchmarks/pretrain.py: the shipped weights' recipes, and a tiny rebuild into a folder."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

from neurosym.encoder import EMBRYO_KINDS, load_weights, pretrained_path, read_metadata

ROOT = pathlib.Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "benchmarks" / "pretrain.py"


def _script():
    spec = importlib.util.spec_from_file_location("pretrain_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipes_are_read_from_the_shipped_metadata():
    script = _script()
    nuclei = script.recipe_of(pretrained_path("nuclei2d"))
    membrane = script.recipe_of(pretrained_path("membrane2d"))
    assert nuclei == dict(style="nuclei", layout="scattered", lattice=12, steps=500, batch=8, seed=0,
                          site_pixels=8, features=[12, 24, 48], learning_rate=2e-3)
    assert membrane == dict(nuclei, style="membrane", layout="embryo", lattice=16, steps=800)
    for name, recipe in (("nuclei2d", nuclei), ("membrane2d", membrane)):
        assert f"{recipe['steps']} steps of {recipe['batch']} images, seed {recipe['seed']}" in \
            read_metadata(pretrained_path(name))["note"]


def test_unknown_names_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        _script().main(["nuclei3d"])
    assert stop.value.code == 2 and "no shipped weights named nuclei3d" in capsys.readouterr().err


@pytest.mark.slow
def test_a_tiny_rebuild_writes_loadable_weights_with_its_recipe(tmp_path):
    argv = ["membrane2d", "--steps", "2", "--batch", "2", "--lattice", "4", "--features", "4", "8",
            "--out-dir", str(tmp_path)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(SCRIPT), *argv], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "membrane2d.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["membrane2d.npz"]
    encoder = load_weights(path, kinds=EMBRYO_KINDS)
    assert encoder.features == (4, 8)
    meta = read_metadata(path)
    assert meta["recipe"] == dict(_script().recipe_of(pretrained_path("membrane2d")), steps=2, batch=2, lattice=4,
                                  features=[4, 8])
    assert meta["command"].startswith("python benchmarks/pretrain.py membrane2d --steps 2")
    assert "commit" in meta and "2 steps of 2 images, seed 0" in meta["note"]
    assert _script().recipe_of(path) == meta["recipe"]  # a rebuilt file rebuilds itself
