"""neurosym.render.dataset: batches of rendered random tissues with exact labels and kinds."""

import jax
import numpy as np
import pytest

from neurosym.render import LAYOUTS, Microscope, outer_cells, render_dataset
from neurosym.render.dataset import _site_kinds

KEY = jax.random.key(0)
SHAPE, SP = (4, 4), 8
CLEAN = Microscope.nuclei().replace(noise=0.0, poisson=0.0, blur=0.0)


def test_site_kinds_follow_density_and_the_embryo_keeps_a_compact_core():
    keys = jax.random.split(KEY, 20)
    scattered = np.asarray(jax.jit(jax.vmap(lambda k: _site_kinds(k, (10, 10), 3, 0.5, "scattered")))(keys))
    assert (scattered[:, 0] == -1).all() and set(np.unique(scattered)) == {-1, 0, 1, 2}
    assert abs((scattered[:, 1:] >= 0).mean() - 0.5) < 0.05          # 2,000 sites: 4.5 s.e.
    embryo = np.asarray(jax.jit(jax.vmap(lambda k: _site_kinds(k, (10, 10), 3, 1.0, "embryo")))(keys))
    occupied = (embryo[:, 1:] >= 0).reshape(20, 10, 10)
    assert occupied[:, 4:6, 4:6].all(axis=(1, 2)).mean() > 0.5       # the centre is tissue
    assert not occupied[:, 0, 0].any() and occupied.sum(axis=(1, 2)).max() < 100


@pytest.mark.slow
def test_render_dataset_gives_static_shapes_and_exact_kinds():
    # A new microscope per image.
    images, labels, kinds = render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP, microscope=Microscope.sample)
    assert images.shape == (2, 32, 32) and images.dtype == np.float32
    assert labels.shape == (2, 32, 32) and labels.dtype == np.int32
    assert kinds.shape == (2, 17) and kinds.dtype == np.int32
    assert np.all(np.isfinite(np.asarray(images)))
    for b in range(2):
        lab, k = np.asarray(labels[b]), np.asarray(kinds[b])
        present = np.zeros(17, bool)
        present[np.unique(lab)] = True
        present[0] = False
        np.testing.assert_array_equal(k >= 0, present)            # -1 exactly where absent
        assert set(k[present]) <= {0, 1, 2} and present.sum() >= 4
    # Each image saw its own microscope: background levels differ.
    bg = [np.median(np.asarray(images[b])[np.asarray(labels[b]) == 0]) for b in range(2)]
    assert abs(bg[0] - bg[1]) > 1e-3
    again = render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP, microscope=Microscope.sample)
    for x, y in zip(again, (images, labels, kinds)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    other = render_dataset(jax.random.key(1), 2, shape=SHAPE, site_pixels=SP, microscope=Microscope.sample)
    assert not np.array_equal(np.asarray(other[1]), np.asarray(labels))


def reaches_frame(background: np.ndarray) -> np.ndarray:
    """Background pixels connected to the frame through background (4-neighbours)."""
    reach = np.zeros_like(background)
    reach[[0, -1]] = background[[0, -1]]
    reach[:, [0, -1]] = background[:, [0, -1]]
    while True:
        grown = reach.copy()
        grown[1:] |= reach[:-1]
        grown[:-1] |= reach[1:]
        grown[:, 1:] |= reach[:, :-1]
        grown[:, :-1] |= reach[:, 1:]
        grown &= background
        if np.array_equal(grown, reach):
            return reach
        reach = grown


@pytest.mark.slow
def test_embryo_layout_is_one_compact_tissue_with_an_outer_layer():
    shape, sp = (12, 12), 6
    _, labels, kinds = render_dataset(KEY, 4, shape=shape, site_pixels=sp, microscope=Microscope.membrane(),
                                      density=1.0, layout="embryo", augment=False)
    scattered = render_dataset(KEY, 4, shape=shape, site_pixels=sp, microscope=Microscope.membrane(),
                               density=1.0, augment=False)[2]
    assert np.all(np.asarray(scattered)[:, 1:] >= 0)      # density 1: every site a cell
    for b in range(4):
        lab = np.asarray(labels[b])
        present = np.asarray(kinds[b]) >= 0
        # Fewer cells than sites, and no hole: all background is reached from the frame.
        assert 4 <= present.sum() < 144
        assert np.array_equal(reaches_frame(lab == 0), lab == 0)
        outer = np.asarray(outer_cells(labels[b], kinds.shape[1]))
        assert outer[present].any() and (~outer[present]).any()     # an outer layer and an inside
        assert not outer[~present].any()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_kinds=5), ValueError, r"num_kinds must lie in 1\.\.3"),
        (dict(density=2.0), ValueError, r"density must be a finite number in \[0.0, 1.0\]"),
        (dict(layout="ring"), ValueError, "layout must be one of 'scattered', 'embryo'"),
        (dict(augment={"zoom": 2.0}), ValueError, r"augment must name only .*\['zoom'\]"),
        (dict(augment={"rotation": -1.0}), ValueError, "render_dataset: rotation must be a finite number >= 0"),
        (dict(augment="yes"), TypeError, "augment must be True, False or a mapping"),
        (dict(num_images=0), ValueError, "num_images must be at least 1"),
        (dict(num_images="two"), TypeError, "num_images must be an integer"),
        (dict(microscope="nuclei"), TypeError, "microscope must be a Microscope or a function"),
        (dict(microscope=lambda k: k), TypeError, "microscope as a function must return a Microscope"),
        (dict(microscope=CLEAN.replace(noise=-1.0)), ValueError, "noise must be a finite number >= 0"),
        (dict(site_pixels=1), ValueError, "render_dataset: site_pixels must exceed gap"),
        (dict(jitter=2.0), ValueError, "jitter must be a finite number"),
        (dict(key=0), TypeError, "render_dataset: key must be a JAX PRNG key"),
    ],
)
def test_render_dataset_errors(kwargs, error, match):
    args = dict(key=KEY, num_images=2, shape=SHAPE, site_pixels=SP, microscope=CLEAN) | kwargs
    with pytest.raises(error, match=match):
        render_dataset(args.pop("key"), args.pop("num_images"), **args)
    assert LAYOUTS == ("scattered", "embryo")
