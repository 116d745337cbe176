"""Named segmentation series: a folder of seg_T###.npz and label_names.json, read lazily."""

import json
import re

import numpy as np
import pytest

import neurosym.io as nio
import neurosym.io.segmentation as segmentation

NAMES = {1: "ABa", 2: "ABp", 3: "EMS", 4: "P2", 5: "ABal", 6: "ABar"}


def volume(t):
    """At t = 1: ABa | ABp | EMS in a row, one-voxel membranes; from t = 2 ABa has divided."""
    lab = np.zeros((3, 4, 13), np.uint16)
    if t == 1:
        lab[:, :, 0:4] = 1
    else:
        lab[:, :2, 0:4] = 5
        lab[:, 3:, 0:4] = 6  # one-voxel membrane at row 2 between the daughters
    lab[:, :, 5:8] = 2
    lab[:, :, 9:13] = 3
    return lab


@pytest.fixture
def folder(tmp_path):
    for t in (1, 2, 10):
        np.savez_compressed(tmp_path / f"seg_T{t:03d}.npz", seg=volume(t))
    (tmp_path / "label_names.json").write_text(json.dumps({str(k): v for k, v in NAMES.items()}, indent=0))
    (tmp_path / "memb_T001.npz").write_bytes(b"not read")  # other files are left alone
    return tmp_path


def test_lists_time_points_and_names_without_reading_volumes(folder, monkeypatch):
    reads = []
    real = segmentation.read_label_image
    monkeypatch.setattr(segmentation, "read_label_image", lambda *a, **k: reads.append(a[0]) or real(*a, **k))
    series = nio.read_segmentation(folder, gap=1)
    assert series.times == (1, 2, 10) and len(series) == 3
    assert series.names == NAMES and series.embryo == folder.name
    assert reads == []
    geo = series.geometry(2)
    assert [p.name for p in reads] == ["seg_T002.npz"]
    assert series.geometry(2) is geo  # kept, not read again
    assert len(reads) == 1


def test_geometry_and_named_contact_graph(folder):
    series = nio.read_segmentation(folder, gap=1)
    g1 = series.graph(1, by="name")
    assert sorted(map(sorted, g1.edges)) == [["ABa", "ABp"], ["ABp", "EMS"]]
    assert g1.edges["ABa", "ABp"]["area"] == 12.0  # the 3 x 4 face
    g2 = series.graph(2, by="name")
    assert sorted(map(sorted, g2.edges)) == [["ABal", "ABar"], ["ABal", "ABp"], ["ABar", "ABp"], ["ABp", "EMS"]]
    assert g2.edges["ABal", "ABar"]["area"] == 12.0  # 3 slices x 4 columns across row 2
    geo = series.geometry(10)
    assert geo.names.tolist() == ["ABp", "EMS", "ABal", "ABar"]
    assert geo.labels.tolist() == [2, 3, 5, 6]
    assert geo.num_voxels.tolist() == [36, 48, 24, 12]


def test_cell_table_over_time(folder):
    series = nio.read_segmentation(folder, gap=1, spacing=0.5, axes="YXZ", embryo="demo")
    t = series.to_cell_table(minutes_per_frame=2.0)
    assert t.counts() == {2.0: 3, 4.0: 4, 20.0: 4}
    assert t.embryos() == ["demo"]
    ems = t.track("EMS")
    assert ems.frame.tolist() == [1, 2, 10]
    assert ems.z.tolist() == [5.25, 5.25, 5.25] and ems.extra["volume"].tolist() == [6.0, 6.0, 6.0]
    assert t.meta["format"] == "segmentation" and t.meta["source"] == str(folder)
    lin = nio.lineage(t)
    assert sorted(lin.successors("ABa")) == ["ABal", "ABar"]
    sub = series.to_cell_table(times=[10])
    assert sub.frames().tolist() == [10]


def test_names_false_a_mapping_or_another_file(folder, tmp_path_factory):
    assert nio.read_segmentation(folder, names=False).geometry(1).names is None
    other = nio.read_segmentation(folder, names={k: v.lower() for k, v in NAMES.items()}).geometry(1)
    assert other.names.tolist() == ["aba", "abp", "ems"]
    path = tmp_path_factory.mktemp("n") / "names.json"
    path.write_text(json.dumps({str(k): f"c{k}" for k in range(1, 7)}))
    assert nio.read_segmentation(folder, names=path).geometry(1).names.tolist() == ["c1", "c2", "c3"]


def test_stack_and_labels(folder):
    series = nio.read_segmentation(folder)
    np.testing.assert_array_equal(series.labels(10), volume(10))
    stacked = series.stack([1, 2])
    assert stacked.shape == (2, 3, 4, 13)
    np.testing.assert_array_equal(stacked[1], volume(2))


def test_a_label_without_a_name_names_the_file_and_the_fix(folder):
    names = dict(NAMES)
    del names[6]
    (folder / "label_names.json").write_text(json.dumps({str(k): v for k, v in names.items()}))
    series = nio.read_segmentation(folder)
    series.geometry(1)  # no label 6 at t = 1
    with pytest.raises(ValueError, match=re.escape("seg_T002.npz: 1 label(s) have no name (6)")) as err:
        series.geometry(2)
    assert "label_names.json" in str(err.value) and "names=False" in str(err.value)


def test_other_prefixes_and_file_types(tmp_path):
    np.save(tmp_path / "mask000.npy", volume(1))
    np.save(tmp_path / "mask001.npy", volume(2))
    series = nio.read_segmentation(tmp_path, prefix="mask", key=None)
    assert series.times == (0, 1) and series.names is None
    assert series.geometry(0).labels.tolist() == [1, 2, 3]


def json_folder(tmp_path, text):
    np.savez(tmp_path / "seg_T001.npz", seg=volume(1))
    (tmp_path / "label_names.json").write_text(text)
    return tmp_path


@pytest.mark.parametrize("text, message", [
    ("{not json", "label_names.json: not JSON"),
    ('["ABa"]', "label_names.json: holds a JSON list; expected an object"),
    ('{"a": "ABa"}', "label_names.json: key 'a' is not a positive integer label"),
    ('{"0": "ABa"}', "label_names.json: key '0' is not a positive integer label"),
    ('{"1": ""}', "label_names.json: label 1 has the name ''; expected non-empty text"),
    ('{"1": 5}', "label_names.json: label 1 has the name 5"),
    ('{"1": "ABa", "2": "ABa"}', "label_names.json: labels 1 and 2 share the name 'ABa'"),
])
def test_malformed_names_file(tmp_path, text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        nio.read_segmentation(json_folder(tmp_path, text))


def test_refusals_of_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape("no such folder; pass the folder holding label volumes")):
        nio.read_segmentation(tmp_path / "nowhere")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError, match=re.escape("a.txt: is a file, not a folder")):
        nio.read_segmentation(tmp_path / "a.txt")
    with pytest.raises(ValueError, match=re.escape("no files named seg_T<time>.npz") + ".*it holds a.txt.*prefix="):
        nio.read_segmentation(tmp_path)
    np.savez(tmp_path / "seg_T1.npz", seg=volume(1))
    np.savez(tmp_path / "seg_T001.npz", seg=volume(1))
    with pytest.raises(ValueError, match=re.escape("two files for time point 1 (seg_T001.npz, seg_T1.npz)")):
        nio.read_segmentation(tmp_path)
    with pytest.raises(TypeError, match="read_segmentation: folder must be a path"):
        nio.read_segmentation(3)


def test_refusals_of_arguments_and_volumes(folder):
    with pytest.raises(ValueError, match="read_segmentation: gap must lie in 0..8"):
        nio.read_segmentation(folder, gap=-1)
    with pytest.raises(ValueError, match="read_segmentation: spacing must be"):
        nio.read_segmentation(folder, spacing=(1, 0, 1))
    with pytest.raises(ValueError, match="read_segmentation: axes must name"):
        nio.read_segmentation(folder, axes="ABC")
    with pytest.raises(TypeError, match="read_segmentation: names must be None"):
        nio.read_segmentation(folder, names=3)
    with pytest.raises(KeyError, match=re.escape("no time point 3; the series has 3 time points, 1 to 10")):
        nio.read_segmentation(folder).geometry(3)
    with pytest.raises(ValueError, match=re.escape("seg_T001.npz: no array 'labels'")):
        nio.read_segmentation(folder, key="labels").labels(1)
    with pytest.raises(ValueError, match="SegmentationSeries: spacing must be 3 positive numbers"):
        nio.read_segmentation(folder, spacing=(1.0, 1.0)).geometry(1)
    np.savez(folder / "seg_T011.npz", seg=np.zeros((2, 2, 2, 2), np.uint16) + 1)
    with pytest.raises(ValueError, match=re.escape("seg_T011.npz: the volume must be a 2D or 3D label image")):
        nio.read_segmentation(folder).geometry(11)
