"""The `neurosym tissue` jobs: fit the cellular Potts model to a named segmentation series, and
predict a later time point's named contacts from an observed one.

- `tissue_fit(segmentation, until=, out=)`: every time point up to `until` becomes a lattice of
  shuffled ids (`named_lattice`) with founder kinds from the names; contact energies and volume
  stiffness are fitted by pseudo-likelihood (`fit_potts`), division axes per founder kind and
  the body frame from the divisions seen between consecutive time points. Writes `fit.json`
  (everything `tissue_predict` needs) and figures: the loss curve, the fitted contact energies,
  an observed slice.
- `tissue_predict(fit, source, time=, until=, out=)`: from the observed lattice at `time`, each
  later time point of `source` up to `until` in turn: the cells that the later names say
  divide are divided along axes drawn from the fit and named from them, and the CPM runs
  `mcs_per_time` Monte Carlo steps per time point. Writes `contacts.csv`
  (`time,cell_a,cell_b,area`, Sulston names, one row per contacting pair per predicted time
  point, areas in lattice faces), `scores.csv` against the observed contacts with the
  persistence baseline beside, and figures: observed and simulated slices side by side and
  the contact matrices.

Outputs appear only once complete (`neurosym.files.staged_folder`); bad input raises before
anything is written. The embedded series (`neurosym.io.load_celegans_segmentation`) is the
default of both.
"""

from __future__ import annotations

import csv
import json
import pathlib
import warnings

import jax
import numpy as np

from neurosym.files import check_out_folder, staged_folder, write_json
from neurosym.tissue.axes import body_frame, cell_centroids, fit_division_axes, observed_divisions
from neurosym.tissue.timing import calibrate_minutes, cycle_times, first_seen, timed_names
from neurosym.tissue.fit import EvolutionStrategy, fit_potts, potts_params
from neurosym.tissue.kinds import KIND_NAMES, kinds_of
from neurosym.tissue.lattice import auto_factor, named_lattice
from neurosym.tissue.predict import persistence_contacts, predict_contacts
from neurosym.tissue.score import score_contacts
from rules.tissue import DivisionAxes

__all__ = ["STRATEGIES", "complete_frame", "read_series", "read_tissue_fit", "tissue_fit", "tissue_predict"]

STRATEGIES = ("adam", "es")
"""Fit strategies by name: Adam on the pseudo-likelihood's gradient, or a (1+1) evolution strategy."""


def read_series(segmentation=None, *, gap=None):
    """The embedded series (None) or a folder in the `seg_T###.npz` + `label_names.json` layout.

    Example:
      >>> read_series().times[-1]
      65
    """
    from neurosym.io import load_celegans_segmentation, read_segmentation

    if segmentation is None:
        return load_celegans_segmentation(gap=0 if gap is None else gap)
    series = read_segmentation(segmentation, gap=2 if gap is None else gap, axes="YXZ")
    if series.names is None:
        raise ValueError(f"segmentation={str(segmentation)!r} has no label_names.json: the tissue model needs "
                         "each label's Sulston name for its kind and divisions.")
    return series


def _times(series, until, *, first=None, what: str) -> list[int]:
    times = [t for t in series.times if (first is None or t >= first) and (until is None or t <= until)]
    if not times:
        raise ValueError(f"{what}={until!r} leaves no time point of the series (it holds {series.times[0]}-"
                         f"{series.times[-1]}); pick one in that range.")
    return times


def _lattices(series, times, factor, key):
    out = {}
    for t in times:
        out[t] = named_lattice(series.labels(t), series.names, factor=factor, key=jax.random.fold_in(key, t),
                               gap=series.gap)
    return out


def tissue_fit(segmentation=None, *, out, until=None, factor=None, num_steps: int = 150, strategy: str = "adam",
               seed: int = 0, progress: bool = True) -> dict:
    """Fit the CPM and division axes to the series' time points up to `until`; write `out`.

    Args:
      segmentation: a folder (`seg_T###.npz` + `label_names.json`); None: the embedded series.
      out: output folder (made only when complete).
      until: the last time point fitted (default all).
      factor: voxels per lattice site (default `auto_factor` of the volume: at most 80 sites a side).
      num_steps: optimiser steps (or ES candidates; both evaluate the loss num_steps + 1 times).
      strategy: "adam" or "es".
      seed: random seed (the ids' order, the ES).
      progress: print what is being done to stderr.

    Returns:
      the content of `fit.json`.

    Example:
      >>> import tempfile, pathlib
      >>> fit = tissue_fit(out=pathlib.Path(tempfile.mkdtemp()) / "fit", until=9, num_steps=2, progress=False)
      >>> fit["kind_names"][:3], fit["times"], [d["mother"] for d in fit["divisions"]]
      (['medium', 'AB', 'MS'], [1, 3, 5, 7, 9], ['ABa', 'ABp'])
    """
    import optax

    from neurosym.progress import Progress

    out = check_out_folder(out)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}.")
    series = read_series(segmentation)
    times = _times(series, until, what="until")
    shape = series.labels(times[0]).shape
    factor = auto_factor(shape) if factor is None else int(factor)
    key, fit_key = jax.random.split(jax.random.key(seed))
    say = Progress(0, label="tissue fit", enabled=progress)
    say.note(f"{len(times)} time points ({times[0]}-{times[-1]}), lattice {shape} / {factor}")
    lattices = _lattices(series, times, factor, key)
    observations = [(sites, np.asarray(kinds_of(names))) for sites, names in lattices.values()]
    strat = optax.adam(0.05) if strategy == "adam" else EvolutionStrategy()
    fit = fit_potts(observations, KIND_NAMES, strategy=strat, num_steps=num_steps, key=fit_key)
    divisions = []
    for a, b in zip(times, times[1:]):
        divisions += observed_divisions(lattices[a][1], cell_centroids(*lattices[b]))
    if divisions:
        frame, axes = body_frame(divisions), fit_division_axes(divisions, KIND_NAMES)
        observed_axes = sorted(frame)
        frame = complete_frame(frame, len(shape))
    else:
        warnings.warn(f"no division is seen between the fitted time points ({times[0]}-{times[-1]}), so division "
                      "axes are uniform and daughters are named along the lattice axes; raise until to fit them.",
                      stacklevel=2)
        observed_axes, frame = [], complete_frame({}, len(shape))
        axes = DivisionAxes(mean=np.eye(len(shape))[np.zeros(len(KIND_NAMES), int)],
                            concentration=np.zeros(len(KIND_NAMES)))
    losses = np.asarray(fit.losses, float)
    say.note(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}; {len(divisions)} divisions seen")
    result = {
        "segmentation": "embedded" if segmentation is None else str(segmentation),
        "times": times, "factor": factor, "lattice_shape": list(lattices[times[0]][0].shape),
        "strategy": strategy, "num_steps": num_steps, "seed": seed,
        "kind_names": list(KIND_NAMES), "free_kinds": [int(k) for k in fit.free_kinds],
        "contact": np.asarray(fit.params.contact, float).tolist(),
        "lambda_volume": np.broadcast_to(np.asarray(fit.params.lambda_volume, float), (len(KIND_NAMES),)).tolist(),
        "losses": losses.tolist(),
        "divisions": [{"mother": d.mother, "first": d.first, "second": d.second, "pair": d.pair} for d in divisions],
        "frame": {k: np.asarray(v, float).tolist() for k, v in frame.items()},
        "frame_observed": observed_axes,
        "axes_mean": np.asarray(axes.mean, float).tolist(),
        "axes_concentration": np.asarray(axes.concentration, float).tolist(),
    }
    with staged_folder(out) as tmp:
        write_json(tmp / "fit.json", result)
        _fit_figures(tmp, result, lattices[times[-1]])
    say.note(f"wrote {out}")
    return result


def complete_frame(frame, ndim: int) -> dict[str, np.ndarray]:
    """A body frame with every axis that naming needs: axes not seen in any division ("anterior",
    "dorsal", "left"; the first `ndim`) are filled in order with the lattice axis least aligned
    with those already there, made orthogonal to them. A filled axis is a guess: names along it
    (which daughter is a/p, d/v or l/r) are a convention, not an observation.

    Example:
      >>> f = complete_frame({"left": np.array([0.0, 0.0, 1.0])}, 3)
      >>> {k: v.round(3).tolist() for k, v in f.items()}
      {'left': [0.0, 0.0, 1.0], 'anterior': [1.0, 0.0, 0.0], 'dorsal': [0.0, 1.0, 0.0]}
    """
    out = {k: np.asarray(v, float) for k, v in frame.items()}
    for name in ("anterior", "dorsal", "left")[:ndim]:
        if name in out:
            continue
        basis = np.eye(ndim)
        overlap = [sum(abs(float(np.dot(e, u))) for u in out.values()) for e in basis]
        v = basis[int(np.argmin(overlap))]
        for u in out.values():
            v = v - np.dot(v, u) * u
        out[name] = v / np.linalg.norm(v)
    return out


def read_tissue_fit(path) -> dict:
    """A `fit.json` written by `tissue_fit` (or the folder holding it), checked.

    Example:
      >>> import tempfile, pathlib
      >>> folder = pathlib.Path(tempfile.mkdtemp()) / "fit"
      >>> _ = tissue_fit(out=folder, until=9, num_steps=2, progress=False)
      >>> read_tissue_fit(folder)["factor"]
      1
    """
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "fit.json"
    if not path.is_file():
        raise FileNotFoundError(f"fit={str(path)!r}: no such file; give the fit.json (or its folder) that "
                                "`neurosym tissue fit` wrote.")
    try:
        fit = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"fit={str(path)!r} is not JSON ({err}); give the fit.json that `neurosym tissue fit` wrote.")
    need = ("contact", "lambda_volume", "kind_names", "frame", "axes_mean", "axes_concentration", "factor")
    missing = [k for k in need if not isinstance(fit, dict) or k not in fit]
    if missing:
        raise ValueError(f"fit={str(path)!r} lacks {', '.join(missing)}; it is not a fit.json of `neurosym tissue fit`.")
    if list(fit["kind_names"]) != list(KIND_NAMES):
        raise ValueError(f"fit={str(path)!r} has kinds {fit['kind_names']}, this version {list(KIND_NAMES)}; refit it.")
    return fit


def _timing(series, time: int, say):
    """Cycle times of the embedded tracked wild types, when each cell of `series` was first seen
    up to `time`, and the series' minutes per time point calibrated on those."""
    from neurosym.io import list_celegans, load_celegans

    say.note("reading the embedded embryos' cycle times ...")
    cycles = cycle_times([load_celegans(n) for n in list_celegans("wild-type")])
    born = first_seen(series, until=time)
    try:
        minutes = calibrate_minutes(born, cycles, until=time)
    except ValueError:
        raise ValueError(f"schedule='timed' needs a cell whose birth and division are both seen up to time={time}; "
                         "give a later time= or schedule='observed'.") from None
    say.note(f"{minutes:.2f} minutes per time point (calibrated on time points up to {time})")
    return cycles, born, minutes


def tissue_predict(fit, source=None, *, time, until, out, mcs_per_time: int = 10, seed: int = 0,
                   schedule: str = "observed", progress: bool = True) -> list[dict]:
    """Predict the named contacts of `source`'s time points after `time`, up to `until`; write `out`.

    Args:
      fit: a `fit.json` of `tissue_fit` (or its folder).
      source: the observed series, a folder as `tissue_fit` reads; None: the embedded series.
      time: the observed time point to start from.
      until: the last time point predicted.
      schedule: which cells divide before each predicted time point: "observed", as the
        series' names there say (not the daughters' names, which come from the axes); or
        "timed", from each cell's mean cycle in the embedded tracked embryos
        (`neurosym.tissue.timing`), at the series' pace calibrated on its time points up to
        `time`, so that nothing after `time` is read but to score.
      out: output folder (made only when complete).
      mcs_per_time: Monte Carlo steps per time point of the series.
      seed: random seed (division axes, Metropolis decisions, ids' order).
      progress: print what is being done to stderr.

    Returns:
      one row per predicted time point: its scores against the observed contacts (`f1`,
      `overlap`) and those of the persistence baseline.

    Example:
      >>> import tempfile, pathlib
      >>> root = pathlib.Path(tempfile.mkdtemp())
      >>> _ = tissue_fit(out=root / "fit", until=9, num_steps=2, progress=False)
      >>> rows = tissue_predict(root / "fit", time=9, until=11, out=root / "pred", mcs_per_time=1, progress=False)
      >>> [r["time"] for r in rows], sorted(p.name for p in (root / "pred").glob("*.csv"))
      ([11], ['contacts.csv', 'scores.csv'])
    """
    from neurosym.io import contact_areas
    from neurosym.progress import Progress

    out = check_out_folder(out)
    spec = read_tissue_fit(fit)
    series = read_series(source)
    if time not in series.times:
        raise ValueError(f"time={time!r} is not a time point of the series (it holds {series.times[0]}-"
                         f"{series.times[-1]}: {', '.join(map(str, series.times[:8]))}...).")
    if until is None or until <= time:
        raise ValueError(f"until={until!r} must be a later time point than time={time}.")
    later = _times(series, until, first=time + 1, what="until")
    if schedule not in ("observed", "timed"):
        raise ValueError(f"schedule={schedule!r} must be 'observed' or 'timed'.")
    factor = int(spec["factor"])
    key, view_key = jax.random.split(jax.random.key(seed))
    say = Progress(0, label="tissue predict", enabled=progress)
    labels = series.labels(time)
    sites, names = named_lattice(labels, series.names, factor=factor, key=key, gap=series.gap)
    target = np.zeros(len(spec["kind_names"]))  # predict_contacts sets each cell's target volume itself
    params = potts_params(np.asarray(spec["contact"]), np.asarray(spec["lambda_volume"]), target)
    axes = DivisionAxes(mean=np.asarray(spec["axes_mean"], np.float32),
                        concentration=np.asarray(spec["axes_concentration"], np.float32))
    frame = {k: np.asarray(v, float) for k, v in spec["frame"].items()}
    observed_graph = contact_areas(labels, gap=series.gap).graph(series.names)
    if schedule == "timed":
        timing = _timing(series, time, say)
    rows, contact_rows = [], []
    previous = time
    for t in later:
        labels = series.labels(t)
        names_t = [series.names[int(x)] for x in np.unique(labels) if x]
        divide_by = names_t
        if schedule == "timed":
            cycles, born, minutes_per_time = timing
            divide_by = timed_names(names, born, previous, t, cycles, minutes_per_time)
        pred = predict_contacts(sites, names, divide_by, params, key=jax.random.fold_in(key, t), axes=axes, frame=frame,
                                mcs_per_time=mcs_per_time, num_times=1)
        truth = contact_areas(labels, gap=series.gap).graph(series.names)
        persist = persistence_contacts(observed_graph, names_t)
        s, p = score_contacts(pred.graph, truth), score_contacts(persist, truth)
        rows.append({"time": t, "f1": s.f1, "overlap": s.overlap, "persistence_f1": p.f1,
                     "persistence_overlap": p.overlap, "divisions": len(pred.divisions)})
        contact_rows += [(t, *sorted((a, b)), float(area)) for a, b, area in pred.graph.edges(data="area")]
        say.note(f"t={t}: F1 {s.f1:.3f} (persistence {p.f1:.3f}), {len(pred.divisions)} divisions")
        sites, names, observed_graph = pred.sites, list(pred.names), persist
        if schedule == "timed":
            for _, first, second in pred.divisions:
                timing[1].setdefault(first, t)
                timing[1].setdefault(second, t)
        previous = t
    with staged_folder(out) as tmp:
        with open(tmp / "contacts.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["time", "cell_a", "cell_b", "area"])
            w.writerows(sorted(contact_rows))
        with open(tmp / "scores.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        observed_sites, observed_names = named_lattice(labels, series.names, factor=factor, key=view_key,
                                                       gap=series.gap)
        _predict_figures(tmp, pred, truth, observed_sites, observed_names, t)
    say.note(f"wrote {out}")
    return rows


# ---------------------------------------------------------------------------- figures
def _kind_image(sites, names):
    return kinds_of(names)[sites]


def _slice(volume):
    return volume if volume.ndim == 2 else volume[..., volume.shape[-1] // 2]


def _fit_figures(folder, result, lattice):
    import matplotlib.pyplot as plt

    from neurosym.plots import save

    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    ax[0].plot(result["losses"])
    ax[0].set(xlabel="step", ylabel="negative log pseudo-likelihood per site", title=f"fit ({result['strategy']})")
    free = [0] + result["free_kinds"]
    j = np.asarray(result["contact"])[np.ix_(free, free)]
    labels = [result["kind_names"][k] for k in free]
    im = ax[1].imshow(j, cmap="magma")
    ax[1].set(xticks=range(len(free)), xticklabels=labels, yticks=range(len(free)), yticklabels=labels,
              title="fitted contact energy J")
    fig.colorbar(im, ax=ax[1], fraction=0.046)
    sites, names = lattice
    ax[2].imshow(_slice(_kind_image(sites, names)), cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    ax[2].set(title=f"t={result['times'][-1]}, mid slice, by founder kind", xticks=[], yticks=[])
    save(fig, folder / "fit.png")


def _contact_matrix(graph, order):
    index = {n: i for i, n in enumerate(order)}
    m = np.zeros((len(order), len(order)))
    for a, b, area in graph.edges(data="area"):
        if a in index and b in index:
            m[index[a], index[b]] = m[index[b], index[a]] = area
    return m / max(m.sum(), 1e-12)


def _predict_figures(folder, pred, truth, observed_sites, observed_names, t):
    import matplotlib.pyplot as plt

    from neurosym.plots import save

    fig, ax = plt.subplots(1, 2, figsize=(9, 4))
    for a, (sites, names, title) in zip(ax, [(observed_sites, observed_names, f"observed t={t}"),
                                             (pred.sites, pred.names, f"predicted t={t}")]):
        a.imshow(_slice(_kind_image(sites, names)), cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
        a.set(title=title + " (mid slice, by founder kind)", xticks=[], yticks=[])
    save(fig, folder / "slices.png")
    order = sorted(set(truth.nodes) | set(pred.graph.nodes))
    fig, ax = plt.subplots(1, 2, figsize=(12, 5.5))
    for a, (g, title) in zip(ax, [(truth, "observed"), (pred.graph, "predicted")]):
        a.imshow(_contact_matrix(g, order), cmap="viridis")
        a.set(title=f"{title} contact areas, t={t}", xticks=range(len(order)), yticks=range(len(order)))
        a.set_xticklabels(order, rotation=90, fontsize=5)
        a.set_yticklabels(order, fontsize=5)
    save(fig, folder / "contacts.png")
