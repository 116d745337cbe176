"""Tests of neurosym.growing: a growing neural CA trained on the package's training loop."""

import jax
import numpy as np
import pytest

from neurosym.growing import GrowingResult, train_growing_nca
from neurosym.targets import embryo_target


@pytest.mark.slow
def test_growing_trains_with_rollout_lengths_in_range():
    target = embryo_target(12, num_cells=2, margin=2)
    res = train_growing_nca(target, key=jax.random.key(0), num_iterations=3, batch_size=1, min_steps=2,
                            max_steps=4, channels=6, hidden=8, progress=False)
    assert isinstance(res, GrowingResult)
    assert res.losses.shape == (3,) and np.isfinite(res.losses).all()
    assert res.lengths.dtype.kind == "i" and ((2 <= res.lengths) & (res.lengths <= 4)).all()
    final, traj = res.grow(key=jax.random.key(1), num_steps=3)
    assert final.x.shape == (12, 12, 6) and traj.x.shape == (3, 12, 12, 6)


@pytest.mark.parametrize(
    "kwargs, error, phrase",
    [
        (dict(num_iterations=0), ValueError, "num_iterations must be at least 1"),
        (dict(batch_size=0), ValueError, "batch_size must be at least 1"),
        (dict(min_steps=0), ValueError, "min_steps must be at least 1"),
        (dict(min_steps=5, max_steps=4), ValueError, "min_steps <= max_steps"),
        (dict(learning_rate=float("nan")), ValueError, "learning_rate must be a finite number"),
        (dict(key=0), TypeError, "key must be a JAX PRNG key"),
    ],
)
def test_growing_bad_arguments(kwargs, error, phrase):
    kwargs = dict(dict(key=jax.random.key(0)), **kwargs)
    with pytest.raises(error, match=f"train_growing_nca: .*{phrase}"):
        train_growing_nca(np.zeros((8, 8, 4)), progress=False, **kwargs)
