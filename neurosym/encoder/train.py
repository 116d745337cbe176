"""The one training loop: optax over a pure jitted step, for NNX models and for plain pytrees.

`train` splits an NNX model once (`nnx.split`) and optimises its parameters; `train_params`
optimises any pytree of arrays (for example a growing neural CA's `NCAParams`). Both run the same
loop: one pure jitted function `(params, rest, opt_state, batch, key) -> (params, opt_state,
loss, extras)` per step, step `i` keyed by `fold_in(key, i)`, progress through
`neurosym.progress.Progress`, a non-finite loss refused at once, optional validation that keeps
the best model, and a typed `TrainResult`. The loss is any function of the model and a batch,
so supervised cross-entropy, rule constraints and gene-expression priors
(`neurosym.constraints`) add up freely.

`reuse_compiled_steps` is the one compile cache: within it, runs with the same model structure,
loss function, optimizer and batch function share one compiled step (restarts from different
initial weights); it is released on exit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from automata._checks import check_int, check_key, fail
from neurosym.progress import Progress

__all__ = ["TrainResult", "reuse_compiled_steps", "train", "train_params"]


@dataclass(frozen=True)
class TrainResult:
    """What `train` and `train_params` return.

    Attributes:
      model: the trained model (a new object; the one given is left as it was): an NNX module
        from `train`, a pytree of parameters from `train_params`. Also readable as `encoder`
        and `params`.
      loss_history: `(num_steps,)` the loss at each step (before that step's update).
      aux_history: each extra the loss returned, `(num_steps,)` per name.
      validation: `(step, score)` pairs when a `validate` function was given, else empty.
      best_step: the number of steps taken by the returned model: the best-scoring validation,
        or `num_steps` without validation.
    """

    model: Any
    loss_history: np.ndarray
    aux_history: dict[str, np.ndarray] = field(default_factory=dict)
    validation: list[tuple[int, float]] = field(default_factory=list)
    best_step: int | None = None

    @property
    def encoder(self):
        """The trained model (the name used for encoders)."""
        return self.model

    @property
    def params(self):
        """The trained model (the name used for parameter pytrees)."""
        return self.model


_SHARED_STEPS: dict | None = None


@contextlib.contextmanager
def reuse_compiled_steps():
    """Within this context, training runs with the same model structure, `loss_fn` object,
    optimizer object and batches function share one compiled training step.

    Useful for restarts from different initial weights: each would otherwise compile its own
    step. The compiled steps (and what their loss functions hold) are released on exit.

    Example:
      >>> import jax, jax.numpy as jnp, optax
      >>> loss = lambda p, batch, key: (jnp.sum(p ** 2), {})
      >>> opt = optax.sgd(0.1)
      >>> with reuse_compiled_steps():
      ...     runs = [train_params(jnp.full(2, s), loss, num_steps=3, key=jax.random.key(0), optimizer=opt)
      ...             for s in (1.0, 2.0)]
      >>> [round(float(r.params[0]), 3) for r in runs]
      [0.512, 1.024]
    """
    global _SHARED_STEPS
    outer = _SHARED_STEPS
    _SHARED_STEPS = {} if outer is None else outer
    try:
        yield
    finally:
        _SHARED_STEPS = outer


def _compiled_step(graphdef, loss_fn, optimizer, generate):
    """The jitted step, from the shared cache inside `reuse_compiled_steps`."""
    key = (graphdef, loss_fn, optimizer, generate)
    try:
        step = None if _SHARED_STEPS is None else _SHARED_STEPS.get(key)
    except TypeError:  # an unhashable loss or optimizer: compile for this run alone
        return _make_step(*key)
    if step is None:
        step = _make_step(*key)
        if _SHARED_STEPS is not None:
            _SHARED_STEPS[key] = step
    return step


def _make_step(graphdef, loss_fn, optimizer, generate):
    def objective(params, rest, batch, key):
        model = params if graphdef is None else nnx.merge(graphdef, params, rest)
        return loss_fn(model, batch, key)

    def one_step(params, rest, opt_state, batch, key):
        if generate is not None:
            key, batch_key = jax.random.split(key)
            batch = generate(batch_key)
        (loss, aux), grads = jax.value_and_grad(objective, has_aux=True)(params, rest, batch, key)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, aux

    return jax.jit(one_step)


def _next_batch(iterator, i: int, num_steps: int, owner: str):
    if iterator is None:
        return None
    try:
        return next(iterator)
    except StopIteration:
        raise fail(owner, (
            f"batches ran out after {i} of {num_steps} steps; give at least num_steps batches "
            "or a function key -> batch."
        )) from None


def _finite_loss(loss, i: int, owner: str) -> float:
    loss = float(loss)
    if not np.isfinite(loss):
        raise fail(owner, (
            f"the training loss became {loss} at step {i}; lower the learning rate or check the "
            "inputs for extreme values."
        ), FloatingPointError)
    return loss


def _optimise(graphdef, params, rest, loss_fn, batches, *, num_steps, key, optimizer, progress, label,
              validate, validate_every, owner) -> TrainResult:
    """The loop shared by `train` (`graphdef` of the split model) and `train_params` (None)."""
    num_steps = check_int(num_steps, "num_steps", 1, owner=owner)
    key = check_key(key, owner=owner)
    if validate is not None:
        validate_every = check_int(validate_every, "validate_every", 1, owner=owner)
    as_model = (lambda p: p) if graphdef is None else (lambda p: nnx.merge(graphdef, p, rest))
    optimizer = optax.adam(1e-3) if optimizer is None else optimizer
    # Strong dtypes from the start: a weakly typed initial value (jnp.zeros(2) from a Python
    # scalar, say) would otherwise compile the step a second time after the first update.
    params = jax.tree_util.tree_map(lambda x: jnp.asarray(x, dtype=jnp.result_type(x)), params)
    opt_state = optimizer.init(params)
    generate = batches if callable(batches) else None
    iterator = None if generate is not None or batches is None else iter(batches)
    step = _compiled_step(graphdef, loss_fn, optimizer, generate)
    bar = Progress(num_steps, label=label, enabled=progress)
    if progress:
        print(f"{label}: compiling the training step ...", file=bar.stream, flush=True)
    losses, extras, validation, best = [], {}, [], None
    for i in range(num_steps):
        batch = _next_batch(iterator, i, num_steps, owner)
        params, opt_state, loss, aux = step(params, rest, opt_state, batch, jax.random.fold_in(key, i))
        losses.append(_finite_loss(loss, i, owner))
        for name, value in aux.items():
            extras.setdefault(name, []).append(float(value))
        bar.update(i + 1, **{"loss": losses[-1], **{n: v[-1] for n, v in extras.items()}})
        if validate is not None and ((i + 1) % validate_every == 0 or i + 1 == num_steps):
            score = float(validate(as_model(params)))
            if np.isnan(score):
                raise fail(owner, f"validate returned NaN at step {i + 1}; it must return a number, higher is better.")
            validation.append((i + 1, score))
            if best is None or score > best[0]:
                best = (score, i + 1, params)
    bar.close()
    best_step, params = (num_steps, params) if best is None else best[1:]
    return TrainResult(as_model(params), np.asarray(losses), {n: np.asarray(v) for n, v in extras.items()},
                       validation, best_step)


def train(
    model: nnx.Module,
    loss_fn: Callable[[Any, Any, jax.Array], tuple[jax.Array, dict]],
    batches: Callable[[jax.Array], Any] | Iterable[Any] | None,
    *,
    num_steps: int,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    params_filter: Any = nnx.Param,
    progress: bool = False,
    label: str = "train",
    validate: Callable[[Any], float] | None = None,
    validate_every: int = 10,
) -> TrainResult:
    """Train an NNX model (an `Encoder`, or any module `loss_fn` uses) with optax.

    The model is split once (`nnx.split`); one step is a single pure jitted function.

    Args:
      model: an `Encoder` or any NNX module; `loss_fn` receives it merged.
      loss_fn: `loss_fn(model, batch, key) -> (scalar loss, dict of scalar extras)`.
      batches: a function `key -> batch` (e.g. rendering a fresh synthetic batch inside the
        jitted step), an iterable of batches (pytrees of arrays with fixed shapes), or None
        (every batch is None; the loss draws what it needs from its key).
      num_steps: optimisation steps.
      key: PRNG key; step `i` uses `fold_in(key, i)`.
      optimizer: an optax transformation; default `optax.adam(1e-3)`.
      params_filter: which NNX variables are trained (default: all `nnx.Param`).
      progress: show progress lines (`neurosym.progress.Progress`, on stderr).
      label: the name the progress lines start with.
      validate: optional `validate(model) -> score`, higher is better (e.g. accuracy or rule
        satisfaction on held-out images), called every `validate_every` steps and after the last
        step; the model with the best score is returned (the earliest on ties). Runs outside
        the jitted step, so it may use numpy.
      validate_every: steps between validations.

    Returns:
      `TrainResult` with the trained model (a new object; `model` is left as it was), the loss
      per step and each extra per step.

    Raises:
      FloatingPointError: the loss became NaN or infinite (the step is named).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from flax import nnx
      >>> lin = nnx.Linear(1, 1, rngs=nnx.Rngs(0))
      >>> loss = lambda m, b, k: (jnp.mean((m(b[0]) - b[1]) ** 2), {})
      >>> data = (jnp.ones((4, 1)), jnp.full((4, 1), 3.0))
      >>> res = train(lin, loss, [data] * 200, num_steps=200, key=jax.random.key(0), optimizer=optax.adam(0.1))
      >>> bool(res.loss_history[-1] < 1e-3 * res.loss_history[0])
      True
    """
    graphdef, params, rest = nnx.split(model, params_filter, ...)
    return _optimise(graphdef, params, rest, loss_fn, batches, num_steps=num_steps, key=key, optimizer=optimizer,
                     progress=progress, label=label, validate=validate, validate_every=validate_every, owner="train")


def train_params(
    params: Any,
    loss_fn: Callable[[Any, Any, jax.Array], tuple[jax.Array, dict]],
    batches: Callable[[jax.Array], Any] | Iterable[Any] | None = None,
    *,
    num_steps: int,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    progress: bool = False,
    label: str = "train",
    validate: Callable[[Any], float] | None = None,
    validate_every: int = 10,
) -> TrainResult:
    """Train a pytree of parameters with optax: the loop of `train` without NNX.

    Args:
      params: the initial parameters (any pytree of float arrays, e.g. `automata.nca.NCAParams`).
      loss_fn: `loss_fn(params, batch, key) -> (scalar loss, dict of scalar extras)`.
      batches, num_steps, key, optimizer, progress, label, validate, validate_every: as for
        `train` (`validate` receives the parameters).

    Returns:
      `TrainResult`; `result.params` holds the trained parameters.

    Example:
      >>> import jax, jax.numpy as jnp, optax
      >>> loss = lambda p, batch, key: (jnp.sum((p - 2.0) ** 2), {"p0": p[0]})
      >>> res = train_params(jnp.zeros(3), loss, num_steps=50, key=jax.random.key(0), optimizer=optax.sgd(0.2))
      >>> [round(v, 3) for v in res.params.tolist()], res.aux_history["p0"].shape
      ([2.0, 2.0, 2.0], (50,))
    """
    return _optimise(None, params, None, loss_fn, batches, num_steps=num_steps, key=key, optimizer=optimizer,
                     progress=progress, label=label, validate=validate, validate_every=validate_every,
                     owner="train_params")
