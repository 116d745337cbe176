"""Evaluate a function over a batch of parameter sets, sharded over devices."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import check_key
from neurosym.fit.batch import host, layout, pad
from neurosym.fit.checks import check_devices

__all__ = ["sweep"]


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
    lay = layout(size, check_devices(devices), "batch")
    grid = jax.device_put(pad(host(grid_params), lay.padded), lay.batched)
    if key is None:
        out = jax.jit(jax.vmap(fn), in_shardings=(lay.batched,), out_shardings=lay.batched)(grid)
    else:
        key = check_key(key)
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(lay.padded))
        out = jax.jit(jax.vmap(fn), in_shardings=(lay.batched, lay.batched), out_shardings=lay.batched)(grid, keys)
    return out if lay.padded == size else jax.tree.map(lambda x: x[:size], out)
