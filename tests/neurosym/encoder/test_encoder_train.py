"""Tests of neurosym.encoder.train: the one training loop for NNX models and parameter pytrees."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from neurosym.encoder import Encoder, cell_accuracy, cell_cross_entropy, reuse_compiled_steps, train, train_params


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


def _small(seed=0):
    return Encoder(("dim", "bright"), features=(4,), head_hidden=4, rngs=nnx.Rngs(seed))


def _leaves(model):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(nnx.state(model))]


def _quadratic(p, batch, key):
    return jnp.sum((p["w"] - 3.0) ** 2), {"w0": p["w"][0]}


def test_train_params_matches_hand_written_sgd():
    result = train_params({"w": jnp.zeros(2)}, _quadratic, num_steps=4, key=jax.random.key(0), optimizer=optax.sgd(0.1))
    w, losses = np.zeros(2), []
    for _ in range(4):
        losses.append(np.sum((w - 3.0) ** 2))
        w = w - 0.1 * 2 * (w - 3.0)
    np.testing.assert_allclose(result.params["w"], w, rtol=1e-6)
    np.testing.assert_allclose(result.loss_history, losses, rtol=1e-6)
    np.testing.assert_allclose(result.aux_history["w0"][1], 0.6, rtol=1e-6)
    assert result.best_step == 4 and result.validation == [] and result.model is result.params


def test_batches_from_a_function_of_the_key_an_iterable_or_none():
    def loss(p, batch, key):
        return jnp.sum((p - batch) ** 2), {}

    drawn = train_params(jnp.zeros(()), loss, lambda k: jax.random.normal(k), num_steps=3, key=jax.random.key(0))
    listed = train_params(jnp.zeros(()), loss, [1.0, 2.0, 3.0], num_steps=3, key=jax.random.key(0))
    np.testing.assert_allclose(listed.loss_history[0], 1.0)
    assert drawn.loss_history.shape == (3,) and not np.allclose(drawn.loss_history, listed.loss_history)
    keyed = train_params(jnp.zeros(()), lambda p, b, k: (jnp.sum((p - jax.random.normal(k)) ** 2), {}), None,
                         num_steps=2, key=jax.random.key(5))
    np.testing.assert_allclose(keyed.loss_history[0], float(jax.random.normal(jax.random.fold_in(jax.random.key(5), 0))) ** 2,
                               rtol=1e-5)


@pytest.mark.slow
def test_train_from_an_iterable_and_running_out():
    enc = _small()
    data = [_blocks(jax.random.key(i), batch=2) for i in range(3)]
    before = _leaves(enc)
    opt = optax.adam(1e-3)
    with reuse_compiled_steps():  # one compilation for both runs
        result = train(enc, _all_cells_loss, data, num_steps=3, key=jax.random.key(0), optimizer=opt)
        assert result.loss_history.shape == (3,) and isinstance(result.encoder, Encoder)
        for a, b in zip(_leaves(enc), before):  # the model given to train is left as it was
            np.testing.assert_array_equal(a, b)
        assert any(not np.array_equal(a, b) for a, b in zip(_leaves(result.encoder), before))
        with pytest.raises(ValueError, match="batches ran out after 3 of 4 steps"):
            train(enc, _all_cells_loss, data, num_steps=4, key=jax.random.key(0), optimizer=opt)


def test_train_keeps_the_model_with_the_best_validation_score():
    enc = _small()
    data = [_blocks(jax.random.key(i), batch=2) for i in range(7)]
    scores = iter([0.2, 0.9, 0.5, 0.9])  # at steps 2, 4, 6 and 7 (the last step)
    seen = []

    def validate(model):
        seen.append(isinstance(model, Encoder))
        return next(scores)

    opt = optax.adam(1e-2)
    with reuse_compiled_steps():  # the three runs share one compiled step
        result = train(enc, _all_cells_loss, data, num_steps=7, key=jax.random.key(0), optimizer=opt,
                       validate=validate, validate_every=2)
        four = train(enc, _all_cells_loss, data, num_steps=4, key=jax.random.key(0), optimizer=opt)
        seven = train(enc, _all_cells_loss, data, num_steps=7, key=jax.random.key(0), optimizer=opt)
    assert result.validation == [(2, 0.2), (4, 0.9), (6, 0.5), (7, 0.9)]
    assert result.best_step == 4 and all(seen)  # the earliest of the tied best
    for a, b in zip(_leaves(result.encoder), _leaves(four.encoder)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(_leaves(seven.encoder)[0], _leaves(four.encoder)[0])  # the choice mattered


def test_train_bad_arguments_and_a_diverging_loss():
    data = [1.0] * 3
    loss = lambda p, b, k: (jnp.sum(p ** 2), {})
    with pytest.raises(ValueError, match="validate_every must be at least 1"):
        train_params(jnp.ones(1), loss, data, num_steps=2, key=jax.random.key(0), validate=lambda p: 1.0, validate_every=0)
    with pytest.raises(ValueError, match="validate returned NaN at step 2"):
        train_params(jnp.ones(1), loss, data, num_steps=2, key=jax.random.key(0), validate=lambda p: float("nan"))
    with pytest.raises(ValueError, match="train_params: num_steps must be at least 1"):
        train_params(jnp.ones(1), loss, data, num_steps=0, key=jax.random.key(0))
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        train(_small(), _all_cells_loss, data, num_steps=1, key=0)
    with pytest.raises(FloatingPointError, match="training loss became nan at step 1"):
        train_params(jnp.ones(1), lambda p, b, k: (jnp.sqrt(b - 2.0) * p[0], {}), [3.0, 1.0, 1.0, 0.0], num_steps=4,
                     key=jax.random.key(0))


def test_progress_lines_go_through_the_progress_display(capsys):
    train_params(jnp.ones(1), _quadratic_one, num_steps=2, key=jax.random.key(0), progress=True, label="demo")
    err = capsys.readouterr().err
    assert "demo: compiling" in err and "demo 2/2" in err and "loss=" in err


def _quadratic_one(p, batch, key):
    return jnp.sum(p ** 2), {}


def test_restarts_share_one_compiled_step_inside_reuse_compiled_steps():
    traces = []

    def loss_fn(p, batch, key):
        traces.append(1)  # runs once per compilation
        return jnp.sum((p - batch) ** 2), {}

    opt = optax.adam(1e-2)
    starts = [jnp.full(2, s) for s in (0.0, 1.0)]
    alone = [train_params(s, loss_fn, [1.0, 2.0], num_steps=2, key=jax.random.key(0), optimizer=opt) for s in starts]
    assert len(traces) == 2
    traces.clear()
    with reuse_compiled_steps():
        shared = [train_params(s, loss_fn, [1.0, 2.0], num_steps=2, key=jax.random.key(0), optimizer=opt) for s in starts]
    assert len(traces) == 1
    for a, b in zip(alone, shared):
        np.testing.assert_allclose(a.loss_history, b.loss_history, rtol=1e-6)
    traces.clear()
    train_params(starts[0], loss_fn, [1.0, 2.0], num_steps=2, key=jax.random.key(0), optimizer=opt)
    assert len(traces) == 1  # released on exit: a later run compiles again


@pytest.mark.slow
def test_training_learns_bright_versus_dim_cells():
    enc = Encoder(("dim", "bright"), features=(4, 8), head_hidden=8, rngs=nnx.Rngs(0))

    def loss_fn(model, batch, key):
        image, labels, kinds = batch
        logits = model(image, labels, num_labels=17)
        mask = jnp.broadcast_to(jnp.arange(17) > 0, kinds.shape)
        return cell_cross_entropy(logits, kinds, mask), {"accuracy": cell_accuracy(logits, kinds, mask)}

    result = train(enc, loss_fn, _blocks, num_steps=60, key=jax.random.key(1), optimizer=optax.adam(1e-2))
    assert result.loss_history.shape == (60,) and result.aux_history["accuracy"].shape == (60,)
    assert result.loss_history[-5:].mean() < 0.5 * result.loss_history[:5].mean()
    image, labels, kinds = _blocks(jax.random.key(99))
    logits = result.encoder(image, labels, num_labels=17)
    assert float(cell_accuracy(logits[:, 1:], kinds[:, 1:], jnp.ones_like(kinds[:, 1:]))) > 0.95
