"""Label images: NPY, NPZ, PNG and TIFF, refusals, and the table they imply."""

import re

import numpy as np
import pytest

import neurosym.io as nio
from iofiles import write


def test_read_labels_npy_npz_png_tiff(tmp_path):
    from PIL import Image
    import tifffile

    lab = np.zeros((6, 8), np.uint16)
    lab[1:3, 1:4] = 1
    lab[4:6, 5:8] = 300
    np.save(tmp_path / "a.npy", lab)
    assert nio.read_labels(tmp_path / "a.npy").dtype == np.int32
    np.testing.assert_array_equal(nio.read_labels(tmp_path / "a.npy"), lab)
    np.savez(tmp_path / "b.npz", labels=lab, image=lab * 0.5)
    np.testing.assert_array_equal(nio.read_labels(tmp_path / "b.npz"), lab)
    np.testing.assert_array_equal(nio.read_labels(tmp_path / "b.npz", key="labels"), lab)
    Image.fromarray(lab).save(tmp_path / "c.png")  # 16-bit greyscale
    np.testing.assert_array_equal(nio.read_labels(tmp_path / "c.png"), lab)
    Image.fromarray((lab > 0).astype(np.uint8) * 7).save(tmp_path / "d.png")
    assert set(np.unique(nio.read_labels(tmp_path / "d.png"))) == {0, 7}
    series = np.zeros((2, 3, 6, 8), np.uint16)
    series[0, 1] = lab
    series[1, 2] = lab
    tifffile.imwrite(tmp_path / "e.tif", series, metadata={"axes": "TZYX"}, photometric="minisblack")
    np.testing.assert_array_equal(nio.read_labels(tmp_path / "e.tif"), series)


@pytest.mark.parametrize("make, message", [
    (lambda p: np.save(p / "x.npy", np.zeros((4, 4), np.int32)), "x.npy: labels hold no labelled pixel"),
    (lambda p: np.save(p / "x.npy", np.zeros((0, 4), np.int32)), "x.npy: labels is empty (shape (0, 4))"),
    (lambda p: np.save(p / "x.npy", np.array([[0, np.nan], [1, 1]])),
     "x.npy: labels have 1 NaN value(s) (first at index (0, 1))"),
    (lambda p: np.save(p / "x.npy", np.array([[0, 0.5], [1, 1]])),
     "x.npy: labels have non-integer values"),
    (lambda p: np.save(p / "x.npy", np.array([[0, -1], [1, 1]])), "x.npy: labels must be >= 0"),
    (lambda p: np.save(p / "x.npy", np.arange(3)), "x.npy: labels must be a 2D or 3D or 4D label image"),
    (lambda p: np.savez(p / "x.npz", a=np.ones((2, 2)), b=np.ones((2, 2))), "x.npz: holds 2 arrays (a, b); pass key="),
    (lambda p: (p / "x.npy").write_bytes(b"not an array"), "x.npy: cannot read as .npy"),
])
def test_read_labels_refuses_bad_images(tmp_path, make, message):
    make(tmp_path)
    path = next(tmp_path.iterdir())
    with pytest.raises(ValueError, match=re.escape(message)):
        nio.read_labels(path)


def test_read_labels_refuses_colour_and_unknown_formats(tmp_path):
    from PIL import Image

    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    with pytest.raises(ValueError, match=r"c.png: a colour PNG \(mode RGB\); expected a single-channel"):
        nio.read_labels(tmp_path / "c.png")
    grey_as_rgb = np.repeat((rgb[..., :1] > 0).astype(np.uint8), 3, axis=2)
    Image.fromarray(grey_as_rgb).save(tmp_path / "g.png")
    assert nio.read_labels(tmp_path / "g.png").sum() == 1
    with pytest.raises(ValueError, match="not a label image format this reader knows"):
        nio.read_labels(write(tmp_path / "x.dat", "hello"))


def test_table_from_labels_centroids_sizes_and_axes():
    lab = np.zeros((2, 4, 6), np.int32)
    lab[0, 0:2, 0:2] = 1  # centroid (x, y) = (0.5, 0.5), 4 pixels
    lab[1, 2:4, 3:6] = 1
    lab[1, 0, 0] = 9
    t = nio.table_from_labels(lab, axes="TYX", minutes_per_frame=3.0)
    assert t.counts() == {0.0: 1, 3.0: 2}
    assert [(r["cell"], r["frame"], r["x"], r["y"]) for r in t.to_records()] == [
        ("1", 0, 0.5, 0.5), ("1", 1, 4.0, 2.5), ("9", 1, 0.0, 0.0)]
    np.testing.assert_allclose(t.size, 2 * np.sqrt(np.array([4, 6, 1]) / np.pi))
    vol = nio.table_from_labels(lab)  # default: ZYX
    assert vol.frames().tolist() == [0] and vol.track("1").z.tolist() == [0.6]
    np.testing.assert_allclose(vol.track("1").size, np.cbrt(6 * 10 / np.pi))
    with pytest.raises(ValueError, match="table_from_labels: axes='TXY' does not fit labels"):
        nio.table_from_labels(lab, axes="TXY")


def test_read_labels_refuses_a_folder_an_empty_path_and_text_types(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a file"):
        nio.read_labels(tmp_path)
    with pytest.raises(ValueError, match="read_labels: path must name a file, got the empty string"):
        nio.read_labels("")
    with pytest.raises(TypeError, match="read_labels: path must be a file path"):
        nio.read_labels(3)


def test_table_from_labels_checks_its_arguments():
    lab = np.zeros((4, 4), np.int32)
    lab[1, 1] = 1
    with pytest.raises(ValueError, match="table_from_labels: minutes_per_frame must be"):
        nio.table_from_labels(lab, minutes_per_frame=1e300)
    with pytest.raises(TypeError, match="table_from_labels: labels must be an integer label image"):
        nio.table_from_labels(np.array([["a"]]))
    with pytest.raises(ValueError, match="table_from_labels: labels hold no labelled pixel"):
        nio.table_from_labels(np.zeros((3, 3), int))
    assert nio.table_from_labels(lab.astype(float)).cells() == ["1"]  # whole-number floats are labels
