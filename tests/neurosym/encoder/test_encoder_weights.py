"""Tests of neurosym.encoder.weights: files written and read back, metadata, shipped weights."""

import jax
import numpy as np
import pytest
from flax import nnx

from neurosym.encoder import (
    EMBRYO_KINDS,
    STAIN_KINDS,
    Encoder,
    cell_accuracy,
    load_pretrained,
    load_weights,
    outer_probability,
    pretrained_names,
    pretrained_path,
    read_metadata,
    save_weights,
)


def test_save_and_load_round_trip(tmp_path):
    enc = Encoder(("a", "b"), features=(4, 8), rngs=nnx.Rngs(3))
    path = save_weights(enc, tmp_path / "w", note="test", metadata={"recipe": {"steps": 3}})
    assert path.suffix == ".npz" and sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]
    again = load_weights(path)
    for a, b in zip(jax.tree_util.tree_leaves(nnx.state(again)), jax.tree_util.tree_leaves(nnx.state(enc))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert again.kinds == ("a", "b") and again.config == enc.config
    meta = read_metadata(path)
    assert meta["note"] == "test" and meta["recipe"] == {"steps": 3} and meta["config"] == enc.config
    with pytest.raises(ValueError, match="kinds must match the file's head"):
        load_weights(path, kinds=("x", "y", "z"))


def test_weight_file_errors(tmp_path):
    enc = Encoder(("a", "b"), features=(4,), rngs=nnx.Rngs(0))
    with pytest.raises(FileNotFoundError, match="no file at"):
        load_weights(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not an encoder weight file"):
        load_weights(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="must be a shipped encoder"):
        load_pretrained("no-such-model")
    with pytest.raises(ValueError, match="reserved names"):
        save_weights(enc, tmp_path / "x", metadata={"config": 1})
    with pytest.raises(TypeError, match="JSON-serialisable"):
        save_weights(enc, tmp_path / "x", metadata={"when": object()})
    assert not (tmp_path / "x.npz").exists()


def test_pretrained_weights_ship_with_their_recipe():
    assert {"nuclei2d", "membrane2d"} <= set(pretrained_names())
    expected = {"nuclei2d": STAIN_KINDS, "membrane2d": EMBRYO_KINDS}
    for name in pretrained_names():
        meta = read_metadata(pretrained_path(name))
        assert tuple(meta["config"]["kinds"]) == expected[name]
        assert "steps of 8 images, seed 0" in meta["note"]  # the recipe benchmarks/pretrain.py rebuilds
        # made by that script from committed code, which it records
        assert meta["command"].startswith("python benchmarks/pretrain.py") and meta["dirty"] is False
        assert len(meta["commit"]) == 40 and meta["recipe"]["seed"] == 0


@pytest.mark.slow
def test_pretrained_membrane_encoder_finds_outer_cells_of_a_rendered_embryo():
    from neurosym.render import Microscope, outer_cells, render_dataset

    model = load_pretrained("membrane2d")
    assert model.kinds == EMBRYO_KINDS
    scope = Microscope.sample(jax.random.key(321), base=Microscope.membrane(3))
    images, labels, kinds = render_dataset(jax.random.key(8), 4, shape=(12, 12), site_pixels=8, microscope=scope,
                                           density=1.0, layout="embryo")
    present = kinds >= 0
    outer = jax.vmap(lambda l: outer_cells(l, kinds.shape[1]))(labels)
    said_outer = outer_probability(model(images, labels, num_labels=kinds.shape[1])) > 0.5
    accuracy = float(((said_outer == outer) & present).sum() / present.sum())
    share = float((outer & present).sum() / present.sum())
    # Position is read from the image alone, under an instrument the body never saw.
    assert accuracy > max(share, 1 - share) + 0.1 and accuracy > 0.8


@pytest.mark.slow
def test_pretrained_nuclei_encoder_reads_stain_levels_on_a_new_microscope():
    from neurosym.render import Microscope, render_dataset

    model = load_pretrained("nuclei2d")
    assert model.kinds == STAIN_KINDS
    scope = Microscope.sample(jax.random.key(123), base=Microscope.nuclei(3))
    images, labels, kinds = render_dataset(jax.random.key(7), 4, shape=(8, 8), site_pixels=8, microscope=scope, augment=False)
    logits = model(images, labels, num_labels=65)
    # chance is 1/3; the pre-trained body reads the stain under an instrument it never saw
    assert float(cell_accuracy(logits, kinds, kinds >= 0)) > 0.6
