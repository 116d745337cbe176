"""Cellular Potts rollouts of one large lattice split along axis 0 over several devices."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from automata._checks import fail
from automata.engine import check_num_steps, check_step_inputs, step_key
from automata.lattice import Lattice
from automata.potts import Potts, _sweep
from automata.potts_energy import _float_dtype, _neighbour_labels
from automata.state import LatticeState

__all__ = ["sharded_potts_rollout"]


class _Sharded:
    """Per-cell reductions over all devices and block halos from the neighbouring devices.

    Each device holds `block_rows` consecutive lattice rows. A cell may span devices, so its
    volume, surface and the per-cell choice of one copy per colour are reduced over the mesh
    (`psum`, `pmax` of one `(N + 1,)` array each); the block row above and below a device's
    slab comes from its neighbours (`ppermute`), or from the wall at a fixed edge.
    """

    def __init__(self, lattice: Lattice, spacing: int, axis_name: str, num_devices: int, block_rows: int):
        self.lattice, self.spacing, self.axis_name = lattice, spacing, axis_name
        self.num_devices, self.block_rows = num_devices, block_rows
        self.index = jax.lax.axis_index(axis_name)
        self.row0 = self.index * block_rows

    def cell_sum(self, v):
        return jax.lax.psum(v, self.axis_name)

    def cell_max(self, v):
        return jax.lax.pmax(v, self.axis_name)

    def varying(self, v):
        """`v` marked as differing between devices (a per-device sum's starting value)."""
        return jax.lax.pcast(v, (self.axis_name,), to="varying")

    def _rows(self, arr, width: int, axis: int, fill):
        """`arr` with `width` rows of the neighbouring devices (or the wall) on `axis`."""
        n, wrap = self.num_devices, self.lattice.boundary == "wrap"
        down = [(i, (i + 1) % n) for i in range(n) if wrap or i + 1 < n]
        up = [(i, (i - 1) % n) for i in range(n) if wrap or i > 0]
        last = jax.lax.slice_in_dim(arr, arr.shape[axis] - width, arr.shape[axis], axis=axis)
        first = jax.lax.slice_in_dim(arr, 0, width, axis=axis)
        top = jax.lax.ppermute(last, self.axis_name, down)
        bottom = jax.lax.ppermute(first, self.axis_name, up)
        if not wrap:
            wall = jnp.full_like(top, fill)
            top = jnp.where(self.index == 0, wall, top)
            bottom = jnp.where(self.index == n - 1, wall, bottom)
        return jnp.concatenate([top, arr, bottom], axis=axis)

    def pad(self, arr, fill, d: int):
        axis = arr.ndim - d
        out = self._rows(arr, 1, axis, fill)
        pads = [(0, 0)] * (axis + 1) + [(1, 1)] * (d - 1)
        if self.lattice.boundary == "wrap":
            return jnp.pad(out, pads, mode="wrap")
        return jnp.pad(out, pads, constant_values=fill)

    def inside(self, shift, m):
        global_blocks = self.lattice.shape[0] // self.spacing
        out = True
        for a, (s, n) in enumerate(zip(shift, m)):
            k = jnp.arange(n) + s
            if a == 0:
                k = k + self.row0 // self.spacing
                ok = (k >= 0) & (k < global_blocks)
            else:
                ok = (k >= 0) & (k < n)
            out = out & ok.reshape([-1 if b == a else 1 for b in range(len(m))])
        return jnp.broadcast_to(out, m)

    def surfaces(self, x, num):
        r = self.lattice.radius
        padded = self._rows(x, r, 0, int(self.lattice.fill))
        local = self.lattice.replace(shape=padded.shape)
        # The rows borrowed from the neighbours are only read: their own bonds count on their device.
        rows = jnp.arange(padded.shape[0])
        own = ((rows >= r) & (rows < r + x.shape[0])).reshape((-1,) + (1,) * (x.ndim - 1))
        unlike = jnp.where(own, jnp.sum(_neighbour_labels(local, padded) != padded, axis=0), 0)
        return jnp.zeros((num,), jnp.int32).at[jnp.ravel(padded)].add(jnp.ravel(unlike))


@functools.partial(jax.jit, static_argnames=("lattice", "num_steps", "mesh", "axis_name", "record"))
def _sharded(rule, lattice, x, t0, key, *, num_steps, mesh, axis_name, record):
    num_devices = mesh.shape[axis_name]
    block_rows = lattice.shape[0] // num_devices
    dtype = _float_dtype(rule.params)
    has_mask = rule.mask is not None
    mask = rule.mask if has_mask else jnp.zeros((num_devices,), bool)

    def per_device(rule, block, mask, t0, key):
        local = rule.replace(mask=mask if has_mask else None)
        comm = _Sharded(lattice, rule.spacing, axis_name, num_devices, block_rows)

        def body(carry, t):
            block, logp, stats = carry
            new, lp, st = _sweep(local, lattice, block, step_key(key, t), comm, lattice.shape[0])
            return (new, logp + lp, stats + st), (new if record else None, lp)

        ts = t0 + jnp.arange(num_steps, dtype=t0.dtype)
        init = (block, comm.varying(jnp.zeros((), dtype)), comm.varying(jnp.zeros((4,), jnp.int32)))
        (block, _, stats), (xs, logps) = jax.lax.scan(body, init, ts)
        return block, xs, jax.lax.psum(logps, axis_name), jax.lax.psum(stats, axis_name)

    rows = PartitionSpec(axis_name)
    mapped = jax.shard_map(
        per_device, mesh=mesh,
        in_specs=(PartitionSpec(), rows, rows, PartitionSpec(), PartitionSpec()),
        out_specs=(rows, PartitionSpec(None, axis_name) if record else None, PartitionSpec(), PartitionSpec()),
    )
    return mapped(rule, x, mask, t0, key)


def sharded_potts_rollout(
    rule: Potts,
    lattice: Lattice,
    state,
    *,
    key: jax.Array,
    num_steps: int,
    mesh: Mesh | None = None,
    axis_name: str = "x",
    record: bool = False,
):
    """`automata.rollout` of a `Potts` rule with the lattice's rows split over the devices of a mesh.

    Each device holds `lattice.shape[0] / num_devices` consecutive rows (a multiple of
    `rule.spacing`, so every device holds whole blocks of the colouring). Within each colour of
    each MCS a device updates its own sites, exchanges one block row of the updated colour with
    each neighbour (`lax.ppermute`), and the devices agree on the per-cell choice of one copy
    (`lax.pmax`) and on the cells' volume and surface changes (`lax.psum`) of one `(N + 1,)`
    array each: three small collectives per colour. Per-site random numbers depend on the key and
    the site's global position only, so the result equals `automata.rollout` exactly.

    Args:
      rule, lattice, state, key, num_steps: as for `automata.rollout`.
      mesh: a 1-D `jax.sharding.Mesh` whose only axis is `axis_name` (default: all devices).
      axis_name: the mesh axis the rows are split over.
      record: also return the trajectory (sharded along its axis 1).

    Returns:
      `(final_state, trajectory, log_prob)` as for `automata.potts.rollout_with_log_prob`.

    Example:
      >>> import jax, jax.numpy as jnp, automata
      >>> from automata.potts import Potts, PottsParams
      >>> from automata.potts_sharding import sharded_potts_rollout
      >>> lat = automata.Lattice((16, 16))
      >>> x = jnp.zeros((16, 16, 1), jnp.int32).at[4:12, 4:12].set(1)
      >>> rule = Potts(PottsParams(contact=jnp.array([[0.0, 2.0], [2.0, 0.0]]), lambda_volume=1.0,
      ...                          target_volume=64.0), kinds=jnp.array([0, 1]))
      >>> final, _, _ = sharded_potts_rollout(rule, lat, x, key=jax.random.key(0), num_steps=4)
      >>> bool((final.x == automata.rollout(rule, lat, x, key=jax.random.key(0), num_steps=4)[0].x).all())
      True
    """
    owner = "sharded_potts_rollout"
    if not isinstance(rule, Potts):
        raise fail(owner, f"rule must be an automata.potts.Potts, got {type(rule).__name__}.", TypeError)
    state = check_step_inputs(rule, lattice, state, key)
    num_steps = check_num_steps(num_steps)
    if mesh is None:
        mesh = Mesh(np.array(jax.devices()), (axis_name,))
    if not isinstance(mesh, Mesh) or tuple(mesh.axis_names) != (axis_name,):
        raise fail(owner, f"mesh must be a 1-D jax.sharding.Mesh with the single axis {axis_name!r}, e.g. "
                   f"Mesh(np.array(jax.devices()), ({axis_name!r},)).", TypeError if not isinstance(mesh, Mesh)
                   else ValueError)
    num_devices = mesh.shape[axis_name]
    rows = lattice.shape[0]
    if rows % (num_devices * rule.spacing):
        raise fail(owner, f"lattice.shape[0] = {rows} must be a multiple of the {num_devices} devices times "
                   f"spacing={rule.spacing}, so that every device holds whole blocks of the colouring.")
    if rows // num_devices < lattice.radius:
        raise fail(owner, f"each device holds {rows // num_devices} rows, fewer than the radius {lattice.radius}.")
    x = state.x[..., 0] if state.x.ndim == lattice.ndim + 1 else state.x
    new, xs, logps, _ = _sharded(rule, lattice, x.astype(jnp.int32), state.t, key, num_steps=num_steps,
                                 mesh=mesh, axis_name=axis_name, record=bool(record))
    shape = state.x.shape
    final = LatticeState(x=new.reshape(shape).astype(state.x.dtype), t=state.t + num_steps)
    traj = None
    if record:
        ts = state.t + 1 + jnp.arange(num_steps, dtype=state.t.dtype)
        traj = LatticeState(x=xs.reshape((num_steps,) + shape).astype(state.x.dtype), t=ts)
    return final, traj, logps
