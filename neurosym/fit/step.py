"""The compiled optimisation step of `fit`: objective, gradient, update and non-finite guard.

One compiled call runs up to `STEPS_PER_CALL` steps as a `lax.scan`; the host picks how many
are active (the rest are skipped by a `lax.cond`), so the program compiles once and the chunking
never changes the numbers. Compiled programs are kept in one small cache, so fitting again with
the same loss and optimiser objects (another key, more steps, a resume) does not recompile.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.sharding import NamedSharding, PartitionSpec

from neurosym.fit.batch import Layout, host, pad, where
from neurosym.fit.context import FitContext
from neurosym.fit.estimators import Estimator

__all__ = ["HISTORY", "STEPS_PER_CALL", "FitState", "Program", "compiled", "pad_state", "state_shardings", "strip_state"]

STEPS_PER_CALL = 64
HISTORY = ("loss", "grad_norm", "data", "constraints", "priors")


class FitState(NamedTuple):
    """Everything that evolves; all leaves but `step` have a leading start axis."""

    params: Any
    opt_state: Any
    good_params: Any  # the last parameters whose loss and gradient were finite
    baseline: jax.Array  # (S,) moving average of the data value (score-function baseline)
    baseline_count: jax.Array  # (S,) int32 values averaged so far
    failed_at: jax.Array  # (S,) int32 step where the start became non-finite, -1 if never
    step: jax.Array  # () int32


def pad_state(state: FitState, num_padded: int) -> FitState:
    """Pad the start axis to `num_padded` with copies of start 0."""
    return pad(state._replace(step=None), num_padded)._replace(step=state.step)


def strip_state(state: FitState, num_starts: int) -> FitState:
    """The real starts of a (device) state, as numpy."""
    state = host(state)
    return jax.tree.map(lambda x: x[:num_starts], state._replace(step=None))._replace(step=state.step)


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


def _norm(tree) -> jax.Array:
    """Global L2 norm of a pytree (inf or NaN if any entry is)."""
    return jnp.sqrt(sum(jnp.sum(jnp.abs(x) ** 2) for x in jax.tree.leaves(tree)))


def _objective(loss_fn, estimator: Estimator, num_samples, constraints, priors):
    """`objective(params, baseline, step, key, data) -> (surrogate, (total, value, penalty, -log prior))`."""

    def objective(params, baseline, step, key, data):
        def one(k):
            return _split_output(loss_fn(params, FitContext(key=k, step=step, data=data, estimator=estimator)))

        if num_samples == 1:
            value, log_prob = one(key)
            values, log_probs = value[None], None if log_prob is None else log_prob[None]
        else:
            values, log_probs = jax.vmap(one)(jax.random.split(key, num_samples))
        surrogate = estimator.surrogate(values, log_probs, baseline)
        value = jnp.mean(values)
        penalty = jnp.zeros((), value.dtype)
        for i, (weight, fn) in enumerate(constraints):
            penalty = penalty + weight * _scalar(fn(params), f"constraints[{i}] fn")
        log_prior = jnp.zeros((), value.dtype)
        for i, fn in enumerate(priors):
            log_prior = log_prior + _scalar(fn(params), f"priors[{i}]")
        return surrogate + penalty - log_prior, (value + penalty - log_prior, value, penalty, -log_prior)

    return objective


def _make_step(loss_fn, optimizer, estimator: Estimator, num_samples, constraints, priors):
    """`one_step(state, loss_key, data) -> (state, record)`: one update of every start."""
    grad_fn = jax.vmap(jax.value_and_grad(_objective(loss_fn, estimator, num_samples, constraints, priors),
                                          has_aux=True), in_axes=(0, 0, None, None, None))

    def one_step(state: FitState, loss_key, data):
        step = state.step
        count, dtype = state.baseline_count, state.baseline.dtype
        decay = jnp.asarray(estimator.baseline_decay, dtype)
        # Bias-corrected moving average (as in Adam); 0 before the first value.
        baseline = jnp.where(count > 0, state.baseline / (1 - decay ** count.astype(dtype)), 0.0)
        (_, aux), grads = grad_fn(state.params, baseline, step, jax.random.fold_in(loss_key, step), data)
        total, value, penalty, neg_log_prior = aux
        grad_norm = jax.vmap(_norm)(grads)
        alive = state.failed_at < 0
        ok = alive & jnp.isfinite(total) & jnp.isfinite(grad_norm)
        updates, opt_state = jax.vmap(optimizer.update)(grads, state.opt_state, state.params)
        params = jax.vmap(optax.apply_updates)(state.params, updates)
        new_baseline = decay * state.baseline + (1 - decay) * jax.lax.stop_gradient(value).astype(dtype)
        new = FitState(
            params=where(ok, params, state.params),
            opt_state=where(ok, opt_state, state.opt_state),
            good_params=where(ok, state.params, state.good_params),
            baseline=jnp.where(ok, new_baseline, state.baseline),
            baseline_count=jnp.where(ok, count + 1, count),
            failed_at=jnp.where(alive & ~ok, step, state.failed_at),
            step=step + 1,
        )
        nan = jnp.asarray(jnp.nan, jnp.float32)
        record = {
            name: jnp.where(alive, x.astype(jnp.float32) if x.dtype != jnp.float64 else x, nan)
            for name, x in zip(HISTORY, (total, grad_norm, value, penalty, neg_log_prior))
        }
        return new, record

    return one_step


def _make_run(loss_fn, optimizer, estimator, num_samples, constraints, priors, throw):
    """`run(state, loss_key, data, stop) -> (state, records)`: up to STEPS_PER_CALL steps."""
    one_step = _make_step(loss_fn, optimizer, estimator, num_samples, constraints, priors)

    def halted(state: FitState):
        failed = state.failed_at >= 0
        return jnp.any(failed) if throw else jnp.all(failed)

    def run(state: FitState, loss_key, data, stop):
        record_shape = jax.eval_shape(one_step, state, loss_key, data)[1]

        def skip(state):
            return state, jax.tree.map(lambda s: jnp.full(s.shape, jnp.nan, s.dtype), record_shape)

        def body(state, _):
            active = (state.step < stop) & ~halted(state)
            return jax.lax.cond(active, lambda s: one_step(s, loss_key, data), skip, state)

        return jax.lax.scan(body, state, None, length=STEPS_PER_CALL)

    return run


@dataclasses.dataclass
class Program:
    """A compiled loop chunk, the per-start optimiser init, and whether it has run before."""

    run: Any
    init: Any
    warm: bool = False


def state_shardings(lay: Layout) -> FitState:
    """The sharding of every `FitState` field: starts split over devices, the step replicated."""
    b = lay.batched
    return FitState(b, b, b, b, b, b, lay.replicated)


def _program(loss_fn, optimizer, estimator, num_samples, constraints, priors, throw, lay: Layout) -> Program:
    if isinstance(optimizer, float):  # the default optimiser, keyed by its rate
        optimizer = optax.adam(optimizer)
    shardings = state_shardings(lay)
    run = jax.jit(
        _make_run(loss_fn, optimizer, estimator, num_samples, constraints, priors, throw),
        in_shardings=(shardings, lay.replicated, lay.replicated, lay.replicated),
        out_shardings=(shardings, NamedSharding(lay.mesh, PartitionSpec(None, "starts"))),
    )
    return Program(run, jax.jit(jax.vmap(optimizer.init)))


# Kept small because the cache holds on to the loss functions.
_cached_program = functools.lru_cache(maxsize=8)(_program)


def compiled(loss_fn, optimizer, estimator, num_samples, constraints, priors, throw, lay: Layout) -> Program:
    """The `Program` for these settings, from the cache when they are hashable.

    `optimizer` is an optax transformation or a float, the learning rate of the default Adam.
    """
    try:
        return _cached_program(loss_fn, optimizer, estimator, num_samples, constraints, priors, throw, lay)
    except TypeError:  # an unhashable loss, optimiser or term: compile afresh
        return _program(loss_fn, optimizer, estimator, num_samples, constraints, priors, throw, lay)
