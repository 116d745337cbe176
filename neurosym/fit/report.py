"""What `neurosym fit` does and writes: read embryos, fit (or predict) them, report fit.json and figures.

`fit_embryos` is the whole job (`fit_embryo` for one embryo); its pieces are usable alone:
`fit_json` (one embryo's results as plain data, one count per frame, strict JSON), `figures`
(counts per lineage, the lineage tree, the parameters across starts, cycle lengths per kind)
and `summary_lines` (the printed table, with the parameters the data does not pin down).

Several embryos are fitted together (`neurosym.fit.lineage.fit_lineages`): fit.json then holds
one entry per embryo under `embryos` and the shared model under `model`; figures get the
embryo's name. With `from_fit=` nothing is fitted: the model of that fit.json predicts each
embryo (`predict_lineage`), and the same files are written with `"predicted": true`.
"""

from __future__ import annotations

import math
import pathlib
import time

import numpy as np

from neurosym.files import check_out_folder, staged_folder, write_json
from neurosym.fit.inputs import check_fittable, read_embryo
from neurosym.fit.lineage import LineageFit, fit_lineages, predict_lineage

__all__ = ["check_result", "figures", "fit_embryo", "fit_embryos", "fit_json", "read_embryos", "summary_lines"]

#: Cells a kind needs for its cycle length to be reported per kind.
MIN_KIND_CELLS = 4

PARAMETERS_CAPTION = (
    "The period fitted per lineage is that of its reference generation (the median of its "
    "generations, g_ref); the mean cycle averages every observed cycle, earlier and later "
    "generations alike, whose periods lengthen by the fitted factor per generation (each generation "
    "departing from that trend by its own fitted amount), so the two differ."
)


def check_result(res: LineageFit) -> None:
    """Refuse a fit whose final loss, simulated counts or cycle lengths are not finite numbers."""
    final = res.result.final_loss if res.result is not None else 0.0
    bad = [what for what, ok in (
        ("final loss", math.isfinite(final)),
        ("simulated counts", bool(np.isfinite(res.simulated).all())),
        ("fitted cycle lengths", all(math.isfinite(v) for v in res.cycle_minutes.values())),
    ) if not ok]
    if bad:
        raise ValueError(
            f"the fit ended with non-finite values ({', '.join(bad)}; final loss "
            f"{final}): nothing was written. Check the frame times "
            f"(minutes_per_frame=, now {res.model.dt:g} min per frame) and try fewer num_steps or "
            f"more num_starts. {res.result.diagnostics.get('message', '') if res.result is not None else ''}"
        )


def fit_json(res: LineageFit, *, table, graph, source: str, settings: dict) -> dict:
    """The results of a lineage fit as plain data (what fit.json holds).

    Counts have one entry per frame, the first frame included (where the model starts from the
    observed cells); `all_lineages_tracked` says at which frames every lineage was still followed
    (`count_relative_rms` is over those frames).
    """
    m, frames = res.model, res.per_frame()
    minutes = [float(t) for t in frames["minutes"]]
    complete = frames["tracked"].all(axis=1)
    report = graph.graph.get("report")
    kinds = res.kind_cycles(min_cells=MIN_KIND_CELLS)
    history = ([] if res.result is None else
               [float(v) for v in res.result.losses[:, res.result.best_start]])
    fit_info = {"predicted": res.predicted, "game_term": res.game}
    if res.result is not None:
        fit_info.update(best_start=res.result.best_start, message=res.result.diagnostics.get("message", ""))
    return {
        "predicted": res.predicted,
        "cycle_minutes": res.cycle_minutes,
        "measured_cycle_minutes": res.measured_cycle,
        "cycle_relative_error": res.cycle_errors(),
        "kind_cycle_minutes": {name: {"measured": a, "fitted": b, "cells": n, "relative_error": abs(b - a) / a}
                               for name, (a, b, n) in kinds.items() if a > 0},
        "params": res.named_params(),
        "reference_generation": {L: float(res.batch.reference_generation[res.batch.lineages.index(L)])
                                 for L in m.lineages},
        "unidentifiable": {k: list(v) for k, v in res.unidentifiable().items()},
        "starts": ([] if res.result is None else
                   [dict(params, final_loss=float(loss) if math.isfinite(loss) else None)
                    for params, loss in zip(res.start_params(), res.result.final_losses())]),
        "model": res.model_spec(),
        "minutes": minutes,
        "observed_counts": [[t, int(c)] for t, c in zip(minutes, frames["observed"].sum(axis=1))],
        "simulated_counts": [[t, float(c)] for t, c in zip(minutes, frames["simulated"].sum(axis=1))],
        "all_lineages_tracked": [bool(k) for k in complete],
        "tracked_by_lineage": {L: [bool(v) for v in frames["tracked"][:, i]] for i, L in enumerate(m.lineages)},
        "observed_counts_by_lineage": {L: [int(v) for v in frames["observed"][:, i]] for i, L in enumerate(m.lineages)},
        "simulated_counts_by_lineage": {L: [float(v) for v in frames["simulated"][:, i]]
                                        for i, L in enumerate(m.lineages)},
        "count_relative_rms": res.relative_rms(),
        "loss_history": history,
        "fit": dict(settings, **fit_info),
        "data": {"source": source, "embryo": str(table.embryos()[0]), "cells": len(table.cells()),
                 "frames": len(table.frames()), "minutes": float(np.ptp(table.time_min)),
                 "minutes_per_frame": m.dt,
                 "lineage_problems": [p.message for p in report.problems] if report is not None else []},
    }


def _counts_figure(res: LineageFit):
    import matplotlib.pyplot as plt

    m, frames = res.model, res.per_frame()
    n = len(m.lineages)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for i, lineage in enumerate(m.lineages):
        ax = axes[i // cols][i % cols]
        seen = frames["tracked"][:, i]
        ax.plot(frames["minutes"][seen], frames["observed"][seen, i], "k.", ms=3, label="observed")
        ax.plot(frames["minutes"], frames["simulated"][:, i], "C3-",
                label="predicted" if res.predicted else "model")
        ax.set_title(lineage, fontsize=9)
        ax.set_xlabel("minutes")
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    axes[0][0].set_ylabel("cells")
    axes[0][0].legend(fontsize=7, frameon=False)
    what = "predicted (not fitted)" if res.predicted else "fitted"
    fig.suptitle(f"Cells per lineage, observed and {what} (relative RMS of the total {res.relative_rms():.1%})")
    fig.tight_layout()
    return fig


def _parameters_figure(res: LineageFit):
    import matplotlib.pyplot as plt

    m = res.model
    n = len(m.lineages)
    unsure = {name[name.index("[") + 1:-1] for name in res.unidentifiable() if name.startswith("period_ref")}
    fig, ax = plt.subplots(figsize=(max(6.5, 0.6 * n + 3), 4.2))
    per = np.array([[p[f"period_ref_min[{L}]"] for L in m.lineages] for p in res.start_params()])  # (starts, L)
    for s in range(per.shape[0]):
        ax.plot(range(n), per[s], "o", color="0.6", ms=4, label="each start" if s == 0 else None)
    best = res.named_params()
    ax.plot(range(n), [best[f"period_ref_min[{L}]"] for L in m.lineages], "C3s", ms=6,
            label="best start: period of the reference generation")
    ax.plot(range(n), [res.measured_cycle.get(L, np.nan) for L in m.lineages], "k_", ms=14, mew=2,
            label="measured mean cycle")
    ax.plot(range(n), [res.cycle_minutes.get(L, np.nan) for L in m.lineages], "C0x", ms=7,
            label="fitted mean cycle")
    ax.set_xticks(range(n), [f"{L}{'*' if L in unsure else ''}\ng_ref {g:g}"
                             for L, g in zip(m.lineages, m.reference_generation)], fontsize=8)
    ax.set_ylabel("minutes")
    title = "Period of each lineage's reference generation, across starts"
    ax.set_title(title + ("\n* not pinned down: the starts that converged disagree" if unsure else ""), fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    fig.text(0.01, 0.01, PARAMETERS_CAPTION, fontsize=7, wrap=True, va="bottom")
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def _kinds_figure(res: LineageFit):
    """Measured against fitted mean cycle of every kind (lineage, generation) with enough cells."""
    import matplotlib.pyplot as plt

    kinds = res.kind_cycles(min_cells=MIN_KIND_CELLS)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    if kinds:
        measured = np.array([v[0] for v in kinds.values()])
        fitted = np.array([v[1] for v in kinds.values()])
        lineages = [name.rsplit(".", 1)[0] for name in kinds]
        for j, L in enumerate(dict.fromkeys(lineages)):
            sel = np.array([x == L for x in lineages])
            ax.plot(measured[sel], fitted[sel], "o", color=f"C{j % 10}", ms=5, label=L)
        top = 1.1 * max(measured.max(), fitted.max())
        ax.plot([0, top], [0, top], "k-", lw=0.8)
        ax.fill_between([0, top], [0, 0.85 * top], [0, 1.15 * top], color="0.9", label="within 15%")
        ax.legend(fontsize=7, frameon=False, ncol=2)
    what = "predicted" if res.predicted else "fitted"
    ax.set_xlabel("measured mean cycle (min)")
    ax.set_ylabel(f"{what} mean cycle (min)")
    ax.set_title(f"Cycle length of each (lineage, generation) with >= {MIN_KIND_CELLS} cells", fontsize=9)
    fig.tight_layout()
    return fig


def figures(res: LineageFit, graph, *, embryo: str) -> dict:
    """File name -> matplotlib Figure: counts per lineage, the lineage tree, cycle lengths per
    kind, and (for a fit) the parameters across starts."""
    from neurosym import plots

    out = {
        "counts_by_lineage.png": _counts_figure(res),
        "lineage_tree.png": plots.lineage_tree(graph, title=f"Lineage of {embryo}"),
        "cycles_by_kind.png": _kinds_figure(res),
    }
    if not res.predicted:
        out["parameters.png"] = _parameters_figure(res)
    return out


def summary_lines(res: LineageFit) -> list[str]:
    """The printed summary: measured and fitted mean cycle per lineage, the count error, and the
    parameters the data does not pin down."""
    lines = ["lineage   measured   " + ("predicted" if res.predicted else "fitted") + "   error"]
    for lineage, fitted in res.cycle_minutes.items():
        measured = res.measured_cycle.get(lineage)
        err = f"{abs(fitted - measured) / measured:6.1%}" if measured else "     -"
        lines.append(f"{lineage:8s} {measured if measured else float('nan'):8.1f} {fitted:8.1f}   {err}")
    kinds = res.kind_cycles(min_cells=MIN_KIND_CELLS)
    if kinds:
        errors = np.array([abs(b - a) / a for a, b, _ in kinds.values() if a > 0])
        lines.append(f"(lineage, generation) kinds with >= {MIN_KIND_CELLS} cells: {np.mean(errors < 0.15):.0%} of "
                     f"{len(errors)} within 15% of measured")
    lines.append(f"total cell count: relative RMS error {res.relative_rms():.1%}")
    unsure = res.unidentifiable()
    if unsure:
        lines.append("not pinned down by the data (the starts that converged end far apart):")
        lines += [f"  {name}: {low:.3g} to {high:.3g}" for name, (low, high) in unsure.items()]
    elif res.result is not None and res.result.num_starts < 2:
        lines.append("(one start: whether the data pins each parameter down was not checked)")
    return lines


READABLE = (".csv", ".csv.gz", ".zip")


def read_embryos(data=None, *, format=None, minutes_per_frame=None, embryo=None, strict=False):
    """`[(table, source), ...]`: one embryo per path of `data` (a path, a list of paths, or a
    folder of readable files), or the embedded embryo when `data` is None."""
    if data is None or isinstance(data, (str, pathlib.Path)):
        data = [data]
    paths = []
    for d in data:
        if d is not None and str(d) != "" and pathlib.Path(d).is_dir():
            found = sorted(p for p in pathlib.Path(d).iterdir() if p.name.endswith(READABLE))
            if not found:
                raise ValueError(f"data={str(d)!r} is a folder with no {', '.join(READABLE)} file; give the "
                                 "tables' paths or a folder that holds them.")
            paths += found
        else:
            paths.append(d)
    out = [read_embryo(p, format=format, minutes_per_frame=minutes_per_frame, embryo=embryo, strict=strict)
           for p in paths]
    names = [str(t.embryos()[0]) for t, _ in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"data= names the embryo {', '.join(twice)} more than once; give each embryo once.")
    return out


def _load_spec(path) -> dict:
    from neurosym.fit.simulate import load_fit_model

    spec = load_fit_model(path)
    if "shared" not in spec:
        raise ValueError(f"from_fit={str(path)!r} was written by an older neurosym fit (its model has no "
                         "shared parameters); fit again with this version.")
    return spec


def fit_embryos(data=None, *, out, format=None, minutes_per_frame=None, embryo=None, strict=False,
                num_steps=200, num_starts=4, game=False, seed=0, from_fit=None, calibrate_minutes=None,
                progress=True, log=print) -> dict:
    """Read embryos, fit them together (or predict them from `from_fit`), write fit.json and figures.

    Reading, checking and fitting come first: the folder `out` is made only when all its files
    are written (`neurosym.files.staged_folder`), so an error leaves no folder behind.

    Args:
      data: a path, a list of paths or a folder (see `read_embryos`); None: the embedded embryo.
      format, minutes_per_frame, embryo, strict: as for `neurosym.fit.inputs.read_embryo`.
      out: output folder.
      num_steps, num_starts, game: as for `neurosym.fit.lineage.fit_lineages`.
      seed: the fit's PRNG seed.
      from_fit: a fit.json: predict every embryo with its model instead of fitting.
      calibrate_minutes: with `from_fit`, set each embryo's time scale from its cells born and
        divided in its first this many minutes before predicting (`predict_lineage`).
      progress: print progress lines (to stderr).
      log: where the summary lines go.

    Returns:
      the JSON written: one embryo's entries (`fit_json`) for one embryo, else
      `{"embryos": [...], "model": ..., "fit": ...}`.
    """
    import jax

    out = check_out_folder(out)
    started = time.perf_counter()
    if calibrate_minutes is not None and from_fit is None:
        raise ValueError("calibrate_minutes= applies to predictions only; give from_fit= as well.")
    spec = None if from_fit is None else _load_spec(from_fit)
    read = read_embryos(data, format=format, minutes_per_frame=minutes_per_frame, embryo=embryo, strict=strict)
    graphs = [check_fittable(t, owner="") for t, _ in read]
    for (t, source) in read:
        log(f"data: {source}: {len(t.cells())} cells, {len(t.frames())} frames, "
            f"{float(np.ptp(t.time_min)):.0f} minutes")
    if spec is not None:
        log(f"predicting from {from_fit} (nothing of these embryos is fitted)")
        fits = [predict_lineage(spec, t, graph=g, calibrate_minutes=calibrate_minutes)
                for (t, _), g in zip(read, graphs)]
        settings = {"from_fit": str(from_fit), "calibrate_minutes": calibrate_minutes}
    else:
        fits = fit_lineages([t for t, _ in read], graphs=graphs, game=game, num_steps=num_steps,
                            num_starts=num_starts, key=jax.random.key(seed), progress=progress)
        settings = {"steps": num_steps, "starts": num_starts, "seed": seed}
    for res in fits:
        check_result(res)
    results = [fit_json(res, table=t, graph=g, source=src, settings=settings)
               for res, (t, src), g in zip(fits, read, graphs)]
    log("drawing figures ...")
    several = len(fits) > 1
    pictures = {}
    for res, r, g in zip(fits, results, graphs):
        name = r["data"]["embryo"]
        for file, fig in figures(res, g, embryo=name).items():
            pictures[f"{pathlib.Path(file).stem}_{name}.png" if several else file] = fig
    seconds = time.perf_counter() - started
    if several:
        result = {"embryos": results, "model": results[0]["model"],
                  "fit": dict(settings, predicted=spec is not None, game_term=fits[0].game, seconds=seconds,
                              embryos=[r["data"]["embryo"] for r in results])}
    else:
        result = results[0]
        result["fit"]["seconds"] = seconds
    with staged_folder(out) as tmp:
        from neurosym import plots

        for name, fig in pictures.items():
            plots.save(fig, tmp / name)
        write_json(tmp / "fit.json", result)
    for res, r in zip(fits, results):
        if several:
            log(f"-- {r['data']['embryo']}")
        for line in summary_lines(res):
            log(line)
    log(f"wrote fit.json, {len(pictures)} figures to {out} ({time.perf_counter() - started:.0f} s)")
    return result


def fit_embryo(data=None, *, out, format=None, minutes_per_frame=None, embryo=None, strict=False,
               num_steps=200, num_starts=4, game=False, seed=0, progress=True, log=print) -> dict:
    """Read one embryo, fit the division-timing model, write fit.json and figures to `out`
    (`fit_embryos` with one embryo); returns the JSON."""
    return fit_embryos(data, out=out, format=format, minutes_per_frame=minutes_per_frame, embryo=embryo,
                       strict=strict, num_steps=num_steps, num_starts=num_starts, game=game, seed=seed,
                       progress=progress, log=log)
