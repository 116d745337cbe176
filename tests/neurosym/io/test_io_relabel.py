"""Random relabelling: a permutation of the cells, reproducible from the key, reversible."""

import re

import jax
import numpy as np
import pytest

import neurosym.io as nio


def volume():
    rng = np.random.default_rng(0)
    lab = rng.choice(np.array([0, 3, 9, 17, 40, 41, 300], np.uint16), size=(6, 7, 8))
    return lab


def test_relabel_is_a_reversible_permutation():
    lab = volume()
    new, old_of_new = nio.relabel_random(lab, key=jax.random.key(1))
    assert new.dtype == np.int32 and new.shape == lab.shape
    assert sorted(np.unique(new).tolist()) == list(range(7))
    assert old_of_new[0] == 0 and sorted(old_of_new[1:].tolist()) == [3, 9, 17, 40, 41, 300]
    np.testing.assert_array_equal(old_of_new[new], lab)
    np.testing.assert_array_equal(new == 0, lab == 0)
    # Every voxel of one old cell gets one new label: the partition is kept.
    for old in (3, 9, 300):
        assert np.unique(new[lab == old]).size == 1


def test_same_key_same_labels_other_keys_other_orders():
    lab = volume()
    a = nio.relabel_random(lab, key=jax.random.key(5))[1]
    np.testing.assert_array_equal(a, nio.relabel_random(lab, key=jax.random.key(5))[1])
    orders = {tuple(nio.relabel_random(lab, key=jax.random.key(k))[1].tolist()) for k in range(12)}
    assert len(orders) > 6  # 720 possible orders
    # The new labels do not keep the old order (which encodes the names).
    assert sum(order == tuple(sorted(order)) for order in orders) <= 1


def test_time_points_folded_into_the_key_and_a_raw_key():
    lab = volume()
    key = jax.random.key(0)
    t1 = nio.relabel_random(lab, key=jax.random.fold_in(key, 1))[1]
    t2 = nio.relabel_random(lab, key=jax.random.fold_in(key, 2))[1]
    assert not np.array_equal(t1, t2)
    raw = nio.relabel_random(lab, key=jax.random.PRNGKey(3))[1]
    assert sorted(raw[1:].tolist()) == [3, 9, 17, 40, 41, 300]


def test_refusals():
    with pytest.raises(TypeError, match="relabel_random: key must be a JAX PRNG key"):
        nio.relabel_random(volume(), key=3)
    with pytest.raises(TypeError, match=re.escape("relabel_random: labels must be an integer label image")):
        nio.relabel_random(volume() * 0.5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="relabel_random: labels must be >= 0"):
        nio.relabel_random(-np.ones((2, 2), int), key=jax.random.key(0))
