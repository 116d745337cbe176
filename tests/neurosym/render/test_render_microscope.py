"""neurosym.render.microscope: presets, random microscopes and the checks of every field."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurosym.render import Microscope

KEY = jax.random.key(0)


def test_presets_spread_kinds_in_brightness():
    nuc = Microscope.nuclei(num_kinds=4)
    assert nuc.num_kinds == 4 and list(nuc.kind_intensity) == sorted(nuc.kind_intensity)
    assert nuc.kind_intensity[0] == 0.3 and nuc.kind_intensity[-1] == 1.0
    assert Microscope.nuclei(num_kinds=1).kind_intensity == (1.0,)
    mem = Microscope.membrane()
    assert mem.style == "membrane" and max(mem.kind_intensity) < mem.membrane_intensity


def test_sampled_microscopes_stay_in_their_ranges():
    scopes = jax.vmap(lambda k: Microscope.sample(k, style="membrane"))(jax.random.split(KEY, 64))
    assert scopes.style == "membrane"
    blur = np.asarray(scopes.blur)
    assert blur.shape == (64,) and blur.min() >= 0.5 and blur.max() <= 2.0 and blur.std() > 0.1
    ratio = np.asarray(scopes.axial_blur) / blur
    assert ratio.min() >= 1.5 - 1e-5 and ratio.max() <= 3.0 + 1e-5
    for name, (lo, hi) in dict(noise=(0, 0.06), poisson=(50, 2000), background=(0, 0.15),
                               gain=(0.7, 1.3), drift=(-0.4, 0.4)).items():
        v = np.asarray(getattr(scopes, name))
        assert v.min() >= lo - 1e-4 and v.max() <= hi + 1e-3, name


def test_sample_keeps_the_stain_and_sizes_the_kernel_for_the_widest_blur():
    drawn = Microscope.sample(KEY, style="membrane", blur=(0.5, 4.0))
    np.testing.assert_allclose(drawn.kind_intensity, Microscope.membrane().kind_intensity)
    assert drawn.kernel_radius == 12 and drawn.kind_texture.dtype == jnp.float32
    off = Microscope.sample(KEY, noise=(0.0, 0.0), poisson=(0.0, 0.0))
    assert float(off.noise) == 0.0 and float(off.poisson) == 0.0


def test_as_arrays_gives_one_structure_for_every_microscope():
    a = Microscope.nuclei().replace(kind_texture=None).as_arrays()
    b = Microscope.nuclei().as_arrays()
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    np.testing.assert_array_equal(np.asarray(a.kind_texture), 0.0)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(a))


def test_check_accepts_traced_values():
    jax.jit(lambda m: m.check() or m.blur)(Microscope.nuclei().as_arrays())


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: Microscope(style="confocal"), ValueError, "Microscope: style must be one of 'nuclei', 'membrane'"),
        (lambda: Microscope(kernel_radius=-1), ValueError, "kernel_radius must be at least 0"),
        (lambda: Microscope(kernel_radius=2.5), TypeError, "kernel_radius must be an integer"),
        (lambda: Microscope.nuclei(num_kinds=0), ValueError, "num_kinds must be at least 1"),
        (lambda: Microscope.membrane(num_kinds="3"), TypeError, "num_kinds must be an integer"),
        (lambda: Microscope.sample(KEY, style="confocal"), ValueError, "style must be one of"),
        (lambda: Microscope.sample(KEY, base="nuclei"), TypeError, "base must be a Microscope"),
        (lambda: Microscope.sample(KEY, noise=(0.1, 0.0)), ValueError, r"noise must be a range \(low, high\)"),
        (lambda: Microscope.sample(KEY, noise=(-0.1, 0.0)), ValueError, r"noise\[0\] must be a finite number >= 0"),
        (lambda: Microscope.sample(KEY, gain=1.0), ValueError, r"gain must be a range \(low, high\)"),
        (lambda: Microscope.sample(KEY, blur=(0.5, float("inf"))), ValueError, r"blur\[1\] must be a finite number"),
        (lambda: Microscope().replace(blur=-1.0).check(), ValueError, "Microscope: blur must be a finite number >= 0"),
        (lambda: Microscope().replace(drift=float("nan")).check(), ValueError, "drift must be a finite number"),
        (lambda: Microscope().replace(gain=jnp.ones(2)).check(), ValueError, "gain must be a single number"),
        (lambda: Microscope().replace(kind_intensity=()).check(), ValueError,
         "kind_intensity must be a sequence with one brightness per kind"),
        (lambda: Microscope().replace(kind_intensity=(0.3, float("nan"), 1.0)).check(), ValueError,
         "kind_intensity must hold finite numbers"),
        (lambda: Microscope().replace(kind_texture=(0.1, 0.2)).check(), ValueError,
         "kind_texture must have one amplitude per kind"),
        (lambda: Microscope().replace(kind_texture=(0.1, -0.2, 0.0)).check(), ValueError,
         "kind_texture must be finite and >= 0"),
    ],
)
def test_microscope_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
