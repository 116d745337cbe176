"""A tour of the engine (`neurosym demo`): Life, Brian's Brain, Lenia's orbium and a growing
neural CA trained to grow a drawn embryo; pictures and summary.json written to a folder."""

from __future__ import annotations

import time

import numpy as np

from neurosym.files import check_out_folder, staged_folder, write_json

__all__ = ["demo"]


def _life(key, out, quick, log) -> dict:
    """A random soup settles into still lifes, blinkers and gliders."""
    import jax
    import jax.numpy as jnp

    import automata
    from neurosym import plots

    n, steps = (64, 64) if quick else (128, 256)
    lattice = automata.Lattice((n, n), "moore", boundary="wrap")
    x = jax.random.bernoulli(jax.random.fold_in(key, 1), 0.3, (n, n, 1)).astype(jnp.uint8)
    _, traj = automata.rollout(automata.LIFE, lattice, automata.LatticeState(x=x), num_steps=steps)
    alive = np.asarray(traj.x.reshape(steps, -1).mean(axis=1))
    picks = [0, steps // 8, steps // 2, steps - 1]
    fig = plots.frames([x] + [traj.x[i] for i in picks[1:]], ["t=0"] + [f"t={i + 1}" for i in picks[1:]],
                       cmap="gray_r", suptitle="Life (B3/S23)")
    plots.save(fig, out / "life.png")
    summary = {"size": n, "steps": steps, "alive_start": float(np.mean(np.asarray(x))), "alive_end": float(alive[-1])}
    log(f"life: {n}x{n}, {steps} steps, alive fraction {summary['alive_start']:.3f} -> {summary['alive_end']:.3f}")
    return summary


def _brians_brain(key, out, quick, log) -> dict:
    """A three-state excitable medium full of moving sparks."""
    import jax
    import jax.numpy as jnp

    import automata
    from neurosym import plots

    n, steps = (64, 32) if quick else (128, 96)
    lattice = automata.Lattice((n, n), "moore", boundary="wrap")
    x = jax.random.choice(jax.random.fold_in(key, 2), 3, (n, n, 1), p=jnp.array([0.8, 0.1, 0.1])).astype(jnp.uint8)
    _, traj = automata.rollout(automata.BriansBrain(), lattice, automata.LatticeState(x=x), num_steps=steps)
    picks = (0, steps // 2, steps - 1)
    fig = plots.frames([traj.x[i] for i in picks], [f"t={i + 1}" for i in picks],
                       cmap="magma", suptitle="Brian's Brain (0 off, 1 firing, 2 refractory)")
    plots.save(fig, out / "brians_brain.png")
    firing = float(np.mean(np.asarray(traj.x[-1]) == 1))
    log(f"brian's brain: {steps} steps, firing fraction at the end {firing:.3f}")
    return {"steps": steps, "firing_end": firing}


def _lenia(key, out, quick, log) -> dict:
    """The orbium glides while keeping its mass."""
    import automata
    from neurosym import plots

    steps = 50 if quick else 200
    lattice = automata.Lattice((64, 64), boundary="wrap")
    state = automata.orbium(lattice)
    _, traj = automata.rollout(automata.Lenia(), lattice, state, num_steps=steps)
    mass = np.asarray(traj.x.sum(axis=(1, 2, 3)))
    mass0 = float(np.asarray(state.x).sum())
    picks = (0, steps // 2, steps - 1)
    fig = plots.frames([state.x] + [traj.x[i] for i in picks[1:]], ["t=0"] + [f"t={i + 1}" for i in picks[1:]],
                       cmap="viridis", suptitle="Lenia: the orbium glides")
    plots.save(fig, out / "lenia.png")
    drift = float(np.max(np.abs(mass - mass0)) / mass0)
    log(f"lenia: {steps} steps, largest relative change of mass {drift:.3%}")
    return {"steps": steps, "mass_start": mass0, "max_relative_mass_change": drift}


def _growing_nca(key, out, quick, log) -> dict:
    """Learn to grow a drawn four-cell embryo from one seed cell."""
    import jax

    from neurosym import plots
    from neurosym.growing import train_growing_nca
    from neurosym.targets import embryo_target

    target = embryo_target(24 if quick else 32, num_cells=4, margin=4)
    iters = 30 if quick else 300
    log(f"growing NCA: {iters} training iterations (this is the slow part)")
    res = train_growing_nca(target, key=jax.random.fold_in(key, 3), num_iterations=iters, batch_size=4,
                            min_steps=24, max_steps=32, learning_rate=2e-3, progress=True)
    final, traj = res.grow(key=jax.random.fold_in(key, 4), num_steps=32)
    picks = (3, 11, 19, 31)
    fig = plots.frames([target] + [traj.x[i] for i in picks], ["target"] + [f"t={i + 1}" for i in picks],
                       suptitle="Growing neural CA")
    plots.save(fig, out / "nca_growth.png")
    fig = plots.curve(np.arange(1, iters + 1), res.losses, xlabel="iteration", ylabel="MSE (RGBA)",
                      title="Growing NCA training", logy=True)
    plots.save(fig, out / "nca_loss.png")
    grown = float(np.mean((np.asarray(final.x[..., :4]) - target) ** 2))
    log(f"growing NCA: loss {res.losses[0]:.4f} -> {res.losses[-1]:.4f}; grown picture MSE {grown:.4f}")
    return {"iterations": iters, "loss_first": float(res.losses[0]), "loss_last": float(res.losses[-1]),
            "grown_mse": grown}


def demo(out, *, quick: bool = False, seed: int = 0, log=print) -> dict:
    """Run the engine tour and write its pictures and `summary.json` to `out`; returns the summary.

    The folder appears only once everything in it is written.

    Args:
      out: output folder.
      quick: small sizes and few training iterations.
      seed: PRNG seed.
      log: where progress lines go.
    """
    import jax

    out = check_out_folder(out)
    key = jax.random.key(seed)
    summary: dict = {"seed": seed, "quick": quick, "backend": jax.default_backend()}
    with staged_folder(out) as tmp:
        for name, part in (("life", _life), ("brians_brain", _brians_brain), ("lenia", _lenia),
                           ("growing_nca", _growing_nca)):
            started = time.perf_counter()
            summary[name] = dict(part(key, tmp, quick, log), seconds=time.perf_counter() - started)
        write_json(tmp / "summary.json", summary)
    log(f"wrote pictures and summary.json to {out}")
    return summary
