"""What a loss function gets besides its parameters: the step's key, the step, data, estimator."""

from __future__ import annotations

from typing import Any

import jax
from flax import struct

from neurosym.fit.estimators import Estimator, PathwiseGradient, as_estimator

__all__ = ["FitContext"]


class FitContext(struct.PyTreeNode):
    """What `loss_fn(params, ctx)` gets besides the parameters (see `neurosym.fit`).

    Attributes:
      key: PRNG key of this step (and sample, with `num_samples > 1`); the same for all starts.
      step: step number, int32 scalar, counted from 0 over the whole fit (resumes included).
      data: the `data=` pytree passed to `fit` (None if none).
      estimator: the gradient `Estimator` (static); it compares equal to its name, e.g.
        `ctx.estimator == "score_function"`. A name is accepted and turned into the object.

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
    estimator: Estimator = struct.field(pytree_node=False, default=PathwiseGradient())

    def __post_init__(self):
        object.__setattr__(self, "estimator", as_estimator(self.estimator))

    def bernoulli(self, key, p, *, shape=None, temperature=0.5) -> jax.Array:
        """A Bernoulli(p) sample of the kind the estimator needs.

        Pathwise: the relaxed sample `relax.soft_bernoulli(key, p, temperature)` in (0, 1);
        straight-through: the exact 0/1 sample with the relaxed sample's gradient; score
        function: the exact 0/1 sample with no gradient (return
        `(value, relax.bernoulli_log_prob(sample, p).sum())` from the loss). The three use the
        same noise, so the exact samples agree and the relaxed one exceeds 1/2 exactly where
        they are 1.

        Args:
          key: PRNG key (e.g. `ctx.key`, or a key split from it).
          p: success probabilities in (0, 1), any shape.
          shape: output shape (default: `p`'s); `p` broadcasts to it.
          temperature: relaxation temperature, positive (pathwise and straight-through).
        """
        return self.estimator.sample(key, p, shape=shape, temperature=temperature)
