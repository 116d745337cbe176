"""neurosym.fit.estimators: estimators as objects, the old names mapped to them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from neurosym.fit import ESTIMATORS, FitContext, PathwiseGradient, ScoreFunction, StraightThrough, fit
from neurosym.fit.estimators import as_estimator


def test_names_map_to_objects_and_compare_equal():
    assert [type(as_estimator(n)) for n in ESTIMATORS] == [PathwiseGradient, StraightThrough, ScoreFunction]
    assert ScoreFunction(baseline_decay=0.5) == "score_function"
    assert ScoreFunction(0.5) != ScoreFunction(0.9) and ScoreFunction() == ScoreFunction(0.9)
    assert PathwiseGradient() != "straight_through"
    ctx = FitContext(key=jax.random.key(0), step=jnp.int32(0), estimator="score_function")
    assert isinstance(ctx.estimator, ScoreFunction) and ctx.estimator == "score_function"


@pytest.mark.parametrize("bad, error, match", [
    ("reinforce", ValueError, "Unknown estimator"),
    (3, ValueError, "Unknown estimator"),
])
def test_unknown_estimators_are_refused(bad, error, match):
    with pytest.raises(error, match=match):
        as_estimator(bad)


def test_baseline_decay_is_checked():
    with pytest.raises(ValueError, match="baseline_decay"):
        ScoreFunction(baseline_decay=1.0)
    with pytest.raises(TypeError, match="baseline_decay"):
        ScoreFunction(baseline_decay="x")


def _rate_loss(logit, ctx):
    p = jax.nn.sigmoid(logit)
    b = ctx.bernoulli(ctx.key, p, shape=(64,))
    from automata import relax
    return (b.mean() - 0.3) ** 2, relax.bernoulli_log_prob(b, p).sum()


def test_an_object_and_its_name_fit_the_same():
    args = dict(key=jax.random.key(1), num_steps=20, learning_rate=0.05, progress=False)
    by_name = fit(_rate_loss, jnp.array(0.0), estimator="score_function", **args)
    by_object = fit(_rate_loss, jnp.array(0.0), estimator=ScoreFunction(), **args)
    np.testing.assert_array_equal(by_name.losses, by_object.losses)
    assert by_object.diagnostics["estimator"] == "score_function"
    # Another baseline decay changes the single-sample baseline, hence the path.
    other = fit(_rate_loss, jnp.array(0.0), estimator=ScoreFunction(baseline_decay=0.0), **args)
    assert not np.array_equal(other.losses, by_object.losses)


def test_a_checkpoint_remembers_the_estimator_settings(tmp_path):
    path = str(tmp_path / "c.npz")
    args = dict(key=jax.random.key(1), learning_rate=0.05, progress=False, checkpoint=path)
    fit(_rate_loss, jnp.array(0.0), estimator="score_function", num_steps=2, **args)
    fit(_rate_loss, jnp.array(0.0), estimator=ScoreFunction(), num_steps=3, **args)  # the same: resumes
    with pytest.raises(ValueError, match="ScoreFunction\\(baseline_decay=0.5\\)"):
        fit(_rate_loss, jnp.array(0.0), estimator=ScoreFunction(0.5), num_steps=4, **args)
