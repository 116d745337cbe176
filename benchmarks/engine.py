"""Side-by-side throughput of the devosym engine and CAX, in one process, on the same inputs.

Cases (pick with `--cases`):

  life   Conway's Life (B3/S23) on a wrapped 2D Moore lattice: `automata.rollout` of
         `LifeLike("B3/S23")` against `cax.cs.Life`; cell-updates per second, and a check that
         both give the same board after the same number of steps from the same random start.
  nca    Growing neural CA forward pass (Mordvintsev et al. 2020, doi:10.23915/distill.00023):
         16 channels, 128 hidden units, fire rate 0.5, alive masking; cell-updates per second.
  train  One growing-NCA training step: a batch of seeds rolled out for a fixed number of steps,
         MSE of the RGBA channels against a target image, gradients and an optax Adam update;
         seconds per step.

Every engine is timed the same way: the computation is one `jax.jit` function of arrays, compiled
ahead of time (compile time reported apart), called once to warm up, then called in repeats
(each repeat loops enough calls to last `--min-time` seconds) with `block_until_ready`; the
median over repeats is reported. The CAX modules are run through `nnx.split`/`nnx.merge` inside
that jit, which removes nnx's per-call Python overhead: it can only make CAX look faster.

Results are printed as a table and written as JSON to `benchmarks/results/engine-<platform>.json`
(or `--out`). Benchmarks never pass or fail; the targets are printed for reference.

Usage:
  python benchmarks/engine.py                 # sizes chosen by platform (CPU or GPU)
  python benchmarks/engine.py --quick         # small sizes, a smoke run of about a minute on CPU
  python benchmarks/engine.py --cases life --life-sizes 4096 --life-steps 512
  python benchmarks/engine.py --skip-peer-train   # CAX's training step is slow on CPU
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import automata
from common import PACKAGES, run_meta
from neurosym.files import write_json

try:
    from cax.core import ComplexSystem
    from cax.core.perceive import ConvPerceive, grad_kernel, identity_kernel
    from cax.core.update import NCAUpdate
    from cax.cs.life import Life as CaxLife
except ImportError as err:  # pragma: no cover - depends on the environment
    raise SystemExit(
        f"benchmarks/engine.py compares against CAX, which is not importable here ({err}). "
        "Install it with `pip install -e '.[bench]'` (cax >= 0.4 needs Python >= 3.12)."
    ) from err

CASES = ("life", "nca", "train")
TARGETS = {"life": 100.0, "nca": 3.0, "train": 10.0}

BATCHINGS = ("vmap", "map")

NCA_CHANNELS = 16
NCA_HIDDEN = 128
NCA_FIRE_RATE = 0.5
NCA_LEARNING_RATE = 2e-3


# --------------------------------------------------------------------------- configuration
def _defaults(backend: str, quick: bool) -> dict:
    """Sizes per platform: big enough to time, small enough to finish on a 2-core CPU."""
    gpu = backend != "cpu"
    if quick:
        return dict(
            life_sizes=(256,), life_steps=64, nca_batch=2, nca_size=32, nca_steps=4,
            nca_batching=("vmap", "map"), train_batch=2, train_size=32, train_steps=8,
            repeats=3, min_time=0.05, peer_train_repeats=1,
        )
    if gpu:
        return dict(
            life_sizes=(256, 4096), life_steps=256, nca_batch=64, nca_size=128, nca_steps=64,
            nca_batching=("vmap",), train_batch=8, train_size=72, train_steps=64, repeats=5,
            min_time=0.2, peer_train_repeats=3,
        )
    return dict(
        life_sizes=(256, 1024), life_steps=256, nca_batch=64, nca_size=128, nca_steps=4,
        nca_batching=("vmap", "map"), train_batch=8, train_size=72, train_steps=64, repeats=5,
        min_time=0.2, peer_train_repeats=1,
    )


def _parse_args(argv):
    p = argparse.ArgumentParser(
        description="Benchmark the devosym engine against CAX on the same inputs.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of " + ",".join(CASES))
    p.add_argument("--out", default=None, help="JSON path (default benchmarks/results/engine-<platform>.json)")
    p.add_argument("--skip-peer-train", action="store_true", help="do not time CAX's training step")
    p.add_argument("--life-sizes", default=None, help="comma-separated square Life sizes, e.g. 256,4096")
    p.add_argument("--life-steps", type=int, default=None, help="Life steps per call")
    p.add_argument("--nca-batch", type=int, default=None, help="NCA forward batch size")
    p.add_argument("--nca-size", type=int, default=None, help="NCA forward lattice side")
    p.add_argument("--nca-steps", type=int, default=None, help="NCA forward steps per call")
    p.add_argument("--nca-batching", default=None,
                   help="comma-separated ways to run the NCA batch, timed for both engines: "
                        "vmap (all lattices side by side) and/or map (one lattice after another); "
                        "each engine's fastest is compared (default: vmap,map on CPU, vmap on GPU)")
    p.add_argument("--train-batch", type=int, default=None, help="training batch size")
    p.add_argument("--train-size", type=int, default=None, help="training lattice side")
    p.add_argument("--train-steps", type=int, default=None, help="rollout steps per training step")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats (median reported)")
    p.add_argument("--min-time", type=float, default=None, help="seconds each repeat lasts at least")
    p.add_argument("--peer-train-repeats", type=int, default=None,
                   help="timed repeats of CAX's training step (1 on CPU: it is slow)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    args = p.parse_args(argv)
    cases = tuple(c.strip() for c in args.cases.split(",") if c.strip())
    unknown = [c for c in cases if c not in CASES]
    if unknown or not cases:
        p.error(f"--cases takes a comma-separated subset of {','.join(CASES)}, got {args.cases!r}")
    args.cases = cases
    return args


def _config(args, backend: str) -> dict:
    cfg = _defaults(backend, args.quick)
    for name in cfg:
        value = getattr(args, name, None)
        if value is None:
            continue
        if name == "life_sizes":
            value = tuple(int(s) for s in str(value).split(",") if s.strip())
        if name == "nca_batching":
            value = tuple(s.strip() for s in str(value).split(",") if s.strip())
            bad = [s for s in value if s not in BATCHINGS]
            if bad or not value:
                raise SystemExit(f"--nca-batching takes a comma-separated subset of "
                                 f"{','.join(BATCHINGS)}, got {args.nca_batching!r}.")
        cfg[name] = value
    for name in ("life_steps", "nca_batch", "nca_size", "nca_steps", "train_batch", "train_size",
                 "train_steps", "repeats", "peer_train_repeats"):
        if cfg[name] < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1, got {cfg[name]}.")
    return cfg


# --------------------------------------------------------------------------- timing
def _memory(compiled) -> dict | None:
    """Bytes XLA plans for one call of a compiled function (arguments, outputs, temporaries)."""
    try:
        m = compiled.memory_analysis()
    except Exception:  # not every backend reports it
        return None
    if m is None:
        return None
    out = {
        "argument_bytes": int(m.argument_size_in_bytes),
        "output_bytes": int(m.output_size_in_bytes),
        "temp_bytes": int(m.temp_size_in_bytes),
        "alias_bytes": int(m.alias_size_in_bytes),
    }
    out["peak_estimate_bytes"] = (
        out["argument_bytes"] + out["output_bytes"] + out["temp_bytes"] - out["alias_bytes"]
    )
    return out


def _process_memory() -> dict:
    """Process-wide peaks so far (cumulative over the whole run, not per case)."""
    out = {"host_max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:
        stats = None
    if stats and "peak_bytes_in_use" in stats:
        out["device_peak_bytes_in_use"] = int(stats["peak_bytes_in_use"])
    return out


def _measure(fn, args, *, repeats: int, min_time: float, warmup: bool = True,
             budget_s: float = 120.0) -> dict:
    """Compile `fn` ahead of time, warm up, and time `repeats` repeats; seconds per call.

    Each repeat calls the compiled function `inner` times back to back (enough to last
    `min_time`) and blocks on the last result. Calls so slow that the repeats would exceed
    `budget_s` get fewer repeats, never fewer than 3. Without `warmup` the first call is the
    timed one (for computations too slow to run twice).
    """
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    record = {"compile_s": compile_s, "memory": _memory(compiled)}
    times = []
    t0 = time.perf_counter()
    out = jax.block_until_ready(compiled(*args))
    first_s = time.perf_counter() - t0
    record["first_call_s"] = first_s
    if warmup:
        inner = 1 if first_s >= min_time else min(10_000, math.ceil(min_time / max(first_s, 1e-7)))
        if first_s * repeats > budget_s:
            repeats = min(repeats, max(3, int(budget_s // max(first_s, 1e-7))))
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(inner):
                out = compiled(*args)
            jax.block_until_ready(out)
            times.append((time.perf_counter() - t0) / inner)
    else:
        inner = 1
        times.append(first_s)
        for _ in range(repeats - 1):
            t0 = time.perf_counter()
            out = jax.block_until_ready(compiled(*args))
            times.append(time.perf_counter() - t0)
    record.update(
        seconds=statistics.median(times), times_s=times, inner=inner, repeats=len(times),
        warmup=warmup, process_memory=_process_memory(),
    )
    return record, out


# --------------------------------------------------------------------------- our rules
def _our_life():
    life = getattr(automata, "LifeLike", None)
    if life is None:
        from automata.lifelike import LifeLike as life
    return life("B3/S23")


def _our_nca(key):
    """Parameters, a params -> rule map, a lattice builder and a seed builder of our growing NCA."""
    from automata import nca

    params = nca.init_nca(key, channels=NCA_CHANNELS, hidden=NCA_HIDDEN)

    def rule_of(p):
        return nca.growing_nca(p, fire_rate=NCA_FIRE_RATE)

    def lattice_of(size):
        # Zero padding beyond the edge, as in Mordvintsev et al. and CAX's "SAME" convolution.
        return automata.Lattice((size, size), neighbourhood="moore", boundary="fixed", fill=0.0)

    def seed_of(lattice):
        return nca.seed_state(lattice, NCA_CHANNELS).x

    return params, rule_of, lattice_of, seed_of


# --------------------------------------------------------------------------- CAX models
def _cax_life(padding: str):
    birth, survival = CaxLife.birth_survival_from_string("B3/S23")
    return CaxLife(birth=birth, survival=survival, padding=padding)


class _CaxGrowingNCA(ComplexSystem):
    """The growing NCA assembled from CAX's own parts, configured as in CAX's growing-NCA example:
    identity + two Sobel kernels per channel (depthwise, zero padding), a 1x1 MLP with one hidden
    layer, cell dropout 0.5 as the stochastic update, and max-pool alive masking on the last
    channel."""

    def __init__(self, *, channels: int, hidden: int, fire_rate: float, rngs: nnx.Rngs):
        self.perceive = ConvPerceive(
            channel_size=channels, perception_size=3 * channels, feature_group_count=channels,
            rngs=rngs,
        )
        self.update = NCAUpdate(
            channel_size=channels, perception_size=3 * channels, hidden_layer_sizes=(hidden,),
            cell_dropout_rate=1.0 - fire_rate, zeros_init=True, rngs=rngs,
        )
        kernel = jnp.concatenate([identity_kernel(num_dims=2), grad_kernel(num_dims=2)], axis=-1)
        kernel = jnp.concatenate([kernel] * channels, axis=-1)[:, :, None, :]
        self.perceive.conv.kernel.value = kernel

    def _step(self, state, input=None):
        return self.update(state, self.perceive(state), input)


# --------------------------------------------------------------------------- shared inputs
def _target_image(size: int) -> np.ndarray:
    """A deterministic RGBA target (premultiplied): a disc with an angular colour wheel, its
    diameter 5/9 of the side (40 of 72 sites, as in Mordvintsev et al.)."""
    c = (size - 1) / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    r = np.hypot(yy - c, xx - c)
    alpha = np.clip(size * 5 / 18 - r, 0.0, 1.0)
    ang = np.arctan2(yy - c, xx - c)
    rgb = 0.5 + 0.5 * np.stack([np.cos(ang), np.cos(ang + 2.1), np.cos(ang + 4.2)], -1)
    return np.concatenate([rgb * alpha[..., None], alpha[..., None]], -1).astype(np.float32)


def _to_cax_channels(x: np.ndarray | jax.Array) -> jax.Array:
    """Our channel order (RGBA in 0..3, hidden after) -> CAX's (hidden first, RGBA last)."""
    return jnp.concatenate([x[..., 4:], x[..., :4]], axis=-1)


def _nca_check(rng, *, batch=2, size=32, steps=8) -> dict:
    """Run both growing NCAs with the same weights, deterministically (every cell fires), from
    the same random states, and compare the results.

    Our `NCAParams` are written into CAX's layers: CAX keeps the hidden channels first and RGBA
    last, and orders its perception features identity, d/d(axis 0), d/d(axis 1), where ours are
    identity, d/d(axis 1), d/d(axis 0).
    """
    from automata import nca

    k1, k2 = jax.random.split(jax.random.key(int(rng.integers(1 << 31))))
    params = nca.init_nca(k1, channels=NCA_CHANNELS, hidden=NCA_HIDDEN)
    params = params.replace(w2=0.1 * jax.random.normal(k2, params.w2.shape))
    lattice = automata.Lattice((size, size), neighbourhood="moore", boundary="fixed", fill=0.0)
    x0 = jnp.asarray(rng.random((batch, size, size, NCA_CHANNELS)), jnp.float32)
    rule = nca.growing_nca(params, fire_rate=1.0)
    ours = jax.vmap(lambda x, k: automata.rollout(
        rule, lattice, automata.LatticeState(x=x), key=k, num_steps=steps, record=False)[0].x
    )(x0, jax.random.split(k2, batch))

    perm = np.r_[4:NCA_CHANNELS, 0:4]          # CAX channel j holds our channel perm[j]
    feat = np.array([0, 2, 1])                 # CAX filter f is our filter feat[f]
    rows = (perm[:, None] * 3 + feat[None, :]).reshape(-1)
    model = _CaxGrowingNCA(channels=NCA_CHANNELS, hidden=NCA_HIDDEN, fire_rate=1.0,
                           rngs=nnx.Rngs(0))
    first, last = model.update.layers[0], model.update.layers[-1]
    first.kernel.value = jnp.asarray(params.w1)[rows][None, None]
    first.bias.value = jnp.asarray(params.b1)
    last.kernel.value = jnp.asarray(params.w2)[:, perm][None, None]
    last.bias.value = jnp.asarray(params.b2)[perm]
    peer = model(_to_cax_channels(x0), num_steps=steps)
    a = np.asarray(_to_cax_channels(ours))
    b = np.asarray(peer)
    err = float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))
    return {
        "match": bool(err < 1e-4),
        "max_rel_diff": err,
        "what": f"same weights, fire rate 1, {batch}x{size}x{size} random states, {steps} steps, "
                "relative max difference < 1e-4",
    }


def _rate(cells: int, seconds: float) -> float:
    return cells / seconds if seconds > 0 else float("nan")


# --------------------------------------------------------------------------- cases
def case_life(cfg, key, rng) -> list[dict]:
    """Life B3/S23 on a wrapped square lattice, one record per size."""
    rule = _our_life()
    steps = cfg["life_steps"]
    records = []
    for n in cfg["life_sizes"]:
        x0 = rng.random((n, n, 1)) < 0.3
        lattice = automata.Lattice((n, n), neighbourhood="moore", boundary="wrap")

        def ours(x, lattice=lattice):
            final, _ = automata.rollout(
                rule, lattice, automata.LatticeState(x=x), num_steps=steps, record=False
            )
            return final.x

        cax_cs = _cax_life("CIRCULAR")
        graphdef, cax_state = nnx.split(cax_cs)

        def peer(state, x, graphdef=graphdef):
            return nnx.merge(graphdef, state)(x, num_steps=steps)

        print(f"  life {n}x{n}, {steps} steps: ours ...", flush=True)
        r_ours, y_ours = _measure(ours, (jnp.asarray(x0, jnp.uint8),),
                                  repeats=cfg["repeats"], min_time=cfg["min_time"])
        print(f"  life {n}x{n}, {steps} steps: CAX ...", flush=True)
        r_cax, y_cax = _measure(peer, (cax_state, jnp.asarray(x0, jnp.float32)),
                                repeats=cfg["repeats"], min_time=cfg["min_time"])
        a, b = np.asarray(y_ours) != 0, np.asarray(y_cax) > 0.5
        cells = n * n * steps
        records.append({
            "case": "life",
            "label": f"life B3/S23 {n}x{n} wrap",
            "params": {"size": n, "steps": steps, "density": 0.3, "boundary": "wrap / CIRCULAR",
                       "dtype_ours": "uint8", "dtype_cax": "float32"},
            "unit": "cell-updates/s",
            "ours": {**r_ours, "rate": _rate(cells, r_ours["seconds"])},
            "cax": {**r_cax, "rate": _rate(cells, r_cax["seconds"])},
            "speedup": r_cax["seconds"] / r_ours["seconds"],
            "target": TARGETS["life"],
            "check": {"match": bool((a == b).all()), "mismatched_sites": int((a != b).sum()),
                      "what": f"boards equal after {steps} steps from the same random start"},
        })
    # The other boundary: our fixed edge with fill 0 against CAX's ZERO padding.
    n = 128
    x0 = rng.random((n, n, 1)) < 0.3
    lat0 = automata.Lattice((n, n), neighbourhood="moore", boundary="fixed", fill=0.0)
    y_ours = automata.rollout(rule, lat0, automata.LatticeState(x=jnp.asarray(x0, jnp.uint8)),
                              num_steps=steps, record=False)[0].x
    y_cax = _cax_life("ZERO")(jnp.asarray(x0, jnp.float32), num_steps=steps)
    a, b = np.asarray(y_ours) != 0, np.asarray(y_cax) > 0.5
    records[-1]["check"]["fixed_edge"] = {
        "match": bool((a == b).all()), "mismatched_sites": int((a != b).sum()),
        "what": f"{n}x{n}, ours boundary='fixed' fill=0 vs CAX padding='ZERO', {steps} steps",
    }
    return records


def case_nca(cfg, key, rng) -> list[dict]:
    """Growing NCA forward rollout over a batch, both engines from the same random states.

    A batch can be run side by side (`jax.vmap` for ours, CAX's own leading batch axis) or one
    lattice after another (`jax.lax.map` for ours, a `lax.scan` over lattices for CAX). On a CPU
    the second keeps a lattice's working set in cache; each engine is timed both ways (as
    `--nca-batching` says) and its fastest is compared, all timings kept in the JSON.
    """
    batch, size, steps = cfg["nca_batch"], cfg["nca_size"], cfg["nca_steps"]
    k_init, k_run = jax.random.split(key)
    params, rule_of, lattice_of, _ = _our_nca(k_init)
    lattice = lattice_of(size)
    # Dense random states: every site alive in both engines, so the same work is done.
    x0 = rng.random((batch, size, size, NCA_CHANNELS)).astype(np.float32)
    keys = jax.random.split(k_run, batch)

    def our_batch(how):
        def ours(params, x, keys):
            rule = rule_of(params)

            def one(x, key):
                final, _ = automata.rollout(
                    rule, lattice, automata.LatticeState(x=x), key=key, num_steps=steps,
                    record=False,
                )
                return final.x

            if how == "map":
                return jax.lax.map(lambda xk: one(*xk), (x, keys))
            return jax.vmap(one)(x, keys)

        return ours

    cax_cs = _CaxGrowingNCA(channels=NCA_CHANNELS, hidden=NCA_HIDDEN, fire_rate=NCA_FIRE_RATE,
                            rngs=nnx.Rngs(int(cfg["seed"])))
    graphdef, cax_state = nnx.split(cax_cs)

    def peer_batch(how):
        def peer(state, x):
            if how == "vmap":
                # CAX's modules take leading batch axes directly (one dropout mask per step).
                return nnx.merge(graphdef, state)(x, num_steps=steps)

            def one(state, xi):  # the module's random state is carried from lattice to lattice
                model = nnx.merge(graphdef, state)
                y = model(xi[None], num_steps=steps)[0]
                return nnx.state(model), y

            return jax.lax.scan(one, state, x)[1]

        return peer

    runs = {"ours": {}, "cax": {}}
    what = f"nca forward {batch}x{size}x{size}x{NCA_CHANNELS}, {steps} steps"
    for how in cfg["nca_batching"]:
        print(f"  {what}, {how}: ours ...", flush=True)
        runs["ours"][how] = _measure(our_batch(how), (params, jnp.asarray(x0), keys),
                                     repeats=cfg["repeats"], min_time=cfg["min_time"])[0]
        print(f"  {what}, {how}: CAX ...", flush=True)
        runs["cax"][how] = _measure(peer_batch(how), (cax_state, _to_cax_channels(jnp.asarray(x0))),
                                    repeats=cfg["repeats"], min_time=cfg["min_time"])[0]
    cells = batch * size * size * steps
    best = {}
    for engine, by_how in runs.items():
        for how, r in by_how.items():
            r["rate"] = _rate(cells, r["seconds"])
        how = min(by_how, key=lambda h: by_how[h]["seconds"])
        best[engine] = {**by_how[how], "batching": how}
    return [{
        "case": "nca",
        "label": f"growing NCA forward b{batch} {size}x{size}",
        "params": {"batch": batch, "size": size, "channels": NCA_CHANNELS, "hidden": NCA_HIDDEN,
                   "steps": steps, "fire_rate": NCA_FIRE_RATE, "init": "uniform [0, 1) states",
                   "batching": list(cfg["nca_batching"])},
        "unit": "cell-updates/s",
        "ours": best["ours"],
        "cax": best["cax"],
        "by_batching": {how: {"ours": runs["ours"][how]["rate"], "cax": runs["cax"][how]["rate"]}
                        for how in cfg["nca_batching"]},
        "speedup": best["cax"]["seconds"] / best["ours"]["seconds"],
        "target": TARGETS["nca"],
        "check": _nca_check(rng),
    }]


def case_train(cfg, key, rng, *, skip_peer: bool) -> list[dict]:
    """One growing-NCA training step: rollout, RGBA MSE, gradients, clipped Adam update."""
    batch, size, steps = cfg["train_batch"], cfg["train_size"], cfg["train_steps"]
    k_init, k_run = jax.random.split(key)
    params, rule_of, lattice_of, seed_of = _our_nca(k_init)
    lattice = lattice_of(size)
    target = jnp.asarray(_target_image(size))
    seed = jnp.asarray(seed_of(lattice), jnp.float32)
    x0 = jnp.broadcast_to(seed, (batch,) + seed.shape)
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(NCA_LEARNING_RATE))
    opt_state = tx.init(params)

    def loss_fn(params, x, keys):
        rule = rule_of(params)

        def one(x, key):
            final, _ = automata.rollout(
                rule, lattice, automata.LatticeState(x=x), key=key, num_steps=steps, record=False
            )
            return final.x

        y = jax.vmap(one)(x, keys)
        return jnp.mean(jnp.square(y[..., :4] - target))

    def ours(params, opt_state, x, key):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, jax.random.split(key, batch))
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    print(f"  train b{batch} {size}x{size}, {steps} steps: ours ...", flush=True)
    r_ours, (_, _, loss_ours) = _measure(
        ours, (params, opt_state, x0, k_run), repeats=cfg["repeats"], min_time=cfg["min_time"]
    )
    record = {
        "case": "train",
        "label": f"growing NCA train step b{batch} {size}x{size} x{steps}",
        "params": {"batch": batch, "size": size, "steps": steps, "channels": NCA_CHANNELS,
                   "hidden": NCA_HIDDEN, "optimizer": "clip_by_global_norm(1) + adam(2e-3)",
                   "loss": "MSE of RGBA after the last step vs a fixed target"},
        "unit": "s/step",
        "ours": {**r_ours, "rate": 1.0 / r_ours["seconds"], "loss": float(loss_ours)},
        "cax": None,
        "speedup": None,
        "target": TARGETS["train"],
        "check": None,
    }
    if skip_peer:
        return [record]

    cax_cs = _CaxGrowingNCA(channels=NCA_CHANNELS, hidden=NCA_HIDDEN, fire_rate=NCA_FIRE_RATE,
                            rngs=nnx.Rngs(int(cfg["seed"])))
    wrt = nnx.All(nnx.Param, nnx.PathContains("update"))  # the Sobel kernels stay fixed
    optimizer = nnx.Optimizer(cax_cs, tx, wrt=wrt)
    graphdef, cax_state = nnx.split((cax_cs, optimizer))

    def cax_loss(model, x):
        y = model(x, num_steps=steps)
        return jnp.mean(jnp.square(y[..., -4:] - target))

    def peer(state, x):
        model, opt = nnx.merge(graphdef, state)
        loss, grads = nnx.value_and_grad(cax_loss, argnums=nnx.DiffState(0, wrt))(model, x)
        opt.update(model, grads)
        return nnx.state((model, opt)), loss

    slow = cfg["peer_train_repeats"] == 1
    print(f"  train b{batch} {size}x{size}, {steps} steps: CAX "
          f"({'one timed call, no warm-up' if slow else 'warm-up + repeats'}) ...", flush=True)
    r_cax, (_, loss_cax) = _measure(
        peer, (cax_state, _to_cax_channels(x0)), repeats=cfg["peer_train_repeats"],
        min_time=0.0, warmup=not slow,
    )
    record["cax"] = {**r_cax, "rate": 1.0 / r_cax["seconds"], "loss": float(loss_cax)}
    record["speedup"] = r_cax["seconds"] / r_ours["seconds"]
    return [record]


# --------------------------------------------------------------------------- report
def _meta(cfg) -> dict:
    return {
        **run_meta(packages=PACKAGES + ("cax",)),
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
        "notes": [
            "speedup = CAX seconds / our seconds for the same work (> 1: ours is faster).",
            "memory.peak_estimate_bytes: what XLA plans for one call of the compiled function.",
            "process_memory: process-wide peaks so far (ru_maxrss on the host, "
            "peak_bytes_in_use on an accelerator), cumulative over the run, not per case.",
        ],
    }


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    return f"{v:.3g} s" if unit == "s/step" else f"{v:.3g}"


def _mark(ok: bool | None) -> str:
    sym = ("\u2713" if ok else "\u2717") if ok is not None else "-"
    enc = sys.stdout.encoding or "ascii"
    try:
        sym.encode(enc)
    except (UnicodeEncodeError, LookupError):
        sym = ("ok" if ok else "DIFF") if ok is not None else "-"
    return sym


def _table(records) -> str:
    rows = [("case", "unit", "ours", "CAX", "speed-up", "target", "same")]
    for r in records:
        unit = r["unit"]
        ours = r["ours"]["seconds"] if unit == "s/step" else r["ours"]["rate"]
        peer = None if r["cax"] is None else (
            r["cax"]["seconds"] if unit == "s/step" else r["cax"]["rate"])
        ok = None if not r["check"] else r["check"]["match"]
        label = r["label"]
        if "by_batching" in r:
            label += f" ({r['ours']['batching']} / {r['cax']['batching']})"
        rows.append((
            label, unit, _fmt(ours, unit), _fmt(peer, unit),
            "-" if r["speedup"] is None else f"{r['speedup']:.1f}x",
            f">={r['target']:g}x", _mark(ok),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None) -> int:
    args = _parse_args(argv)
    backend = jax.default_backend()
    cfg = _config(args, backend)
    cfg["seed"] = args.seed
    out = Path(args.out) if args.out else Path(__file__).resolve().parent / "results" / f"engine-{backend}.json"
    meta = _meta(cfg)
    print(f"devosym engine vs CAX {meta['versions']['cax']} on {backend} ({meta['device']}), "
          f"jax {meta['versions']['jax']}", flush=True)
    load = meta["load_average_at_start"][0]
    if backend == "cpu" and load > (os.cpu_count() or 1):
        print(f"note: load average {load:.1f} exceeds the {os.cpu_count()} CPUs; timings will be "
              "noisy and low for both engines.", flush=True)

    key = jax.random.key(args.seed)
    rng = np.random.default_rng(args.seed)
    records = []
    for i, case in enumerate(args.cases):
        case_key = jax.random.fold_in(key, i)
        print(f"[{case}]", flush=True)
        if case == "life":
            records += case_life(cfg, case_key, rng)
        elif case == "nca":
            records += case_nca(cfg, case_key, rng)
        else:
            records += case_train(cfg, case_key, rng, skip_peer=args.skip_peer_train)

    print()
    print(_table(records))
    for r in records:
        chk = r["check"] or {}
        if chk and not chk["match"]:
            print(f"MISMATCH in {r['label']}: {chk['mismatched_sites']} sites differ ({chk['what']}).")
        fixed = chk.get("fixed_edge")
        if fixed:
            print(f"fixed edge check ({fixed['what']}): {_mark(fixed['match'])}"
                  + ("" if fixed["match"] else f", {fixed['mismatched_sites']} sites differ"))
    meta["process_memory"] = _process_memory()
    meta["load_average_at_end"] = list(os.getloadavg())
    write_json(out, {"meta": meta, "results": records}, default=float)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
