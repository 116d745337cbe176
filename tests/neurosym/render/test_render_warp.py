"""neurosym.render.warp: random affine warps of images and labels (augment)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurosym.render import augment, lattice_labels
from neurosym.render.labels import boundary_pixels
from neurosym.render.warp import Warp, check_warp, warp_labels

KEY = jax.random.key(0)
LABELS = lattice_labels((4, 4), 8)
IDENTITY = dict(rotation=0.0, shear=0.0, magnification=(1.0, 1.0), flip=False)


def test_augment_identity_gives_the_input_back():
    image = jax.random.normal(KEY, (32, 32))
    img, lab = augment(image, LABELS, key=KEY, **IDENTITY)
    np.testing.assert_array_equal(np.asarray(img), np.asarray(image))
    np.testing.assert_array_equal(np.asarray(lab), np.asarray(LABELS))


def test_augment_keeps_labels_exact_and_consistent_with_the_image():
    image = LABELS.astype(jnp.float32)
    changed = 0
    for i in range(4):
        img, lab = augment(image, LABELS, key=jax.random.key(i))
        lab = np.asarray(lab)
        assert lab.dtype == np.int32 and lab.shape == (32, 32)
        assert set(np.unique(lab)) <= set(range(17))
        changed += not np.array_equal(lab, np.asarray(LABELS))
        # The image moved with its labels: away from cell borders they agree.
        inner = (lab > 0) & ~np.asarray(boundary_pixels(lab))
        assert np.mean(np.round(np.asarray(img))[inner] == lab[inner]) > 0.9
        # warp_labels draws the same map from the same key.
        np.testing.assert_array_equal(np.asarray(warp_labels(LABELS, jax.random.key(i), Warp())), lab)
    assert changed == 4


def test_augment_3d_flip_only_mirrors_every_slice_or_none():
    labels = np.asarray(lattice_labels((2, 3, 3), (2, 8, 8)))
    image = jax.random.normal(KEY, labels.shape)
    seen = set()
    for i in range(6):
        img, lab = augment(image, labels, key=jax.random.key(i), **dict(IDENTITY, flip=True))
        flipped = np.array_equal(np.asarray(lab), labels[..., ::-1])
        assert flipped or np.array_equal(np.asarray(lab), labels)
        ref = np.asarray(image)[..., ::-1] if flipped else np.asarray(image)
        np.testing.assert_array_equal(np.asarray(img), ref)
        seen.add(flipped)
    assert seen == {True, False}


def test_check_warp_gives_a_hashable_warp_of_floats():
    warp = check_warp(rotation=90, shear=0, magnification=[1, 2], flip=np.bool_(False))
    assert warp == Warp(90.0, 0.0, (1.0, 2.0), False) and hash(warp) == hash(Warp(90.0, 0.0, (1.0, 2.0), False))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(image=jnp.zeros((8, 8))), ValueError, r"image must have the shape of labels, got image \(8, 8\)"),
        (dict(magnification=(1.2, 0.8)), ValueError, r"magnification must be a range \(low, high\)"),
        (dict(magnification=(0.0, 0.8)), ValueError, "magnification must be a finite number > 0"),
        (dict(magnification=1.2), TypeError, r"magnification must be a range \(low, high\)"),
        (dict(rotation=-5.0), ValueError, "augment: rotation must be a finite number >= 0"),
        (dict(rotation="a lot"), TypeError, "rotation must be a finite number"),
        (dict(shear=-0.1), ValueError, "shear must be a finite number >= 0"),
        (dict(flip=1), TypeError, "flip must be True or False"),
        (dict(fill="black"), TypeError, "fill must be a finite number"),
        (dict(key=None), TypeError, "augment: key must be a JAX PRNG key"),
    ],
)
def test_augment_errors(kwargs, error, match):
    args = dict(image=jnp.zeros((32, 32)), key=KEY) | kwargs
    with pytest.raises(error, match=match):
        augment(args.pop("image"), LABELS, **args)
