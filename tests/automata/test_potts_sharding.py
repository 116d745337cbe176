"""Sharded cellular Potts rollouts equal single-device ones exactly (conftest gives 4 CPU devices).

Each case compiles a single-device and a sharded rollout (several seconds each on a CPU), so the
equality checks are marked slow."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import automata
from automata.potts import Potts, PottsParams, rollout_with_log_prob
from automata.potts_sharding import sharded_potts_rollout

J = jnp.array([[0.0, 1.0, 1.5], [1.0, 0.5, 2.0], [1.5, 2.0, 0.5]])


def _mesh(num_devices):
    return Mesh(np.array(jax.devices()[:num_devices]), ("x",))


def _state(shape):
    # Square cells of side 4 (ids 1..), every fifth id turned into medium; cells cross the
    # boundaries between devices' rows.
    g = [np.arange(n) // 4 for n in shape]
    ids = g[0][:, None] * (shape[1] // 4) + g[1][None, :] + 1
    if len(shape) == 3:
        ids = ids[..., None] * (shape[2] // 4) + g[2][None, None, :]
    ids = np.where(ids % 5 == 0, 0, ids)
    return jnp.asarray(ids, jnp.int32)[..., None], int(ids.max())


def _rule(num_cells, *, surface, connectivity, mask=None):
    extra = dict(lambda_surface=jnp.array([0.0, 0.05, 0.02]), target_surface=jnp.array([0.0, 30.0, 20.0])) if surface else {}
    params = PottsParams(contact=J, lambda_volume=jnp.array([0.0, 0.5, 0.3]), target_volume=jnp.array([0.0, 16.0, 12.0]),
                         temperature=1.5, **extra)
    kinds = jnp.asarray([0] + [1 + c % 2 for c in range(num_cells)])
    return Potts(params, kinds=kinds, spacing=4, connectivity=connectivity, mask=mask)


@pytest.mark.slow
@pytest.mark.parametrize("shape, neighbourhood, boundary, surface, connectivity, masked, num_devices", [
    ((32, 16), "moore", "wrap", True, True, False, 4),
    ((32, 16), "von_neumann", "fixed", True, False, True, 2),
    ((32, 16), "moore", "fixed", False, True, False, 4),
    ((16, 8, 8), "moore", "wrap", True, False, False, 2),
])
def test_sharded_equals_single_device(shape, neighbourhood, boundary, surface, connectivity, masked, num_devices):
    lat = automata.Lattice(shape, neighbourhood, boundary=boundary, fill=1.0 if boundary == "fixed" else 0.0)
    x, num_cells = _state(shape)
    mask = None
    if masked:
        m = np.ones(shape, bool)
        m[6:10, 3:7] = False  # a frozen patch across the boundary between the first two devices
        mask = jnp.asarray(m)
    rule = _rule(num_cells, surface=surface, connectivity=connectivity, mask=mask)
    key = jax.random.key(3)
    ref, ref_traj, ref_logp = rollout_with_log_prob(rule, lat, x, key=key, num_steps=5, record=True)
    out, traj, logp = sharded_potts_rollout(rule, lat, x, key=key, num_steps=5, mesh=_mesh(num_devices), record=True)
    np.testing.assert_array_equal(out.x, ref.x)
    np.testing.assert_array_equal(traj.x, ref_traj.x)
    np.testing.assert_array_equal(traj.t, ref_traj.t)
    np.testing.assert_allclose(logp, ref_logp, rtol=1e-5, atol=1e-4)
    assert int(out.t) == 5
    assert np.sum(np.asarray(out.x) != np.asarray(x)) > 10  # the run did move cells


@pytest.mark.slow
def test_sharded_output_is_split_along_rows_and_chunks_reproduce():
    lat = automata.Lattice((32, 16))
    x, num_cells = _state((32, 16))
    rule = _rule(num_cells, surface=False, connectivity=False)
    mesh, key = _mesh(4), jax.random.key(4)
    out, _, _ = sharded_potts_rollout(rule, lat, x, key=key, num_steps=6, mesh=mesh)
    assert out.x.sharding.is_equivalent_to(NamedSharding(mesh, PartitionSpec("x")), out.x.ndim)
    half, _, _ = sharded_potts_rollout(rule, lat, x, key=key, num_steps=3, mesh=mesh)
    rest, _, _ = sharded_potts_rollout(rule, lat, half, key=key, num_steps=3, mesh=mesh)
    np.testing.assert_array_equal(rest.x, out.x)


def test_sharded_bad_inputs_raise():
    lat = automata.Lattice((24, 16))
    x, num_cells = _state((24, 16))
    rule = _rule(num_cells, surface=False, connectivity=False)
    with pytest.raises(ValueError, match="multiple of the 4 devices times spacing=4"):
        sharded_potts_rollout(rule, lat, x, key=jax.random.key(0), num_steps=1, mesh=_mesh(4))
    with pytest.raises(TypeError, match="rule must be an automata.potts.Potts"):
        sharded_potts_rollout(automata.LIFE, lat, x, key=jax.random.key(0), num_steps=1)
    with pytest.raises(ValueError, match="single axis 'x'"):
        sharded_potts_rollout(rule, lat, x, key=jax.random.key(0), num_steps=1,
                              mesh=Mesh(np.array(jax.devices()[:2]), ("rows",)))
