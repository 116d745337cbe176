"""A leading batch axis over devices: the mesh, padding to a multiple of the devices, host copies.

Set-up and tear-down run on the host in numpy: eager jax ops on ever new shapes would each
compile a small program.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = ["Layout", "host", "layout", "pad", "where"]


class Layout(NamedTuple):
    """How a batch of `size` items is laid over devices."""

    mesh: Mesh
    batched: NamedSharding  # split along the batch axis
    replicated: NamedSharding  # the same on every device
    num_devices: int
    padded: int  # size rounded up to a multiple of num_devices


def layout(size: int, devices: list, axis: str) -> Layout:
    """Shard `size` items over `min(size, len(devices))` devices along a mesh axis named `axis`.

    Example:
      >>> import jax
      >>> layout(3, jax.devices()[:1], "starts").padded
      3
    """
    num_devices = min(size, len(devices))
    mesh = Mesh(np.array(devices[:num_devices]), (axis,))
    return Layout(mesh, NamedSharding(mesh, PartitionSpec(axis)), NamedSharding(mesh, PartitionSpec()),
                  num_devices, -(-size // num_devices) * num_devices)


def host(tree):
    """numpy copies of a pytree's leaves, in JAX's dtypes (numpy arrays are never weakly typed).

    Example:
      >>> host({"a": 1.0})["a"].dtype
      dtype('float32')
    """
    return jax.tree.map(lambda x: np.asarray(x, dtype=jnp.result_type(x)), jax.device_get(tree))


def pad(tree, num_padded: int):
    """Repeat item 0 (numpy) so that every leaf's leading axis has `num_padded` entries.

    Example:
      >>> pad(np.arange(2), 4).tolist()
      [0, 1, 0, 0]
    """

    def one(x):
        extra = num_padded - x.shape[0]
        return x if extra == 0 else np.concatenate([x, np.repeat(x[:1], extra, axis=0)])

    return jax.tree.map(one, tree)


def where(mask, new, old, xp=jnp):
    """Per-item select: leaf-wise `where(mask[s], new, old)`, keeping `old`'s dtype.

    Example:
      >>> where(np.array([True, False]), np.ones(2), np.zeros(2), xp=np).tolist()
      [1.0, 0.0]
    """

    def pick(a, b):
        m = mask.reshape(mask.shape + (1,) * (xp.ndim(b) - 1))
        return xp.where(m, a, b).astype(b.dtype)

    return jax.tree.map(pick, new, old)
