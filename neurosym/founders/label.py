"""The labelling job: name every segmented cell of an image series by founder from a few known.

`label_cells(images, segmentation, labels, out=...)` reads a folder of image volumes (one file
per time point, `*T###.npz|npy|tif|tiff`, e.g. `memb_T001.npz`; files named `seg_*` are not
images, so both may share one folder) and a folder of label volumes
(`seg_T###.npz`, ...), and a CSV `time,label,founder` of the cells whose founder is known
(founders as in `FOUNDERS`). Label numbers are identifiers only: no name file is read and no
label number is a feature. Every cell is then named by the classifier of `fit_founders` with the
label-free terms (tracking, composition, spatial rules), and the job writes to `out`:

- `predictions.csv`: `time,label,founder,p_AB,p_MS,p_E,p_C,p_D,p_P`, one row per cell (a
  labelled cell keeps its given founder);
- `founders.png`: the number of cells of each founder over time, and the share of cells named
  with confidence;
- `summary.json`: the inputs, settings and counts.

The output folder appears only when complete (`neurosym.files.staged_folder`).

Example:
  >>> import pathlib, tempfile
  >>> import numpy as np
  >>> d = pathlib.Path(tempfile.mkdtemp())
  >>> (d / "img").mkdir(); (d / "seg").mkdir()
  >>> seg = np.zeros((8, 8, 8), np.uint16); seg[1:7, 1:4, 1:7] = 3; seg[1:7, 4:7, 1:7] = 9
  >>> for t in (1, 2):
  ...     np.savez_compressed(d / "img" / f"memb_T{t:03d}.npz", membrane=(seg > 0) * 1.0)
  ...     np.savez_compressed(d / "seg" / f"seg_T{t:03d}.npz", seg=seg)
  >>> _ = (d / "known.csv").write_text("time,label,founder\\n1,3,AB\\n1,9,MS\\n")
  >>> out = label_cells(d / "img", d / "seg", d / "known.csv", out=d / "out", factor=1, num_steps=20, progress=False)
  >>> [line.split(",")[2] for line in (out / "predictions.csv").read_text().splitlines()]
  ['founder', 'AB', 'MS', 'AB', 'MS']
"""

from __future__ import annotations

import csv
import io
import pathlib
import re

import numpy as np

from automata._checks import check_int
from neurosym.files import check_out_folder, staged_folder, write_json
from neurosym.founders.cells import cell_series
from neurosym.founders.classes import FOUNDERS
from neurosym.founders.fit import cell_features, fit_founders
from neurosym.founders.terms import Composition, SpatialRules, Tracking
from neurosym.io.labels import read_label_image
from neurosym.io.segmentation import check_folder, list_volumes
from neurosym.progress import Progress

__all__ = ["DEFAULT_TERMS", "label_cells", "read_known_founders"]

DEFAULT_TERMS = (Tracking(), Composition(weight=0.3), SpatialRules(weight=3.0))
"""The terms `label_cells` uses, with the settings chosen on the validation split of
`benchmarks/founders.py`."""

_IMAGE = re.compile(r"T(\d+)\.(npz|npy|tif|tiff)$", re.IGNORECASE)


def _image_files(folder: pathlib.Path) -> dict[int, pathlib.Path]:
    files: dict[int, pathlib.Path] = {}
    for q in sorted(folder.iterdir()):
        m = _IMAGE.search(q.name)
        if m is None or not q.is_file() or q.name.lower().startswith("seg_"):
            continue
        t = int(m.group(1))
        if t in files:
            raise ValueError(f"images={str(folder)!r} holds two images for time point {t} ({files[t].name}, {q.name}); "
                             "keep one.")
        files[t] = q
    return files


def _read_image(path: pathlib.Path) -> np.ndarray:
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path) as z:
                keys = list(z.keys())
                key = keys[0] if len(keys) == 1 else next((k for k in ("membrane", "image") if k in keys), None)
                if key is None:
                    raise ValueError(f"{path}: holds arrays {keys}; name the image 'membrane' or 'image', or keep one.")
                arr = z[key]
        elif suffix == ".npy":
            arr = np.load(path)
        else:
            import tifffile

            arr = tifffile.imread(path)
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: cannot read the image ({e}).") from None
    arr = np.squeeze(np.asarray(arr))
    if arr.ndim != 3 or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{path}: an image must be a 3D numeric volume, got shape {arr.shape}, dtype {arr.dtype}.")
    return arr


def read_known_founders(path) -> dict[tuple[int, int], str]:
    """The CSV `time,label,founder` of cells whose founder is known, as {(time, label): founder}.

    Example:
      >>> import pathlib, tempfile
      >>> f = pathlib.Path(tempfile.mkdtemp()) / "known.csv"
      >>> _ = f.write_text("time,label,founder\\n1,3,AB\\n5,12,E\\n")
      >>> read_known_founders(f)
      {(1, 3): 'AB', (5, 12): 'E'}
    """
    p = pathlib.Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"labels={str(p)!r}: no such file; give the CSV time,label,founder of the known cells.")
    text = p.read_text()
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0][:3]] != ["time", "label", "founder"]:
        raise ValueError(f"labels={str(p)!r}: the first line must be the header time,label,founder.")
    known: dict[tuple[int, int], str] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        try:
            t, lab, founder = int(row[0]), int(row[1]), row[2].strip()
        except (ValueError, IndexError):
            raise ValueError(f"labels={str(p)!r} line {n}: expected time,label,founder with integer time and label, "
                             f"got {','.join(row)!r}.") from None
        if founder not in FOUNDERS:
            raise ValueError(f"labels={str(p)!r} line {n}: founder {founder!r} is not one of {', '.join(FOUNDERS)}.")
        if known.get((t, lab), founder) != founder:
            raise ValueError(f"labels={str(p)!r} line {n}: cell {lab} at time {t} is given two founders.")
        known[(t, lab)] = founder
    if not known:
        raise ValueError(f"labels={str(p)!r}: no cell is listed; give the founder of at least one cell.")
    return known


def _plot(path, cells, probs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pred = probs.argmax(1)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for k, name in enumerate(FOUNDERS):
        a.plot(cells.times, np.bincount(cells.time_index[pred == k], minlength=cells.num_times), marker=".", label=name)
    a.set_xlabel("time point")
    a.set_ylabel("cells")
    a.set_title("predicted cells per founder")
    a.legend(fontsize=8)
    conf = np.array([np.mean(probs[cells.time_index == i].max(1) > 0.9) if (cells.time_index == i).any() else np.nan
                     for i in range(cells.num_times)])
    b.plot(cells.times, conf, marker=".", color="k")
    b.set_ylim(0, 1.02)
    b.set_xlabel("time point")
    b.set_ylabel("share of cells")
    b.set_title("named with probability > 0.9")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def label_cells(images, segmentation, labels, *, out, factor: int = 4, num_steps: int = 400, seed: int = 0,
                progress: bool = True) -> pathlib.Path:
    """Name every segmented cell by founder; write predictions.csv, founders.png, summary.json.

    Args:
      images: folder of image volumes, one per time point (`*T###.npz|npy|tif|tiff`).
      segmentation: folder of label volumes (`seg_T###.npz|npy|tif|tiff`), 0 = outside and
        membrane; only time points with both an image and a segmentation are used.
      labels: CSV `time,label,founder` of the cells whose founder is known.
      out: output folder.
      factor: label volumes are downsampled by this factor per axis for the model.
      num_steps: training steps of the classifier.
      seed: initial weights.
      progress: progress lines on stderr.

    Returns:
      The output folder.
    """
    img_dir = check_folder(images, "image volumes (memb_T###.npz, ...)", owner="label_cells")
    seg_dir = check_folder(segmentation, "label volumes (seg_T###.npz, ...)", owner="label_cells")
    factor = check_int(factor, "factor", 1, owner="label_cells")
    num_steps = check_int(num_steps, "num_steps", 1, owner="label_cells")
    out = check_out_folder(out)
    known = read_known_founders(labels)
    img_files = _image_files(img_dir)
    seg_files = list_volumes(seg_dir, "seg_T")
    if not img_files:
        raise ValueError(f"images={str(img_dir)!r} holds no image volume named like memb_T001.npz.")
    if not seg_files:
        raise ValueError(f"segmentation={str(seg_dir)!r} holds no label volume named like seg_T001.npz.")
    times = sorted(set(img_files) & set(seg_files))
    if not times:
        raise ValueError(f"no time point has both an image (images= has {sorted(img_files)[:5]}...) and a "
                         f"segmentation (segmentation= has {sorted(seg_files)[:5]}...).")
    bar = Progress(len(times), label="reading volumes", enabled=progress)
    imgs, segs = {}, {}
    for i, t in enumerate(times):
        imgs[t] = _read_image(img_files[t])
        segs[t], _ = read_label_image(seg_files[t], "seg", owner="label_cells")
        bar.update(i + 1)
    bar.close()
    present = {t: set(np.unique(segs[t]).tolist()) for t in {t for t, _ in known} if t in segs}
    missing = sorted(k for k in known if k[1] not in present.get(k[0], ()))
    if missing:
        t, lab = missing[0]
        raise ValueError(f"labels= lists {len(missing)} cell(s) not in the segmentation, e.g. label {lab} at time {t}; "
                         "list only cells present at time points that have both an image and a segmentation.")
    cells = cell_series(imgs, segs, factor=factor, progress=progress, owner="label_cells")
    rows = np.full(cells.num_cells, -1)
    for (t, lab), founder in known.items():
        r = cells.row_of(t, lab)
        if r < 0:
            raise ValueError(f"labels=: cell {lab} at time {t} vanishes at factor={factor}; use a smaller factor=.")
        rows[r] = FOUNDERS.index(founder)
    fit = fit_founders(cell_features(cells, tracks=True), rows, cells=cells, terms=DEFAULT_TERMS,
                       num_steps=num_steps, seed=seed, progress=progress)
    probs = fit.probabilities.copy()
    probs[rows >= 0] = np.eye(len(FOUNDERS))[rows[rows >= 0]]
    with staged_folder(out) as stage:
        with open(stage / "predictions.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["time", "label", "founder"] + [f"p_{k}" for k in FOUNDERS])
            for r in range(cells.num_cells):
                w.writerow([int(cells.times[cells.time_index[r]]), int(cells.label[r]), FOUNDERS[probs[r].argmax()]]
                           + [f"{v:.4f}" for v in probs[r]])
        _plot(stage / "founders.png", cells, probs)
        pred = probs.argmax(1)
        write_json(stage / "summary.json", {
            "images": str(img_dir), "segmentation": str(seg_dir), "labels": str(labels),
            "time_points": [int(t) for t in cells.times], "cells": cells.num_cells, "known": int((rows >= 0).sum()),
            "factor": factor, "num_steps": num_steps, "seed": seed,
            "terms": {t.name: {k: v for k, v in vars(t).items() if k not in ("name", "rules", "table")}
                      for t in DEFAULT_TERMS},
            "note": ("the classifier's evidence enters the tracking inference with exponent "
                     f"{DEFAULT_TERMS[0].temperature} (chosen on validation in benchmarks/founders.py): "
                     "with 0 the founders come from the known cells carried along the tracking forest"),
            "predicted_cells_per_founder": dict(zip(FOUNDERS, np.bincount(pred, minlength=len(FOUNDERS)).tolist())),
        })
    return out
