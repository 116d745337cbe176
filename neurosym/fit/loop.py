"""Fit parameters to observations: an optax loop over a pure loss, multi-start and sharded.

`fit` minimises `loss_fn(params, ctx)` plus constraint and prior terms with an optax optimiser.
The loop is a jitted `lax.scan` over steps, `vmap`-ed over several starts (initial guesses) and
sharded over devices along the start axis; progress is printed every few seconds, checkpoints
resume bit for bit, and a loss or gradient that turns non-finite stops the fit with the last
good parameters kept. `sweep` evaluates a function over a batch of parameter sets, sharded the
same way.

The loss-function protocol
--------------------------
`loss_fn(params, ctx) -> loss` is a pure, jit-able function of one start's parameters and a
`FitContext` with:

- `ctx.key`: the PRNG key for this step (draw all randomness of the step from it);
- `ctx.step`: the step number, an int32 scalar (e.g. to anneal a temperature);
- `ctx.data`: the `data=` pytree given to `fit` (observations; checked for NaN/inf up front and
  passed as a jit argument rather than baked into the program as a constant);
- `ctx.estimator`: the gradient estimator (`neurosym.fit.estimators`), static, so branch on it
  freely; it compares equal to its name: `PathwiseGradient()` == `"pathwise"` (build the loss
  from relaxed samples, e.g. `automata.relax.soft_bernoulli`), `StraightThrough()` ==
  `"straight_through"` (exact discrete samples forward, relaxed gradient backward) or
  `ScoreFunction()` == `"score_function"` (exact samples, no gradient through them; REINFORCE).
  `ctx.bernoulli(key, p)` draws the right kind of Bernoulli sample for each.

The loss returns either

- a scalar: minimised as it is (under any estimator; a scalar returned under
  `"score_function"` is taken to be a surrogate you built yourself); or
- a pair `(value, log_prob)`: `value` is the scalar loss of one sample and `log_prob` the
  log-probability of the drawn discrete sample under `params` (any shape; it is summed). Under
  `"score_function"`, `fit` differentiates `automata.relax.score_function_surrogate(log_prob,
  value, baseline)`, whose gradient is an unbiased estimate of the gradient of the expected
  loss. The baseline is the mean of the other samples (leave-one-out) when `num_samples > 1`,
  else a bias-corrected exponential moving average of earlier steps' values
  (`ScoreFunction(baseline_decay=0.9)`); neither
  depends on the current sample, so the estimate stays unbiased. Under the other estimators
  `log_prob` is ignored and `value` is differentiated directly.

With `num_samples > 1` the loss is evaluated on `num_samples` keys split from the step key and
averaged. The step key is `fold_in(loss_key, step)` with `loss_key` derived from `fit`'s `key`,
and it is the same for every start (common random numbers): starts differ only in their
initial parameters, so their losses are compared on the same noise, a multi-start fit equals
separate single-start fits from the same initial parameters, and a run cut into pieces
(checkpoints) reproduces an uncut one exactly.

Example:
  >>> import jax, jax.numpy as jnp
  >>> from neurosym.fit import ScoreFunction, fit
  >>> res = fit(lambda p, ctx: jnp.sum((p["x"] - 3.0) ** 2), {"x": jnp.zeros(2)},
  ...           key=jax.random.key(0), num_steps=200, learning_rate=0.1, progress=False)
  >>> [round(float(v), 3) for v in res.params["x"]]
  [3.0, 3.0]

  A Bernoulli rate from exact samples, with the score-function estimator (a decaying learning
  rate tames the noisy gradients):

  >>> import optax
  >>> from automata import relax
  >>> def loss(logit, ctx):  # the simulated mean of 256 draws against an observed 0.3
  ...     p = jax.nn.sigmoid(logit)
  ...     b = ctx.bernoulli(ctx.key, p, shape=(256,))
  ...     return (b.mean() - 0.3) ** 2, relax.bernoulli_log_prob(b, p).sum()
  >>> res = fit(loss, jnp.array(0.0), key=jax.random.key(0), num_steps=300,
  ...           optimizer=optax.adam(optax.exponential_decay(0.1, 300, 0.05)),
  ...           estimator=ScoreFunction(), progress=False)
  >>> abs(float(jax.nn.sigmoid(res.params)) - 0.3) < 0.03
  True
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
import warnings
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from automata._checks import check_int, check_key
from neurosym.fit.batch import Layout, host, layout
from neurosym.fit.checkpoint import check_compatible, load_checkpoint, restore, save_checkpoint
from neurosym.fit.checks import check_devices, check_finite, check_optimizer, check_params, check_terms
from neurosym.fit.estimators import Estimator, as_estimator
from neurosym.fit.result import FitResult, NonFiniteError, make_result
from neurosym.fit.step import (HISTORY, STEPS_PER_CALL, FitState, Program, compiled, pad_state,
                               state_shardings, strip_state)
from neurosym.progress import Progress

__all__ = ["fit"]

# Aim for about this long per compiled call: the granularity of progress lines and Ctrl-C.
_SECONDS_PER_CALL = 1.0


def _initial_params(init_params, init_fn, init_spread, num_starts, key):
    """Stacked `(num_starts, ...)` initial parameters."""
    if init_fn is not None:
        if init_params is not None:
            raise ValueError(
                "Pass either init_params (start 0 as given, the other starts jittered by "
                "init_spread) or init_fn(key) -> params, not both."
            )
        if not callable(init_fn):
            raise TypeError(f"init_fn must be a function key -> params, got {init_fn!r}.")
        starts = [check_params(init_fn(jax.random.fold_in(key, s)), f"init_fn(key) (start {s})")
                  for s in range(num_starts)]
        structures = {str(jax.tree.structure(p)) for p in starts}
        if len(structures) != 1:
            raise ValueError("init_fn returned parameters of different structures for different keys.")
        return jax.tree.map(lambda *xs: np.stack(xs), *starts)
    if init_params is None:
        raise ValueError("fit needs init_params (a pytree of float arrays) or init_fn=(key -> params).")
    base = check_params(init_params, "init_params")
    if num_starts == 1:
        return jax.tree.map(lambda x: x[None], base)
    if init_spread is None:
        raise ValueError(
            f"num_starts={num_starts} needs a way to make the starts differ: init_spread (a "
            "scale, or a pytree of scales like init_params, for Gaussian jitter around "
            "init_params) or init_fn(key) -> params."
        )
    leaves, treedef = jax.tree.flatten(base)
    if jax.tree_util.treedef_is_leaf(jax.tree.structure(init_spread)):
        spreads = [init_spread] * len(leaves)  # one scale (or one array) for every leaf
    else:
        try:
            spreads = treedef.flatten_up_to(init_spread)
        except (ValueError, TypeError) as err:
            raise ValueError(
                "init_spread must be a number or a pytree of the same structure as init_params "
                f"({treedef})."
            ) from err
    for spread in spreads:
        s = np.asarray(spread, np.float64)
        if not np.all(np.isfinite(s) & (s >= 0)):
            raise ValueError(f"init_spread must be finite and >= 0, got {init_spread!r}.")
    spreads = [np.broadcast_to(np.asarray(s, x.dtype), x.shape) for s, x in zip(spreads, leaves)]
    stacked = host(_jitter(key, leaves, spreads, num_starts=num_starts))
    return jax.tree.unflatten(treedef, [np.concatenate([x[None], j]) for x, j in zip(leaves, stacked)])


@functools.partial(jax.jit, static_argnames=("num_starts",))
def _jitter(key, leaves, spreads, *, num_starts):
    """Starts 1.. of every leaf: `leaf + spread * N(0, 1)`, leaf i of start s from `fold_in`s."""
    out = []
    for i, (leaf, spread) in enumerate(zip(leaves, spreads)):
        keys = jax.vmap(lambda s, i=i: jax.random.fold_in(jax.random.fold_in(key, s), i))(
            jnp.arange(1, num_starts))
        noise = jax.vmap(lambda k: jax.random.normal(k, leaf.shape, leaf.dtype))(keys)
        out.append((leaf[None] + spread * noise).astype(leaf.dtype))
    return out


def fit(
    loss_fn: Callable,
    init_params: Any = None,
    *,
    key: jax.Array,
    num_steps: int,
    data: Any = None,
    optimizer: optax.GradientTransformation | None = None,
    learning_rate: float | None = None,
    num_starts: int = 1,
    init_spread: Any = None,
    init_fn: Callable | None = None,
    estimator: Estimator | str = "pathwise",
    num_samples: int = 1,
    constraints: Sequence[tuple[float, Callable]] = (),
    priors: Sequence[Callable] = (),
    progress: bool = True,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 100,
    resume: bool = True,
    devices: Sequence[jax.Device] | None = None,
    throw: bool = True,
) -> FitResult:
    """Minimise `loss_fn` (+ constraints - log priors) with optax, from one or several starts.

    The objective of one start is
    `loss_fn(params, ctx) + sum_i w_i * constraint_i(params) - sum_j log_prior_j(params)`; see
    the module docstring for the loss protocol (`FitContext`, scalar or `(value, log_prob)`,
    estimators, keys). Steps run as a jitted `lax.scan`, `vmap`-ed over starts.

    Multi-start: start 0 is `init_params`; starts 1.. add Gaussian noise of scale `init_spread`
    (a number, or a pytree of numbers like `init_params`); or every start is `init_fn(k_s)` for
    its own key. All starts see the same random numbers at each step.

    Devices: the start axis is sharded with `NamedSharding(Mesh(devices, ("starts",)),
    PartitionSpec("starts"))` over `min(num_starts, len(devices))` of `devices` (default
    `jax.devices()`); `data` is replicated. When `num_starts` is not a multiple of that number
    it is padded with copies of start 0, which are dropped from the result (and never chosen as
    best). The result does not depend on the number of devices (up to float rounding).

    Non-finite values: a start whose loss or gradient becomes NaN/inf at step k is frozen with
    its last good parameters (those of step k-1, or the initial ones if k = 0). With
    `throw=True` (default) the whole fit stops there and raises `NonFiniteError` (a
    `FloatingPointError`) whose `.result` holds the `FitResult`. With `throw=False` the other
    starts go on (the fit stops early only when every start is frozen), a `RuntimeWarning` is
    issued and the result is returned; `diagnostics["stopped_early"]`, `["message"]` and
    `["failed_starts"]` tell what happened. Non-finite `data` is refused before any step.

    Checkpoints: with `checkpoint=path`, the state (parameters, optimiser state, step, score
    baseline), the loss histories, the initial parameters and the key are written every
    `checkpoint_every` steps and at the end, atomically (a temporary file renamed over the old
    one), as a numpy `.npz` of the flattened pytrees with their tree structure, shapes and dtypes
    (no pickle). With `resume=True` an existing checkpoint is continued from its step up to
    `num_steps`, reproducing an uninterrupted fit exactly; it must come from a fit with the same
    key, parameter and optimiser-state structure, `num_starts`, `estimator` and `num_samples`
    (`ValueError` otherwise). `init_params` then only fixes the structure. If the checkpoint
    already has `num_steps` steps or more, nothing is run. Ctrl-C writes a checkpoint of the last
    finished chunk before it propagates.

    The compiled loop is cached for the last few (loss_fn, optimizer, estimator, num_samples,
    constraints, priors, throw, devices) combinations, so fitting again with the same function
    and optimiser objects (another key, more steps, a resume) does not recompile. With
    `progress=True` a line says when the loop is being compiled, and the time left is estimated
    from the compiled steps only.

    Args:
      loss_fn: `loss_fn(params, ctx) -> scalar` or `-> (value, log_prob)`; pure and jit-able.
      init_params: pytree of float arrays (e.g. a dict, or a flax.struct rule), the first start.
      key: PRNG key (initial jitter and all the loss's randomness).
      num_steps: optimiser steps in total (counting steps done before a resume), >= 1.
      data: pytree of observations handed to the loss as `ctx.data`; checked for NaN/inf.
      optimizer: an optax `GradientTransformation` (default `optax.adam(learning_rate)`).
      learning_rate: Adam's learning rate when `optimizer` is None (default 1e-2).
      num_starts: number of initial guesses fitted side by side (`vmap`).
      init_spread: jitter scale for starts 1.. (needed when `num_starts > 1` without `init_fn`).
      init_fn: `init_fn(key) -> params`, an alternative to `init_params`.
      estimator: an `Estimator` (`PathwiseGradient()`, `StraightThrough()`,
        `ScoreFunction(baseline_decay=...)`) or its name `"pathwise"`, `"straight_through"`,
        `"score_function"` (see the module docstring).
      num_samples: loss evaluations per step, averaged (keys split from the step key).
      constraints: `[(weight, fn), ...]`, `fn(params) -> scalar penalty`, added as
        `weight * fn(params)`; `weight >= 0`.
      priors: `[fn, ...]`, `fn(params) -> scalar log density`, subtracted (MAP estimation).
      progress: print a progress line every 2 s (`neurosym.progress.Progress`, to stderr).
      checkpoint: path of the checkpoint file (`.npz`), or None.
      checkpoint_every: steps between checkpoint writes.
      resume: continue from `checkpoint` if it exists (False: start afresh, overwriting it).
      devices: the devices to shard the starts over (default all).
      throw: raise `NonFiniteError` when a loss or gradient becomes non-finite.

    Returns:
      a `FitResult`.

    Example:
      >>> import jax, jax.numpy as jnp, optax
      >>> double_well = lambda p, ctx: (p ** 2 - 1) ** 2 + 0.3 * p  # lower minimum near -1
      >>> res = fit(double_well, jnp.array(1.5), key=jax.random.key(0), num_steps=300,
      ...           num_starts=4, init_spread=2.0, optimizer=optax.adam(0.05), progress=False)
      >>> round(float(res.params), 2), res.losses.shape
      (-1.04, (300, 4))
    """
    estimator = as_estimator(estimator)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function (params, ctx) -> loss, got {loss_fn!r}.")
    num_steps = check_int(num_steps, "num_steps", 1)
    num_starts = check_int(num_starts, "num_starts", 1)
    num_samples = check_int(num_samples, "num_samples", 1)
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", 1)
    constraints, priors = check_terms(constraints, priors)
    optimizer = check_optimizer(optimizer, learning_rate)
    key = check_key(key)
    lay = layout(num_starts, check_devices(devices), "starts")
    checkpoint = None if checkpoint is None else os.fspath(checkpoint)
    if data is not None:
        for path, leaf in jax.tree_util.tree_leaves_with_path(data):
            check_finite(f"data{jax.tree_util.keystr(path)}", leaf)

    started = time.perf_counter()
    program = compiled(loss_fn, optimizer, estimator, num_samples, tuple(constraints), tuple(priors), throw, lay)
    init_key, loss_key = jax.random.split(key)
    params0 = _initial_params(init_params, init_fn, init_spread, num_starts, init_key)
    # The name alone for an estimator with default settings: checkpoints of the string days resume.
    spec = estimator.name if estimator == type(estimator)() else repr(estimator)
    meta = {"num_starts": num_starts, "estimator": spec, "num_samples": num_samples,
            "key": np.asarray(jax.random.key_data(key)).tolist()}
    state, params0, history, resumed_from = _start(program, params0, checkpoint if resume else None, meta)
    run = _Run(program=program, lay=lay, loss_key=jax.device_put(loss_key, lay.replicated),
               data=None if data is None else jax.device_put(data, lay.replicated),
               num_steps=num_steps, num_starts=num_starts, throw=throw, checkpoint=checkpoint,
               checkpoint_every=checkpoint_every, init_params=params0, meta=meta)
    state, history = _loop(run, jax.device_put(pad_state(state, lay.padded), state_shardings(lay)), history,
                           progress)
    result = make_result(strip_state(state, num_starts), history, params0, num_steps=num_steps,
                         estimator=estimator.name, num_devices=lay.num_devices, resumed_from=resumed_from,
                         throw=throw, seconds=time.perf_counter() - started)
    if result.diagnostics["failed_starts"]:
        if throw:
            raise NonFiniteError(result.diagnostics["message"], result)
        warnings.warn(result.diagnostics["message"], RuntimeWarning, stacklevel=2)
    return result


def _start(program: Program, params0, checkpoint: str | None, meta: dict):
    """`(state, initial params, history, resumed_from)`: fresh, or from an existing checkpoint."""
    num_starts = meta["num_starts"]
    state = FitState(
        params=params0,
        opt_state=host(program.init(params0)),
        good_params=params0,
        baseline=np.zeros(num_starts, jnp.result_type(float)),
        baseline_count=np.zeros(num_starts, np.int32),
        failed_at=np.full(num_starts, -1, np.int32),
        step=np.zeros((), np.int32),
    )
    history = {name: np.zeros((0, num_starts)) for name in HISTORY}
    if checkpoint is None or not os.path.exists(checkpoint):
        return state, params0, history, None
    saved, arrays = load_checkpoint(checkpoint)
    check_compatible(checkpoint, saved, meta, state, params0)
    state = restore(arrays, "state", state, saved["state"])
    params0 = restore(arrays, "init", params0, saved["init"])
    history = {name: arrays[f"history_{name}"] for name in HISTORY}
    return state, params0, history, int(state.step)


@dataclasses.dataclass(frozen=True)
class _Run:
    """What the host loop needs besides the evolving state."""

    program: Program
    lay: Layout
    loss_key: Any
    data: Any
    num_steps: int
    num_starts: int
    throw: bool
    checkpoint: str | None
    checkpoint_every: int
    init_params: Any
    meta: dict

    def save(self, state, history) -> None:
        save_checkpoint(self.checkpoint, strip_state(state, self.num_starts), history, self.init_params,
                        dict(self.meta, steps_done=int(state.step)))

    def halted(self, state) -> bool:
        failed = np.asarray(state.failed_at)[: self.num_starts] >= 0
        return bool(failed.any() if self.throw else failed.all())


def _loop(run: _Run, state, history: dict, progress: bool):
    """Run compiled chunks until `num_steps` (or a halt); print progress, write checkpoints."""
    bar = Progress(run.num_steps, label="fit", enabled=progress)
    step = int(state.step)
    chunk = 1
    try:
        while step < run.num_steps and not run.halted(state):
            stop = min(run.num_steps, step + chunk)
            if run.checkpoint is not None:
                stop = min(stop, (step // run.checkpoint_every + 1) * run.checkpoint_every)
            compiling = not run.program.warm
            if compiling and progress:
                bar.note("compiling the fitting loop (once per loss and settings) ...")
            tic = time.perf_counter()
            new_state, record = run.program.run(state, run.loss_key, run.data, jnp.asarray(stop, jnp.int32))
            new_step = int(new_state.step)
            record = {name: np.asarray(values, np.float64)[: new_step - step, : run.num_starts]
                      for name, values in record.items()}
            # One assignment, so that a Ctrl-C never saves a state and a history out of step.
            state, history = new_state, {n: np.concatenate([history[n], record[n]]) for n in HISTORY}
            elapsed = time.perf_counter() - tic
            run.program.warm = True
            if compiling:
                bar.restart_rate(new_step)  # the time left is estimated from compiled steps only
            elif new_step > step:
                chunk = int(np.clip(_SECONDS_PER_CALL * (new_step - step) / max(elapsed, 1e-9), 1, STEPS_PER_CALL))
            if run.checkpoint is not None and new_step % run.checkpoint_every == 0 and new_step < run.num_steps:
                run.save(state, history)
            last = history["loss"][-1] if len(history["loss"]) else np.full(run.num_starts, np.nan)
            bar.update(new_step, loss=float(np.nanmin(last)) if np.isfinite(last).any() else float("nan"))
            if new_step == step:
                break
            step = new_step
    except KeyboardInterrupt:
        if run.checkpoint is not None:
            run.save(state, history)
        raise
    finally:
        bar.close()
    if run.checkpoint is not None:
        run.save(state, history)
    return state, history
