"""Relaxations that let gradients pass through discrete events: thresholds, rounding, sampling.

Three families, one place:

- soft relaxations (`soft_threshold`, `soft_count_equals`, `gumbel_softmax`, `soft_bernoulli`):
  replace a step or a sample by a smooth function with a temperature; as the temperature goes
  to 0 they approach the discrete event, and their gradients grow sharper and noisier;
- straight-through estimators (`straight_through`, `straight_through_threshold`,
  `straight_through_round`, and `hard=True` in the samplers): the forward value is the exact
  discrete one, the backward pass uses the gradient of the soft relaxation (biased, low variance);
- score-function (REINFORCE) helpers (`score_function_surrogate`, `bernoulli_log_prob`,
  `categorical_log_prob`): unbiased gradients of an expectation over discrete samples, with no
  relaxation of the samples themselves (unbiased, high variance).

Example:
  >>> import jax, jax.numpy as jnp
  >>> from automata import relax
  >>> x = jnp.array([0.2, 0.8])
  >>> relax.straight_through_threshold(x, 0.5, 0.1)
  Array([0., 1.], dtype=float32)
  >>> round(float(jax.grad(relax.soft_threshold)(0.8, 0.5, 0.1)), 3)  # sigmoid'(3) / 0.1
  0.452
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import as_float

__all__ = [
    "bernoulli_log_prob",
    "categorical_log_prob",
    "gumbel_softmax",
    "hard_threshold",
    "score_function_surrogate",
    "soft_bernoulli",
    "soft_count_equals",
    "soft_threshold",
    "straight_through",
    "straight_through_round",
    "straight_through_threshold",
]


def _check_temperature(temperature, name: str = "temperature") -> None:
    """Raise unless a concrete `temperature` is positive and finite; tracers pass unchecked."""
    try:
        value = np.asarray(temperature, dtype=np.float64)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        # Under jit/grad/vmap the value is unknown at trace time; it cannot be checked here.
        return
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a positive number (or an array of them), got "
            f"{type(temperature).__name__}."
        ) from err
    if not np.all(np.isfinite(value) & (value > 0)):
        raise ValueError(
            f"{name} must be positive and finite, got {temperature!r}. Use a small positive value "
            "such as 0.1 for a sharp relaxation; for the exact discrete value use the hard_* or "
            "straight_through_* functions instead of temperature 0."
        )


def _unit_noise(key, uniform, shape, dtype, name: str) -> jax.Array:
    """Uniform numbers in (0, 1): drawn from `key`, or the `uniform` given (clipped away from 0)."""
    if (key is None) == (uniform is None):
        raise ValueError(
            f"{name} needs exactly one source of randomness: pass key=jax.random.key(seed), or "
            "uniform=<numbers in [0, 1)> (e.g. lattice.uniform(key, ...)) with key=None."
        )
    if uniform is None:
        return jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
    uniform = jnp.asarray(uniform, dtype)
    if uniform.shape != tuple(shape):
        raise ValueError(
            f"{name}: uniform has shape {uniform.shape}, but the samples have shape {tuple(shape)}; "
            "pass one uniform number per sampled value."
        )
    # log(0) would give an infinite logit; the smallest normal number keeps it finite.
    return jnp.maximum(uniform, jnp.finfo(dtype).tiny)


# ---------------------------------------------------------------------------- thresholds
def soft_threshold(x, threshold=0.0, temperature=1.0) -> jax.Array:
    """Smooth step `sigmoid((x - threshold) / temperature)`, a relaxation of `x > threshold`.

    Its gradient is `sigmoid'(z) / temperature = s (1 - s) / temperature` with
    `s = soft_threshold(x)`; as `temperature -> 0` it tends to `hard_threshold` away from the
    threshold.

    Args:
      x: values, any shape.
      threshold: where the step sits; broadcasts against `x`.
      temperature: width of the transition, positive (same units as `x`).

    Returns:
      values in (0, 1), the broadcast shape of `x` and `threshold`.

    Example:
      >>> float(soft_threshold(3.0, 2.5, 0.1))  # sigmoid(5)
      0.9933071732521057
    """
    _check_temperature(temperature)
    x = as_float(x)
    return jax.nn.sigmoid((x - threshold) / temperature)


def hard_threshold(x, threshold=0.0) -> jax.Array:
    """The step `1.0 where x > threshold else 0.0`, in `x`'s floating dtype (zero gradient).

    Example:
      >>> hard_threshold(jnp.array([0.4, 0.6]), 0.5)
      Array([0., 1.], dtype=float32)
    """
    x = as_float(x)
    return (x > threshold).astype(x.dtype)


def straight_through(hard, soft) -> jax.Array:
    """Forward value exactly `hard`, gradient that of `soft` (straight-through estimator).

    Bengio, Leonard & Courville 2013 (arXiv:1308.3432). Written as
    `hard + (soft - stop_gradient(soft))`: the bracket is exactly zero in the forward pass, so
    the value is `hard` bit for bit (the common `soft + stop_gradient(hard - soft)` can be off by
    one rounding), while its derivative is `d soft`. Any gradient of `hard` itself is kept too;
    pass a constant or stop-gradiented `hard` for the textbook estimator.

    Args:
      hard: the discrete forward value, any shape.
      soft: its differentiable surrogate, broadcastable to `hard`'s shape.

    Example:
      >>> x = jnp.array(0.3)
      >>> jax.grad(lambda x: straight_through(jnp.round(x), 2 * x))(x)
      Array(2., dtype=float32, weak_type=True)
    """
    soft = as_float(soft)
    hard = jnp.asarray(hard).astype(soft.dtype)
    return hard + (soft - jax.lax.stop_gradient(soft))


def straight_through_threshold(x, threshold=0.0, temperature=1.0) -> jax.Array:
    """`hard_threshold(x)` forward, `soft_threshold(x, threshold, temperature)` gradient.

    Example:
      >>> straight_through_threshold(jnp.array([0.4, 0.6]), 0.5, 0.1)
      Array([0., 1.], dtype=float32)
    """
    hard = jax.lax.stop_gradient(hard_threshold(x, threshold))
    return straight_through(hard, soft_threshold(x, threshold, temperature))


def straight_through_round(x) -> jax.Array:
    """`jnp.round(x)` forward, identity gradient (straight-through rounding).

    Example:
      >>> jax.grad(lambda x: straight_through_round(x) ** 2)(1.3)  # 2 * round(1.3) * 1
      Array(2., dtype=float32, weak_type=True)
    """
    x = as_float(x)
    return straight_through(jax.lax.stop_gradient(jnp.round(x)), x)


def soft_count_equals(n, k, temperature=0.25) -> jax.Array:
    """Smooth indicator that an integer count `n` equals `k`.

    The product `soft_threshold(n, k - 1/2) * (1 - soft_threshold(n, k + 1/2))` of two smooth
    steps half a unit either side of `k`; at integer `n` it tends to `n == k` as the temperature
    goes to 0 (at `temperature=0.1` it is 0.987 at `n = k` and 0.007 at `n = k +- 1`). Useful
    for relaxed Life-like rules, whose birth and survival sets are sets of neighbour counts.

    Args:
      n: counts (any shape; integers, or relaxed real-valued counts).
      k: the target count; broadcasts against `n`.
      temperature: width of each step in count units, positive.

    Example:
      >>> [round(float(v), 3) for v in soft_count_equals(jnp.arange(5), 2, 0.1)]
      [0.0, 0.007, 0.987, 0.007, 0.0]
    """
    _check_temperature(temperature)
    n = as_float(n)
    return jax.nn.sigmoid((n - (k - 0.5)) / temperature) * jax.nn.sigmoid(((k + 0.5) - n) / temperature)


# ---------------------------------------------------------------------------- relaxed samples
def gumbel_softmax(key, logits, temperature=1.0, hard=False, axis=-1, *, uniform=None) -> jax.Array:
    """A relaxed one-hot sample from the categorical distribution `softmax(logits)`.

    `softmax((logits + g) / temperature)` with Gumbel noise `g = -log(-log u)`; its argmax is an
    exact categorical sample (the Gumbel-max trick). Jang, Gu & Poole 2017 (arXiv:1611.01144);
    Maddison, Mnih & Teh 2017 (arXiv:1611.00712, "concrete distribution").

    Args:
      key: PRNG key, or None when `uniform` is given.
      logits: unnormalised log-probabilities, shape `(..., num_classes, ...)` with the classes
        along `axis`.
      temperature: positive; small values give nearly one-hot samples (and noisier gradients).
      hard: if True the forward value is the exact one-hot `argmax` and the gradient is the
        relaxed sample's (straight-through).
      axis: the class axis.
      uniform: optional numbers in [0, 1) of `logits`' shape to use instead of drawing from
        `key` (e.g. `lattice.uniform(key, (num_classes,))`, which a sharded rollout reproduces).

    Returns:
      shape of `logits`; non-negative, summing to 1 along `axis`.

    Example:
      >>> y = gumbel_softmax(jax.random.key(0), jnp.zeros(3), 0.5, hard=True)
      >>> float(y.sum())
      1.0
    """
    _check_temperature(temperature)
    logits = as_float(logits)
    u = _unit_noise(key, uniform, logits.shape, logits.dtype, "gumbel_softmax")
    gumbel = -jnp.log(-jnp.log(u))
    soft = jax.nn.softmax((logits + gumbel) / temperature, axis=axis)
    if not hard:
        return soft
    num_classes = logits.shape[axis]
    one_hot = jax.nn.one_hot(jnp.argmax(soft, axis=axis), num_classes, dtype=soft.dtype, axis=axis)
    return straight_through(one_hot, soft)


def soft_bernoulli(key, p, temperature=1.0, hard=False, *, shape=None, uniform=None) -> jax.Array:
    """A relaxed Bernoulli(p) sample in (0, 1) (binary concrete distribution).

    `sigmoid((logit(p) + log u - log(1 - u)) / temperature)` with `u ~ Uniform(0, 1)`: the
    two-class case of `gumbel_softmax`. Maddison, Mnih & Teh 2017 (arXiv:1611.00712), sec. 3.3.
    The relaxed sample exceeds 1/2 exactly when `u > 1 - p`, which has probability `p`.

    Args:
      key: PRNG key, or None when `uniform` is given.
      p: success probabilities in (0, 1), any shape.
      temperature: positive; small values give nearly binary samples.
      hard: if True the forward value is the exact 0/1 sample and the gradient is the relaxed
        sample's (straight-through).
      shape: output shape (default: `p`'s shape); `p` broadcasts to it.
      uniform: optional numbers in [0, 1) of the output shape to use instead of drawing from
        `key` (e.g. `lattice.uniform(key)`, which a sharded rollout reproduces).

    Returns:
      samples of `shape`, in (0, 1) (or {0, 1} when `hard`).

    Example:
      >>> b = soft_bernoulli(jax.random.key(0), jnp.full((4,), 0.3), 0.5, hard=True)
      >>> bool(jnp.all((b == 0) | (b == 1)))
      True
    """
    _check_temperature(temperature)
    p = as_float(p)
    shape = p.shape if shape is None else tuple(shape)
    u = _unit_noise(key, uniform, shape, p.dtype, "soft_bernoulli")
    # logit(p) + logistic noise; log1p keeps precision for small p and u.
    z = (jnp.log(p) - jnp.log1p(-p)) + (jnp.log(u) - jnp.log1p(-u))
    soft = jax.nn.sigmoid(z / temperature)
    if not hard:
        return soft
    return straight_through(jax.lax.stop_gradient(z > 0), soft)


# ---------------------------------------------------------------------------- score function
def score_function_surrogate(log_prob, value, baseline=None) -> jax.Array:
    """A surrogate whose value is `value` and whose gradient is the score-function estimate.

    For a sample `b ~ p_theta` with `value = f(b)`, the gradient of the result is
    `grad f + (f - baseline) * grad log p_theta(b)`, an unbiased estimate of
    `grad E[f(b)]` (REINFORCE: Williams 1992, doi:10.1007/BF00992696). A baseline that does not
    depend on `b` (e.g. a running mean of `value`) keeps it unbiased and lowers its variance.
    The forward value is `value` exactly, since `log_prob - stop_gradient(log_prob)` is 0.

    Args:
      log_prob: log-probability of the drawn sample under the parameters being trained (sum over
        sites for a lattice of independent draws); scalar, or shape `(batch,)` for a batch of
        samples.
      value: the objective evaluated on the sample; broadcasts against `log_prob`.
      baseline: optional control variate; no gradient flows through it.

    Returns:
      the broadcast shape of `log_prob` and `value` (average over a batch before `jax.grad`).

    Example:
      >>> def loss(p, key):
      ...     b = jax.random.bernoulli(key, p).astype(jnp.float32)
      ...     return score_function_surrogate(bernoulli_log_prob(b, p), 3 * b + 1)
      >>> keys = jax.random.split(jax.random.key(0), 20000)
      >>> g = jax.vmap(jax.grad(loss), (None, 0))(0.3, keys).mean()  # close to 3
    """
    log_prob = jnp.asarray(log_prob)
    value = as_float(value)
    advantage = value if baseline is None else value - baseline
    return value + jax.lax.stop_gradient(advantage) * (log_prob - jax.lax.stop_gradient(log_prob))


def bernoulli_log_prob(sample, p) -> jax.Array:
    """Elementwise `log P(sample)` under Bernoulli(p): `b log p + (1 - b) log(1 - p)`.

    Args:
      sample: 0/1 values (booleans, integers or floats), any shape.
      p: success probabilities in [0, 1], broadcastable to `sample`.

    Example:
      >>> float(bernoulli_log_prob(1, 0.5))
      -0.6931471824645996
    """
    p = as_float(p)
    b = jnp.asarray(sample).astype(p.dtype)
    # 0 * log 0 counts as 0, so events of probability 1 have log-probability 0; the inner
    # `where`s keep the unused logarithm finite so that its zero gradient is not 0 * inf = nan.
    ones, zeros = b != 0, b != 1
    log_p = jnp.log(jnp.where(ones, p, 1.0))
    log_q = jnp.log1p(-jnp.where(zeros, p, 0.0))
    return jnp.where(ones, b * log_p, 0.0) + jnp.where(zeros, (1 - b) * log_q, 0.0)


def categorical_log_prob(sample, logits, axis=-1) -> jax.Array:
    """`log softmax(logits)[sample]` along `axis`: the log-probability of a categorical sample.

    Args:
      sample: integer class indices with `logits`' shape less `axis`; or one-hot (float) samples
        with `logits`' shape, which select by weighting (a relaxed sample gives the weighted sum).
      logits: unnormalised log-probabilities with the classes along `axis`.

    Returns:
      `logits`' shape without `axis`.

    Example:
      >>> float(categorical_log_prob(jnp.array(0), jnp.zeros(4)))  # log(1/4)
      -1.3862943649291992
    """
    logits = as_float(logits)
    log_p = jax.nn.log_softmax(logits, axis=axis)
    sample = jnp.asarray(sample)
    if jnp.issubdtype(sample.dtype, jnp.integer):
        expect = logits.shape[: axis % logits.ndim] + logits.shape[axis % logits.ndim + 1 :]
        if sample.shape != expect:
            raise ValueError(
                f"Integer class indices must have logits' shape without the class axis, {expect}; "
                f"got {sample.shape}. Pass one index per distribution (or one-hot floats of shape "
                f"{logits.shape})."
            )
        return jnp.squeeze(jnp.take_along_axis(log_p, jnp.expand_dims(sample, axis), axis=axis), axis)
    if sample.shape != logits.shape:
        raise ValueError(
            f"One-hot samples must have logits' shape {logits.shape}, got {sample.shape}; for "
            "class indices pass an integer array."
        )
    return jnp.sum(sample.astype(log_p.dtype) * log_p, axis=axis)
