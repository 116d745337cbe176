"""neurosym.render.image: render, its stains, noise, jit and vmap, and its checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
import neurosym.render
from neurosym.render import Microscope, lattice_labels, population_labels, render
from neurosym.render import image as image_module
from neurosym.render.labels import boundary_pixels
from rules.population import Population

KEY = jax.random.key(0)
SHAPE, SP = (4, 4), 8                     # 16 sites of 8 x 8 pixels: a 32 x 32 image
LABELS = lattice_labels(SHAPE, SP)
KINDS = jnp.asarray([-1] + [i % 3 for i in range(16)], jnp.int32)
# Noise-free: every effect with a random part is off.
CLEAN = Microscope.nuclei().replace(
    noise=0.0, poisson=0.0, blur=0.0, cell_variation=0.0, kind_texture=None, drift=0.0,
    background=0.05, gain=1.5,
)


def label_means(image, labels, num_labels):
    lab = np.asarray(labels).ravel()
    img = np.asarray(image, np.float64).ravel()
    counts = np.bincount(lab, minlength=num_labels)
    return np.bincount(lab, weights=img, minlength=num_labels) / np.maximum(counts, 1)


def test_the_package_exports_every_public_name():
    for name in neurosym.render.__all__:
        assert getattr(neurosym.render, name) is not None, name
    assert set(neurosym.render.__all__) >= {"render", "render_dataset", "Microscope", "augment", "LAYOUTS"}


def test_noise_free_render_is_deterministic_and_exact():
    a = np.asarray(render(LABELS, KINDS, CLEAN, key=KEY))
    b = np.asarray(render(LABELS, KINDS, CLEAN, key=jax.random.key(7)))
    np.testing.assert_array_equal(a, b)
    lab = np.asarray(LABELS)
    ki = np.asarray(CLEAN.kind_intensity, np.float32)
    np.testing.assert_array_equal(a[lab == 0], np.float32(0.05))
    for label in range(1, 17):
        kind = int(KINDS[label])
        values = np.unique(a[lab == label])
        # Exactly two levels per cell: nucleus and cytoplasm.
        nucleus = np.float32(1.5) * ki[kind] + np.float32(0.05)
        cyto = np.float32(1.5) * (ki[kind] * np.float32(0.15)) + np.float32(0.05)
        np.testing.assert_allclose(np.sort(values), [cyto, nucleus], rtol=1e-6)
    # The nucleus is centred on the cell: the block centre is nucleus, the corner cytoplasm.
    assert a[3, 3] > a[0, 0] and a[11, 19] > a[8, 16]


def test_population_labels_render_with_dead_slots_unseen():
    lat = automata.Lattice(SHAPE)
    # capacity 16: kinds of length 17 like KINDS, so render reuses its compiled function.
    pop = Population.create(lat, [[0, 0], [1, 2], [3, 3]], [2, 0, 1], capacity=16)
    pop = pop.replace(alive=pop.alive.at[1].set(False), occupancy=pop.occupancy.at[1, 2].set(-1))
    labels, kinds = population_labels(lat, pop, SP)
    image = np.asarray(render(labels, kinds, CLEAN, key=KEY))
    assert image.shape == (32, 32)
    labels = np.asarray(labels)
    assert image[labels == 1].max() > image[labels == 3].max()   # kind 2 brighter than kind 1


def test_nuclei_are_brighter_in_brighter_kinds():
    m = CLEAN.replace(blur=1.0, background=0.0, gain=1.0)
    means = label_means(render(LABELS, KINDS, m, key=KEY), LABELS, 17)
    kinds = np.asarray(KINDS)
    by_kind = [means[1:][kinds[1:] == k] for k in range(3)]
    for k in range(2):
        assert by_kind[k].max() < by_kind[k + 1].min()


def test_membrane_boundaries_are_brighter_than_interiors():
    labels = lattice_labels(SHAPE, SP, gap=0)
    edge = np.asarray(boundary_pixels(labels))
    interior = (np.asarray(labels) > 0) & ~edge
    clean = Microscope.membrane().replace(
        noise=0.0, poisson=0.0, blur=0.0, cell_variation=0.0, kind_texture=None, drift=0.0,
        background=0.0,
    )
    image = np.asarray(render(labels, KINDS, clean, key=KEY))
    np.testing.assert_array_equal(image[edge], 1.0)
    assert image[interior].max() <= 0.45 + 1e-6
    # With the default blur and noise the outlines still stand out clearly.
    noisy = np.asarray(render(labels, KINDS, Microscope.membrane(), key=KEY))
    assert noisy[edge].mean() > 1.5 * noisy[interior].mean()
    # Interiors keep the kind order.
    means = label_means(image[interior], np.asarray(labels)[interior], 17)
    kinds = np.asarray(KINDS)
    assert means[1:][kinds[1:] == 0].max() < means[1:][kinds[1:] == 2].min()


def test_same_key_same_image_different_key_different_noise():
    m = Microscope.nuclei()
    a = render(LABELS, KINDS, m, key=KEY)
    b = render(LABELS, KINDS, m, key=KEY)
    c = render(LABELS, KINDS, m, key=jax.random.key(1))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.allclose(np.asarray(a), np.asarray(c))
    # A second microscope with other values reuses the compiled renderer.
    size = image_module._render_jit._cache_size()
    render(LABELS, KINDS, m.replace(noise=0.1, blur=2.0), key=KEY)
    assert image_module._render_jit._cache_size() == size


def test_noise_statistics():
    """Read and shot noise on a blank field; tolerances are 4 to 5 standard errors."""
    blank = jnp.zeros((32, 32), jnp.int32)
    kinds = jnp.full(17, -1, jnp.int32)
    keys = jax.random.split(jax.random.key(3), 4)

    def pixels(m):
        return np.concatenate([np.asarray(render(blank, kinds, m, key=k)).ravel() for k in keys])

    read = pixels(CLEAN.replace(noise=0.05, background=0.2))
    assert abs(read.mean() - 0.2) < 0.003 and abs(read.std() / 0.05 - 1) < 0.05
    # Shot noise, exact branch: 0.1 * 50 = 5 photons per pixel.
    few = pixels(CLEAN.replace(poisson=50.0, background=0.1))
    np.testing.assert_allclose(few * 50, np.round(few * 50), atol=1e-4)   # whole photon counts
    assert abs(few.mean() - 0.1) < 0.003 and abs(few.std() / np.sqrt(5) * 50 - 1) < 0.05
    # Normal branch: 100 photons per pixel.
    many = pixels(CLEAN.replace(poisson=1000.0, background=0.1))
    assert abs(many.mean() - 0.1) < 0.001 and abs(many.std() / 0.01 - 1) < 0.05


def test_illumination_drift_dims_one_side():
    kinds = jnp.asarray([-1] + [1] * 16, jnp.int32)
    image = np.asarray(render(LABELS, kinds, CLEAN.replace(drift=0.5), key=KEY))
    lab = np.asarray(LABELS)
    left, right = image[:, :8][lab[:, :8] > 0], image[:, 24:][lab[:, 24:] > 0]
    assert left.mean() < 0.85 * right.mean()


def test_render_3d():
    labels = lattice_labels((2, 3, 3), (2, 8, 8), key=KEY, jitter=1.0)
    kinds = jnp.asarray([-1] + [i % 3 for i in range(18)], jnp.int32)
    image = render(labels, kinds, CLEAN.replace(blur=1.0, axial_blur=2.0, background=0.0), key=KEY)
    assert image.shape == (4, 24, 24) and image.dtype == jnp.float32
    assert np.all(np.isfinite(np.asarray(image)))
    means = label_means(image, labels, 19)
    k = np.asarray(kinds)
    for kind in range(2):
        assert means[1:][k[1:] == kind].max() < means[1:][k[1:] == kind + 1].min()


def test_kinds_as_a_mapping():
    labels = np.asarray(LABELS)
    mapping = {label: int(KINDS[label]) for label in range(1, 17)}
    np.testing.assert_array_equal(
        np.asarray(render(labels, mapping, CLEAN, key=KEY)),
        np.asarray(render(labels, KINDS, CLEAN, key=KEY)),
    )


def test_jit_equals_eager():
    m = Microscope.nuclei()
    eager = render(LABELS, KINDS, m, key=KEY)
    jitted = jax.jit(render)(LABELS, KINDS, m, key=KEY)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_vmap_equals_loop_with_a_new_microscope_per_image():
    keys = jax.random.split(jax.random.key(5), 3)
    labels = jnp.stack([lattice_labels(SHAPE, SP, key=k, jitter=1.0) for k in keys])
    kinds = jnp.stack([KINDS.at[1:].set((KINDS[1:] + i) % 3) for i in range(3)])
    scopes = jax.vmap(lambda k: Microscope.sample(k, style="membrane"))(keys)
    batch = jax.vmap(lambda l, k, m, kk: render(l, k, m, key=kk))(labels, kinds, scopes, keys)
    for i in range(3):
        m = jax.tree_util.tree_map(lambda x: x[i], scopes)
        one = render(labels[i], kinds[i], m, key=keys[i])
        np.testing.assert_allclose(np.asarray(batch[i]), np.asarray(one), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "labels, kinds, microscope, error, match",
    [
        (LABELS, KINDS, CLEAN.replace(kind_intensity=(0.3, float("nan"), 1.0)), ValueError,
         "kind_intensity must hold finite numbers"),
        (np.asarray(LABELS, np.float32), KINDS, CLEAN, TypeError, "must be an integer label image"),
        (np.ones(5, np.int32), KINDS, CLEAN, ValueError, r"2D or 3D label image.*vmap over the leading axis"),
        (np.ones((2, 2, 2, 2), np.int32), KINDS, CLEAN, ValueError, r"got shape \(2, 2, 2, 2\)"),
        (-np.asarray(LABELS), KINDS, CLEAN, ValueError, "must be >= 0"),
        (LABELS, KINDS[:5], CLEAN, ValueError, r"kinds must have at least max\(labels\) \+ 1 = 17 entries"),
        (LABELS, KINDS.at[4].set(3), CLEAN, ValueError, "got kind 3 for label 4"),
        (LABELS, KINDS.at[4].set(-1), CLEAN, ValueError, "got kind -1 for label 4"),
        (LABELS, KINDS.astype(jnp.float32), CLEAN, TypeError, "kinds must be integer kind indices"),
        (LABELS, KINDS[None], CLEAN, ValueError, "kinds must be 1D"),
        (LABELS, {1: 0}, CLEAN, ValueError, r"no entry for the labels \[2, 3"),
        (LABELS, KINDS, CLEAN.replace(blur=-1.0), ValueError, "blur must be a finite number >= 0"),
        (LABELS, KINDS, CLEAN.replace(kind_texture=(0.1, 0.2)), ValueError, "one amplitude per kind"),
        (LABELS, KINDS, "nuclei", TypeError, "render: microscope must be a Microscope"),
    ],
)
def test_render_errors(labels, kinds, microscope, error, match):
    with pytest.raises(error, match=match):
        render(labels, kinds, microscope, key=KEY)


def test_render_refuses_a_bad_key_and_a_mapping_under_jit():
    with pytest.raises(TypeError, match="render: key must be a JAX PRNG key"):
        render(LABELS, KINDS, CLEAN, key=0)
    with pytest.raises(TypeError, match="kinds as a mapping needs concrete labels"):
        jax.jit(lambda l: render(l, {1: 0}, CLEAN, key=KEY))(LABELS)
