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
- `ctx.estimator`: the gradient estimator's name, a Python string (branch on it freely):
  `"pathwise"` (build the loss from relaxed samples, e.g. `automata.relax.soft_bernoulli`),
  `"straight_through"` (exact discrete samples forward, relaxed gradient backward, e.g.
  `soft_bernoulli(..., hard=True)`) or `"score_function"` (exact samples, no gradient through
  them; REINFORCE). `ctx.bernoulli(key, p)` draws the right kind of Bernoulli sample for each.

The loss returns either

- a scalar: minimised as it is (under any estimator; a scalar returned under
  `"score_function"` is taken to be a surrogate you built yourself); or
- a pair `(value, log_prob)`: `value` is the scalar loss of one sample and `log_prob` the
  log-probability of the drawn discrete sample under `params` (any shape; it is summed). Under
  `"score_function"`, `fit` differentiates `automata.relax.score_function_surrogate(log_prob,
  value, baseline)`, whose gradient is an unbiased estimate of the gradient of the expected
  loss. The baseline is the mean of the other samples (leave-one-out) when `num_samples > 1`,
  else a bias-corrected exponential moving average (decay 0.9) of earlier steps' values; neither
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
  >>> from neurosym.fit import fit
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
  ...           estimator="score_function", progress=False)
  >>> abs(float(jax.nn.sigmoid(res.params)) - 0.3) < 0.03
  True
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import time
import warnings
import zipfile
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from automata import relax
from automata._checks import check_int
from neurosym.progress import Progress
from neurosym.files import atomic_path

__all__ = [
    "ESTIMATORS",
    "FitContext",
    "FitResult",
    "NonFiniteError",
    "check_finite",
    "fit",
    "sweep",
]

ESTIMATORS = ("pathwise", "straight_through", "score_function")

# Steps one compiled call can run; the host picks how many of them are active (cond-gated), so
# the program compiles once and the chunking never changes the numbers.
_STEPS_PER_CALL = 64
# Aim for about this long per call: the granularity of progress lines and Ctrl-C.
_SECONDS_PER_CALL = 1.0
_BASELINE_DECAY = 0.9
_CHECKPOINT_VERSION = 1
_HISTORY = ("loss", "grad_norm", "data", "constraints", "priors")


# ---------------------------------------------------------------------------- public helpers
class NonFiniteError(FloatingPointError):
    """A fit whose loss or gradient became NaN or infinite; `.result` holds what was fitted.

    `.result` is the `FitResult` with the last good parameters (those of the last step whose
    loss and gradient were finite) and the loss history up to and including the bad step.
    """

    def __init__(self, message: str, result: "FitResult"):
        super().__init__(message)
        self.result = result


def check_finite(name: str, array):
    """Raise `ValueError` if `array` holds NaN or infinite values; return it unchanged otherwise.

    Use it where observations enter (`fit` calls it on every leaf of `data=`). Integer and
    boolean arrays are always finite.

    Args:
      name: how the array is called in the message (e.g. `"counts"`).
      array: a concrete array (not a tracer: call this outside `jit`).

    Returns:
      `array`, unchanged.

    Example:
      >>> import numpy as np
      >>> check_finite("counts", np.array([1.0, np.nan, np.inf]))  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: counts has 2 non-finite entries of 3 (1 NaN, 1 inf), the first at index (1,). ...
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string naming the array, got {type(name).__name__}.")
    try:
        values = np.asarray(array)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError) as err:
        raise TypeError(
            f"check_finite({name!r}) needs concrete values but got a traced array; call it "
            "outside jit/vmap/grad, where the data enter."
        ) from err
    if values.dtype == object or not (
        jnp.issubdtype(values.dtype, jnp.number) or values.dtype == np.bool_
    ):
        raise TypeError(f"{name} must be a numeric array, got dtype {values.dtype}.")
    if not jnp.issubdtype(values.dtype, jnp.inexact):
        return array
    bad = ~np.isfinite(values)
    num_bad = int(bad.sum())
    if num_bad:
        num_nan = int(np.isnan(values).sum())
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has {num_bad} non-finite entr{'y' if num_bad == 1 else 'ies'} of "
            f"{values.size} ({num_nan} NaN, {num_bad - num_nan} inf), the first at index {first}. "
            "Drop or mask them before fitting (e.g. fill them and pass a 0/1 mask in data= that "
            "the loss multiplies by)."
        )
    return array


class FitContext(struct.PyTreeNode):
    """What `loss_fn(params, ctx)` gets besides the parameters (see the module docstring).

    Attributes:
      key: PRNG key of this step (and sample, with `num_samples > 1`); the same for all starts.
      step: step number, int32 scalar, counted from 0 over the whole fit (resumes included).
      data: the `data=` pytree passed to `fit` (None if none).
      estimator: `"pathwise"`, `"straight_through"` or `"score_function"` (static).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> ctx = FitContext(key=jax.random.key(0), step=jnp.int32(0), estimator="straight_through")
      >>> b = ctx.bernoulli(ctx.key, 0.3, shape=(5,))
      >>> bool(jnp.all((b == 0) | (b == 1)))
      True
    """

    key: jax.Array
    step: jax.Array
    data: Any = None
    estimator: str = struct.field(pytree_node=False, default="pathwise")

    def bernoulli(self, key, p, *, shape=None, temperature=0.5) -> jax.Array:
        """A Bernoulli(p) sample of the kind the estimator needs.

        `"pathwise"`: the relaxed sample `relax.soft_bernoulli(key, p, temperature)` in (0, 1);
        `"straight_through"`: the exact 0/1 sample with the relaxed sample's gradient;
        `"score_function"`: the exact 0/1 sample with no gradient (return
        `(value, relax.bernoulli_log_prob(sample, p).sum())` from the loss). The three use the
        same noise, so the exact samples agree and the relaxed one exceeds 1/2 exactly where
        they are 1.

        Args:
          key: PRNG key (e.g. `ctx.key`, or a key split from it).
          p: success probabilities in (0, 1), any shape.
          shape: output shape (default: `p`'s); `p` broadcasts to it.
          temperature: relaxation temperature, positive (pathwise and straight-through).
        """
        if self.estimator == "pathwise":
            return relax.soft_bernoulli(key, p, temperature, shape=shape)
        sample = relax.soft_bernoulli(key, p, temperature, hard=True, shape=shape)
        if self.estimator == "score_function":
            return jax.lax.stop_gradient(sample)
        return sample


# ---------------------------------------------------------------------------- result
@dataclasses.dataclass
class FitResult:
    """What `fit` returns.

    Attributes:
      params: the best start's parameters (same structure as `init_params`).
      all_params: every start's parameters, each leaf with a leading axis of `num_starts`.
        A start stopped by a non-finite loss holds its last good parameters.
      losses: numpy `(steps_done, num_starts)`: the total loss (data + constraints + priors)
        at each step, evaluated at the parameters before that step's update. NaN after a start
        was stopped; the non-finite value itself at the step where it was stopped.
      best_start: index of the start with the lowest last finite loss among the starts that
        never became non-finite (noisy for a stochastic loss: look at `losses` to judge).
      final_loss: the best start's last finite loss.
      init_params: every start's initial parameters (leading axis `num_starts`).
      diagnostics: dict with `grad_norm` (numpy `(steps_done, num_starts)`, global gradient
        norms), `terms` (dict of `data`, `constraints`, `priors` histories of that shape),
        `stopped_early` (bool), `message` (str), `steps_done`, `num_steps`, `seconds` (wall
        time of this call, compilation included), `failed_at` (numpy `(num_starts,)`, the step
        where each start became non-finite, -1 if never), `failed_starts` (list),
        `estimator`, `num_devices`, `resumed_from` (the step a checkpoint resumed from, or
        None).
    """

    params: Any
    all_params: Any
    losses: np.ndarray
    best_start: int
    final_loss: float
    init_params: Any
    diagnostics: dict

    @property
    def num_starts(self) -> int:
        return int(self.losses.shape[1])

    def summary(self) -> str:
        """A few lines of text: steps, time, best start and loss, per-start losses, parameters."""
        d = self.diagnostics
        lines = [
            f"fit: {d['steps_done']}/{d['num_steps']} steps, estimator={d['estimator']}, "
            f"{self.num_starts} start{'s' if self.num_starts != 1 else ''} on "
            f"{d['num_devices']} device{'s' if d['num_devices'] != 1 else ''}, {d['seconds']:.2f} s",
            f"best start {self.best_start}: final loss {self.final_loss:.6g}",
        ]
        if self.num_starts > 1:
            last = [
                f"{_last_finite(self.losses[:, s]):.4g}"
                + (f" (stopped at step {int(d['failed_at'][s])})" if d["failed_at"][s] >= 0 else "")
                for s in range(self.num_starts)
            ]
            lines.append("last loss per start: " + ", ".join(last))
        lines.append(d["message"])
        lines.append("parameters (best start):")
        for path, leaf in jax.tree_util.tree_leaves_with_path(self.params):
            value = np.asarray(leaf)
            name = jax.tree_util.keystr(path) or "params"
            if value.size <= 6:
                lines.append(f"  {name}: {np.array2string(value, precision=5)}")
            else:
                lines.append(
                    f"  {name}: shape {value.shape} {value.dtype}, mean {value.mean():.4g}, "
                    f"min {value.min():.4g}, max {value.max():.4g}"
                )
        return "\n".join(lines)

    def plot(self, ax=None):
        """Loss curves, one line per start with the best one drawn bold; returns the Figure.

        Args:
          ax: a matplotlib Axes to draw on (default: a new figure).
        """
        import matplotlib.pyplot as plt  # lazily: only plotting needs matplotlib

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4))
        else:
            fig = ax.figure
        steps = np.arange(self.losses.shape[0])
        for s in range(self.num_starts):
            best = s == self.best_start
            ax.plot(steps, self.losses[:, s], lw=2.0 if best else 0.8, alpha=1.0 if best else 0.6,
                    label=f"start {s}" + (" (best)" if best else ""))
        finite = self.losses[np.isfinite(self.losses)]
        if finite.size and np.all(finite > 0):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        if self.num_starts <= 10:
            ax.legend(fontsize="small")
        return fig


# ---------------------------------------------------------------------------- validation
def _check_key(key) -> jax.Array:
    if key is None or not hasattr(key, "dtype"):
        raise TypeError(
            f"key must be a JAX PRNG key such as jax.random.key(0), got {type(key).__name__}."
        )
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"key must be a single PRNG key, got a batch of shape {key.shape}.")
        return key
    if key.dtype == jnp.uint32 and key.shape == (2,):
        return jax.random.wrap_key_data(key)
    raise TypeError(
        f"key must be a JAX PRNG key such as jax.random.key(0), got an array of dtype {key.dtype} "
        f"and shape {key.shape}."
    )


def _check_devices(devices) -> list:
    if devices is None:
        return list(jax.devices())
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise TypeError(
            "devices must be a non-empty sequence of jax.Device (e.g. jax.devices()[:2]), got "
            f"{devices!r}."
        )
    return devices


def _check_params(params, what: str) -> Any:
    leaves = jax.tree_util.tree_leaves_with_path(params)
    if not leaves:
        raise ValueError(f"{what} has no array leaves: there is nothing to fit.")
    for path, leaf in leaves:
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.inexact):
            raise TypeError(
                f"{what}{jax.tree_util.keystr(path)} has dtype {dtype}; fit trains floating-point "
                "parameters only. Keep integer configuration out of params (in a closure, in "
                "data=, or in a static field of a flax.struct pytree)."
            )
    return _host(params)


def _check_terms(constraints, priors):
    one_pair = isinstance(constraints, tuple) and len(constraints) == 2 and callable(constraints[1])
    if callable(constraints) or one_pair:
        raise TypeError(
            "constraints must be a sequence of (weight, fn) pairs, e.g. [(10.0, penalty)]; wrap a "
            "single pair in a list."
        )
    checked = []
    for i, item in enumerate(constraints):
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and callable(item[1])):
            raise TypeError(
                f"constraints[{i}] must be a (weight, fn) pair with fn(params) -> scalar penalty, "
                f"got {item!r}."
            )
        weight = item[0]
        try:
            w = float(weight)
        except (TypeError, ValueError) as err:
            raise TypeError(f"constraints[{i}]: the weight must be a number, got {weight!r}.") from err
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"constraints[{i}]: the weight must be finite and >= 0, got {weight!r}.")
        checked.append((w, item[1]))
    if callable(priors):
        raise TypeError("priors must be a sequence of functions params -> log density; wrap one in a list.")
    priors = list(priors)
    for i, fn in enumerate(priors):
        if not callable(fn):
            raise TypeError(f"priors[{i}] must be a function params -> scalar log density, got {fn!r}.")
    return checked, priors


def _scalar(x, what: str) -> jax.Array:
    x = jnp.asarray(x)
    if x.shape != ():
        raise TypeError(
            f"{what} must return a scalar, got shape {x.shape}; reduce it with .sum() or .mean()."
        )
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x


def _split_output(out):
    """(value, log_prob or None) from what loss_fn returned."""
    if isinstance(out, (tuple, list)):
        if len(out) != 2:
            raise TypeError(
                f"loss_fn returned a {type(out).__name__} of {len(out)} items; return a scalar "
                "loss, or a pair (value, log_prob) for the score-function estimator."
            )
        value, log_prob = out
        value = _scalar(value, "loss_fn (the value of its (value, log_prob) pair)")
        return value, jnp.sum(jnp.asarray(log_prob))
    return _scalar(out, "loss_fn"), None


# ---------------------------------------------------------------------------- the loop
class _State(NamedTuple):
    """Everything that evolves; all leaves but `step` have a leading start axis."""

    params: Any
    opt_state: Any
    good_params: Any  # the last parameters whose loss and gradient were finite
    baseline: jax.Array  # (S,) moving average of the data value (score-function baseline)
    baseline_count: jax.Array  # (S,) int32 values averaged so far
    failed_at: jax.Array  # (S,) int32 step where the start became non-finite, -1 if never
    step: jax.Array  # () int32


def _where(mask, new, old, xp=jnp):
    """Per-start select: leaf-wise `where(mask[s], new, old)`, keeping `old`'s dtype."""

    def pick(a, b):
        m = mask.reshape(mask.shape + (1,) * (xp.ndim(b) - 1))
        return xp.where(m, a, b).astype(b.dtype)

    return jax.tree.map(pick, new, old)


def _norm(tree) -> jax.Array:
    """Global L2 norm of a pytree (inf or NaN if any entry is)."""
    return jnp.sqrt(sum(jnp.sum(jnp.abs(x) ** 2) for x in jax.tree.leaves(tree)))


def _make_step(loss_fn, optimizer, estimator, num_samples, constraints, priors, throw):
    def objective(params, baseline, step, key, data):
        def one(k):
            ctx = FitContext(key=k, step=step, data=data, estimator=estimator)
            return _split_output(loss_fn(params, ctx))

        if num_samples == 1:
            value, log_prob = one(key)
            values = value[None]
            log_probs = None if log_prob is None else log_prob[None]
        else:
            values, log_probs = jax.vmap(one)(jax.random.split(key, num_samples))
        if estimator == "score_function" and log_probs is not None:
            if num_samples > 1:
                base = (jnp.sum(values) - values) / (num_samples - 1)
            else:
                base = baseline.astype(values.dtype)
            base = jax.lax.stop_gradient(base)
            surrogate = jnp.mean(relax.score_function_surrogate(log_probs, values, base))
        else:
            surrogate = jnp.mean(values)
        value = jnp.mean(values)
        penalty = jnp.zeros((), value.dtype)
        for i, (weight, fn) in enumerate(constraints):
            penalty = penalty + weight * _scalar(fn(params), f"constraints[{i}] fn")
        log_prior = jnp.zeros((), value.dtype)
        for i, fn in enumerate(priors):
            log_prior = log_prior + _scalar(fn(params), f"priors[{i}]")
        total = value + penalty - log_prior
        return surrogate + penalty - log_prior, (total, value, penalty, -log_prior)

    grad_fn = jax.vmap(jax.value_and_grad(objective, has_aux=True), in_axes=(0, 0, None, None, None))

    def one_step(state: _State, loss_key, data):
        step = state.step
        key = jax.random.fold_in(loss_key, step)
        count, dtype = state.baseline_count, state.baseline.dtype
        decay = jnp.asarray(_BASELINE_DECAY, dtype)
        # Bias-corrected moving average (as in Adam); 0 before the first value.
        baseline = jnp.where(count > 0, state.baseline / (1 - decay ** count.astype(dtype)), 0.0)
        (_, aux), grads = grad_fn(state.params, baseline, step, key, data)
        total, value, penalty, neg_log_prior = aux
        grad_norm = jax.vmap(_norm)(grads)
        alive = state.failed_at < 0
        ok = alive & jnp.isfinite(total) & jnp.isfinite(grad_norm)
        updates, opt_state = jax.vmap(optimizer.update)(grads, state.opt_state, state.params)
        params = jax.vmap(optax.apply_updates)(state.params, updates)
        new_baseline = decay * state.baseline + (1 - decay) * jax.lax.stop_gradient(value).astype(dtype)
        new = _State(
            params=_where(ok, params, state.params),
            opt_state=_where(ok, opt_state, state.opt_state),
            good_params=_where(ok, state.params, state.good_params),
            baseline=jnp.where(ok, new_baseline, state.baseline),
            baseline_count=jnp.where(ok, count + 1, count),
            failed_at=jnp.where(alive & ~ok, step, state.failed_at),
            step=step + 1,
        )
        nan = jnp.asarray(jnp.nan, jnp.float32)
        record = {
            name: jnp.where(alive, x.astype(jnp.float32) if x.dtype != jnp.float64 else x, nan)
            for name, x in zip(_HISTORY, (total, grad_norm, value, penalty, neg_log_prior))
        }
        return new, record

    def halted(state: _State):
        failed = state.failed_at >= 0
        return jnp.any(failed) if throw else jnp.all(failed)

    def run(state: _State, loss_key, data, stop):
        record_shape = jax.eval_shape(one_step, state, loss_key, data)[1]

        def skip(state):
            return state, jax.tree.map(lambda s: jnp.full(s.shape, jnp.nan, s.dtype), record_shape)

        def body(state, _):
            active = (state.step < stop) & ~halted(state)
            return jax.lax.cond(active, lambda s: one_step(s, loss_key, data), skip, state)

        return jax.lax.scan(body, state, None, length=_STEPS_PER_CALL)

    return run


@functools.lru_cache(maxsize=16)
def _default_optimizer(learning_rate: float) -> optax.GradientTransformation:
    # One object per rate, so that fits with the default optimiser share compiled steps.
    return optax.adam(learning_rate)


def _jit_run(loss_fn, optimizer, estimator, num_samples, constraints, priors, throw, mesh):
    """(jitted loop chunk, jitted per-start optimiser init)."""
    batched = NamedSharding(mesh, PartitionSpec("starts"))
    replicated = NamedSharding(mesh, PartitionSpec())
    shardings = _State(batched, batched, batched, batched, batched, batched, replicated)
    run = jax.jit(
        _make_step(loss_fn, optimizer, estimator, num_samples, constraints, priors, throw),
        in_shardings=(shardings, replicated, replicated, replicated),
        out_shardings=(shardings, NamedSharding(mesh, PartitionSpec(None, "starts"))),
    )
    return run, jax.jit(jax.vmap(optimizer.init))


# A fit repeated with the same loss and optimiser objects (a resume, a notebook cell run again)
# reuses the compiled loop; kept small because the cache holds on to the loss functions.
_cached_jit_run = functools.lru_cache(maxsize=8)(_jit_run)


def _compiled(*args):
    try:
        return _cached_jit_run(*args)
    except TypeError:  # an unhashable loss, optimiser or term: compile afresh
        return _jit_run(*args)


# Set-up and tear-down run on the host in numpy: eager jax ops on ever new shapes would each
# compile a small program.
def _host(tree):
    """numpy copies of a pytree's leaves, in JAX's dtypes (numpy arrays are never weakly typed)."""
    return jax.tree.map(lambda x: np.asarray(x, dtype=jnp.result_type(x)), jax.device_get(tree))


def _pad(tree, num_padded: int):
    """Repeat start 0 (numpy) so that the leading axis has `num_padded` entries."""

    def pad(x):
        extra = num_padded - x.shape[0]
        return x if extra == 0 else np.concatenate([x, np.repeat(x[:1], extra, axis=0)])

    return jax.tree.map(pad, tree)


def _pad_state(state: _State, num_padded: int) -> _State:
    return _pad(state._replace(step=None), num_padded)._replace(step=state.step)


def _strip(state: _State, num_starts: int) -> _State:
    """The real starts of a (device) state, as numpy."""
    state = _host(state)
    return jax.tree.map(lambda x: x[:num_starts], state._replace(step=None))._replace(step=state.step)


def _last_finite(column: np.ndarray) -> float:
    finite = np.flatnonzero(np.isfinite(column))
    return float(column[finite[-1]]) if finite.size else float("nan")


# ---------------------------------------------------------------------------- checkpoints
def _savable(x: np.ndarray) -> np.ndarray:
    # .npz without pickle holds only numpy's own dtypes; bfloat16 & co. travel as raw bits.
    return x if x.dtype.kind in "biufc" else x.view(np.dtype(f"u{x.dtype.itemsize}"))


def _signature(tree) -> dict:
    leaves, treedef = jax.tree.flatten(tree)
    return {
        "treedef": str(treedef),
        "shapes": [list(np.shape(x)) for x in leaves],
        "dtypes": [str(jnp.result_type(x)) for x in leaves],
    }


def _save_checkpoint(path: str, state: _State, history: dict, init_params, meta: dict) -> None:
    state = jax.device_get(state)
    arrays = {}
    for i, leaf in enumerate(jax.tree.leaves(state)):
        arrays[f"state_{i}"] = _savable(np.asarray(leaf))
    for i, leaf in enumerate(jax.tree.leaves(jax.device_get(init_params))):
        arrays[f"init_{i}"] = _savable(np.asarray(leaf))
    for name, values in history.items():
        arrays[f"history_{name}"] = np.asarray(values, np.float64)
    meta = dict(meta, version=_CHECKPOINT_VERSION, state=_signature(state), init=_signature(init_params))
    arrays["meta"] = np.array(json.dumps(meta))
    # Written next to the target and renamed: a reader sees the old file or the new one.
    with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def _load_checkpoint(path: str) -> tuple[dict, dict]:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise ValueError(
            f"Cannot read the checkpoint {path}: {err}. It is not a checkpoint written by "
            "neurosym.fit, or it is damaged; delete it, choose another checkpoint path, or pass "
            "resume=False to overwrite it."
        ) from err
    if meta.get("version") != _CHECKPOINT_VERSION:
        raise ValueError(
            f"The checkpoint {path} has format version {meta.get('version')}, this neurosym.fit "
            f"reads version {_CHECKPOINT_VERSION}; pass resume=False to start afresh."
        )
    return meta, arrays


def _restore(arrays: dict, prefix: str, like, signature: dict):
    leaves, treedef = jax.tree.flatten(like)
    out = []
    for i, (leaf, dtype) in enumerate(zip(leaves, signature["dtypes"])):
        out.append(np.asarray(arrays[f"{prefix}_{i}"]).view(jnp.dtype(dtype)))
    return jax.tree.unflatten(treedef, out)


def _check_compatible(path: str, meta: dict, expected: dict, state_like, init_like) -> None:
    for name in ("num_starts", "estimator", "num_samples"):
        if meta.get(name) != expected[name]:
            raise ValueError(
                f"The checkpoint {path} was written by a fit with {name}={meta.get(name)!r}, but "
                f"this fit has {name}={expected[name]!r}. Use the same settings to resume, another "
                "checkpoint path, or resume=False to start afresh."
            )
    if meta.get("key") != expected["key"]:
        raise ValueError(
            f"The checkpoint {path} was written by a fit with another key; pass the same key to "
            "resume it exactly, or use another checkpoint path (or resume=False) for a new fit."
        )
    for label, saved, now in (
        ("parameter", meta["init"], _signature(init_like)),
        ("optimizer-state", meta["state"], _signature(state_like)),
    ):
        if saved["treedef"] != now["treedef"]:
            raise ValueError(
                f"The checkpoint {path} holds a different {label} structure than this fit:\n"
                f"  saved: {saved['treedef']}\n  now:   {now['treedef']}\n"
                "Resume with the same parameters and optimizer, or use another checkpoint path "
                "(or resume=False) for a new fit."
            )
        if saved["shapes"] != now["shapes"] or saved["dtypes"] != now["dtypes"]:
            raise ValueError(
                f"The checkpoint {path} holds {label} arrays of other shapes or dtypes than this "
                f"fit: saved {list(zip(map(tuple, saved['shapes']), saved['dtypes']))}, now "
                f"{list(zip(map(tuple, now['shapes']), now['dtypes']))}. Resume with parameters of "
                "the same shapes, or use another checkpoint path (or resume=False)."
            )


# ---------------------------------------------------------------------------- fit
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
        starts = [_check_params(init_fn(jax.random.fold_in(key, s)), f"init_fn(key) (start {s})")
                  for s in range(num_starts)]
        structures = {str(jax.tree.structure(p)) for p in starts}
        if len(structures) != 1:
            raise ValueError("init_fn returned parameters of different structures for different keys.")
        return jax.tree.map(lambda *xs: np.stack(xs), *starts)
    if init_params is None:
        raise ValueError("fit needs init_params (a pytree of float arrays) or init_fn=(key -> params).")
    base = _check_params(init_params, "init_params")
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
    stacked = _host(_jitter(key, leaves, spreads, num_starts=num_starts))
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
    estimator: str = "pathwise",
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
    and optimiser objects (another key, more steps, a resume) does not recompile.

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
      estimator: `"pathwise"`, `"straight_through"` or `"score_function"` (see the module
        docstring).
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
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function (params, ctx) -> loss, got {loss_fn!r}.")
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"Unknown estimator {estimator!r}; choose one of {', '.join(map(repr, ESTIMATORS))}."
        )
    num_steps = check_int(num_steps, "num_steps", 1)
    num_starts = check_int(num_starts, "num_starts", 1)
    num_samples = check_int(num_samples, "num_samples", 1)
    checkpoint_every = check_int(checkpoint_every, "checkpoint_every", 1)
    constraints, priors = _check_terms(constraints, priors)
    if optimizer is None:
        learning_rate = 1e-2 if learning_rate is None else learning_rate
        try:
            lr = float(learning_rate)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"learning_rate must be a number, got {learning_rate!r}; for a schedule pass "
                "optimizer=optax.adam(schedule)."
            ) from err
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"learning_rate must be positive and finite, got {learning_rate!r}.")
        optimizer = _default_optimizer(lr)
    else:
        if learning_rate is not None:
            raise ValueError(
                "Pass learning_rate only without optimizer= (it sets the default Adam's rate); "
                "give your optimizer its own rate, e.g. optimizer=optax.sgd(0.1)."
            )
        if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
            raise TypeError(
                f"optimizer must be an optax GradientTransformation (e.g. optax.adam(1e-2)), got "
                f"{type(optimizer).__name__}."
            )
    key = _check_key(key)
    devices = _check_devices(devices)
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
    if data is not None:
        for path, leaf in jax.tree_util.tree_leaves_with_path(data):
            check_finite(f"data{jax.tree_util.keystr(path)}", leaf)

    started = time.perf_counter()
    num_devices = min(num_starts, len(devices))
    padded = -(-num_starts // num_devices) * num_devices
    mesh = Mesh(np.array(devices[:num_devices]), ("starts",))
    batched = NamedSharding(mesh, PartitionSpec("starts"))
    replicated = NamedSharding(mesh, PartitionSpec())
    shardings = _State(batched, batched, batched, batched, batched, batched, replicated)
    run, init_opt = _compiled(loss_fn, optimizer, estimator, num_samples, tuple(constraints),
                              tuple(priors), throw, mesh)

    init_key, loss_key = jax.random.split(key)
    params0 = _initial_params(init_params, init_fn, init_spread, num_starts, init_key)
    state = _State(
        params=params0,
        opt_state=_host(init_opt(params0)),
        good_params=params0,
        baseline=np.zeros(num_starts, jnp.result_type(float)),
        baseline_count=np.zeros(num_starts, np.int32),
        failed_at=np.full(num_starts, -1, np.int32),
        step=np.zeros((), np.int32),
    )
    history = {name: np.zeros((0, num_starts)) for name in _HISTORY}
    key_data = np.asarray(jax.random.key_data(key)).tolist()
    meta = {"num_starts": num_starts, "estimator": estimator, "num_samples": num_samples, "key": key_data}
    resumed_from = None
    if checkpoint is not None and resume and os.path.exists(checkpoint):
        saved, arrays = _load_checkpoint(checkpoint)
        _check_compatible(checkpoint, saved, meta, state, params0)
        state = _restore(arrays, "state", state, saved["state"])
        params0 = _restore(arrays, "init", params0, saved["init"])
        history = {name: arrays[f"history_{name}"] for name in _HISTORY}
        resumed_from = int(state.step)

    state = jax.device_put(_pad_state(state, padded), shardings)
    loss_key = jax.device_put(loss_key, replicated)
    data = jax.device_put(data, replicated) if data is not None else None

    def save():
        _save_checkpoint(checkpoint, _strip(state, num_starts), history, params0,
                         dict(meta, steps_done=int(state.step)))

    bar = Progress(num_steps, label="fit", enabled=progress)
    step = int(state.step)
    chunk = 1
    try:
        while step < num_steps and not _is_halted(state, num_starts, throw):
            stop = min(num_steps, step + chunk)
            if checkpoint is not None:
                stop = min(stop, (step // checkpoint_every + 1) * checkpoint_every)
            tic = time.perf_counter()
            new_state, record = run(state, loss_key, data, jnp.asarray(stop, jnp.int32))
            new_step = int(new_state.step)
            record = {name: np.asarray(values, np.float64)[: new_step - step, :num_starts]
                      for name, values in record.items()}
            # One assignment, so that a Ctrl-C never saves a state and a history out of step.
            state, history = new_state, {n: np.concatenate([history[n], record[n]]) for n in _HISTORY}
            elapsed = time.perf_counter() - tic
            if new_step > step:
                per_step = max(elapsed / (new_step - step), 1e-9)
                chunk = int(np.clip(_SECONDS_PER_CALL / per_step, 1, _STEPS_PER_CALL))
            if checkpoint is not None and new_step % checkpoint_every == 0 and new_step < num_steps:
                save()
            last = history["loss"][-1] if len(history["loss"]) else np.full(num_starts, np.nan)
            bar.update(new_step, loss=float(np.nanmin(last)) if np.isfinite(last).any() else float("nan"))
            if new_step == step:
                break
            step = new_step
    except KeyboardInterrupt:
        if checkpoint is not None:
            save()
        raise
    finally:
        bar.close()
    if checkpoint is not None:
        save()

    result = _result(state, history, params0, num_starts, num_steps, estimator, num_devices,
                     resumed_from, throw, time.perf_counter() - started)
    if result.diagnostics["failed_starts"]:
        if throw:
            raise NonFiniteError(result.diagnostics["message"], result)
        warnings.warn(result.diagnostics["message"], RuntimeWarning, stacklevel=2)
    return result


def _is_halted(state: _State, num_starts: int, throw: bool) -> bool:
    failed = np.asarray(state.failed_at)[:num_starts] >= 0
    return bool(failed.any() if throw else failed.all())


def _result(state, history, init_params, num_starts, num_steps, estimator, num_devices,
            resumed_from, throw, seconds) -> FitResult:
    state = _strip(state, num_starts)
    failed_at = np.asarray(state.failed_at)
    failed = failed_at >= 0
    all_params = _where(failed, state.good_params, state.params, xp=np)
    losses = history["loss"]
    steps_done = int(state.step)
    last = np.array([_last_finite(losses[:, s]) for s in range(num_starts)])
    score = np.where(np.isnan(last), np.inf, last)
    if not failed.all():
        score = np.where(failed, np.inf, score)
    best = int(np.argmin(score))
    messages = []
    for s in np.flatnonzero(failed):
        k = int(failed_at[s])
        row = history["loss"][k, s] if k < len(losses) else np.nan
        if np.isfinite(row):
            what = f"gradient norm became {history['grad_norm'][k, s]}"
        else:
            what = f"loss became {row}"
        kept = "its initial parameters" if k == 0 else f"the parameters of step {k - 1}"
        messages.append(f"start {s}: the {what} at step {k}; kept {kept}")
    if messages:
        stop = ("The fit stopped" if throw or failed.all() else "Those starts stopped, the others went on")
        message = (
            "Non-finite values in the fit. " + "; ".join(messages) + f". {stop} after {steps_done} "
            "of " f"{num_steps} steps. Check the data and the model for NaN/inf (check_finite), "
            "lower the learning rate, or keep the parameters in range (constraints=, or a "
            "reparametrisation such as a log or logit)."
        )
    elif steps_done >= num_steps:
        message = f"Completed {steps_done} steps."
    else:
        message = f"Stopped after {steps_done} of {num_steps} steps."
    diagnostics = {
        "grad_norm": history["grad_norm"],
        "terms": {name: history[name] for name in ("data", "constraints", "priors")},
        "stopped_early": steps_done < num_steps,
        "message": message,
        "steps_done": steps_done,
        "num_steps": num_steps,
        "seconds": seconds,
        "failed_at": failed_at,
        "failed_starts": [int(s) for s in np.flatnonzero(failed)],
        "estimator": estimator,
        "num_devices": num_devices,
        "resumed_from": resumed_from,
    }
    return FitResult(
        params=jax.tree.map(lambda x: jnp.asarray(x[best]), all_params),
        all_params=jax.tree.map(jnp.asarray, all_params),
        losses=losses,
        best_start=best,
        final_loss=float(last[best]),
        init_params=jax.tree.map(jnp.asarray, jax.device_get(init_params)),
        diagnostics=diagnostics,
    )


# ---------------------------------------------------------------------------- sweep
def sweep(fn: Callable, grid_params: Any, *, key: jax.Array | None = None,
          devices: Sequence[jax.Device] | None = None) -> Any:
    """Evaluate `fn` on every parameter set of a batch, sharded over devices.

    `fn(params)` (or `fn(params, key)` when `key` is given) is `vmap`-ed over the leading axis
    of every leaf of `grid_params` and the batch is split with `NamedSharding(Mesh(devices,
    ("batch",)), PartitionSpec("batch"))` over `min(batch, len(devices))` devices; a batch that
    is not a multiple of that is padded with copies of item 0, dropped from the output. Item `i`
    gets the key `jax.random.fold_in(key, i)`, so results do not depend on the devices.

    Args:
      fn: a pure, jit-able function of one parameter set (and a key); returns a pytree.
      grid_params: pytree whose leaves share a leading batch axis (e.g. from `jnp.meshgrid`
        flattened).
      key: optional PRNG key for a stochastic `fn`.
      devices: devices to use (default `jax.devices()`).

    Returns:
      `fn`'s output pytree with a leading batch axis.

    Example:
      >>> import jax.numpy as jnp
      >>> rates = {"rate": jnp.linspace(0.1, 0.9, 5)}
      >>> [round(float(v), 2) for v in sweep(lambda p: (p["rate"] - 0.3) ** 2, rates)]
      [0.04, 0.0, 0.04, 0.16, 0.36]
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function of one parameter set, got {fn!r}.")
    leaves = jax.tree.leaves(grid_params)
    if not leaves:
        raise ValueError("grid_params has no array leaves: there is nothing to sweep over.")
    sizes = sorted({int(np.shape(x)[0]) if np.ndim(x) else -1 for x in leaves})
    if len(sizes) != 1 or sizes[0] < 1:
        raise ValueError(
            "Every leaf of grid_params needs the same leading batch axis (one entry per parameter "
            f"set); got leading sizes {['scalar' if s < 0 else s for s in sizes]}. Broadcast "
            "shared values, e.g. jnp.full(n, value)."
        )
    size = sizes[0]
    devices = _check_devices(devices)
    num_devices = min(size, len(devices))
    padded = -(-size // num_devices) * num_devices
    mesh = Mesh(np.array(devices[:num_devices]), ("batch",))
    batched = NamedSharding(mesh, PartitionSpec("batch"))
    grid = jax.device_put(_pad(_host(grid_params), padded), batched)
    if key is None:
        out = jax.jit(jax.vmap(fn), in_shardings=(batched,), out_shardings=batched)(grid)
    else:
        key = _check_key(key)
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(padded))
        out = jax.jit(jax.vmap(fn), in_shardings=(batched, batched), out_shardings=batched)(grid, keys)
    return out if padded == size else jax.tree.map(lambda x: x[:size], out)
