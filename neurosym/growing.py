"""Train a growing neural CA to grow a target picture from a single seed cell (optax)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

import automata
from automata.nca import NCAParams, growing_nca, init_nca, seed_state
from neurosym.progress import Progress


@dataclasses.dataclass
class GrowingResult:
    """What `train_growing_nca` returns.

    Attributes:
      params: trained `NCAParams`.
      lattice: the lattice the CA was trained on.
      losses: mean squared RGBA error per iteration, numpy `(num_iterations,)`.
      lengths: rollout length used at each iteration, numpy `(num_iterations,)`.
    """

    params: NCAParams
    lattice: automata.Lattice
    losses: np.ndarray
    lengths: np.ndarray

    def grow(self, *, key: jax.Array, num_steps: int = 96, record: bool = True):
        """Grow from the seed with the trained rule; returns `(final_state, trajectory)`."""
        rule = growing_nca(self.params)
        return automata.rollout(
            rule, self.lattice, seed_state(self.lattice, self.params.channels), key=key,
            num_steps=num_steps, record=record,
        )


def train_growing_nca(
    target,
    *,
    key: jax.Array,
    num_iterations: int = 2000,
    batch_size: int = 8,
    min_steps: int = 64,
    max_steps: int = 96,
    learning_rate: float = 2e-3,
    channels: int = 16,
    hidden: int = 128,
    progress: bool = True,
) -> GrowingResult:
    """Fit a growing neural CA so that a seed grows into `target` (Mordvintsev et al. 2020).

    Each iteration grows `batch_size` seeds for a random number of steps in
    `[min_steps, max_steps]` and takes an Adam step on the mean squared error of the RGBA
    channels. The rollout length is dynamic under one static bound, so the changing lengths
    compile once; each step is rematerialised in the backward pass to bound memory.

    Args:
      target: RGBA picture, shape `(H, W, 4)`, premultiplied colours and alpha in [0, 1]
        (e.g. `neurosym.targets.embryo_target(40)`).
      key: PRNG key (initial weights, rollout lengths, fire masks).
      num_iterations: optimiser steps.
      batch_size: seeds grown per step.
      min_steps, max_steps: range of rollout lengths (inclusive).
      learning_rate: Adam learning rate.
      channels, hidden: network size (16 and 128 in the paper).
      progress: print progress lines.

    Returns:
      `GrowingResult`.

    Example:
      >>> import jax
      >>> from neurosym.targets import embryo_target
      >>> res = train_growing_nca(embryo_target(24, margin=4), key=jax.random.key(0),
      ...                         num_iterations=2, batch_size=2, min_steps=8, max_steps=12,
      ...                         progress=False)
      >>> res.losses.shape
      (2,)
    """
    target = jnp.asarray(target, jnp.float32)
    if target.ndim != 3 or target.shape[-1] != 4:
        raise ValueError(f"target must be an RGBA picture of shape (H, W, 4), got {target.shape}.")
    if not bool(jnp.all(jnp.isfinite(target))):
        raise ValueError("target contains NaN or infinite values; clean the picture first.")
    if not 1 <= min_steps <= max_steps:
        raise ValueError(f"Need 1 <= min_steps <= max_steps, got min_steps={min_steps}, max_steps={max_steps}.")
    if channels < 4:
        raise ValueError(f"channels must be at least 4 (RGBA), got {channels}.")
    lattice = automata.Lattice(target.shape[:2], boundary="fixed")
    k_init, k_loop = jax.random.split(key)
    params = init_nca(k_init, channels=channels, hidden=hidden)
    optimiser = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate))
    opt_state = optimiser.init(params)
    seed = seed_state(lattice, channels)

    def loss_fn(params, keys, length):
        rule = growing_nca(params)

        def grow(k):
            final, _ = automata.rollout(
                rule, lattice, seed, key=k, num_steps=max_steps, length=length, record=False, checkpoint=True
            )
            return final.x[..., :4]

        return jnp.mean((jax.vmap(grow)(keys) - target) ** 2)

    @jax.jit
    def train_step(params, opt_state, key):
        k_len, k_batch = jax.random.split(key)
        length = jax.random.randint(k_len, (), min_steps, max_steps + 1)
        keys = jax.random.split(k_batch, batch_size)
        loss, grads = jax.value_and_grad(loss_fn)(params, keys, length)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, length

    bar = Progress(num_iterations, label="grow", enabled=progress)
    losses, lengths = [], []
    for i in range(num_iterations):
        params, opt_state, loss, length = train_step(params, opt_state, jax.random.fold_in(k_loop, i))
        losses.append(float(loss))
        lengths.append(int(length))
        if not np.isfinite(losses[-1]):
            raise FloatingPointError(
                f"The training loss became {losses[-1]} at iteration {i}; lower learning_rate."
            )
        bar.update(i + 1, loss=losses[-1], steps=lengths[-1])
    bar.close()
    return GrowingResult(params=params, lattice=lattice, losses=np.array(losses), lengths=np.array(lengths))
