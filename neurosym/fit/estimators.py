"""Gradient estimators for losses of discrete random samples, as objects.

An estimator says how a Bernoulli sample is drawn inside the loss (`sample`) and which
surrogate is differentiated (`surrogate`):

- `PathwiseGradient()`: relaxed samples in (0, 1), gradients through them
  (`automata.relax.soft_bernoulli`; Maddison et al. 2017, arXiv:1611.00712);
- `StraightThrough()`: exact 0/1 samples forward, the relaxed sample's gradient backward
  (Bengio et al. 2013, arXiv:1308.3432);
- `ScoreFunction(baseline_decay=0.9)`: exact samples with no gradient through them; the loss
  returns `(value, log_prob)` and the gradient of `log_prob * (value - baseline)` is an unbiased
  estimate of the gradient of the expected loss (REINFORCE; Williams 1992,
  doi:10.1007/BF00992696). The baseline is the mean of the other samples (leave-one-out) when
  several are drawn per step, else a bias-corrected exponential moving average of earlier
  steps' values with this decay.

The old names `"pathwise"`, `"straight_through"` and `"score_function"` are accepted wherever an
estimator is (`as_estimator`), and an estimator compares equal to its name, so losses written as
`ctx.estimator == "score_function"` keep working.

Example:
  >>> as_estimator("score_function")
  ScoreFunction(baseline_decay=0.9)
  >>> ScoreFunction(0.5) == "score_function", PathwiseGradient() == "score_function"
  (True, False)
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from automata import relax
from automata._checks import check_number

__all__ = ["ESTIMATORS", "Estimator", "PathwiseGradient", "ScoreFunction", "StraightThrough", "as_estimator"]


class Estimator:
    """Base of the gradient estimators: a name, a Bernoulli sampler and a surrogate loss."""

    name: ClassVar[str] = ""
    # The moving average of the loss that the loop keeps for estimators with a baseline.
    baseline_decay: float = 0.9

    def sample(self, key, p, *, shape=None, temperature=0.5) -> jax.Array:
        """A Bernoulli(p) sample of the kind this estimator differentiates (see the subclasses)."""
        raise NotImplementedError

    def surrogate(self, values: jax.Array, log_probs: jax.Array | None, baseline: jax.Array) -> jax.Array:
        """The scalar whose gradient is the estimate; `values`, `log_probs`: `(num_samples,)`."""
        return jnp.mean(values)

    def __eq__(self, other):
        if isinstance(other, str):
            return other == self.name
        return type(other) is type(self) and dataclasses.astuple(other) == dataclasses.astuple(self)

    def __hash__(self):
        return hash(self.name)


@dataclasses.dataclass(frozen=True, eq=False)
class PathwiseGradient(Estimator):
    """Relaxed samples in (0, 1) and gradients through them (`relax.soft_bernoulli`).

    Example:
      >>> import jax
      >>> b = PathwiseGradient().sample(jax.random.key(0), 0.3, shape=(4,))
      >>> bool(((b > 0) & (b < 1)).all())
      True
    """

    name: ClassVar[str] = "pathwise"

    def sample(self, key, p, *, shape=None, temperature=0.5) -> jax.Array:
        return relax.soft_bernoulli(key, p, temperature, shape=shape)


@dataclasses.dataclass(frozen=True, eq=False)
class StraightThrough(Estimator):
    """Exact 0/1 samples forward, the relaxed sample's gradient backward.

    Example:
      >>> import jax
      >>> b = StraightThrough().sample(jax.random.key(0), 0.3, shape=(4,))
      >>> sorted(set(b.tolist())) <= [0.0, 1.0]
      True
    """

    name: ClassVar[str] = "straight_through"

    def sample(self, key, p, *, shape=None, temperature=0.5) -> jax.Array:
        return relax.soft_bernoulli(key, p, temperature, hard=True, shape=shape)


@dataclasses.dataclass(frozen=True, eq=False)
class ScoreFunction(Estimator):
    """Exact samples without gradient; the loss returns `(value, log_prob)` (REINFORCE).

    Args:
      baseline_decay: decay in [0, 1) of the moving-average baseline used with one sample a
        step (with several, the leave-one-out mean is the baseline).

    Example:
      >>> import jax.numpy as jnp
      >>> values, log_probs = jnp.array([1.0, 3.0]), jnp.array([-0.5, -0.7])
      >>> float(ScoreFunction().surrogate(values, log_probs, 0.0))  # its value: the mean loss
      2.0
    """

    name: ClassVar[str] = "score_function"
    baseline_decay: float = 0.9

    def __post_init__(self):
        check_number(self.baseline_decay, "baseline_decay", minimum=0.0, maximum=0.999999,
                     owner="ScoreFunction", hint="Use e.g. 0.9.")

    def sample(self, key, p, *, shape=None, temperature=0.5) -> jax.Array:
        return jax.lax.stop_gradient(relax.soft_bernoulli(key, p, temperature, hard=True, shape=shape))

    def surrogate(self, values, log_probs, baseline):
        if log_probs is None:  # a scalar loss: a surrogate the user built
            return jnp.mean(values)
        n = values.shape[0]
        base = (jnp.sum(values) - values) / (n - 1) if n > 1 else baseline.astype(values.dtype)
        base = jax.lax.stop_gradient(base)
        return jnp.mean(relax.score_function_surrogate(log_probs, values, base))


_BY_NAME = {"pathwise": PathwiseGradient, "straight_through": StraightThrough, "score_function": ScoreFunction}
ESTIMATORS = tuple(_BY_NAME)
"""The estimators' names, accepted wherever an estimator is."""


def as_estimator(estimator) -> Estimator:
    """An `Estimator` from an estimator or one of the names in `ESTIMATORS`.

    Example:
      >>> as_estimator("pathwise")
      PathwiseGradient()
    """
    if isinstance(estimator, Estimator):
        return estimator
    if isinstance(estimator, str) and estimator in _BY_NAME:
        return _BY_NAME[estimator]()
    raise ValueError(
        f"Unknown estimator {estimator!r}; choose one of {', '.join(map(repr, ESTIMATORS))} or pass "
        "an estimator object such as PathwiseGradient() or ScoreFunction(baseline_decay=0.9)."
    )
