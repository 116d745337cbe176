"""The `neurosym` command.

  neurosym demo [--out DIR] [--quick] [--seed N]
      A tour of the engine: Life, Brian's Brain, Lenia's orbium and a growing neural CA trained
      to grow a drawn embryo. Writes pictures and `summary.json` to DIR
      (default `./neurosym-out/demo`).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

DEFAULT_OUT = pathlib.Path("neurosym-out")


def write_json(path, data) -> pathlib.Path:
    """Write `data` as JSON atomically: a reader sees the old file or the whole new one."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neurosym", description="devosym: cellular automata and developmental rules fitted to imaging.")
    sub = p.add_subparsers(dest="command", metavar="command")
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
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
