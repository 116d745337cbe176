"""neurosym.symbolise.features: per-cell features of label images, and the shared input checks."""

import numpy as np
import pytest

from neurosym.symbolise import CellFeatures, cell_features


def reference_features(labels, intensity=None):
    """Per-label loop: what the vectorised code must reproduce."""
    out = {}
    for i in np.unique(labels[labels > 0]):
        pts = np.argwhere(labels == i).astype(np.float64)
        c = pts.mean(0)
        cov = (pts - c).T @ (pts - c) / len(pts) + np.eye(labels.ndim) / 12
        mean = None if intensity is None else intensity[labels == i].mean(0)
        out[int(i)] = (len(pts), c, cov, mean)
    return out


def test_features_of_hand_made_shapes():
    labels = np.zeros((6, 8), np.int32)
    labels[1:3, 1:5] = 7   # 2 x 4 rectangle, lying along the columns
    labels[4, 6] = 3       # one pixel
    labels[3:6, 0] = 12    # 3 x 1 bar, standing along the rows
    f = cell_features(labels)
    assert isinstance(f, CellFeatures) and f.num_cells == 3 and f.ndim == 2
    assert f.ids.tolist() == [3, 7, 12]
    assert f.size.tolist() == [1, 8, 3]
    np.testing.assert_allclose(f.centroid, [[4, 6], [1.5, 2.5], [4, 0]])
    # Union of unit squares: a x b rectangle has variances a**2/12, b**2/12.
    np.testing.assert_allclose(f.covariance[0], np.eye(2) / 12)
    np.testing.assert_allclose(f.covariance[1], np.diag([4 / 12, 16 / 12]), atol=1e-12)
    np.testing.assert_allclose(f.covariance[2], np.diag([9 / 12, 1 / 12]), atol=1e-12)
    np.testing.assert_allclose(f.elongation, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(f.orientation[1:], [[0, 1], [1, 0]], atol=1e-12)
    assert f.mean_intensity is None and f.names is None and f.shape == (6, 8)
    np.testing.assert_allclose(f.bounds, [[-0.5, -0.5], [5.5, 7.5]])


def test_diagonal_cell_is_oriented_along_the_diagonal():
    labels = np.eye(5, dtype=np.int32)
    f = cell_features(labels)
    np.testing.assert_allclose(f.orientation[0], [2**-0.5, 2**-0.5])
    assert f.elongation[0] > 4


def test_spacing_scales_centroid_moments_volume_and_bounds():
    labels = np.zeros((4, 6), np.int32)
    labels[1:3, 1:5] = 1
    f = cell_features(labels, spacing=(2.0, 0.5))
    np.testing.assert_allclose(f.centroid, [[3.0, 1.25]])
    np.testing.assert_allclose(np.diag(f.covariance[0]), [4 / 12 * 4, 16 / 12 * 0.25])
    np.testing.assert_allclose(f.volume, [8 * 1.0])
    # 4 micrometres along the rows by 2 along the columns: the long axis flips to the rows.
    np.testing.assert_allclose(f.elongation, [2.0])
    np.testing.assert_allclose(f.orientation, [[1.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(f.bounds, [[-1.0, -0.25], [7.0, 2.75]])


@pytest.mark.parametrize("shape, n", [((24, 30), 20), ((8, 10, 12), 15)])
def test_features_match_a_per_label_loop(voronoi, shape, n):
    labels = voronoi(shape, n, seed=3)
    labels[labels % 5 == 0] = 0  # some background, non-consecutive ids
    rng = np.random.default_rng(4)
    intensity = rng.random(shape)
    f = cell_features(labels, intensity)
    ref = reference_features(labels, intensity)
    assert f.ids.tolist() == sorted(ref)
    for row, i in enumerate(f.ids.tolist()):
        size, c, cov, mean = ref[i]
        assert f.size[row] == size
        np.testing.assert_allclose(f.centroid[row], c, atol=1e-12)
        np.testing.assert_allclose(f.covariance[row], cov, atol=1e-12)
        np.testing.assert_allclose(f.mean_intensity[row], mean, rtol=1e-12)
        w = np.linalg.eigvalsh(cov)
        np.testing.assert_allclose(f.elongation[row], np.sqrt(w[-1] / w[0]), rtol=1e-10)


def test_multichannel_intensity_and_sparse_huge_ids():
    labels = np.array([[0, 5, 5], [9, 9, 0]], np.int64)
    intensity = np.arange(12, dtype=np.float64).reshape(2, 3, 2)
    f = cell_features(labels, intensity)
    np.testing.assert_allclose(f.mean_intensity, [[3.0, 4.0], [7.0, 8.0]])
    big = np.where(labels > 0, labels + 10**12, 0)  # ids far above the pixel count: sort path
    g = cell_features(big, intensity)
    assert g.ids.tolist() == [10**12 + 5, 10**12 + 9]
    np.testing.assert_allclose(g.centroid, f.centroid)
    assert g.size.tolist() == f.size.tolist()


def test_names_by_label_id_or_in_id_order():
    labels = np.array([[4, 4, 2]])
    assert cell_features(labels, names={2: "P1", 4: "AB"}).names.tolist() == ["P1", "AB"]
    assert cell_features(labels, names=["P1", "AB"]).names.tolist() == ["P1", "AB"]
    with pytest.raises(ValueError, match=r"no entry for the label ids \[4\]"):
        cell_features(labels, names={2: "P1"})
    with pytest.raises(ValueError, match=r"cell_features: names must hold one name per cell"):
        cell_features(labels, names=["P1"])


def test_column_gives_float_blocks_and_names_what_is_missing():
    f = cell_features(np.array([[1, 1, 2]]))
    assert f.column("centroid").shape == (2, 2) and f.column("centroid").dtype == np.float32
    assert f.column("volume").tolist() == [[2.0], [1.0]]
    with pytest.raises(ValueError, match="no 'mean_intensity'"):
        f.column("mean_intensity")
    with pytest.raises(ValueError, match="Unknown cell feature 'speed'"):
        f.column("speed")


@pytest.mark.parametrize(
    "labels, error, match",
    [
        (np.ones((4, 4), np.float32), TypeError, r"integer label image.*astype"),
        (np.ones((4, 4), bool), TypeError, r"dtype bool"),
        (np.zeros((4, 4), np.int32), ValueError, r"holds no cells"),
        (np.zeros((0, 4), np.int32), ValueError, r"labels is empty"),
        (np.array([[1, -2]]), ValueError, r"negative label -2"),
        (np.ones((2, 2, 2, 2), np.int32), ValueError, r"2D or 3D.*labels\[t\]"),
    ],
)
def test_label_errors(labels, error, match):
    with pytest.raises(error, match=match):
        cell_features(labels)


def test_intensity_and_spacing_errors():
    labels = np.ones((4, 4), np.int32)
    with pytest.raises(ValueError, match=r"cell_features: intensity must have the label image's shape"):
        cell_features(labels, np.ones((4, 5)))
    with pytest.raises(ValueError, match="intensity must be finite"):
        cell_features(labels, np.full((4, 4), np.nan))
    with pytest.raises(TypeError, match="intensity must be a real numeric image"):
        cell_features(labels, np.full((4, 4), "a"))
    with pytest.raises(ValueError, match="cell_features: spacing must be 2 positive numbers"):
        cell_features(labels, spacing=(1.0, -1.0))
    with pytest.raises(ValueError, match="spacing must be 2 positive numbers"):
        cell_features(labels, spacing=(1.0, 1.0, 1.0))
    with pytest.raises(TypeError, match="spacing must be 2 positive numbers"):
        cell_features(labels, spacing="big")
