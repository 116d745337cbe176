"""Naming cells by founder: anonymous cells, tracking inference, rules, the fit and the command."""

import csv

import numpy as np
import pytest

from neurosym.cli import main
from neurosym.founders import (
    FOUNDERS, Inside, SpatialRules, Touches, Tracking, cell_features, cell_series, fit_founders, track_features,
    track_posterior,
)
from neurosym.founders.label import label_cells, read_known_founders


def _embryo(times=(1, 2, 3)):
    """A 2-cell embryo (left cell 10 'AB', right cell 20 'P') whose cells split along z at
    time 2 (left -> 11, 12; right, as P2 does, -> C 21 and P3 22) and stay so; the right one's
    halves differ in size and brightness. Returns images, segmentations and the founder of each
    label."""
    segs, imgs = {}, {}
    for t in times:
        seg = np.zeros((12, 16, 12), np.int32)
        if t == 1:
            seg[2:10, 2:8, 2:10] = 10
            seg[2:10, 8:14, 2:10] = 20
        else:
            seg[2:10, 2:8, 2:6] = 11
            seg[2:10, 2:8, 6:10] = 12
            seg[2:10, 8:14, 2:7] = 21
            seg[2:10, 8:14, 7:10] = 22
        segs[t] = seg
        img = (seg > 0) * 1.0 + (seg == 21) * 2.0 + (seg == 20) * 1.0
        imgs[t] = img[::2, ::2, ::2]        # a coarser image of the same field of view
    founder = {10: "AB", 11: "AB", 12: "AB", 20: "P", 21: "C", 22: "P"}
    return imgs, segs, founder


def test_cells_are_measured_and_tracked_by_overlap():
    imgs, segs, _ = _embryo()
    cells = cell_series(imgs, segs, factor=1)
    assert cells.times.tolist() == [1, 2, 3]
    assert cells.label.tolist() == [10, 20, 11, 12, 21, 22, 11, 12, 21, 22]
    parents = [int(cells.label[p]) if p >= 0 else -1 for p in cells.parent]
    assert parents == [-1, -1, 10, 10, 20, 20, 11, 12, 21, 22]
    assert np.all(cells.overlap[2:] == 1.0)
    # contacts are symmetric and at time 1 the two cells touch
    nb = {(r, n) for r in range(cells.num_cells) for n in cells.neighbours[r] if n >= 0}
    assert all((n, r) in nb for r, n in nb)
    assert (0, 1) in nb
    assert np.all(cells.outside > 0)                     # every cell of this embryo lies on its outside
    assert cells.image.shape == (3,) + segs[1].shape     # the coarse image is resampled onto the labels' grid
    rows = cells.rows_of(2)
    bright = rows[cells.label[rows] == 21][0]
    assert cells.image_stats[bright, 0] > cells.image_stats[rows, 0].mean()


def test_cells_downsampled_keep_every_cell():
    imgs, segs, _ = _embryo()
    cells = cell_series(imgs, segs, factor=2)
    assert cells.sites.shape == (3, 6, 8, 6)
    assert np.diff(cells.first_row).tolist() == [2, 4, 4]


@pytest.mark.parametrize("bad, message", [
    (lambda i, s: ({9: i[1]}, s), "no time point has both"),
    (lambda i, s: (i, {1: s[1][0], 2: s[2][0]}), "must be 3D"),
    (lambda i, s: (i, {t: v.astype(float) for t, v in s.items()}), "integer labels"),
])
def test_cells_refuse_bad_volumes(bad, message):
    imgs, segs, _ = _embryo()
    with pytest.raises((ValueError, TypeError), match=message):
        cell_series(*bad(imgs, segs), factor=1)


def test_track_posterior_carries_a_label_along_its_tree_and_respects_the_germ_line():
    parent = np.array([-1, 0, 0, 1, 2])                  # P divides into two tracks
    flat = np.ones((5, 6))
    ms = FOUNDERS.index("MS")
    post = track_posterior(parent, flat, np.array([-1, -1, -1, ms, -1]), error=0.0)
    assert post[3, ms] == pytest.approx(1.0)
    assert post[1, ms] == pytest.approx(1.0)                  # a cell that goes on keeps its founder
    # the root is MS (two MS daughters) or EMS, in the germ line class (MS + E): the sister is MS or E
    assert post[0, [ms, FOUNDERS.index("P")]].sum() == pytest.approx(1.0)
    assert post[4, [ms, FOUNDERS.index("E")]].sum() == pytest.approx(1.0) and post[4, FOUNDERS.index("E")] > 0.05
    # a known AB cell cannot be the daughter of a known MS cell unless tracking errs
    with_error = track_posterior(np.array([-1, 0]), np.ones((2, 6)), np.array([ms, 0]), error=0.1)
    assert with_error[1, 0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="earlier row"):
        track_posterior(np.array([1, -1]), np.ones((2, 6)))


def test_track_features_count_divisions_and_ages():
    imgs, segs, _ = _embryo()
    cells = cell_series(imgs, segs, factor=1)
    f = track_features(cells.parent, cells.times[cells.time_index])
    assert f[:, 0].tolist() == [0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    assert f[:, 1].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]


def test_spatial_rules_score_what_they_say():
    e, ab, ms = (np.eye(6)[FOUNDERS.index(k)] for k in ("E", "AB", "MS"))
    probs = np.stack([e, ab, ms])
    inside = Inside("E", 1, "test").truth(probs, outside=np.array([0.3, 0.3, 0.0]), neighbours=np.full((3, 1), -1))
    assert np.asarray(inside).tolist() == [0.0, 1.0, 1.0]
    nb = np.array([[2], [-1], [0]])
    touches = Touches("E", "MS", 1, "test").truth(probs, outside=np.zeros(3), neighbours=nb)
    assert np.asarray(touches).tolist() == [1.0, 1.0, 1.0]
    alone = Touches("E", "MS", 1, "test").truth(probs, outside=np.zeros(3), neighbours=np.full((3, 1), -1))
    assert float(alone[0]) == 0.0
    with pytest.raises(ValueError, match="founder must be one of"):
        Inside("Q", 1, "test")


def test_tracking_names_every_cell_from_one_label_per_tree():
    imgs, segs, founder = _embryo(times=(1, 2, 3, 4))
    cells = cell_series(imgs, segs, factor=1)
    truth = np.array([FOUNDERS.index(founder[int(l)]) for l in cells.label])
    labels = np.full(cells.num_cells, -1)
    for t, lab in ((1, 10), (2, 21), (2, 22)):
        r = cells.row_of(t, lab)
        labels[r] = truth[r]
    fit = fit_founders(cell_features(cells, tracks=True), labels, cells=cells, terms=(Tracking(temperature=0.0),),
                       num_steps=30, seed=0)
    assert (fit.predicted == truth).all()
    alone = fit_founders(cell_features(cells), labels, num_steps=30, seed=0)
    assert alone.classifier.shape == (cells.num_cells, 6)


def test_rules_term_trains_and_errors_are_clear():
    imgs, segs, _ = _embryo()
    cells = cell_series(imgs, segs, factor=1)
    labels = np.full(cells.num_cells, -1)
    labels[0] = 0
    fit = fit_founders(cell_features(cells), labels, cells=cells, terms=(SpatialRules(weight=1.0),), num_steps=5)
    assert set(fit.term_history) == {"labels", "rules"}
    with pytest.raises(ValueError, match="no cell is labelled"):
        fit_founders(cell_features(cells), np.full(cells.num_cells, -1))
    with pytest.raises(ValueError, match="pass cells="):
        fit_founders(cell_features(cells), labels, terms=(SpatialRules(),))
    with pytest.raises(ValueError, match="each term may be given once"):
        fit_founders(cell_features(cells), labels, cells=cells, terms=(Tracking(), Tracking()))


def _folders(tmp_path, known_rows):
    imgs, segs, _ = _embryo()
    (tmp_path / "img").mkdir()
    (tmp_path / "seg").mkdir()
    for t in imgs:
        np.savez_compressed(tmp_path / "img" / f"memb_T{t:03d}.npz", membrane=imgs[t])
        np.savez_compressed(tmp_path / "seg" / f"seg_T{t:03d}.npz", seg=segs[t].astype(np.uint16))
    (tmp_path / "known.csv").write_text("time,label,founder\n" + "".join(f"{r}\n" for r in known_rows))
    return tmp_path / "img", tmp_path / "seg", tmp_path / "known.csv"


def test_label_command_writes_a_prediction_for_every_cell(tmp_path):
    img, seg, known = _folders(tmp_path, ["1,10,AB", "2,21,C", "2,22,P"])
    out = tmp_path / "out"
    code = main(["label", "--images", str(img), "--segmentation", str(seg), "--labels", str(known), "--out", str(out),
                 "--factor", "1", "--steps", "30", "--quiet"])
    assert code == 0
    with open(out / "predictions.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10
    assert list(rows[0]) == ["time", "label", "founder"] + [f"p_{k}" for k in FOUNDERS]
    got = {(int(r["time"]), int(r["label"])): r["founder"] for r in rows}
    assert got[(3, 11)] == "AB" and got[(3, 21)] == "C" and got[(3, 22)] == "P"
    assert all(abs(sum(float(r[f"p_{k}"]) for k in FOUNDERS) - 1) < 1e-3 for r in rows)
    assert (out / "founders.png").stat().st_size > 1000 and (out / "summary.json").is_file()


@pytest.mark.parametrize("rows, message", [
    (["1,10,XY"], "--labels .*founder 'XY' is not one of"),
    (["1,99,AB"], "--labels lists 1 cell"),
    (["one,10,AB"], "--labels .*line 2"),
])
def test_label_command_refuses_bad_labels_in_flag_words_and_writes_nothing(tmp_path, capsys, rows, message):
    img, seg, known = _folders(tmp_path, rows)
    out = tmp_path / "out"
    code = main(["label", "--images", str(img), "--segmentation", str(seg), "--labels", str(known), "--out", str(out),
                 "--factor", "1", "--steps", "5", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists()
    assert err.startswith("neurosym: ") and "Traceback" not in err
    import re
    assert re.search(message, err), err


def test_read_known_founders_needs_the_header(tmp_path):
    f = tmp_path / "k.csv"
    f.write_text("t,l,f\n1,2,AB\n")
    with pytest.raises(ValueError, match="header time,label,founder"):
        read_known_founders(f)
    with pytest.raises(FileNotFoundError, match="no such file"):
        label_cells(tmp_path, tmp_path, tmp_path / "none.csv", out=tmp_path / "o")


def test_embedded_real_embryo_is_tracked_and_named_from_two_labels():
    """The embedded 3DMMS embryo, relabelled at random: mask-overlap links join cells of one
    founder, and the two AB cells of the first time point name (almost) every AB cell."""
    import jax

    from neurosym.founders import founder_of
    from neurosym.io import load_celegans_membrane, load_celegans_segmentation, relabel_random

    series, images = load_celegans_segmentation(), load_celegans_membrane()
    assert sorted(images) == list(series.times)
    segs, names = {}, {}
    for t in series.times:
        segs[t], old_of_new = relabel_random(series.labels(t), key=jax.random.fold_in(jax.random.key(3), t))
        names[t] = {new: series.names[int(old)] for new, old in enumerate(old_of_new) if new}
    cells = cell_series(images, segs, factor=1)
    named = [names[int(cells.times[i])][int(l)] for i, l in zip(cells.time_index, cells.label)]
    linked = np.flatnonzero(cells.parent >= 0)
    same = [founder_of(named[i]) == founder_of(named[cells.parent[i]]) or named[cells.parent[i]] in ("EMS", "P2", "P3")
            for i in linked]
    assert len(linked) > 0.95 * np.sum(cells.time_index > 0) and np.mean(same) > 0.97
    known = np.array([0 if cells.time_index[r] == 0 and named[r] in ("ABa", "ABp") else -1 for r in range(cells.num_cells)])
    post = track_posterior(cells.parent, np.ones((cells.num_cells, 6)), known)
    ab = np.array([founder_of(n) == "AB" for n in named])
    assert known.max() == 0 and (post.argmax(1)[ab] == 0).mean() > 0.95
    assert (post.argmax(1)[~ab] == 0).mean() < 0.1


def test_label_command_reads_images_and_segmentation_from_one_folder(tmp_path):
    img, seg, known = _folders(tmp_path, ["1,10,AB", "2,21,C", "2,22,P"])
    for f in seg.iterdir():
        f.rename(img / f.name)
    out = tmp_path / "out"
    assert main(["label", "--images", str(img), "--segmentation", str(img), "--labels", str(known), "--out", str(out),
                 "--factor", "1", "--steps", "5", "--quiet"]) == 0
    assert len((out / "predictions.csv").read_text().splitlines()) == 11
