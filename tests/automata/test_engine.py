"""step / rollout semantics: chunking, transformations, recompilation, dynamic length, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from automata import AliveMasked, Asynchronous, Lattice, LatticeState, Rule, Stochastic, rollout, step


class Life(Rule):
    """B3/S23 written directly on lattice.neighbour_sum (independent of automata.LifeLike)."""

    def __call__(self, lattice, state, *, key):
        alive = state.x > 0
        n = lattice.neighbour_sum(alive.astype(jnp.int32))
        return ((n == 3) | (alive & (n == 2))).astype(state.x.dtype)


class Diffuse(Rule):
    """x + rate * (mean of neighbours - x), with a trainable rate."""

    rate: jax.Array

    def __call__(self, lattice, state, *, key):
        mean = lattice.neighbour_sum(state.x) / lattice.num_neighbours
        return state.x + self.rate * (mean - state.x)


class Noisy(Rule):
    """Adds per-site uniform noise: exercises key handling."""

    stochastic = True

    def __call__(self, lattice, state, *, key):
        return state.x + lattice.uniform(key, state.x.shape[lattice.ndim:])


def random_board(seed, shape=(16, 16)):
    return jax.random.bernoulli(jax.random.key(seed), 0.35, shape + (1,)).astype(jnp.uint8)


def test_trajectory_layout_and_final_state():
    lat = Lattice((16, 16))
    s0 = LatticeState(x=random_board(0))
    final, traj = rollout(Life(), lat, s0, num_steps=7)
    assert traj.x.shape == (7, 16, 16, 1) and traj.x.dtype == jnp.uint8
    np.testing.assert_array_equal(traj.x[-1], final.x)
    np.testing.assert_array_equal(traj.t, np.arange(1, 8))
    assert int(final.t) == 7
    s = s0
    for i in range(7):
        s = step(Life(), lat, s)
        np.testing.assert_array_equal(traj.x[i], s.x)
    final2, none = rollout(Life(), lat, s0, num_steps=7, record=False)
    assert none is None
    np.testing.assert_array_equal(final2.x, final.x)


def test_bare_array_is_accepted_as_state():
    lat = Lattice((16, 16))
    x = random_board(1)
    np.testing.assert_array_equal(step(Life(), lat, x).x, step(Life(), lat, LatticeState(x=x)).x)


@pytest.mark.parametrize("rule", [Life(), Stochastic(Life(), fire_rate=0.5), Asynchronous(Life())])
def test_chunked_rollout_equals_uncut(rule):
    lat = Lattice((12, 12))
    key = jax.random.key(3)
    s0 = LatticeState(x=random_board(2, (12, 12)))
    full, traj = rollout(rule, lat, s0, key=key, num_steps=6)
    half, traj1 = rollout(rule, lat, s0, key=key, num_steps=2)
    rest, traj2 = rollout(rule, lat, half, key=key, num_steps=4)
    np.testing.assert_array_equal(rest.x, full.x)
    assert int(rest.t) == int(full.t) == 6
    np.testing.assert_array_equal(jnp.concatenate([traj1.x, traj2.x]), traj.x)


def test_jit_equals_eager():
    lat = Lattice((10, 10))
    rule = Stochastic(Diffuse(rate=jnp.float32(0.3)), fire_rate=0.7)
    s0 = LatticeState(x=jax.random.normal(jax.random.key(0), (10, 10, 2)))
    key = jax.random.key(4)
    jitted, _ = rollout(rule, lat, s0, key=key, num_steps=5)
    with jax.disable_jit():
        eager, _ = rollout(rule, lat, s0, key=key, num_steps=5)
    np.testing.assert_allclose(jitted.x, eager.x, rtol=1e-5, atol=1e-6)


def test_vmap_equals_loop():
    lat = Lattice((10, 10))
    rule = Stochastic(Life(), fire_rate=0.5)
    xs = jnp.stack([random_board(i, (10, 10)) for i in range(4)])
    keys = jax.random.split(jax.random.key(0), 4)

    def run(x, key):
        return rollout(rule, lat, LatticeState(x=x), key=key, num_steps=5, record=False)[0].x

    batched = jax.vmap(run)(xs, keys)
    for i in range(4):
        np.testing.assert_array_equal(batched[i], run(xs[i], keys[i]))


def test_second_call_does_not_recompile():
    traces = []

    class Counted(Rule):
        def __call__(self, lattice, state, *, key):
            traces.append(1)
            return state.x

    lat = Lattice((8, 8))
    rollout(Counted(), lat, LatticeState(x=jnp.zeros((8, 8, 1))), num_steps=4)
    n = len(traces)
    rollout(Counted(), lat, LatticeState(x=jnp.ones((8, 8, 1))), num_steps=4)
    assert len(traces) == n
    rollout(Counted(), lat, LatticeState(x=jnp.ones((8, 8, 1))), num_steps=4, length=2)
    n = len(traces)
    for length in (0, 1, 3, 4):
        rollout(Counted(), lat, LatticeState(x=jnp.ones((8, 8, 1))), num_steps=4, length=length)
    assert len(traces) == n


def test_dynamic_length_equals_shorter_rollout():
    lat = Lattice((12, 12))
    s0 = LatticeState(x=random_board(5, (12, 12)))
    key = jax.random.key(9)
    rule = Stochastic(Life(), 0.5)
    for length in (0, 3, 8):
        bounded, traj = rollout(rule, lat, s0, key=key, num_steps=8, length=length)
        if length:
            exact, _ = rollout(rule, lat, s0, key=key, num_steps=length)
        else:
            exact = s0
        np.testing.assert_array_equal(bounded.x, exact.x)
        assert int(bounded.t) == length
        np.testing.assert_array_equal(traj.x[-1], bounded.x)


def test_dynamic_length_under_jit_and_grad():
    lat = Lattice((6, 6))
    x0 = jax.random.normal(jax.random.key(1), (6, 6, 1))

    @jax.jit
    def loss(rate, length):
        final, _ = rollout(Diffuse(rate=rate), lat, LatticeState(x=x0), num_steps=10, length=length, record=False)
        return jnp.sum(final.x ** 2)

    g6 = jax.grad(loss)(0.3, 6)
    eps = 1e-3
    fd = (loss(0.3 + eps, 6) - loss(0.3 - eps, 6)) / (2 * eps)
    np.testing.assert_allclose(g6, fd, rtol=2e-2)
    assert float(jax.grad(loss)(0.3, 0)) == 0.0


def test_checkpoint_gives_same_values_and_gradients():
    lat = Lattice((8, 8))
    x0 = jax.random.normal(jax.random.key(2), (8, 8, 1))

    def loss(rate, checkpoint):
        final, traj = rollout(Diffuse(rate=rate), lat, LatticeState(x=x0), num_steps=12, checkpoint=checkpoint)
        return jnp.mean(traj.x ** 2) + jnp.mean(final.x)

    v0, g0 = jax.value_and_grad(loss)(0.2, False)
    v1, g1 = jax.value_and_grad(loss)(0.2, True)
    np.testing.assert_allclose(v0, v1, rtol=1e-6)
    np.testing.assert_allclose(g0, g1, rtol=1e-5)


def test_step_key_is_fold_in_of_t():
    lat = Lattice((4, 4))
    key = jax.random.key(7)
    s = LatticeState(x=jnp.zeros((4, 4, 1)), t=5)
    out = step(Noisy(), lat, s, key=key)
    np.testing.assert_array_equal(out.x, lat.uniform(jax.random.fold_in(key, 5), (1,)))
    assert int(out.t) == 6


def test_step_key_and_input_checks_are_public():
    from automata.engine import check_step_inputs, step_key

    key = jax.random.key(3)
    assert step_key(None, 4) is None
    np.testing.assert_array_equal(
        jax.random.key_data(step_key(key, 4)), jax.random.key_data(jax.random.fold_in(key, 4))
    )
    state = check_step_inputs(Noisy(), Lattice((4, 4)), jnp.zeros((4, 4, 1)), key)
    assert isinstance(state, LatticeState)
    with pytest.raises(ValueError, match="needs a PRNG key"):
        check_step_inputs(Noisy(), Lattice((4, 4)), jnp.zeros((4, 4, 1)), None)


# ----------------------------------------------------------------------------- schemes


def test_stochastic_fire_rate_extremes_and_fraction():
    lat = Lattice((64, 64))
    s0 = LatticeState(x=jax.random.normal(jax.random.key(0), (64, 64, 1)))
    key = jax.random.key(1)
    target = Diffuse(rate=jnp.float32(1.0))
    np.testing.assert_array_equal(step(Stochastic(target, 1.0), lat, s0, key=key).x, step(target, lat, s0).x)
    np.testing.assert_array_equal(step(Stochastic(target, 0.0), lat, s0, key=key).x, s0.x)
    changed = step(Stochastic(target, 0.3), lat, s0, key=key).x != s0.x
    # 4096 Bernoulli(0.3) draws: the standard deviation of the mean is 0.007.
    assert abs(float(changed.mean()) - 0.3) < 0.03


def test_alive_masked_zeroes_dead_regions():
    lat = Lattice((9, 9), boundary="fixed")
    x = jnp.zeros((9, 9, 4)).at[4, 4, 3].set(1.0).at[0, 0, :].set(0.5).at[0, 0, 3].set(0.05)
    grow = Diffuse(rate=jnp.float32(0.0))
    out = step(AliveMasked(grow, channel=3, threshold=0.1), lat, LatticeState(x=x)).x
    assert float(out[4, 4, 3]) == 1.0
    assert float(jnp.abs(out[0, 0]).sum()) == 0.0  # below threshold and no alive neighbour


def test_asynchronous_visits_each_site_once():
    class Increment(Rule):
        def __call__(self, lattice, state, *, key):
            return state.x + 1

    lat = Lattice((5, 7))
    out = step(Asynchronous(Increment()), lat, LatticeState(x=jnp.zeros((5, 7, 1), jnp.int32)), key=jax.random.key(0))
    np.testing.assert_array_equal(out.x, np.ones((5, 7, 1)))


def test_asynchronous_sees_earlier_updates():
    class CopyLeft(Rule):
        def __call__(self, lattice, state, *, key):
            return lattice.shift(state.x, (-1,))

    lat = Lattice((32,))
    x = jnp.arange(32, dtype=jnp.int32)[:, None]
    sync = step(CopyLeft(), lat, LatticeState(x=x)).x
    np.testing.assert_array_equal(sync[:, 0], np.roll(np.arange(32), 1))
    async_ = step(Asynchronous(CopyLeft()), lat, LatticeState(x=x), key=jax.random.key(0)).x[:, 0]
    # A site visited after its left neighbour copies the already-copied value, so values repeat.
    assert len(set(np.asarray(async_).tolist())) < 32
    assert set(np.asarray(async_).tolist()) <= set(range(32))


# ----------------------------------------------------------------------------- errors


def test_errors():
    lat = Lattice((8, 8))
    s = LatticeState(x=jnp.zeros((8, 8, 1)))
    with pytest.raises(TypeError, match="rule must be an automata.Rule"):
        step(lambda *a: a, lat, s)
    with pytest.raises(TypeError, match="lattice must be an automata.Lattice"):
        step(Life(), (8, 8), s)
    with pytest.raises(TypeError, match="Expected a LatticeState"):
        step(Life(), lat, [[0]])
    with pytest.raises(ValueError, match=r"leading axes to be \(8, 8\)"):
        step(Life(), lat, LatticeState(x=jnp.zeros((8, 9, 1))))
    with pytest.raises(ValueError, match="state.t must be a scalar"):
        step(Life(), lat, LatticeState(x=s.x, t=jnp.zeros(3, jnp.int32)))
    with pytest.raises(ValueError, match="is stochastic and needs a PRNG key"):
        rollout(Stochastic(Life()), lat, s, num_steps=2)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        step(Noisy(), lat, s, key=3)
    with pytest.raises(TypeError, match="num_steps must be an integer >= 1, got float"):
        rollout(Life(), lat, s, num_steps=2.5)
    with pytest.raises(ValueError, match="num_steps must be at least 1"):
        rollout(Life(), lat, s, num_steps=0)
    with pytest.raises(ValueError, match=r"length must lie in \[0, num_steps=4\]"):
        rollout(Life(), lat, s, num_steps=4, length=5)
    with pytest.raises(ValueError, match=r"fire_rate is a probability in \[0, 1\]"):
        Stochastic(Life(), fire_rate=1.5)
    with pytest.raises(TypeError, match="Stochastic wraps an automata.Rule"):
        Stochastic("life")
    with pytest.raises(ValueError, match="AliveMasked reads channel 3, but the state has 1 channels"):
        step(AliveMasked(Life()), lat, s)


def test_public_names():
    for name in ["Lattice", "LatticeState", "Rule", "step", "rollout", "Stochastic", "AliveMasked", "Asynchronous"]:
        assert hasattr(automata, name)
