"""Supervised per-cell losses and scores on an encoder's logits, with a mask of labelled cells."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["cell_accuracy", "cell_cross_entropy"]


def cell_cross_entropy(logits, kinds, mask) -> jax.Array:
    """Masked mean cross-entropy of per-cell logits against kind indices.

    Args:
      logits: `(..., num_kinds)`.
      kinds: `(...)` integer kind index of each cell (any value where `mask` is 0).
      mask: `(...)` booleans or weights: which cells are labelled.

    Returns:
      the scalar `sum(mask * -log softmax(logits)[kinds]) / max(sum(mask), 1)`; 0 when no cell
      is labelled.

    Example:
      >>> import jax.numpy as jnp
      >>> round(float(cell_cross_entropy(jnp.zeros((3, 2)), jnp.array([0, 1, 5]), jnp.array([1, 1, 0]))), 4)
      0.6931
    """
    logp = jax.nn.log_softmax(logits, axis=-1)
    k = jnp.clip(jnp.asarray(kinds), 0, logits.shape[-1] - 1)
    per = -jnp.take_along_axis(logp, k[..., None], axis=-1)[..., 0]
    w = jnp.asarray(mask).astype(per.dtype)
    return jnp.sum(per * w) / jnp.maximum(jnp.sum(w), 1)


def cell_accuracy(logits, kinds, mask) -> jax.Array:
    """Fraction of masked cells whose most probable kind is `kinds` (0 when no cell is masked).

    Example:
      >>> import jax.numpy as jnp
      >>> float(cell_accuracy(jnp.array([[2.0, 0.0], [0.0, 1.0]]), jnp.array([0, 0]), jnp.array([1, 1])))
      0.5
    """
    hit = (jnp.argmax(logits, axis=-1) == jnp.asarray(kinds)).astype(jnp.float32)
    w = jnp.asarray(mask).astype(jnp.float32)
    return jnp.sum(hit * w) / jnp.maximum(jnp.sum(w), 1)
