"""Sharded rollouts equal single-device ones: exactly for discrete rules, to rounding for floats."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import automata
from automata.rule import Rule
from automata.sharding import sharded_rollout

try:  # the shipped Life-like rule, when present; the tests below also run without it
    from automata.lifelike import LifeLike
except ImportError:  # pragma: no cover - depends on what is installed alongside
    LifeLike = None


class CountRule(Rule):
    """Outer-totalistic binary rule: born with a neighbour count in `birth`, survives in `survive`."""

    birth: tuple = struct.field(pytree_node=False, default=(3,))
    survive: tuple = struct.field(pytree_node=False, default=(2, 3))

    def __call__(self, lattice, state, *, key):
        x = state.x
        n = lattice.neighbour_sum(x.astype(jnp.int32))
        born = jnp.isin(n, jnp.array(self.birth))
        stays = jnp.isin(n, jnp.array(self.survive))
        return jnp.where(x == 1, stays, born).astype(x.dtype)


class Diffusion(Rule):
    """Explicit diffusion with a 5x5 kernel (reach 2) and a trainable rate."""

    rate: jax.Array

    def reach(self, lattice):
        return 2

    def __call__(self, lattice, state, *, key):
        k = jnp.exp(-jnp.sum(jnp.stack(jnp.meshgrid(jnp.arange(-2, 3), jnp.arange(-2, 3))) ** 2, 0) / 2.0)
        k = k / k.sum()
        return state.x + self.rate * (lattice.convolve(state.x, k) - state.x)


class WideReach(Rule):
    def reach(self, lattice):
        return 5

    def __call__(self, lattice, state, *, key):
        return state.x


def _mesh(num_devices):
    return Mesh(np.array(jax.devices()[:num_devices]), ("x",))


def _soup(shape, seed=0, p=0.35):
    return jax.random.bernoulli(jax.random.key(seed), p, shape + (1,)).astype(jnp.uint8)


def test_conftest_gives_four_devices():
    assert len(jax.devices()) >= 4


def _rules(boundary):
    rules = [CountRule()]
    if LifeLike is not None and boundary == "wrap":
        rules.append(LifeLike("B3/S23"))
    return rules


@pytest.mark.parametrize("boundary", ["wrap", "fixed", "reflect"])
def test_life_equals_single_device(boundary):
    lat = automata.Lattice((64, 32), boundary=boundary, fill=1.0 if boundary == "fixed" else 0.0)
    x = _soup((64, 32))
    for rule in _rules(boundary):
        ref, ref_traj = automata.rollout(rule, lat, x, num_steps=24)
        for num_devices in (2, 4):
            out, traj = sharded_rollout(rule, lat, x, num_steps=24, mesh=_mesh(num_devices), record=True)
            np.testing.assert_array_equal(out.x, ref.x)
            np.testing.assert_array_equal(traj.x, ref_traj.x)
            np.testing.assert_array_equal(traj.t, ref_traj.t)
            assert int(out.t) == int(ref.t) == 24
            assert out.x.dtype == x.dtype


def test_output_is_sharded_along_rows():
    lat = automata.Lattice((64, 32))
    mesh = _mesh(4)
    out, traj = sharded_rollout(CountRule(), lat, _soup((64, 32)), num_steps=3, mesh=mesh, record=True)
    assert out.x.sharding.is_equivalent_to(NamedSharding(mesh, PartitionSpec("x")), out.x.ndim)
    assert traj.x.sharding.is_equivalent_to(NamedSharding(mesh, PartitionSpec(None, "x")), traj.x.ndim)
    assert {s.data.shape for s in out.x.addressable_shards} == {(16, 32, 1)}


def test_default_mesh_uses_all_devices():
    lat = automata.Lattice((64, 32))
    x = _soup((64, 32), seed=4)
    out, traj = sharded_rollout(CountRule(), lat, x, num_steps=5)
    assert traj is None
    assert len(out.x.sharding.device_set) == len(jax.devices())
    np.testing.assert_array_equal(out.x, automata.rollout(CountRule(), lat, x, num_steps=5)[0].x)


# Stochastic rules compile slowly on CPU, so each boundary is tried with one device count.
@pytest.mark.parametrize(
    "shape, boundary, num_devices",
    [((64, 32), "wrap", 4), ((64, 32), "reflect", 2), ((64, 32), "fixed", 4)],
)
def test_stochastic_equals_single_device(shape, boundary, num_devices):
    lat = automata.Lattice(shape, boundary=boundary)
    rule = automata.Stochastic(CountRule() if len(shape) == 2 else CountRule((5, 6), (4, 5, 6)), 0.5)
    x = _soup(shape, seed=1)
    key = jax.random.key(7)
    ref, ref_traj = automata.rollout(rule, lat, x, key=key, num_steps=16)
    out, traj = sharded_rollout(rule, lat, x, key=key, num_steps=16, mesh=_mesh(num_devices), record=True)
    np.testing.assert_array_equal(out.x, ref.x)
    np.testing.assert_array_equal(traj.x, ref_traj.x)
    # The randomness mattered: some step differs from the deterministic rule's step.
    det = jax.vmap(lambda x: automata.step(rule.rule, lat, x).x)(ref_traj.x[:-1])
    assert not np.array_equal(det, ref_traj.x[1:])


def test_chunked_stochastic_rollout_equals_uncut():
    # Step keys come from the step counter, so two chunks of 8 steps reproduce 16 uncut steps.
    lat = automata.Lattice((64, 32), boundary="wrap")
    rule = automata.Stochastic(CountRule(), 0.5)
    x = _soup((64, 32), seed=1)
    key = jax.random.key(7)
    ref, ref_traj = automata.rollout(rule, lat, x, key=key, num_steps=16)
    half, _ = sharded_rollout(rule, lat, x, key=key, num_steps=8, mesh=_mesh(4))
    np.testing.assert_array_equal(half.x, ref_traj.x[7])
    out, _ = sharded_rollout(rule, lat, half, key=key, num_steps=8, mesh=_mesh(4))
    np.testing.assert_array_equal(out.x, ref.x)
    assert int(out.t) == 16


def test_3d_equals_single_device():
    lat = automata.Lattice((16, 8, 8), boundary="reflect")
    rule = CountRule(birth=(5, 6), survive=(4, 5, 6))
    x = _soup((16, 8, 8), seed=2, p=0.25)
    ref, _ = automata.rollout(rule, lat, x, num_steps=8)
    for num_devices in (2, 4):
        out, _ = sharded_rollout(rule, lat, x, num_steps=8, mesh=_mesh(num_devices))
        np.testing.assert_array_equal(out.x, ref.x)


def test_1d_radius_2_equals_single_device():
    lat = automata.Lattice((64,), radius=2, boundary="fixed")
    rule = CountRule(birth=(2, 3), survive=(2, 4))
    x = _soup((64,), seed=3, p=0.5)
    ref, _ = automata.rollout(rule, lat, x, num_steps=12)
    out, _ = sharded_rollout(rule, lat, x, num_steps=12, mesh=_mesh(4))
    np.testing.assert_array_equal(out.x, ref.x)


@pytest.mark.parametrize("boundary, num_devices", [("wrap", 2), ("fixed", 4), ("reflect", 4)])
def test_float_rule_with_reach_2(boundary, num_devices):
    lat = automata.Lattice((32, 24), boundary=boundary, fill=0.5)
    rule = Diffusion(rate=jnp.float32(0.8))
    x = jax.random.uniform(jax.random.key(0), (32, 24, 2))
    ref, _ = automata.rollout(rule, lat, x, num_steps=20)
    out, _ = sharded_rollout(rule, lat, x, num_steps=20, mesh=_mesh(num_devices))
    np.testing.assert_allclose(out.x, ref.x, rtol=1e-5, atol=1e-6)


def test_gradient_through_float_rule():
    # Blocks of 8 rows with a halo of 2; the gradient with respect to the rule's parameter
    # flows through the halo exchange.
    lat = automata.Lattice((32, 24), boundary="wrap")
    x = jax.random.uniform(jax.random.key(0), (32, 24, 2))

    def loss(rate, run):
        return jnp.sum(run(Diffusion(rate=rate), lat, x, num_steps=5)[0].x ** 2)

    sharded = lambda *a, **k: sharded_rollout(*a, mesh=_mesh(4), **k)
    g_ref = jax.grad(loss)(jnp.float32(0.8), automata.rollout)
    g = jax.grad(loss)(jnp.float32(0.8), sharded)
    np.testing.assert_allclose(g, g_ref, rtol=1e-4)


def test_jit_of_sharded_rollout():
    lat = automata.Lattice((64, 32))
    x = _soup((64, 32), seed=6)
    f = jax.jit(lambda x: sharded_rollout(CountRule(), lat, x, num_steps=6, mesh=_mesh(4))[0].x)
    np.testing.assert_array_equal(f(x), automata.rollout(CountRule(), lat, x, num_steps=6)[0].x)


def test_rows_must_divide_by_devices():
    lat = automata.Lattice((62, 32))
    with pytest.raises(ValueError, match=r"does not divide evenly by the 4 devices.*multiple of 4"):
        sharded_rollout(CountRule(), lat, _soup((62, 32)), num_steps=2, mesh=_mesh(4))


def test_reach_must_fit_in_a_block():
    lat = automata.Lattice((16, 16))
    with pytest.raises(ValueError, match=r"reaches 5 rows.*holds only 4 rows.*at most 3"):
        sharded_rollout(WideReach(), lat, _soup((16, 16)), num_steps=2, mesh=_mesh(4))
    lat = automata.Lattice((8, 8), radius=3)
    with pytest.raises(ValueError, match=r"reaches 3 rows.*holds only 2 rows"):
        sharded_rollout(CountRule(), lat, _soup((8, 8)), num_steps=2, mesh=_mesh(4))


def test_asynchronous_is_rejected():
    lat = automata.Lattice((16, 16))
    for rule in (automata.Asynchronous(CountRule()), automata.AliveMasked(automata.Asynchronous(CountRule()), channel=0)):
        with pytest.raises(ValueError, match="Asynchronous updating .* cannot be sharded"):
            sharded_rollout(rule, lat, _soup((16, 16)), key=jax.random.key(0), num_steps=2, mesh=_mesh(2))


def test_mesh_and_argument_errors():
    lat = automata.Lattice((16, 16))
    x = _soup((16, 16))
    mesh2d = Mesh(np.array(jax.devices()[:4]).reshape(2, 2), ("x", "y"))
    with pytest.raises(ValueError, match=r"1-D mesh with the single axis 'x'"):
        sharded_rollout(CountRule(), lat, x, num_steps=2, mesh=mesh2d)
    with pytest.raises(ValueError, match=r"1-D mesh with the single axis 'rows'"):
        sharded_rollout(CountRule(), lat, x, num_steps=2, mesh=_mesh(2), axis_name="rows")
    with pytest.raises(TypeError, match="mesh must be a jax.sharding.Mesh"):
        sharded_rollout(CountRule(), lat, x, num_steps=2, mesh=jax.devices())
    with pytest.raises(ValueError, match="num_steps must be at least 1"):
        sharded_rollout(CountRule(), lat, x, num_steps=0, mesh=_mesh(2))
    with pytest.raises(ValueError, match="is stochastic and needs a PRNG key"):
        sharded_rollout(automata.Stochastic(CountRule()), lat, x, num_steps=2, mesh=_mesh(2))
    with pytest.raises(ValueError, match="state.x has shape"):
        sharded_rollout(CountRule(), lat, _soup((16, 8)), num_steps=2, mesh=_mesh(2))
