"""Rollouts of one large lattice split along axis 0 over several devices, with halo exchange."""

from __future__ import annotations

import functools
import operator

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from automata.engine import check_num_steps, check_step_inputs, step_key
from automata.lattice import Lattice, Shard
from automata.rule import Rule
from automata.schemes import Asynchronous
from automata.state import LatticeState

__all__ = ["sharded_rollout"]


def _pad_rows(lattice: Lattice, block: jax.Array, width: int, side: str) -> jax.Array:
    """The `width` rows the lattice's own boundary puts before (`side="top"`) or after a block."""
    padded = lattice.pad(block, width, axes=(0,))
    return padded[:width] if side == "top" else padded[-width:]


def _with_halo(lattice: Lattice, block: jax.Array, halo: int, axis_name: str, num_devices: int):
    """`block` with `halo` rows of its neighbours' blocks (or of the boundary) above and below."""
    if halo == 0:
        return block
    wrap = lattice.boundary == "wrap"
    down = [(i, (i + 1) % num_devices) for i in range(num_devices) if wrap or i + 1 < num_devices]
    up = [(i, (i - 1) % num_devices) for i in range(num_devices) if wrap or i > 0]
    # Device i's last rows become device i+1's top halo, its first rows device i-1's bottom halo.
    top = jax.lax.ppermute(block[-halo:], axis_name, down)
    bottom = jax.lax.ppermute(block[:halo], axis_name, up)
    if not wrap:
        # At the global edges there is no neighbour: use the lattice's own boundary rows, exactly
        # what the single-device rollout pads with. (The permutation left zeros there.)
        index = jax.lax.axis_index(axis_name)
        top = jnp.where(index == 0, _pad_rows(lattice, block, halo, "top"), top)
        bottom = jnp.where(index == num_devices - 1, _pad_rows(lattice, block, halo, "bottom"), bottom)
    return jnp.concatenate([top, block, bottom], axis=0)


def _find_asynchronous(rule: Rule) -> bool:
    nodes = jax.tree_util.tree_leaves(rule, is_leaf=lambda node: isinstance(node, Asynchronous))
    return isinstance(rule, Asynchronous) or any(isinstance(node, Asynchronous) for node in nodes)


@functools.partial(
    jax.jit, static_argnames=("lattice", "num_steps", "mesh", "axis_name", "halo", "record")
)
def _sharded_rollout(rule, lattice, x, t0, key, *, num_steps, mesh, axis_name, halo, record):
    num_devices = mesh.shape[axis_name]
    block_rows = lattice.shape[0] // num_devices
    # The local lattice covers the block and its halo; `shard` maps its rows to global rows.
    local = lattice.replace(
        shape=(block_rows + 2 * halo,) + lattice.shape[1:],
        shard=Shard(axis_name, lattice.shape[0], block_rows, halo),
    )

    def per_device(rule, block, t0, key):
        # Rules may refuse to run on a block of a lattice (e.g. ones that need all of it).
        rule.check(local, LatticeState(x=jnp.zeros(local.shape + block.shape[lattice.ndim:], block.dtype), t=t0))

        def body(block, t):
            padded = _with_halo(lattice, block, halo, axis_name, num_devices)
            new = rule(local, LatticeState(x=padded, t=t), key=step_key(key, t))
            new = new[halo : halo + block_rows].astype(block.dtype)
            return new, (new if record else None)

        return jax.lax.scan(body, block, t0 + jnp.arange(num_steps, dtype=t0.dtype))

    rows = PartitionSpec(axis_name)
    mapped = jax.shard_map(
        per_device,
        mesh=mesh,
        in_specs=(PartitionSpec(), rows, PartitionSpec(), PartitionSpec()),
        out_specs=(rows, PartitionSpec(None, axis_name) if record else None),
    )
    return mapped(rule, x, t0, key)


def sharded_rollout(
    rule: Rule,
    lattice: Lattice,
    state: LatticeState,
    *,
    key: jax.Array | None = None,
    num_steps: int,
    mesh: Mesh | None = None,
    axis_name: str = "x",
    record: bool = False,
) -> tuple[LatticeState, LatticeState | None]:
    """`rollout` of one lattice split into blocks of rows (axis 0) over the devices of a mesh.

    Each device holds `lattice.shape[0] / num_devices` consecutive rows. Before every step it
    receives `rule.reach(lattice)` halo rows from each neighbouring device (`lax.ppermute`; the
    devices form a ring for `boundary="wrap"`, while for `"fixed"` and `"reflect"` the first and
    last devices pad with the lattice's own boundary), applies the rule to the padded block and
    drops the halo. Per-site random numbers depend only on the key and the site's global row
    (`Lattice.uniform`), so the result equals `automata.rollout` exactly for discrete rules,
    stochastic ones included; float rules agree to rounding.

    A rule must be local: one step may read at most `rule.reach(lattice)` sites away and never
    the lattice as a whole (no global sums or means). `Asynchronous` updating is sequential and
    is rejected.

    Args:
      rule: any synchronous `automata.Rule`.
      lattice: a 1D, 2D or 3D lattice; `lattice.shape[0]` must divide evenly by the number of
        devices, and each block must have at least `rule.reach(lattice)` rows.
      state: a `LatticeState` (or an array) with `x` of shape `(*lattice.shape, channels)`.
      key: PRNG key for stochastic rules; step `t` uses `fold_in(key, t)`, as in `rollout`.
      num_steps: static number of steps, at least 1.
      mesh: a 1-D `jax.sharding.Mesh` whose only axis is `axis_name` (default: all of
        `jax.devices()`).
      axis_name: name of the mesh axis the rows are split over.
      record: if True, also return the trajectory (`trajectory.x` of shape
        `(num_steps, *lattice.shape, channels)`, sharded along its axis 1).

    Returns:
      `(final_state, trajectory)` as for `rollout`; `final_state.x` is sharded along axis 0 with
      `NamedSharding(mesh, PartitionSpec(axis_name))`. The trajectory is `None` unless `record`.

    Example:
      >>> import jax, jax.numpy as jnp, automata
      >>> from automata.sharding import sharded_rollout
      >>> lat = automata.Lattice((64, 64))
      >>> x = jax.random.bernoulli(jax.random.key(0), 0.3, (64, 64, 1)).astype(jnp.uint8)
      >>> rule = automata.LifeLike("B3/S23")
      >>> final, _ = sharded_rollout(rule, lat, automata.LatticeState(x=x), num_steps=10)
      >>> bool((final.x == automata.rollout(rule, lat, x, num_steps=10)[0].x).all())
      True
    """
    state = check_step_inputs(rule, lattice, state, key)
    if _find_asynchronous(rule):
        raise ValueError(
            "Asynchronous updating visits sites one after another and cannot be sharded; run it "
            "with automata.rollout on one device, or use a synchronous scheme such as "
            "automata.Stochastic(rule, fire_rate=...)."
        )
    num_steps = check_num_steps(num_steps)

    if mesh is None:
        mesh = Mesh(np.array(jax.devices()), (axis_name,))
    if not isinstance(mesh, Mesh):
        raise TypeError(
            f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}. Build one with "
            f"jax.sharding.Mesh(np.array(jax.devices()), ({axis_name!r},))."
        )
    if tuple(mesh.axis_names) != (axis_name,):
        raise ValueError(
            f"sharded_rollout needs a 1-D mesh with the single axis {axis_name!r}, got axes "
            f"{tuple(mesh.axis_names)}. Build one with jax.sharding.Mesh(np.array(devices), "
            f"({axis_name!r},)) or pass axis_name=<the mesh's axis>."
        )
    num_devices = mesh.shape[axis_name]
    rows = lattice.shape[0]
    if rows % num_devices:
        raise ValueError(
            f"lattice.shape[0] = {rows} does not divide evenly by the {num_devices} devices of the "
            f"mesh. Use a number of rows that is a multiple of {num_devices} (e.g. "
            f"{-(-rows // num_devices) * num_devices}), or a mesh with a divisor of {rows} devices."
        )
    block_rows = rows // num_devices
    halo = rule.reach(lattice)
    try:
        halo = operator.index(halo)
    except TypeError as err:
        raise TypeError(
            f"{type(rule).__name__}.reach(lattice) must return a Python int, got {halo!r}."
        ) from err
    if halo < 0:
        raise ValueError(f"{type(rule).__name__}.reach(lattice) must be non-negative, got {halo}.")
    if halo > block_rows:
        raise ValueError(
            f"{type(rule).__name__} reaches {halo} rows per step, but each of the {num_devices} "
            f"devices holds only {block_rows} rows ({rows} / {num_devices}), so the halo would "
            f"need rows from beyond the neighbouring device. Use fewer devices (at most "
            f"{rows // halo}) or a lattice with more rows."
        )

    x, xs = _sharded_rollout(
        rule, lattice, state.x, state.t, key,
        num_steps=num_steps, mesh=mesh, axis_name=axis_name, halo=halo, record=bool(record),
    )
    final = LatticeState(x=x, t=state.t + num_steps)
    if not record:
        return final, None
    ts = state.t + 1 + jnp.arange(num_steps, dtype=state.t.dtype)
    return final, LatticeState(x=xs, t=ts)
