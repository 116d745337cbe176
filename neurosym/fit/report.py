"""What `neurosym fit` does and writes: read one embryo, fit it, and report fit.json and figures.

`fit_embryo` is the whole job; its pieces are usable alone: `fit_json` (the results as plain
data, one count per frame, strict JSON), `figures` (counts per lineage, the lineage tree, the
parameters across starts) and `summary_lines` (the printed table, with the parameters the
data does not pin down).
"""

from __future__ import annotations

import math
import pathlib
import time

import numpy as np

from neurosym.files import staged_folder, write_json
from neurosym.fit.inputs import check_fittable, read_embryo
from neurosym.fit.lineage import LineageFit, fit_lineage

__all__ = ["check_result", "figures", "fit_embryo", "fit_json", "summary_lines"]

PARAMETERS_CAPTION = (
    "The period fitted per lineage is that of its reference generation (the median of its "
    "generations, g_ref); the mean cycle averages every observed cycle, earlier and later "
    "generations alike, whose periods lengthen by the fitted factor per generation, so the two differ."
)


def check_result(res: LineageFit) -> None:
    """Refuse a fit whose final loss, simulated counts or cycle lengths are not finite numbers."""
    bad = [what for what, ok in (
        ("final loss", math.isfinite(res.result.final_loss)),
        ("simulated counts", bool(np.isfinite(res.simulated).all())),
        ("fitted cycle lengths", all(math.isfinite(v) for v in res.cycle_minutes.values())),
    ) if not ok]
    if bad:
        raise ValueError(
            f"the fit ended with non-finite values ({', '.join(bad)}; final loss "
            f"{res.result.final_loss}): nothing was written. Check the frame times "
            f"(minutes_per_frame=, now {res.model.dt:g} min per frame) and try fewer num_steps or "
            f"more num_starts. {res.result.diagnostics.get('message', '')}"
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
    return {
        "cycle_minutes": res.cycle_minutes,
        "measured_cycle_minutes": res.measured_cycle,
        "cycle_relative_error": res.cycle_errors(),
        "params": res.named_params(),
        "reference_generation": {L: float(g) for L, g in zip(m.lineages, m.reference_generation)},
        "unidentifiable": {k: list(v) for k, v in res.unidentifiable().items()},
        "starts": [dict(params, final_loss=float(loss) if math.isfinite(loss) else None)
                   for params, loss in zip(res.start_params(), res.result.final_losses())],
        "model": res.model_spec(),
        "minutes": minutes,
        "observed_counts": [[t, int(c)] for t, c in zip(minutes, frames["observed"].sum(axis=1))],
        "simulated_counts": [[t, float(c)] for t, c in zip(minutes, frames["simulated"].sum(axis=1))],
        "all_lineages_tracked": [bool(k) for k in complete],
        "observed_counts_by_lineage": {L: [int(v) for v in frames["observed"][:, i]] for i, L in enumerate(m.lineages)},
        "simulated_counts_by_lineage": {L: [float(v) for v in frames["simulated"][:, i]]
                                        for i, L in enumerate(m.lineages)},
        "count_relative_rms": res.relative_rms(),
        "loss_history": [float(v) for v in res.result.losses[:, res.result.best_start]],
        "fit": dict(settings, best_start=res.result.best_start, game_term=res.game,
                    message=res.result.diagnostics.get("message", "")),
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
        ax.plot(frames["minutes"], frames["simulated"][:, i], "C3-", label="model")
        ax.set_title(lineage, fontsize=9)
        ax.set_xlabel("minutes")
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    axes[0][0].set_ylabel("cells")
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Cells per lineage, observed and fitted (relative RMS of the total {res.relative_rms():.1%})")
    fig.tight_layout()
    return fig


def _parameters_figure(res: LineageFit):
    import matplotlib.pyplot as plt

    m = res.model
    n = len(m.lineages)
    unsure = {name[name.index("[") + 1:-1] for name in res.unidentifiable() if name.startswith("period_ref")}
    fig, ax = plt.subplots(figsize=(max(6.5, 0.6 * n + 3), 4.2))
    per = np.exp(np.asarray(res.result.all_params["log_period"]))  # (starts, L)
    for s in range(per.shape[0]):
        ax.plot(range(n), per[s], "o", color="0.6", ms=4, label="each start" if s == 0 else None)
    ax.plot(range(n), np.exp(np.asarray(res.params["log_period"])), "C3s", ms=6,
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


def figures(res: LineageFit, graph, *, embryo: str) -> dict:
    """File name -> matplotlib Figure: counts per lineage, the lineage tree, the parameters."""
    from neurosym import plots

    return {
        "counts_by_lineage.png": _counts_figure(res),
        "lineage_tree.png": plots.lineage_tree(graph, title=f"Lineage of {embryo}"),
        "parameters.png": _parameters_figure(res),
    }


def summary_lines(res: LineageFit) -> list[str]:
    """The printed summary: measured and fitted mean cycle per lineage, the count error, and the
    parameters the data does not pin down."""
    lines = ["lineage   measured   fitted   error"]
    for lineage, fitted in res.cycle_minutes.items():
        measured = res.measured_cycle.get(lineage)
        err = f"{abs(fitted - measured) / measured:6.1%}" if measured else "     -"
        lines.append(f"{lineage:8s} {measured if measured else float('nan'):8.1f} {fitted:8.1f}   {err}")
    lines.append(f"total cell count: relative RMS error {res.relative_rms():.1%}")
    unsure = res.unidentifiable()
    if unsure:
        lines.append("not pinned down by the data (the starts that converged end far apart):")
        lines += [f"  {name}: {low:.3g} to {high:.3g}" for name, (low, high) in unsure.items()]
    elif res.result.num_starts < 2:
        lines.append("(one start: whether the data pins each parameter down was not checked)")
    return lines


def fit_embryo(data=None, *, out, format=None, minutes_per_frame=None, embryo=None, strict=False,
               num_steps=200, num_starts=4, game=True, seed=0, progress=True, log=print) -> dict:
    """Read one embryo, fit the lineage model, write fit.json and figures to `out`; returns the JSON.

    Reading, checking and fitting come first: the folder `out` is made only when all its files
    are written (`neurosym.files.staged_folder`), so an error leaves no folder behind.

    Args:
      data, format, minutes_per_frame, embryo, strict: as for `neurosym.fit.inputs.read_embryo`.
      out: output folder.
      num_steps, num_starts, game: as for `neurosym.fit.lineage.fit_lineage`.
      seed: the fit's PRNG seed.
      progress: print progress lines (to stderr).
      log: where the summary lines go.
    """
    import jax

    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} is a file, not a folder; give a folder path.")
    started = time.perf_counter()
    table, source = read_embryo(data, format=format, minutes_per_frame=minutes_per_frame, embryo=embryo,
                                strict=strict)
    graph = check_fittable(table, owner="")
    log(f"data: {source}: {len(table.cells())} cells, {len(table.frames())} frames, "
        f"{float(np.ptp(table.time_min)):.0f} minutes")
    res = fit_lineage(table, graph=graph, game=game, num_steps=num_steps, num_starts=num_starts,
                      key=jax.random.key(seed), progress=progress)
    check_result(res)
    settings = {"steps": num_steps, "starts": num_starts, "seed": seed}
    result = fit_json(res, table=table, graph=graph, source=source, settings=settings)
    log("drawing figures ...")
    pictures = figures(res, graph, embryo=result["data"]["embryo"])
    result["fit"]["seconds"] = time.perf_counter() - started
    with staged_folder(out) as tmp:
        from neurosym import plots

        for name, fig in pictures.items():
            plots.save(fig, tmp / name)
        write_json(tmp / "fit.json", result)
    for line in summary_lines(res):
        log(line)
    log(f"wrote fit.json, {', '.join(pictures)} to {out} ({time.perf_counter() - started:.0f} s)")
    return result
