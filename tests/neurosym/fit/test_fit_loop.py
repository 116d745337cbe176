"""neurosym.fit: optax loop, estimators, multi-start, sharding, checkpoints, non-finite values."""

import doctest
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from automata import relax
from neurosym.fit import loop as fit_module
from neurosym.fit import ESTIMATORS, FitContext, FitResult, NonFiniteError, check_finite, fit, sweep

KEY = jax.random.key(0)


# Module-level losses: the same function objects let fits share compiled loops.
def quadratic(params, ctx):
    return jnp.sum((params["x"] - jnp.array([3.0, -1.0])) ** 2)


def noisy_quadratic(params, ctx):
    # Noise from ctx.key: resumes and device layouts must reproduce the keys exactly.
    noise = jax.random.uniform(ctx.key, params["w"].shape)
    return jnp.sum((params["w"] - ctx.data["target"]) ** 2 * (1.0 + noise)) + 0.1 * jnp.sum(noise * params["w"])


def double_well(x, ctx):
    return (x**2 - 1) ** 2 + 0.3 * x  # minima near -1.04 (global) and +0.96


def log_loss(x, ctx):
    return jnp.log(x)  # gradient descent drives x through 0, where the log is NaN


def bernoulli_rate_loss(params, ctx):
    p = jax.nn.sigmoid(params["logit"])
    b = ctx.bernoulli(ctx.key, p, shape=(128,), temperature=0.3)
    value = (jnp.mean(b) - jnp.mean(ctx.data["obs"])) ** 2
    return value, relax.bernoulli_log_prob(b, p).sum()


TARGET = {"target": jnp.array([1.0, -2.0, 0.5])}
W0 = {"w": jnp.zeros(3)}


def test_quadratic_reaches_its_minimum():
    res = fit(quadratic, {"x": jnp.zeros(2)}, key=KEY, num_steps=150, learning_rate=0.1, progress=False)
    assert isinstance(res, FitResult)
    np.testing.assert_allclose(res.params["x"], [3.0, -1.0], atol=1e-3)
    assert res.losses.shape == (150, 1)
    assert res.losses[0, 0] == pytest.approx(10.0)
    assert res.final_loss < 1e-5 and res.best_start == 0
    d = res.diagnostics
    assert d["steps_done"] == 150 and not d["stopped_early"] and d["failed_starts"] == []
    assert d["grad_norm"].shape == (150, 1) and d["grad_norm"][0, 0] == pytest.approx(2 * np.sqrt(10.0))
    assert d["message"] == "Completed 150 steps."
    np.testing.assert_array_equal(res.init_params["x"], np.zeros((1, 2)))


@pytest.mark.parametrize(
    "estimator, num_samples",
    [("pathwise", 1), ("straight_through", 1), ("score_function", 1), ("score_function", 4)],
)
def test_bernoulli_rate_is_recovered_with_each_estimator(estimator, num_samples):
    # 400 draws at p = 0.3 (observed mean 0.3075). The loss compares the mean of 128 simulated
    # draws with it; its expectation is minimised at p = 0.30 (the relaxed samples of the
    # pathwise estimator shift that a little). Over keys 0-3 every estimator ends within 0.017
    # of 0.3; the tolerance is 0.03, with a fixed key. The score function runs with the moving
    # average baseline (1 sample) and with the leave-one-out baseline (4 samples).
    obs = jax.random.bernoulli(jax.random.key(1), 0.3, (400,)).astype(jnp.float32)
    opt = _decaying_adam()
    res = fit(bernoulli_rate_loss, {"logit": jnp.array(0.0)}, data={"obs": obs}, key=KEY,
              num_steps=300, optimizer=opt, estimator=estimator, num_samples=num_samples, progress=False)
    assert float(jax.nn.sigmoid(res.params["logit"])) == pytest.approx(0.3, abs=0.03)
    # The recorded loss is the mean sample value, not the surrogate.
    assert np.all(res.losses >= 0)


def test_a_division_hazard_is_recovered_from_expected_counts():
    # Ground truth: counts of the relaxed (mean-field) division model at hazard 0.05 / minute.
    import automata
    from rules.division import DifferentiationTable, DivisionModel, expected_counts
    from rules.population import Population

    lattice = automata.Lattice((8, 8))
    population = Population.create(lattice, [[4, 4]], [0], capacity=32)
    table = DifferentiationTable.symmetric(1)

    def counts(rate):
        model = DivisionModel(table=table, hazard=rate)
        return expected_counts(model, population, num_steps=30).count[:, 0]

    def loss(params, ctx):
        simulated = counts(jnp.exp(params["log_rate"]))
        return jnp.mean((jnp.log(simulated) - jnp.log(ctx.data["counts"])) ** 2)

    observed = np.asarray(counts(0.05))
    res = fit(loss, {"log_rate": jnp.log(0.01)}, data={"counts": observed}, key=KEY, num_steps=150,
              learning_rate=0.1, progress=False)
    assert float(jnp.exp(res.params["log_rate"])) == pytest.approx(0.05, rel=1e-3)


_OPT = []


def _decaying_adam():
    if not _OPT:
        _OPT.append(optax.adam(optax.exponential_decay(0.1, 300, 0.05)))
    return _OPT[0]


def test_the_loss_sees_the_estimator_step_and_data():
    seen = []

    def loss(params, ctx):
        seen.append((ctx.estimator, type(ctx), ctx.data["a"].shape, ctx.step.dtype))
        return jnp.sum(params**2)

    fit(loss, jnp.ones(2), key=KEY, num_steps=2, data={"a": np.ones(3)}, estimator="straight_through",
        progress=False)
    assert seen and all(s == ("straight_through", FitContext, (3,), jnp.int32) for s in seen)


def test_score_function_estimator_needs_no_pathwise_gradient():
    # The value has zero pathwise gradient (exact samples); the log_prob term alone moves p up.
    def loss(params, ctx):
        p = jax.nn.sigmoid(params)
        b = ctx.bernoulli(ctx.key, p, shape=(64,))
        return -jnp.mean(b), relax.bernoulli_log_prob(b, p).sum()

    res = fit(loss, jnp.array(0.0), key=KEY, num_steps=40, learning_rate=0.1, estimator="score_function",
              progress=False)
    assert float(res.params) > 1.0


def test_fit_context_bernoulli_kinds_agree():
    @jax.jit
    def draw(q):
        def sample(q, estimator):
            return FitContext(key=KEY, step=jnp.int32(0), estimator=estimator).bernoulli(KEY, q, shape=(200,))

        total = lambda q, estimator: sample(q, estimator).sum()
        samples = [sample(q, e) for e in ESTIMATORS]
        grads = [jax.grad(total)(q, e) for e in ESTIMATORS]
        return samples, grads

    (soft, hard, score), (g_soft, g_hard, g_score) = draw(0.3)
    np.testing.assert_array_equal(hard, score)
    np.testing.assert_array_equal(hard, (soft > 0.5).astype(hard.dtype))
    assert bool(jnp.all((soft > 0) & (soft < 1)))
    assert float(g_score) == 0.0 and float(g_hard) > 0.0 and float(g_soft) > 0.0
    np.testing.assert_allclose(g_soft, g_hard, rtol=1e-5)  # straight-through: the relaxed gradient


def test_multi_start_picks_the_best_basin():
    res = fit(double_well, None, init_fn=lambda k: jax.random.uniform(k, (), minval=-2.0, maxval=2.0),
              key=KEY, num_steps=200, num_starts=4, learning_rate=0.05, progress=False)
    finals = np.asarray(res.all_params)
    assert finals.shape == (4,)
    assert np.any(finals > 0.5) and np.any(finals < -0.5), "the fixed key should seed both basins"
    assert float(res.params) == pytest.approx(-1.0356, abs=2e-3)
    assert finals[res.best_start] == float(res.params)
    assert res.final_loss == pytest.approx(res.losses[-1, res.best_start])
    np.testing.assert_array_equal(res.init_params.shape, (4,))


def test_init_spread_keeps_start_zero_and_jitters_the_others():
    res = fit(double_well, jnp.array(1.5), key=KEY, num_steps=1, num_starts=3, init_spread=0.5, progress=False)
    init = np.asarray(res.init_params)
    assert init[0] == 1.5 and len(set(init.tolist())) == 3


COMMON = dict(data=TARGET, key=KEY, num_steps=20, learning_rate=0.1, progress=False)


def test_four_devices_give_the_same_fit_as_one():
    assert len(jax.devices()) >= 4, "tests/conftest.py asks for 4 host devices"
    four = fit(noisy_quadratic, W0, num_starts=4, init_spread=1.0, **COMMON)
    one = fit(noisy_quadratic, W0, num_starts=4, init_spread=1.0, devices=jax.devices()[:1], **COMMON)
    assert four.diagnostics["num_devices"] == 4 and one.diagnostics["num_devices"] == 1
    np.testing.assert_allclose(four.all_params["w"], one.all_params["w"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(four.losses, one.losses, rtol=1e-6)


def test_a_multi_start_fit_equals_separate_fits():
    # Common random numbers: start s of a 4-start fit (on 4 devices) is a 1-start fit from its
    # initial parameters with the same key.
    four = fit(noisy_quadratic, W0, num_starts=4, init_spread=1.0, **COMMON)
    for s in range(4):
        start = jax.tree.map(lambda x: x[s], four.init_params)
        alone = fit(noisy_quadratic, start, **COMMON)
        np.testing.assert_allclose(alone.all_params["w"][0], four.all_params["w"][s], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(alone.losses[:, 0], four.losses[:, s], rtol=1e-6)


def test_starts_are_padded_to_a_multiple_of_the_devices():
    common = dict(COMMON, init_spread=1.0)
    three = fit(noisy_quadratic, W0, num_starts=3, devices=jax.devices()[:2], **common)
    assert three.diagnostics["num_devices"] == 2
    assert three.losses.shape == (20, 3) and three.all_params["w"].shape == (3, 3)
    # The padding (a copy of start 0) is invisible: the same as the first 3 of 4 starts on 1 device.
    four = fit(noisy_quadratic, W0, num_starts=4, devices=jax.devices()[:1], **common)
    np.testing.assert_allclose(three.all_params["w"], four.all_params["w"][:3], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(three.losses, four.losses[:, :3], rtol=1e-6)


def test_a_second_fit_with_the_same_loss_does_not_recompile(caplog):
    def loss(params, ctx):
        return noisy_quadratic(params, ctx)

    args = dict(data=TARGET, learning_rate=0.1, num_starts=2, init_spread=1.0, progress=False)

    def compiles(**kwargs):
        caplog.clear()
        with jax.log_compiles(), caplog.at_level(logging.WARNING):
            fit(loss, W0, **args, **kwargs)
        return [r for r in caplog.records if "Compiling" in r.getMessage()]

    assert compiles(key=KEY, num_steps=5)
    assert not compiles(key=jax.random.key(3), num_steps=7)  # another key and length: no compile


def test_resume_from_a_checkpoint_is_exact(tmp_path):
    path = str(tmp_path / "fit.npz")
    common = dict(data=TARGET, key=KEY, learning_rate=0.1, num_starts=2, init_spread=1.0, progress=False)
    straight = fit(noisy_quadratic, W0, num_steps=10, **common)
    first = fit(noisy_quadratic, W0, num_steps=5, checkpoint=path, **common)
    assert first.diagnostics["steps_done"] == 5 and os.path.exists(path)
    resumed = fit(noisy_quadratic, W0, num_steps=10, checkpoint=path, **common)
    assert resumed.diagnostics["resumed_from"] == 5
    np.testing.assert_array_equal(resumed.all_params["w"], straight.all_params["w"])
    np.testing.assert_array_equal(resumed.losses, straight.losses)
    np.testing.assert_array_equal(resumed.diagnostics["grad_norm"], straight.diagnostics["grad_norm"])
    np.testing.assert_array_equal(resumed.init_params["w"], straight.init_params["w"])
    assert [f for f in os.listdir(tmp_path)] == ["fit.npz"]  # no temporary files left behind
    # A checkpoint that already has the steps runs nothing more.
    again = fit(noisy_quadratic, W0, num_steps=8, checkpoint=path, **common)
    assert again.diagnostics["steps_done"] == 10
    np.testing.assert_array_equal(again.all_params["w"], straight.all_params["w"])


def test_interrupted_fit_resumes_exactly(tmp_path, monkeypatch):
    path = str(tmp_path / "fit.npz")
    common = dict(data=TARGET, key=KEY, learning_rate=0.1, num_steps=10, checkpoint=path,
                  checkpoint_every=4, progress=False)

    class Interrupt(fit_module.Progress):
        def update(self, i, **metrics):
            if i >= 4:
                raise KeyboardInterrupt

    monkeypatch.setattr(fit_module, "Progress", Interrupt)
    with pytest.raises(KeyboardInterrupt):
        fit(noisy_quadratic, W0, **common)
    monkeypatch.undo()
    resumed = fit(noisy_quadratic, W0, **common)
    assert resumed.diagnostics["resumed_from"] == 4
    straight = fit(noisy_quadratic, W0, **dict(common, checkpoint=None))
    np.testing.assert_array_equal(resumed.all_params["w"], straight.all_params["w"])
    np.testing.assert_array_equal(resumed.losses, straight.losses)


def test_checkpoint_mismatches_are_refused(tmp_path):
    path = str(tmp_path / "fit.npz")
    common = dict(key=KEY, num_steps=2, progress=False, checkpoint=path)
    fit(lambda p, ctx: jnp.sum(p["a"] ** 2), {"a": jnp.ones(2)}, **common)
    with pytest.raises(ValueError, match="different parameter structure"):
        fit(lambda p, ctx: jnp.sum(p["b"] ** 2), {"b": jnp.ones(2)}, **dict(common, num_steps=4))
    with pytest.raises(ValueError, match="other shapes or dtypes"):
        fit(lambda p, ctx: jnp.sum(p["a"] ** 2), {"a": jnp.ones(3)}, **dict(common, num_steps=4))
    with pytest.raises(ValueError, match="another key"):
        fit(lambda p, ctx: jnp.sum(p["a"] ** 2), {"a": jnp.ones(2)}, **dict(common, key=jax.random.key(5)))
    with pytest.raises(ValueError, match="num_starts=1, but this fit has num_starts=2"):
        fit(lambda p, ctx: jnp.sum(p["a"] ** 2), {"a": jnp.ones(2)}, num_starts=2, init_spread=1.0, **common)
    with pytest.raises(ValueError, match="optimizer-state structure"):
        fit(lambda p, ctx: jnp.sum(p["a"] ** 2), {"a": jnp.ones(2)}, optimizer=optax.sgd(0.1), **common)
    # resume=False starts afresh and overwrites.
    res = fit(lambda p, ctx: jnp.sum(p["b"] ** 2), {"b": jnp.ones(2)}, resume=False, **common)
    assert res.diagnostics["resumed_from"] is None
    with open(path, "wb") as f:
        f.write(b"not a checkpoint")
    with pytest.raises(ValueError, match="Cannot read the checkpoint"):
        fit(lambda p, ctx: jnp.sum(p["b"] ** 2), {"b": jnp.ones(2)}, **common)


def test_a_failed_write_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / "fit.npz")
    fit(quadratic, {"x": jnp.zeros(2)}, key=KEY, num_steps=3, progress=False, checkpoint=path)
    before = open(path, "rb").read()

    def broken_savez(f, **arrays):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        fit(quadratic, {"x": jnp.zeros(2)}, key=KEY, num_steps=6, progress=False, checkpoint=path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["fit.npz"]


def test_check_finite_names_the_array_and_counts():
    expected = r"counts has 2 non-finite entries of 4 \(1 NaN, 1 inf\), the first at index \(0, 1\)"
    with pytest.raises(ValueError, match=expected):
        check_finite("counts", np.array([[1.0, np.nan], [np.inf, 2.0]]))
    with pytest.raises(ValueError, match="x has 1 non-finite entry of 1"):
        check_finite("x", np.float32(np.nan))
    ints = np.arange(3)
    assert check_finite("ints", ints) is ints
    with pytest.raises(TypeError, match="outside jit"):
        jax.jit(lambda a: check_finite("a", a))(jnp.ones(2))
    with pytest.raises(TypeError, match="numeric array"):
        check_finite("names", np.array(["a"]))


def test_fit_refuses_non_finite_data():
    with pytest.raises(ValueError, match=r"data\['obs'\] has 1 non-finite entry"):
        fit(quadratic, {"x": jnp.zeros(2)}, key=KEY, num_steps=2, data={"obs": np.array([1.0, np.nan])},
            progress=False)


def _log_descent():
    """x_{k+1} = x_k - 0.1 / x_k from 1: the first x <= 0 is at step 6 (numpy reference)."""
    xs = [np.float32(1.0)]
    while xs[-1] > 0:
        xs.append(np.float32(xs[-1] - np.float32(0.1) / xs[-1]))
    return xs


def test_a_non_finite_loss_stops_and_keeps_the_last_good_params():
    xs = _log_descent()
    bad = len(xs) - 1  # step whose loss is NaN
    assert bad == 6
    expected = "start 0: the loss became nan at step 6; kept the parameters of step 5"
    with pytest.raises(NonFiniteError, match=expected) as err:
        fit(log_loss, jnp.array(1.0), key=KEY, num_steps=20, optimizer=optax.sgd(0.1), progress=False)
    assert isinstance(err.value, FloatingPointError)
    res = err.value.result
    assert float(res.params) == pytest.approx(float(xs[bad - 1]), rel=1e-6)
    d = res.diagnostics
    assert d["stopped_early"] and d["steps_done"] == 7 and d["failed_starts"] == [0]
    assert res.losses.shape == (7, 1) and np.isnan(res.losses[6, 0]) and np.isfinite(res.losses[:6]).all()
    with pytest.warns(RuntimeWarning, match="loss became nan at step 6"):
        quiet = fit(log_loss, jnp.array(1.0), key=KEY, num_steps=20, optimizer=optax.sgd(0.1),
                    progress=False, throw=False)
    assert float(quiet.params) == float(res.params) and quiet.diagnostics["stopped_early"]


def test_non_finite_starts_freeze_while_the_others_go_on():
    def loss(x, ctx):
        return (x - 2.0) ** 2 + jnp.log(x)  # NaN for x < 0 at once

    init = lambda k: jax.random.uniform(k, (), minval=-1.0, maxval=2.0)
    with pytest.warns(RuntimeWarning, match="the others went on"):
        res = fit(loss, None, init_fn=init, key=KEY, num_steps=100, num_starts=4, optimizer=optax.sgd(0.05),
                  progress=False, throw=False)
    negative = np.flatnonzero(np.asarray(res.init_params) < 0).tolist()
    assert negative and len(negative) < 4, "the fixed key should give both kinds of start"
    assert res.diagnostics["failed_starts"] == negative
    np.testing.assert_array_equal(np.asarray(res.all_params)[negative], np.asarray(res.init_params)[negative])
    assert res.best_start not in negative and res.diagnostics["steps_done"] == 100
    assert float(res.params) == pytest.approx((2 + np.sqrt(2)) / 2, abs=1e-3)  # 2(x-2) + 1/x = 0
    with pytest.raises(NonFiniteError, match="at step 0; kept its initial parameters"):
        fit(loss, None, init_fn=init, key=KEY, num_steps=100, num_starts=4, optimizer=optax.sgd(0.05),
            progress=False)


def test_constraints_and_priors_enter_the_objective():
    penalty = (10.0, lambda x: jax.nn.relu(x - 1.0) ** 2)
    res = fit(lambda x, ctx: (x - 3.0) ** 2, jnp.array(0.0), key=KEY, num_steps=300, learning_rate=0.1,
              constraints=[penalty], progress=False)
    assert float(res.params) == pytest.approx(13.0 / 11.0, abs=1e-3)
    gauss = lambda x: -0.5 * x**2  # log N(x; 0, 1) up to a constant
    res = fit(lambda x, ctx: (x - 3.0) ** 2, jnp.array(0.0), key=KEY, num_steps=300, learning_rate=0.1,
              priors=[gauss], progress=False)
    assert float(res.params) == pytest.approx(2.0, abs=1e-3)
    terms = res.diagnostics["terms"]
    np.testing.assert_allclose(terms["data"] + terms["constraints"] + terms["priors"], res.losses, rtol=1e-6)
    assert np.all(terms["constraints"] == 0) and terms["priors"][-1, 0] == pytest.approx(2.0, abs=1e-2)


def test_progress_prints_only_when_asked(capsys):
    fit(quadratic, {"x": jnp.zeros(2)}, key=KEY, num_steps=30, learning_rate=0.1, progress=True)
    err = capsys.readouterr().err
    assert "fit 30/30" in err and "loss=" in err
    fit(quadratic, {"x": jnp.zeros(2)}, key=KEY, num_steps=30, learning_rate=0.1, progress=False)
    assert capsys.readouterr().err == ""


def test_summary_and_plot():
    res = fit(double_well, jnp.array(1.5), key=KEY, num_steps=20, num_starts=3, init_spread=1.0,
              learning_rate=0.05, progress=False)
    text = res.summary()
    assert "20/20 steps" in text and f"best start {res.best_start}" in text and "3 starts" in text
    fig = res.plot()
    import matplotlib.pyplot as plt

    try:
        assert len(fig.axes[0].lines) == 3
    finally:
        plt.close(fig)


def test_sweep_equals_vmap_on_any_devices():
    grid = {"a": jnp.linspace(-1.0, 1.0, 5), "b": jnp.arange(10.0).reshape(5, 2)}
    fn = lambda p: {"s": p["a"] * p["b"].sum(), "v": p["b"] * 2}
    expect = jax.vmap(fn)(grid)
    for devices in (None, jax.devices()[:1], jax.devices()[:2]):
        out = sweep(fn, grid, devices=devices)  # 5 items: padded on 2 and 4 devices
        np.testing.assert_allclose(out["s"], expect["s"], rtol=1e-6)
        np.testing.assert_allclose(out["v"], expect["v"], rtol=1e-6)
        assert out["v"].shape == (5, 2)


def test_sweep_with_a_key_gives_each_item_its_own_key():
    grid = jnp.array([0.1, 0.5, 0.9])
    out = sweep(lambda p, k: jax.random.bernoulli(k, p, (1000,)).mean(), grid, key=KEY)
    loop = [jax.random.bernoulli(jax.random.fold_in(KEY, i), p, (1000,)).mean() for i, p in enumerate(grid)]
    np.testing.assert_allclose(out, loop)
    single = sweep(lambda p, k: jax.random.bernoulli(k, p, (1000,)).mean(), grid, key=KEY,
                   devices=jax.devices()[:1])
    np.testing.assert_array_equal(out, single)


def test_sweep_errors():
    with pytest.raises(ValueError, match="same leading batch axis"):
        sweep(lambda p: p["a"], {"a": jnp.ones(3), "b": jnp.ones(4)})
    with pytest.raises(ValueError, match="nothing to sweep"):
        sweep(lambda p: p, {})
    with pytest.raises(TypeError, match="fn must be a function"):
        sweep(3, jnp.ones(2))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(estimator="reinforce"), ValueError,
         "Unknown estimator 'reinforce'; choose one of 'pathwise', 'straight_through', 'score_function'"),
        (dict(num_steps=0), ValueError, "num_steps must be at least 1, got 0"),
        (dict(num_steps=2.5), TypeError, "num_steps must be an int"),
        (dict(num_starts=0), ValueError, "num_starts must be at least 1"),
        (dict(num_starts=2), ValueError, "num_starts=2 needs a way to make the starts differ"),
        (dict(num_samples=0), ValueError, "num_samples must be at least 1"),
        (dict(checkpoint_every=0), ValueError, "checkpoint_every must be at least 1"),
        (dict(learning_rate=-1.0), ValueError, "learning_rate must be positive"),
        (dict(optimizer=optax.sgd(0.1), learning_rate=0.1), ValueError, "learning_rate only without optimizer"),
        (dict(optimizer="adam"), TypeError, "optax GradientTransformation"),
        (dict(key=0), TypeError, "key must be a JAX PRNG key"),
        (dict(constraints=[(1.0, "f")]), TypeError, r"constraints\[0\] must be a \(weight, fn\) pair"),
        (dict(constraints=(1.0, lambda p: 0.0)), TypeError, "sequence of \\(weight, fn\\) pairs"),
        (dict(constraints=[(-1.0, lambda p: 0.0)]), ValueError, "weight must be finite and >= 0"),
        (dict(priors=[3]), TypeError, r"priors\[0\] must be a function"),
        (dict(init_fn=lambda k: {"x": jnp.zeros(2)}), ValueError, "either init_params"),
        (dict(devices=[]), TypeError, "devices must be a non-empty sequence"),
        (dict(init_spread=-1.0, num_starts=2), ValueError, "init_spread must be finite and >= 0"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, match):
    args = dict(key=KEY, num_steps=3, progress=False)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        fit(quadratic, {"x": jnp.zeros(2)}, **args)


def test_bad_params_and_losses_are_refused():
    with pytest.raises(TypeError, match=r"init_params\['n'\] has dtype int32"):
        fit(quadratic, {"x": jnp.zeros(2), "n": jnp.int32(3)}, key=KEY, num_steps=1, progress=False)
    with pytest.raises(ValueError, match="fit needs init_params"):
        fit(quadratic, key=KEY, num_steps=1, progress=False)
    with pytest.raises(TypeError, match=r"loss_fn must return a scalar, got shape \(2,\)"):
        fit(lambda p, ctx: p**2, jnp.ones(2), key=KEY, num_steps=1, progress=False)
    with pytest.raises(TypeError, match="tuple of 3 items"):
        fit(lambda p, ctx: (p, p, p), jnp.ones(()), key=KEY, num_steps=1, progress=False)
    with pytest.raises(TypeError, match=r"constraints\[0\] fn must return a scalar"):
        fit(lambda p, ctx: jnp.sum(p), jnp.ones(2), key=KEY, num_steps=1, constraints=[(1.0, lambda p: p)],
            progress=False)


@pytest.mark.parametrize(
    "test", [t for t in doctest.DocTestFinder().find(fit_module) if t.examples], ids=lambda t: t.name
)
def test_docstring_examples(test):
    runner = doctest.DocTestRunner()
    runner.run(test)
    assert runner.failures == 0


def test_progress_says_compiling_once_and_estimates_from_compiled_steps(capsys):
    def loss(params, ctx):  # a fresh function: compiled on its first fit
        return jnp.sum(params ** 2)

    fit(loss, jnp.ones(2), key=KEY, num_steps=3, learning_rate=0.1, progress=True)
    first = capsys.readouterr().err
    assert "compiling" in first and first.index("compiling") < first.index("fit 1/3")
    assert "eta -" in first.splitlines()[1]  # no guess from the step that included compiling
    fit(loss, jnp.ones(2), key=KEY, num_steps=3, learning_rate=0.1, progress=True)
    assert "compiling" not in capsys.readouterr().err
