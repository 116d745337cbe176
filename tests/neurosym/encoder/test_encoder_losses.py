"""Tests of neurosym.encoder.losses against direct numpy computations."""

import jax
import numpy as np

from neurosym.encoder import cell_accuracy, cell_cross_entropy


def test_cross_entropy_and_accuracy_match_numpy_on_masked_cells():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 4)).astype(np.float32)
    kinds = rng.integers(0, 4, size=(3, 5))
    mask = rng.random((3, 5)) < 0.6
    kinds_with_junk = np.where(mask, kinds, 99)  # unlabelled cells may hold anything
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    want = -np.take_along_axis(logp, kinds[..., None], -1)[..., 0][mask].mean()
    np.testing.assert_allclose(cell_cross_entropy(logits, kinds_with_junk, mask), want, rtol=1e-5)
    acc = (logits.argmax(-1) == kinds)[mask].mean()
    np.testing.assert_allclose(cell_accuracy(logits, kinds_with_junk, mask), acc, rtol=1e-6)


def test_no_labelled_cell_gives_zero_and_weights_scale_cells():
    logits = jax.random.normal(jax.random.key(0), (4, 3))
    kinds = np.array([0, 1, 2, 0])
    assert float(cell_cross_entropy(logits, kinds, np.zeros(4))) == 0.0
    assert float(cell_accuracy(logits, kinds, np.zeros(4))) == 0.0
    a, b = (float(cell_cross_entropy(logits, kinds, np.eye(4)[i])) for i in (0, 1))
    weighted = cell_cross_entropy(logits, kinds, np.array([2.0, 1.0, 0.0, 0.0]))
    np.testing.assert_allclose(weighted, (2 * a + b) / 3, rtol=1e-5)
