"""The `neurosym` command.

  neurosym fit [--data PATH] [--format cd|acetree|tracks] [--minutes-per-frame M] [--out DIR]
      Fit a division model (per-lineage cell-cycle periods, their lengthening per generation,
      asynchrony, and a game term) to an embryo's lineage; the embedded C. elegans embryo when
      no --data is given. Writes fit.json and figures to DIR (default ./neurosym-out).

  neurosym simulate [--data PATH | --from-fit FIT.json] [--out DIR]
      Run a division model and write its cell counts, frames and lineage.

  neurosym demo [--out DIR] [--quick] [--seed N]
      A tour of the engine: Life, Brian's Brain, Lenia's orbium and a growing neural CA trained
      to grow a drawn embryo. Writes pictures and `summary.json` to DIR
      (default `./neurosym-out/demo`).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from neurosym.files import write_json

DEFAULT_OUT = pathlib.Path("neurosym-out")


def _prepare_out(out) -> pathlib.Path:
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"neurosym: --out {out} is a file, not a folder; pass a folder path.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SystemExit(f"neurosym: cannot create the output folder {out} ({err}); pass a writable --out.")
    return out


def demo(out, *, quick: bool = False, seed: int = 0, log=print) -> dict:
    """Run the engine tour and write its pictures and `summary.json` to `out`; returns the summary."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import automata
    from neurosym import plots
    from neurosym.growing import train_growing_nca
    from neurosym.targets import embryo_target

    out = _prepare_out(out)
    key = jax.random.key(seed)
    summary: dict = {"seed": seed, "quick": quick, "backend": jax.default_backend()}

    # Life: a random soup settles into still lifes, blinkers and gliders.
    t0 = time.perf_counter()
    n = 64 if quick else 128
    life_steps = 64 if quick else 256
    lattice = automata.Lattice((n, n), "moore", boundary="wrap")
    x = jax.random.bernoulli(jax.random.fold_in(key, 1), 0.3, (n, n, 1)).astype(jnp.uint8)
    _, traj = automata.rollout(automata.LIFE, lattice, automata.LatticeState(x=x), num_steps=life_steps)
    alive = np.asarray(traj.x.reshape(life_steps, -1).mean(axis=1))
    picks = [0, life_steps // 8, life_steps // 2, life_steps - 1]
    fig = plots.frames([x] + [traj.x[i] for i in picks[1:]], [f"t={0}"] + [f"t={i + 1}" for i in picks[1:]],
                       cmap="gray_r", suptitle="Life (B3/S23)")
    plots.save(fig, out / "life.png")
    summary["life"] = {"size": n, "steps": life_steps, "alive_start": float(np.mean(np.asarray(x))),
                       "alive_end": float(alive[-1]), "seconds": time.perf_counter() - t0}
    log(f"life: {n}x{n}, {life_steps} steps, alive fraction {summary['life']['alive_start']:.3f} -> "
        f"{summary['life']['alive_end']:.3f}")

    # Brian's Brain: a three-state excitable medium full of moving sparks.
    t0 = time.perf_counter()
    bb_steps = 32 if quick else 96
    x = jax.random.choice(jax.random.fold_in(key, 2), 3, (n, n, 1), p=jnp.array([0.8, 0.1, 0.1])).astype(jnp.uint8)
    _, traj = automata.rollout(automata.BriansBrain(), lattice, automata.LatticeState(x=x), num_steps=bb_steps)
    fig = plots.frames([traj.x[i] for i in (0, bb_steps // 2, bb_steps - 1)],
                       [f"t={i + 1}" for i in (0, bb_steps // 2, bb_steps - 1)],
                       cmap="magma", suptitle="Brian's Brain (0 off, 1 firing, 2 refractory)")
    plots.save(fig, out / "brians_brain.png")
    firing = float(np.mean(np.asarray(traj.x[-1]) == 1))
    summary["brians_brain"] = {"steps": bb_steps, "firing_end": firing, "seconds": time.perf_counter() - t0}
    log(f"brian's brain: {bb_steps} steps, firing fraction at the end {firing:.3f}")

    # Lenia: the orbium glides while keeping its mass.
    t0 = time.perf_counter()
    m = 64
    lenia_steps = 50 if quick else 200
    llat = automata.Lattice((m, m), boundary="wrap")
    state = automata.orbium(llat)
    _, traj = automata.rollout(automata.Lenia(), llat, state, num_steps=lenia_steps)
    mass = np.asarray(traj.x.sum(axis=(1, 2, 3)))
    mass0 = float(np.asarray(state.x).sum())
    picks = (0, lenia_steps // 2, lenia_steps - 1)
    fig = plots.frames([state.x] + [traj.x[i] for i in picks[1:]], ["t=0"] + [f"t={i + 1}" for i in picks[1:]],
                       cmap="viridis", suptitle="Lenia: the orbium glides")
    plots.save(fig, out / "lenia.png")
    drift = float(np.max(np.abs(mass - mass0)) / mass0)
    summary["lenia"] = {"steps": lenia_steps, "mass_start": mass0, "max_relative_mass_change": drift,
                        "seconds": time.perf_counter() - t0}
    log(f"lenia: {lenia_steps} steps, largest relative change of mass {drift:.3%}")

    # Growing neural CA: learn to grow a drawn four-cell embryo from one seed cell.
    t0 = time.perf_counter()
    target = embryo_target(24 if quick else 32, num_cells=4, margin=4)
    iters = 30 if quick else 300
    log(f"growing NCA: {iters} training iterations (this is the slow part)")
    res = train_growing_nca(target, key=jax.random.fold_in(key, 3), num_iterations=iters,
                            batch_size=4, min_steps=24, max_steps=32, learning_rate=2e-3,
                            progress=True)
    final, traj = res.grow(key=jax.random.fold_in(key, 4), num_steps=32)
    picks = (3, 11, 19, 31)
    fig = plots.frames([target] + [traj.x[i] for i in picks], ["target"] + [f"t={i + 1}" for i in picks],
                       suptitle="Growing neural CA")
    plots.save(fig, out / "nca_growth.png")
    fig = plots.curve(np.arange(1, iters + 1), res.losses, xlabel="iteration", ylabel="MSE (RGBA)",
                      title="Growing NCA training", logy=True)
    plots.save(fig, out / "nca_loss.png")
    grown_error = float(np.mean((np.asarray(final.x[..., :4]) - target) ** 2))
    summary["growing_nca"] = {"iterations": iters, "loss_first": float(res.losses[0]),
                              "loss_last": float(res.losses[-1]), "grown_mse": grown_error,
                              "seconds": time.perf_counter() - t0}
    log(f"growing NCA: loss {res.losses[0]:.4f} -> {res.losses[-1]:.4f}; grown picture MSE {grown_error:.4f}")

    write_json(out / "summary.json", summary)
    log(f"wrote pictures and summary.json to {out}")
    return summary


def _load_table(args):
    from neurosym import data as nsdata
    from neurosym import datasets

    if args.data is None:
        if args.format is not None:
            raise SystemExit("neurosym: --format needs --data (the embedded embryo is read as it is).")
        name = args.embryo or datasets.DEFAULT_CELEGANS
        return datasets.load_celegans(name, minutes_per_frame=args.minutes_per_frame), f"embedded:{name}"
    path = pathlib.Path(args.data)
    if not path.exists():
        raise SystemExit(f"neurosym: --data {path} does not exist; give the path of a CD table, an "
                         "AceTree .zip or a track table (.csv).")
    try:
        table = nsdata.read(path, format=args.format, minutes_per_frame=args.minutes_per_frame)
    except ValueError as err:
        raise SystemExit(f"neurosym: could not read {path}: {err}")
    embryos = table.embryos()
    if len(embryos) > 1:
        pick = args.embryo or embryos[0]
        if pick not in embryos:
            raise SystemExit(f"neurosym: --embryo {pick!r} is not in {path}; it holds {', '.join(map(str, embryos))}.")
        table = table.select(embryo=pick)
    return table, str(path)


def fit_command(args, log=print) -> dict:
    """`neurosym fit`: fit the division model and write fit.json and figures; returns the JSON."""
    import jax
    import numpy as np

    from neurosym import data as nsdata
    from neurosym import plots
    from neurosym.lineage_fit import fit_lineage

    out = _prepare_out(args.out)
    t_start = time.perf_counter()
    table, source = _load_table(args)
    graph = nsdata.lineage(table)
    frames = table.frames()
    log(f"data: {source}: {len(set(table.cell))} cells, {len(frames)} frames, "
        f"{float(np.max(table.time_min) - np.min(table.time_min)):.0f} minutes")
    res = fit_lineage(table, graph=graph, game=not args.no_game, num_steps=args.steps,
                      num_starts=args.starts, key=jax.random.key(args.seed), progress=not args.quiet)
    m = res.model
    minutes = [float(v) for v in m.times]
    result = {
        "cycle_minutes": res.cycle_minutes,
        "measured_cycle_minutes": res.measured_cycle,
        "cycle_relative_error": res.cycle_errors(),
        "params": res.named_params(),
        # The total over the frames on which every lineage was still tracked.
        "observed_counts": [[t, int(c)] for t, c, k in zip(minutes, res.observed_total, res.complete) if k],
        "simulated_counts": [[t, float(c)] for t, c, k in zip(minutes, res.simulated_total, res.complete) if k],
        "observed_counts_by_lineage": {L: [int(v) for v in m.observed[:, i]] for i, L in enumerate(m.lineages)},
        "simulated_counts_by_lineage": {L: [float(v) for v in res.simulated[:, i]] for i, L in enumerate(m.lineages)},
        "count_relative_rms": res.relative_rms(),
        "loss_history": [float(v) for v in res.result.losses[:, res.result.best_start]],
        "fit": {"steps": args.steps, "starts": args.starts, "best_start": res.result.best_start,
                "game_term": res.game, "seed": args.seed, "message": res.result.diagnostics.get("message", ""),
                "seconds": time.perf_counter() - t_start},
        "data": {"source": source, "embryo": str(table.embryos()[0]), "cells": int(len(set(table.cell))),
                 "frames": int(len(frames)), "minutes": float(np.max(table.time_min) - np.min(table.time_min)),
                 "minutes_per_frame": m.dt,
                 "lineage_problems": [p.message for p in graph.graph.get("report").problems]
                 if graph.graph.get("report") is not None else []},
    }
    # Figures: counts per lineage, the lineage tree, the parameters across starts.
    import matplotlib.pyplot as plt

    n = len(m.lineages)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for i, L in enumerate(m.lineages):
        ax = axes[i // cols][i % cols]
        seen = m.mask[:, i]
        ax.plot(m.times[seen], m.observed[seen, i], "k.", ms=3, label="observed")
        ax.plot(m.times, res.simulated[:, i], "C3-", label="model")
        ax.set_title(L, fontsize=9)
        ax.set_xlabel("minutes")
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].axis("off")
    axes[0][0].set_ylabel("cells")
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.suptitle(f"Cells per lineage, observed and fitted (relative RMS of the total {res.relative_rms():.1%})")
    fig.tight_layout()
    plots.save(fig, out / "counts_by_lineage.png")
    plots.save(plots.lineage_tree(graph, title=f"Lineage of {result['data']['embryo']}"), out / "lineage_tree.png")
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * n + 3), 3.4))
    starts = res.result.all_params
    per = np.exp(np.asarray(starts["log_period"]))  # (starts, L)
    for s in range(per.shape[0]):
        ax.plot(range(n), per[s], "o", color="0.6", ms=4, label="each start" if s == 0 else None)
    ax.plot(range(n), np.exp(np.asarray(res.params["log_period"])), "C3s", ms=6, label="best start")
    meas = [res.measured_cycle.get(L, np.nan) for L in m.lineages]
    fitted = [res.cycle_minutes.get(L, np.nan) for L in m.lineages]
    ax.plot(range(n), meas, "k_", ms=14, mew=2, label="measured mean cycle")
    ax.plot(range(n), fitted, "C0x", ms=7, label="fitted mean cycle")
    ax.set_xticks(range(n), m.lineages)
    ax.set_ylabel("minutes")
    ax.set_title("Reference-generation period per lineage, across starts")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    plots.save(fig, out / "parameters.png")
    write_json(out / "fit.json", result)
    log("lineage   measured   fitted   error")
    for L, v in res.cycle_minutes.items():
        meas_v = res.measured_cycle.get(L)
        err = f"{abs(v - meas_v) / meas_v:6.1%}" if meas_v else "     -"
        log(f"{L:8s} {meas_v if meas_v else float('nan'):8.1f} {v:8.1f}   {err}")
    log(f"total cell count: relative RMS error {res.relative_rms():.1%}")
    log(f"wrote fit.json, counts_by_lineage.png, lineage_tree.png, parameters.png to {out} "
        f"({time.perf_counter() - t_start:.0f} s)")
    return result


def simulate_command(args, log=print) -> dict:
    """`neurosym simulate`: run the stochastic division model on a lattice; write counts and frames."""
    import jax
    import numpy as np

    import automata
    from neurosym import plots
    from rules.celegans import SIMULATION_PERIODS, founder_table
    from rules.division import CellCycle, DivisionModel, Shove, simulate
    from rules.lineage import lineage_graph
    from rules.population import Population

    out = _prepare_out(args.out)
    table = founder_table()
    periods = dict(SIMULATION_PERIODS)
    if args.from_fit is not None:
        try:
            fitted = json.loads(pathlib.Path(args.from_fit).read_text())["cycle_minutes"]
        except (OSError, ValueError, KeyError) as err:
            raise SystemExit(f"neurosym: --from-fit {args.from_fit} is not a fit.json written by "
                             f"`neurosym fit` ({err}).")
        periods.update({k: float(v) for k, v in fitted.items() if k in periods})
    period = np.array([periods.get(n, 20.0) for n in table.names], np.float32)
    model = DivisionModel(table=table, cycle=CellCycle(period=period, cv=args.cv), placement=Shove(), dt=1.0)
    side = args.size
    lattice = automata.Lattice((side, side), "von_neumann", boundary="fixed")
    pop = Population.create(lattice, [[side // 2, side // 2]], [table.names.index("P0")], capacity=args.capacity)
    final, hist = simulate(model, lattice, pop, key=jax.random.key(args.seed), num_steps=args.minutes, throw=True)
    counts = np.asarray(hist.count)
    graph = lineage_graph(final, names=table.names)
    kinds = np.asarray(final.kind)
    occ = np.asarray(final.occupancy)
    img = np.where(occ >= 0, kinds[np.maximum(occ, 0)] + 1, 0)
    fig = plots.frames([img], [f"t={args.minutes} min"], cmap="tab20", suptitle="Simulated embryo (kind per site)")
    plots.save(fig, out / "simulated_tissue.png")
    fig = plots.curve(np.arange(1, args.minutes + 1), counts.sum(axis=1), xlabel="minutes", ylabel="cells",
                      title="Simulated cell count")
    plots.save(fig, out / "simulated_counts.png")
    result = {"periods_min": periods, "cv": args.cv, "minutes": args.minutes,
              "counts": [[i + 1, int(c)] for i, c in enumerate(counts.sum(axis=1))],
              "counts_by_kind": {n: [int(v) for v in counts[:, k]] for k, n in enumerate(table.names)},
              "lineage_edges": [[str(a), str(b)] for a, b in graph.edges]}
    write_json(out / "simulation.json", result)
    log(f"simulated {args.minutes} minutes: {int(counts[-1].sum())} cells; wrote simulation.json and "
        f"pictures to {out}")
    return result


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neurosym", description="devosym: cellular automata and developmental rules fitted to imaging.")
    sub = p.add_subparsers(dest="command", metavar="command")
    f = sub.add_parser(
        "fit", help="fit a division model to an embryo's lineage (the main job)",
        description="Fit per-lineage cell-cycle periods (and how they lengthen each generation), "
        "asynchrony within each lineage and an optional game term to the number of cells of each "
        "lineage over time. With no --data, the embedded C. elegans embryo is used. Writes fit.json "
        "(fitted and directly measured cycle lengths, parameters, observed and simulated counts, "
        "loss history, data summary) and figures.",
    )
    f.add_argument("--data", default=None, help="CD table (.csv/.csv.gz), AceTree nuclei .zip or track table (.csv)")
    f.add_argument("--format", choices=("cd", "acetree", "tracks"), default=None,
                   help="file format (default: worked out from the file)")
    f.add_argument("--minutes-per-frame", type=float, default=None,
                   help="minutes between frames when the data has no TIME file")
    f.add_argument("--embryo", default=None, help="which embryo (embedded name, or one in a multi-embryo file)")
    f.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: %(default)s)")
    f.add_argument("--steps", type=int, default=200, help="optimiser steps (default: %(default)s)")
    f.add_argument("--starts", type=int, default=4, help="initial guesses fitted side by side (default: %(default)s)")
    f.add_argument("--no-game", action="store_true", help="switch the game (payoff-driven division) term off")
    f.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    f.add_argument("--quiet", action="store_true", help="no progress lines")
    s = sub.add_parser("simulate", help="run a C. elegans-like division model; write counts, a picture and the lineage")
    s.add_argument("--from-fit", default=None, help="take cycle lengths from a fit.json")
    s.add_argument("--minutes", type=int, default=120, help="minutes to simulate (default: %(default)s)")
    s.add_argument("--cv", type=float, default=0.1, help="asynchrony: coefficient of variation of periods")
    s.add_argument("--size", type=int, default=32, help="lattice side (default: %(default)s)")
    s.add_argument("--capacity", type=int, default=1024, help="cell slots (default: %(default)s)")
    s.add_argument("--out", default=str(DEFAULT_OUT / "simulate"), help="output folder (default: %(default)s)")
    s.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    d = sub.add_parser("demo", help="a tour of the engine; writes pictures and summary.json")
    d.add_argument("--out", default=str(DEFAULT_OUT / "demo"), help="output folder (default: %(default)s)")
    d.add_argument("--quick", action="store_true", help="small sizes, about a minute on a laptop CPU")
    d.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    return p


def main(argv=None) -> int:
    p = _parser()
    args = p.parse_args(argv)
    if args.command is None:
        p.print_help(sys.stderr)
        return 2
    if args.command == "demo":
        demo(args.out, quick=args.quick, seed=args.seed)
    elif args.command == "fit":
        if args.steps < 1 or args.starts < 1:
            raise SystemExit("neurosym: --steps and --starts must be at least 1.")
        fit_command(args)
    elif args.command == "simulate":
        if args.minutes < 1:
            raise SystemExit("neurosym: --minutes must be at least 1.")
        simulate_command(args)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
