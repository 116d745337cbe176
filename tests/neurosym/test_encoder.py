import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from neurosym import encoder as enc_mod
from neurosym.encoder import (
    Encoder,
    cell_accuracy,
    cell_cross_entropy,
    check_inputs,
    load_weights,
    pool_cells,
    save_weights,
    train,
)


def _blocks(key, batch=4, size=24, cell=6):
    """Images of (size/cell)^2 square cells; kind 1 cells are bright, kind 0 dim."""
    n = size // cell
    labels = jnp.arange(1, n * n + 1).reshape(n, n).repeat(cell, 0).repeat(cell, 1)
    kinds = jax.random.bernoulli(key, 0.5, (batch, n * n + 1)).astype(jnp.int32).at[:, 0].set(0)
    noise = jax.random.normal(jax.random.fold_in(key, 1), (batch, size, size)) * 0.1
    image = 0.2 + 0.6 * jax.vmap(lambda k: k[labels])(kinds) + noise
    return image.astype(jnp.float32), jnp.broadcast_to(labels, (batch, size, size)), kinds


def _all_cells_loss(model, batch, key):
    """Cross-entropy over every label row of a `_blocks` batch (no extras)."""
    image, labels, kinds = batch
    return cell_cross_entropy(model(image, labels, num_labels=17), kinds, jnp.ones_like(kinds)), {}


def test_pool_cells_matches_numpy():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(10, 12, 3)).astype(np.float32)
    labels = rng.integers(0, 5, size=(10, 12))
    means, counts = pool_cells(feats, labels, 6)
    for l in range(6):
        sel = labels == l
        assert counts[l] == sel.sum()
        if sel.any():
            np.testing.assert_allclose(means[l], feats[sel].mean(0), rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(means[l], 0)


@pytest.mark.parametrize("ndim,shape", [(2, (2, 20, 18)), (3, (1, 6, 10, 12))])
def test_encoder_shapes_and_jit(ndim, shape):
    enc = Encoder(("a", "b", "c"), ndim=ndim, features=(4, 8), head_hidden=8, rngs=nnx.Rngs(0))
    image = jax.random.normal(jax.random.key(0), shape)
    labels = jnp.zeros(shape, jnp.int32).at[..., :3, :3].set(1).at[..., 5:, 5:].set(2)
    out = enc(image, labels, num_labels=3)
    assert out.shape == (shape[0], 3, 3)
    assert enc.pixel_features(image).shape == shape + (4,)
    graphdef, state = nnx.split(enc)

    @jax.jit
    def f(state, image, labels):
        return nnx.merge(graphdef, state)(image, labels, num_labels=3)

    np.testing.assert_allclose(f(state, image, labels), out, rtol=1e-5, atol=1e-5)


def test_normalised_encoder_ignores_gain_and_offset():
    enc = Encoder(("a", "b"), features=(4, 8), rngs=nnx.Rngs(1))
    image, labels, _ = _blocks(jax.random.key(0), batch=1)
    a = enc(image, labels, num_labels=17)
    b = enc(3.0 * image + 5.0, labels, num_labels=17)
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


def test_training_learns_bright_versus_dim_cells():
    enc = Encoder(("dim", "bright"), features=(4, 8), head_hidden=8, rngs=nnx.Rngs(0))

    def batches(key):
        return _blocks(key)

    def loss_fn(model, batch, key):
        image, labels, kinds = batch
        logits = model(image, labels, num_labels=17)
        mask = jnp.arange(17) > 0
        mask = jnp.broadcast_to(mask, kinds.shape)
        return cell_cross_entropy(logits, kinds, mask), {"accuracy": cell_accuracy(logits, kinds, mask)}

    before = nnx.state(enc)
    before_leaf = np.asarray(jax.tree_util.tree_leaves(before)[0]).copy()
    result = train(enc, loss_fn, batches, num_steps=60, key=jax.random.key(1), optimizer=optax.adam(1e-2))
    assert result.loss_history.shape == (60,)
    assert result.loss_history[-5:].mean() < 0.5 * result.loss_history[:5].mean()
    image, labels, kinds = _blocks(jax.random.key(99))
    logits = result.encoder(image, labels, num_labels=17)
    assert float(cell_accuracy(logits[:, 1:], kinds[:, 1:], jnp.ones_like(kinds[:, 1:]))) > 0.95
    # the encoder given to train is left untouched
    np.testing.assert_array_equal(np.asarray(jax.tree_util.tree_leaves(nnx.state(enc))[0]), before_leaf)


def test_train_from_an_iterable_and_running_out():
    enc = Encoder(("dim", "bright"), features=(4,), head_hidden=4, rngs=nnx.Rngs(0))
    data = [_blocks(jax.random.key(i), batch=2) for i in range(3)]

    assert train(enc, _all_cells_loss, data, num_steps=3, key=jax.random.key(0)).loss_history.shape == (3,)
    with pytest.raises(ValueError, match="batches ran out after 3 of 4 steps"):
        train(enc, _all_cells_loss, data, num_steps=4, key=jax.random.key(0))


def test_train_keeps_the_model_with_the_best_validation_score():
    enc = Encoder(("dim", "bright"), features=(4,), head_hidden=4, rngs=nnx.Rngs(0))
    data = [_blocks(jax.random.key(i), batch=2) for i in range(7)]

    scores = iter([0.2, 0.9, 0.5, 0.9])  # at steps 2, 4, 6 and 7 (the last step)
    seen = []

    def validate(model):
        seen.append(isinstance(model, Encoder))
        return next(scores)

    opt = optax.adam(1e-2)
    result = train(enc, _all_cells_loss, data, num_steps=7, key=jax.random.key(0), optimizer=opt,
                   validate=validate, validate_every=2)
    assert result.validation == [(2, 0.2), (4, 0.9), (6, 0.5), (7, 0.9)]
    assert result.best_step == 4 and all(seen)  # the earliest of the tied best
    four = train(enc, _all_cells_loss, data, num_steps=4, key=jax.random.key(0), optimizer=opt)
    assert four.best_step == 4 and four.validation == []
    for a, b in zip(jax.tree_util.tree_leaves(nnx.state(result.encoder)),
                    jax.tree_util.tree_leaves(nnx.state(four.encoder))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # the last model differs from the kept one, so the choice mattered
    seven = train(enc, _all_cells_loss, data, num_steps=7, key=jax.random.key(0), optimizer=opt)
    assert not np.array_equal(np.asarray(jax.tree_util.tree_leaves(nnx.state(seven.encoder))[0]),
                              np.asarray(jax.tree_util.tree_leaves(nnx.state(four.encoder))[0]))


def test_train_validation_errors():
    enc = Encoder(("dim", "bright"), features=(4,), head_hidden=4, rngs=nnx.Rngs(0))
    data = [_blocks(jax.random.key(0), batch=2)] * 2

    with pytest.raises(ValueError, match="validate_every must be at least 1"):
        train(enc, _all_cells_loss, data, num_steps=2, key=jax.random.key(0), validate=lambda m: 1.0, validate_every=0)
    with pytest.raises(ValueError, match="validate returned NaN at step 2"):
        train(enc, _all_cells_loss, data, num_steps=2, key=jax.random.key(0), validate=lambda m: float("nan"))


def test_restarts_share_one_compiled_step_inside_reuse_compiled_steps():
    data = [_blocks(jax.random.key(i), batch=2) for i in range(2)]
    traces = []

    def loss_fn(model, batch, key):
        traces.append(1)  # runs once per compilation
        return _all_cells_loss(model, batch, key)

    opt = optax.adam(1e-2)
    starts = [Encoder(("dim", "bright"), features=(4,), head_hidden=4, rngs=nnx.Rngs(i)) for i in range(2)]
    alone = [train(e, loss_fn, data, num_steps=2, key=jax.random.key(0), optimizer=opt) for e in starts]
    assert len(traces) == 2
    traces.clear()
    with enc_mod.reuse_compiled_steps():
        shared = [train(e, loss_fn, data, num_steps=2, key=jax.random.key(0), optimizer=opt) for e in starts]
    assert len(traces) == 1
    for a, b in zip(alone, shared):
        np.testing.assert_allclose(a.loss_history, b.loss_history, rtol=1e-6)
    assert enc_mod._SHARED_STEPS is None  # released on exit


def test_save_and_load_round_trip(tmp_path):
    enc = Encoder(("a", "b"), features=(4, 8), rngs=nnx.Rngs(3))
    path = save_weights(enc, tmp_path / "w", note="test")
    assert path.suffix == ".npz" and not list(tmp_path.glob("*.tmp"))
    again = load_weights(path)
    image, labels, _ = _blocks(jax.random.key(0), batch=1)
    np.testing.assert_allclose(again(image, labels, num_labels=17), enc(image, labels, num_labels=17), rtol=1e-6)
    assert again.kinds == ("a", "b")
    with pytest.raises(ValueError, match="have a head for the kinds"):
        load_weights(path, kinds=("x", "y", "z"))


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No weight file"):
        load_weights(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not an encoder weight file"):
        load_weights(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="No pre-trained encoder named"):
        enc_mod.load_pretrained("no-such-model")


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="alphabet of at least 2 kinds"):
        Encoder(("only",), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="distinct"):
        Encoder(("a", "a"), rngs=nnx.Rngs(0))
    with pytest.raises(TypeError, match="sequence of kind names"):
        Encoder("ab", rngs=nnx.Rngs(0))
    enc = Encoder(("a", "b"), features=(4,), rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="Add a batch axis"):
        enc(jnp.zeros((8, 8)), jnp.zeros((8, 8), jnp.int32), num_labels=2)
    with pytest.raises(ValueError, match="one label image per image, pixel for pixel"):
        enc(jnp.zeros((1, 8, 8)), jnp.zeros((1, 8, 9), jnp.int32), num_labels=2)
    image = np.zeros((1, 8, 8))
    image[0, 2, 3] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN or infinite pixel\(s\), the first at index \(0, 2, 3\)"):
        check_inputs(image, np.zeros((1, 8, 8), int))
    with pytest.raises(ValueError, match="must match the image pixel for pixel"):
        check_inputs(np.zeros((1, 8, 8)), np.zeros((1, 8, 7), int))
    with pytest.raises(TypeError, match="labels must be integers"):
        check_inputs(np.zeros((8, 8)), np.full((8, 8), 0.5))
    with pytest.raises(ValueError, match="must be >= 0"):
        check_inputs(np.zeros((8, 8)), -np.ones((8, 8), int))


def test_pretrained_weights_ship_and_load():
    from neurosym.pretrain import EMBRYO_KINDS, STAIN_KINDS

    names = enc_mod.pretrained_names()
    assert {"nuclei2d", "membrane2d"} <= set(names)
    expected = {"nuclei2d": STAIN_KINDS, "membrane2d": EMBRYO_KINDS}
    for name in names:
        model = enc_mod.load_pretrained(name)
        assert isinstance(model, Encoder) and model.kinds == expected[name]


def test_pretrained_membrane_encoder_finds_outer_cells_of_a_rendered_embryo():
    from neurosym.pretrain import outer_probability
    from neurosym.render import Microscope, outer_cells, render_dataset

    model = enc_mod.load_pretrained("membrane2d")
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


def test_pretrained_nuclei_encoder_reads_stain_levels_on_a_new_microscope():
    from neurosym.render import Microscope, render_dataset

    model = enc_mod.load_pretrained("nuclei2d")
    scope = Microscope.sample(jax.random.key(123), base=Microscope.nuclei(3))
    images, labels, kinds = render_dataset(jax.random.key(7), 4, shape=(8, 8), site_pixels=8, microscope=scope, augment=False)
    logits = model(images, labels, num_labels=65)
    # chance is 1/3; the pre-trained body reads the stain under an instrument it never saw
    assert float(cell_accuracy(logits, kinds, kinds >= 0)) > 0.6


def test_with_kinds_keeps_the_body_and_pretrain_runs():
    from neurosym.pretrain import pretrain, with_kinds

    result = pretrain("membrane", num_steps=3, key=jax.random.key(0), batch=2, lattice_shape=(4, 4), features=(4, 8))
    assert result.loss_history.shape == (3,) and result.encoder.kinds == ("low", "mid", "high")
    new = with_kinds(result.encoder, ("a", "b"), rngs=nnx.Rngs(5))
    image, labels, _ = _blocks(jax.random.key(0), batch=1, size=32, cell=8)
    np.testing.assert_allclose(new.pixel_features(image), result.encoder.pixel_features(image), rtol=1e-6)
    assert new(image, labels, num_labels=17).shape == (1, 17, 2)
    with pytest.raises(ValueError, match="style must be 'nuclei' or 'membrane'"):
        pretrain("brightfield", num_steps=1, key=jax.random.key(0))


def test_pretrain_on_embryo_layouts_learns_stain_and_position():
    from neurosym.pretrain import EMBRYO_KINDS, outer_probability, pretrain

    result = pretrain("membrane", num_steps=2, key=jax.random.key(0), batch=2, lattice_shape=(4, 4),
                      features=(4, 8), layout="embryo")
    assert result.encoder.kinds == EMBRYO_KINDS == ("low outer", "low inner", "mid outer", "mid inner",
                                                    "high outer", "high inner")
    assert result.aux_history["accuracy"].shape == (2,)
    logits = jax.random.normal(jax.random.key(1), (3, 5, 6))
    probs = np.asarray(jax.nn.softmax(logits, -1))
    outer = [i for i, k in enumerate(EMBRYO_KINDS) if k.endswith(" outer")]
    np.testing.assert_allclose(outer_probability(logits), probs[..., outer].sum(-1), rtol=1e-6)
    with pytest.raises(ValueError, match="logits over the 6 EMBRYO_KINDS on the last axis, got shape \\(3, 5, 3\\)"):
        outer_probability(logits[..., :3])
    with pytest.raises(ValueError, match="layout must be one of 'scattered', 'embryo'"):
        pretrain("membrane", num_steps=1, key=jax.random.key(0), layout="ring")
    with pytest.raises(ValueError, match="needs batch >= 2 and even lattice sides >= 4"):
        pretrain("membrane", num_steps=1, key=jax.random.key(0), layout="embryo", lattice_shape=(5, 6))
