"""Train a growing neural CA to grow a target picture from a single seed cell.

Training runs on `neurosym.encoder.train_params`, the training loop the encoder and perception use too.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

import automata
from automata._checks import check_finite_array, check_int, check_key, check_number, fail
from automata.nca import NCAParams, growing_nca, init_nca, seed_state
from neurosym.encoder.train import train_params


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
    owner = "train_growing_nca"
    target = jnp.asarray(target, jnp.float32)
    if target.ndim != 3 or target.shape[-1] != 4:
        raise fail(owner, f"target must be an RGBA picture of shape (H, W, 4), got {target.shape}.")
    check_finite_array(target, "target", owner=owner, hint="Clean the picture first (no NaN or infinite values).")
    key = check_key(key, owner=owner)
    num_iterations = check_int(num_iterations, "num_iterations", 1, owner=owner)
    batch_size = check_int(batch_size, "batch_size", 1, owner=owner)
    min_steps = check_int(min_steps, "min_steps", 1, owner=owner, hint="Need 1 <= min_steps <= max_steps.")
    max_steps = check_int(max_steps, "max_steps", min_steps, owner=owner, hint="Need 1 <= min_steps <= max_steps.")
    channels = check_int(channels, "channels", 4, owner=owner, hint="The first four channels are RGBA.")
    hidden = check_int(hidden, "hidden", 1, owner=owner)
    learning_rate = check_number(learning_rate, "learning_rate", minimum=0.0, open_minimum=True, owner=owner)
    lattice = automata.Lattice(target.shape[:2], boundary="fixed")
    k_init, k_loop = jax.random.split(key)
    seed = seed_state(lattice, channels)

    def loss_fn(params, batch, key):
        k_len, k_batch = jax.random.split(key)
        length = jax.random.randint(k_len, (), min_steps, max_steps + 1)
        rule = growing_nca(params)

        def grow(k):
            final, _ = automata.rollout(
                rule, lattice, seed, key=k, num_steps=max_steps, length=length, record=False, checkpoint=True
            )
            return final.x[..., :4]

        grown = jax.vmap(grow)(jax.random.split(k_batch, batch_size))
        return jnp.mean((grown - target) ** 2), {"steps": length}

    result = train_params(
        init_nca(k_init, channels=channels, hidden=hidden), loss_fn, None, num_steps=num_iterations, key=k_loop,
        optimizer=optax.chain(optax.clip_by_global_norm(1.0), optax.adam(learning_rate)),
        progress=progress, label="grow",
    )
    return GrowingResult(params=result.params, lattice=lattice, losses=result.loss_history,
                         lengths=result.aux_history["steps"].astype(int))
