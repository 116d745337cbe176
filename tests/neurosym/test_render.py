"""neurosym.render: exact labels from lattices and populations, microscope images, augmentation."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from neurosym import render as render_module
from neurosym.render import (
    Microscope,
    augment,
    lattice_labels,
    outer_cells,
    population_labels,
    render,
    render_dataset,
)
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


def membrane_scopes():
    """64 random membrane microscopes (one batched draw, shared by the tests that need it)."""
    return jax.vmap(lambda k: Microscope.sample(k, style="membrane"))(jax.random.split(KEY, 64))


def reference_blocks(shape, site_pixels, gap):
    """Square-cell labels built the obvious way, site by site."""
    nd = len(shape)
    sp = (site_pixels,) * nd if np.isscalar(site_pixels) else tuple(site_pixels)
    gp = (gap,) * nd if np.isscalar(gap) else tuple(gap)
    out = np.zeros([s * p for s, p in zip(shape, sp)], np.int32)
    for flat, site in enumerate(np.ndindex(*shape)):
        box = []
        for a in range(nd):
            lo = site[a] * sp[a] + gp[a] // 2
            hi = (site[a] + 1) * sp[a] - (gp[a] - gp[a] // 2)
            box.append(slice(lo, hi))
        out[tuple(box)] = flat + 1
    return out


def boundary_mask(labels):
    """Cell pixels with a face neighbour of another label (the frame edge does not count)."""
    lab = np.asarray(labels)
    edge = np.zeros(lab.shape, bool)
    for a in range(lab.ndim):
        p = np.pad(lab, [(1, 1) if b == a else (0, 0) for b in range(lab.ndim)], mode="edge")
        n = lab.shape[a]
        edge |= np.take(p, range(0, n), axis=a) != lab
        edge |= np.take(p, range(2, n + 2), axis=a) != lab
    return edge & (lab > 0)


def label_means(image, labels, num_labels):
    lab = np.asarray(labels).ravel()
    img = np.asarray(image, np.float64).ravel()
    counts = np.bincount(lab, minlength=num_labels)
    return np.bincount(lab, weights=img, minlength=num_labels) / np.maximum(counts, 1), counts


# ---------------------------------------------------------------------------------------- labels
@pytest.mark.parametrize(
    "shape, site_pixels, gap",
    [((3, 4), 5, 1), ((3, 4), 5, 0), ((3, 4), 5, 2), ((2, 3, 2), (2, 3, 4), (1, 1, 2))],
)
def test_square_labels_are_exact_blocks(shape, site_pixels, gap):
    lab = np.asarray(lattice_labels(shape, site_pixels, gap=gap))
    assert lab.dtype == np.int32
    np.testing.assert_array_equal(lab, reference_blocks(shape, site_pixels, gap))
    # One label per site, plus the background when there is a gap.
    assert len(np.unique(lab)) == int(np.prod(shape)) + (1 if np.any(np.asarray(gap)) else 0)


def test_jittered_labels_keep_every_site_and_differ_from_squares():
    square = np.asarray(LABELS)
    lab = np.asarray(lattice_labels(SHAPE, SP, key=KEY, jitter=1.0))
    again = np.asarray(lattice_labels(SHAPE, SP, key=KEY, jitter=1.0))
    np.testing.assert_array_equal(lab, again)
    assert lab.shape == (32, 32) and lab.dtype == np.int32
    np.testing.assert_array_equal(np.unique(lab), np.arange(17))
    assert np.mean(lab != square) > 0.05          # outlines moved
    # Each cell still lies mostly on its own site.
    sites = np.asarray(lattice_labels(SHAPE, SP, gap=0))
    for label in range(1, 17):
        assert np.mean(sites[lab == label] == label) > 0.5
    # jitter 0 with a key is the square tessellation.
    np.testing.assert_array_equal(np.asarray(lattice_labels(SHAPE, SP, key=KEY, jitter=0.0)), square)
    other = np.asarray(lattice_labels(SHAPE, SP, key=jax.random.key(1), jitter=1.0))
    assert not np.array_equal(other, lab)


def test_jittered_3d_labels_with_thin_z_stay_in_their_layer():
    # z has 2 pixels per site: too thin to jitter, so each z layer is a 2D Voronoi tessellation.
    lab = np.asarray(lattice_labels((2, 3, 3), (2, 8, 8), key=KEY, jitter=1.0))
    assert lab.shape == (4, 24, 24)
    np.testing.assert_array_equal(np.unique(lab), np.arange(19))
    np.testing.assert_array_equal(lab[1::2], 0)   # the gap slice of each z block
    assert set(np.unique(lab[0])) == set(range(0, 10))
    assert set(np.unique(lab[2])) == {0} | set(range(10, 19))


def test_population_labels_map_alive_cells_only():
    lat = automata.Lattice(SHAPE)
    # capacity 16: kinds of length 17 like KINDS, so render reuses its compiled function.
    pop = Population.create(lat, [[0, 0], [1, 2], [3, 3], [2, 0]], [2, 0, 1, 1], capacity=16)
    # Slot 1 dies: it keeps its slot but leaves the lattice.
    pop = pop.replace(alive=pop.alive.at[1].set(False), occupancy=pop.occupancy.at[1, 2].set(-1))
    labels, kinds = population_labels(lat, pop, SP, key=KEY, jitter=1.0)
    labels = np.asarray(labels)
    np.testing.assert_array_equal(np.asarray(kinds), [-1, 2, -1, 1, 1] + [-1] * 12)
    # The outlines are lattice_labels' with the same key; alive slot i on site s: s -> i + 1.
    sites = np.asarray(lattice_labels(SHAPE, SP, key=KEY, jitter=1.0))
    lut = np.zeros(17, np.int32)
    lut[[1, 16, 9]] = [1, 3, 4]                   # sites (0, 0), (3, 3), (2, 0)
    np.testing.assert_array_equal(labels, lut[sites])
    np.testing.assert_array_equal(np.unique(labels), [0, 1, 3, 4])
    # Ready for render: dead and unused slots (kind -1) have no pixels.
    image = np.asarray(render(labels, kinds, CLEAN, key=KEY))
    assert image.shape == (32, 32)
    assert image[labels == 1].max() > image[labels == 3].max()   # kind 2 brighter than kind 1


# ---------------------------------------------------------------------------------------- render
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


def test_nuclei_are_brighter_in_brighter_kinds():
    m = CLEAN.replace(blur=1.0, background=0.0, gain=1.0)
    image = render(LABELS, KINDS, m, key=KEY)
    means, _ = label_means(image, LABELS, 17)
    kinds = np.asarray(KINDS)
    by_kind = [means[1:][kinds[1:] == k] for k in range(3)]
    for k in range(2):
        assert by_kind[k].max() < by_kind[k + 1].min()


def test_membrane_boundaries_are_brighter_than_interiors():
    labels = lattice_labels(SHAPE, SP, gap=0)
    edge = boundary_mask(labels)
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
    means, _ = label_means(image[interior], np.asarray(labels)[interior], 17)
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
    size = render_module._render_jit._cache_size()
    render(LABELS, KINDS, m.replace(noise=0.1, blur=2.0), key=KEY)
    assert render_module._render_jit._cache_size() == size


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
    means, _ = label_means(image, labels, 19)
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


# ---------------------------------------------------------------------------------------- jit, vmap
def test_jit_equals_eager():
    m = Microscope.nuclei()
    eager = render(LABELS, KINDS, m, key=KEY)
    jitted = jax.jit(render)(LABELS, KINDS, m, key=KEY)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-5, atol=1e-6)


def test_vmap_equals_loop_with_a_new_microscope_per_image():
    keys = jax.random.split(jax.random.key(5), 3)
    labels = jnp.stack([lattice_labels(SHAPE, SP, key=k, jitter=1.0) for k in keys])
    kinds = jnp.stack([KINDS.at[1:].set((KINDS[1:] + i) % 3) for i in range(3)])
    scopes = jax.tree_util.tree_map(lambda x: x[:3], membrane_scopes())
    batch = jax.vmap(lambda l, k, m, kk: render(l, k, m, key=kk))(labels, kinds, scopes, keys)
    for i in range(3):
        m = jax.tree_util.tree_map(lambda x: x[i], scopes)
        one = render(labels[i], kinds[i], m, key=keys[i])
        np.testing.assert_allclose(np.asarray(batch[i]), np.asarray(one), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------- microscope
def test_presets_and_sampled_microscopes():
    nuc = Microscope.nuclei(num_kinds=4)
    assert nuc.num_kinds == 4 and list(nuc.kind_intensity) == sorted(nuc.kind_intensity)
    assert Microscope.membrane().style == "membrane"
    scopes = membrane_scopes()
    assert scopes.style == "membrane"
    blur = np.asarray(scopes.blur)
    assert blur.shape == (64,) and blur.min() >= 0.5 and blur.max() <= 2.0 and blur.std() > 0.1
    ratio = np.asarray(scopes.axial_blur) / blur
    assert ratio.min() >= 1.5 - 1e-5 and ratio.max() <= 3.0 + 1e-5
    for name, (lo, hi) in dict(noise=(0, 0.06), poisson=(50, 2000), background=(0, 0.15),
                               gain=(0.7, 1.3), drift=(-0.4, 0.4)).items():
        v = np.asarray(getattr(scopes, name))
        assert v.min() >= lo - 1e-4 and v.max() <= hi + 1e-3, name
    # The stain comes from the style's preset (or a base microscope).
    drawn = Microscope.sample(KEY, style="membrane")
    np.testing.assert_allclose(drawn.kind_intensity, Microscope.membrane().kind_intensity)


# ---------------------------------------------------------------------------------------- augment
def test_augment_identity_gives_the_input_back():
    image = jax.random.normal(KEY, (32, 32))
    identity = dict(rotation=0.0, shear=0.0, magnification=(1.0, 1.0), flip=False)
    img, lab = augment(image, LABELS, key=KEY, **identity)
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
        inner = (lab > 0) & ~boundary_mask(lab)
        assert np.mean(np.round(np.asarray(img))[inner] == lab[inner]) > 0.9
    assert changed == 4


def test_augment_3d_flip_only_mirrors_every_slice_or_none():
    labels = np.asarray(lattice_labels((2, 3, 3), (2, 8, 8)))
    image = jax.random.normal(KEY, labels.shape)
    seen = set()
    for i in range(6):
        img, lab = augment(image, labels, key=jax.random.key(i), rotation=0.0, shear=0.0,
                           magnification=(1.0, 1.0), flip=True)
        flipped = np.array_equal(np.asarray(lab), labels[..., ::-1])
        assert flipped or np.array_equal(np.asarray(lab), labels)
        ref = np.asarray(image)[..., ::-1] if flipped else np.asarray(image)
        np.testing.assert_array_equal(np.asarray(img), ref)
        seen.add(flipped)
    assert seen == {True, False}


# ---------------------------------------------------------------------------------------- datasets
def test_render_dataset_gives_static_shapes_and_exact_kinds():
    # The docstring's call (a new microscope per image), so the compiled function is shared.
    images, labels, kinds = render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP,
                                           microscope=Microscope.sample)
    assert images.shape == (2, 32, 32) and images.dtype == jnp.float32
    assert labels.shape == (2, 32, 32) and labels.dtype == jnp.int32
    assert kinds.shape == (2, 17) and kinds.dtype == jnp.int32
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
    other = render_dataset(jax.random.key(1), 2, shape=SHAPE, site_pixels=SP,
                           microscope=Microscope.sample)
    assert not np.array_equal(np.asarray(other[1]), np.asarray(labels))


def reference_outer(lab: np.ndarray) -> set:
    """Labels with a face neighbour that is background or outside the frame, pixel by pixel."""
    out = set()
    for idx in zip(*np.nonzero(lab)):
        for a in range(lab.ndim):
            for d in (-1, 1):
                j = list(idx)
                j[a] += d
                if not 0 <= j[a] < lab.shape[a] or lab[tuple(j)] == 0:
                    out.add(int(lab[idx]))
    return out


@pytest.mark.parametrize("shape", [(6, 7), (3, 4, 5)])
def test_outer_cells_matches_a_pixel_by_pixel_reference(shape):
    rng = np.random.default_rng(len(shape))
    for _ in range(5):
        lab = rng.integers(0, 6, shape) * (rng.random(shape) < 0.8)
        got = np.flatnonzero(np.asarray(outer_cells(jnp.asarray(lab), 8)))
        assert set(got.tolist()) == reference_outer(lab)


def test_embryo_layout_is_one_compact_tissue_with_an_outer_layer():
    shape, sp = (12, 12), 6
    images, labels, kinds = render_dataset(KEY, 4, shape=shape, site_pixels=sp, microscope=Microscope.membrane(),
                                           density=1.0, layout="embryo", augment=False)
    scattered = render_dataset(KEY, 4, shape=shape, site_pixels=sp, microscope=Microscope.membrane(),
                               density=1.0, augment=False)[2]
    assert np.all(np.asarray(scattered)[:, 1:] >= 0)      # density 1: every site a cell
    for b in range(4):
        lab = np.asarray(labels[b])
        present = np.asarray(kinds[b]) >= 0
        # Fewer cells than sites, and no hole: all background is reached from the frame.
        assert 4 <= present.sum() < 144
        background = lab == 0
        reach = np.zeros_like(background)
        reach[[0, -1]] = background[[0, -1]]
        reach[:, [0, -1]] = background[:, [0, -1]]
        for _ in range(200):
            grown = reach.copy()
            grown[1:] |= reach[:-1]; grown[:-1] |= reach[1:]
            grown[:, 1:] |= reach[:, :-1]; grown[:, :-1] |= reach[:, 1:]
            grown &= background
            if np.array_equal(grown, reach):
                break
            reach = grown
        assert np.array_equal(reach, background)
        outer = np.asarray(outer_cells(labels[b], kinds.shape[1]))
        assert outer[present].any() and (~outer[present]).any()     # an outer layer and an inside
        assert not outer[~present].any()


# ---------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "labels, kinds, microscope, error, match",
    [
        (LABELS, KINDS, CLEAN.replace(kind_intensity=(0.3, float("nan"), 1.0)), ValueError,
         "kind_intensity holds NaN"),
        (np.asarray(LABELS, np.float32), KINDS, CLEAN, TypeError, "must be an integer label image"),
        (np.ones(5, np.int32), KINDS, CLEAN, ValueError, r"2D or 3D label image.*vmap over the leading axis"),
        (np.ones((2, 2, 2, 2), np.int32), KINDS, CLEAN, ValueError, "got shape \\(2, 2, 2, 2\\)"),
        (-np.asarray(LABELS), KINDS, CLEAN, ValueError, "must be >= 0"),
        (LABELS, KINDS[:5], CLEAN, ValueError, "kinds has 5 entries but the labels go up to 16"),
        (LABELS, KINDS.at[4].set(3), CLEAN, ValueError,
         "Label 4 has kind 3, but the microscope knows 3"),
        (LABELS, KINDS.at[4].set(-1), CLEAN, ValueError, "Label 4 has kind -1"),
        (LABELS, KINDS.astype(jnp.float32), CLEAN, TypeError, "kinds must be integer kind indices"),
        (LABELS, {1: 0}, CLEAN, ValueError, "no entry for the labels \\[2, 3"),
        (LABELS, KINDS, CLEAN.replace(blur=-1.0), ValueError,
         "Microscope.blur must be a finite non-negative"),
        (LABELS, KINDS, CLEAN.replace(kind_texture=(0.1, 0.2)), ValueError,
         "one amplitude per kind"),
        (LABELS, KINDS, "nuclei", TypeError, "microscope must be a Microscope"),
    ],
)
def test_render_errors(labels, kinds, microscope, error, match):
    with pytest.raises(error, match=match):
        render(labels, kinds, microscope, key=KEY)


def test_label_and_augment_errors():
    with pytest.raises(ValueError, match="needs a key"):
        lattice_labels(SHAPE, SP, jitter=0.5)
    with pytest.raises(ValueError, match="jitter must be a number in \\[0, 1\\]"):
        lattice_labels(SHAPE, SP, key=KEY, jitter=1.5)
    with pytest.raises(ValueError, match="leaves no pixel for a cell"):
        lattice_labels(SHAPE, 2, gap=2)
    with pytest.raises(ValueError, match="2D \\(rows, cols\\) or 3D"):
        lattice_labels((8,), 4)
    with pytest.raises(ValueError, match="site_pixels must be an integer >= 1"):
        lattice_labels(SHAPE, (4, 4, 4))
    with pytest.raises(TypeError, match="lattice must be an automata.Lattice"):
        population_labels(SHAPE, None, SP)
    with pytest.raises(ValueError, match="image has shape \\(8, 8\\) but labels \\(32, 32\\)"):
        augment(jnp.zeros((8, 8)), LABELS, key=KEY)
    with pytest.raises(ValueError, match="magnification must be a range"):
        augment(jnp.zeros((32, 32)), LABELS, key=KEY, magnification=(1.2, 0.8))
    with pytest.raises(ValueError, match="rotation is the largest angle"):
        augment(jnp.zeros((32, 32)), LABELS, key=KEY, rotation=-5.0)


def test_microscope_and_dataset_errors():
    with pytest.raises(ValueError, match="Unknown microscope style 'confocal'"):
        Microscope(style="confocal")
    with pytest.raises(ValueError, match="Unknown microscope style"):
        Microscope.sample(KEY, style="confocal")
    with pytest.raises(ValueError, match="noise must be a range \\(low, high\\)"):
        Microscope.sample(KEY, noise=(0.1, 0.0))
    nuclei = Microscope.nuclei()
    with pytest.raises(ValueError, match="num_kinds=5 but the microscope has a kind_intensity for 3"):
        render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP, microscope=nuclei, num_kinds=5)
    with pytest.raises(ValueError, match="density is the probability"):
        render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP, microscope=nuclei, density=2.0)
    with pytest.raises(ValueError, match="Unknown layout 'ring'; choose one of 'scattered', 'embryo'"):
        render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP, microscope=nuclei, layout="ring")
    with pytest.raises(ValueError, match="Unknown augment settings \\['zoom'\\]"):
        render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP, microscope=nuclei,
                       augment={"zoom": 2.0})


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: lattice_labels("big", SP), TypeError, "shape must be a lattice shape"),
        (lambda: lattice_labels(SHAPE, SP, gap=-1), ValueError, "gap must be an integer >= 0"),
        (lambda: population_labels(automata.Lattice(SHAPE), "cells", SP), TypeError,
         "population must be a rules.Population"),
        (lambda: Microscope(kernel_radius=-1), ValueError, "kernel_radius must be a non-negative"),
        (lambda: Microscope.sample(KEY, base="nuclei"), TypeError, "base must be a Microscope"),
        (lambda: Microscope.nuclei(num_kinds=0), ValueError, "num_kinds must be a positive integer"),
        (lambda: render(LABELS, KINDS, CLEAN.replace(kind_intensity=()), key=KEY), ValueError,
         "kind_intensity must be a sequence with one brightness per kind"),
        (lambda: render(LABELS, KINDS, CLEAN.replace(kind_texture=(0.1, -0.2, 0.0)), key=KEY),
         ValueError, "kind_texture must be finite and >= 0"),
        (lambda: render(LABELS, KINDS, CLEAN.replace(gain=jnp.ones(2)), key=KEY), ValueError,
         "Microscope.gain must be a single number"),
        (lambda: render(LABELS, KINDS[None], CLEAN, key=KEY), ValueError, "kinds must be 1D"),
        (lambda: jax.jit(lambda l: render(l, {1: 0}, CLEAN, key=KEY))(LABELS), TypeError,
         "kinds as a mapping needs concrete labels"),
        (lambda: augment(jnp.zeros((32, 32)), LABELS, key=KEY, shear=-0.1), ValueError,
         "shear is the largest shear factor"),
        (lambda: augment(jnp.zeros((32, 32)), LABELS, key=KEY, rotation="a lot"), TypeError,
         "rotation and shear must be numbers"),
        (lambda: augment(jnp.zeros((32, 32)), LABELS, key=KEY, flip=1), TypeError,
         "flip must be True or False"),
        (lambda: augment(jnp.zeros((32, 32)), LABELS, key=KEY, fill="black"), TypeError,
         "fill must be a number"),
        (lambda: render_dataset(KEY, 0, shape=SHAPE, site_pixels=SP, microscope=CLEAN), ValueError,
         "num_images must be at least 1"),
        (lambda: render_dataset(KEY, "two", shape=SHAPE, site_pixels=SP, microscope=CLEAN),
         TypeError, "num_images must be an integer"),
        (lambda: render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP, microscope="nuclei"),
         TypeError, "microscope must be a Microscope or a function"),
        (lambda: render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP, microscope=lambda k: k),
         TypeError, "microscope as a function must return a Microscope"),
        (lambda: render_dataset(KEY, 2, shape=SHAPE, site_pixels=SP, microscope=CLEAN,
                                augment="yes"),
         TypeError, "augment must be True, False or a mapping"),
    ],
)
def test_more_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_doctests():
    failures, attempted = doctest.testmod(render_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0 and failures == 0
