"""Gene-expression priors over kinds: the right kind wins, losses vanish at the prior, errors."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rules.priors import GeneExpressionPrior

GENES = ("pha-4", "hlh-1", "elt-2", "unc-120")
MEANS = np.array(
    [
        [8.0, 0.5, 6.0, 0.2],  # gut
        [0.3, 7.0, 0.1, 5.0],  # muscle
        [0.2, 0.4, 0.3, 0.1],  # skin
    ]
)
KINDS = ("gut", "muscle", "skin")


def replicate_table(seed=0, reps=4, noise=0.5):
    rng = np.random.default_rng(seed)
    rows, labels, values = [], [], []
    for k, kind in enumerate(KINDS):
        for r in range(reps):
            rows.append(f"{kind}{r}")
            labels.append(kind)
            values.append(MEANS[k] + rng.normal(0, noise, len(GENES)))
    return np.array(values), tuple(rows), tuple(labels)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_mean_expression_gets_its_kind(likelihood):
    values, rows, labels = replicate_table()
    prior = GeneExpressionPrior.from_table(
        values, genes=GENES, rows=rows, labels=labels, likelihood=likelihood, threshold=2.0
    )
    assert prior.kinds == KINDS
    log_p = prior.log_prob(MEANS)
    assert log_p.shape == (3, 3)
    np.testing.assert_array_equal(np.argmax(log_p, -1), [0, 1, 2])
    np.testing.assert_array_equal(prior.assign(MEANS), [0, 1, 2])
    np.testing.assert_allclose(jnp.exp(log_p).sum(-1), 1.0, rtol=1e-5)


def test_gaussian_parameters_are_kind_means_and_pooled_std():
    values, rows, labels = replicate_table(reps=5)
    prior = GeneExpressionPrior.from_table(values, genes=GENES, rows=rows, labels=labels, min_std=1e-3)
    for k in range(3):
        np.testing.assert_allclose(prior.loc[k], values[5 * k : 5 * k + 5].mean(0), rtol=1e-5)
    dev = np.concatenate([values[5 * k : 5 * k + 5] - values[5 * k : 5 * k + 5].mean(0) for k in range(3)])
    pooled = np.sqrt((dev**2).sum(0) / (15 - 3))
    np.testing.assert_allclose(prior.scale[0], pooled, rtol=1e-5)
    # One row per kind: no replicates, so each gene's spread over all rows is used.
    single = GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, min_std=1e-3)
    np.testing.assert_allclose(single.scale[1], MEANS.std(0), rtol=1e-5)
    fixed = GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, std=2.0)
    x = MEANS[0] + 1.0
    want = [np.sum(-0.5 * ((x - MEANS[k]) / 2) ** 2 - np.log(2.0) - 0.5 * np.log(2 * np.pi)) for k in range(3)]
    np.testing.assert_allclose(fixed.log_likelihood(x), want, rtol=1e-5)


def test_bernoulli_likelihood_formula():
    table = {"a": {"g": 1.0, "h": 0.0}, "b": {"g": 0.0, "h": 0.0}, "c": {"g": 1.0, "h": 1.0}}
    prior = GeneExpressionPrior.from_table(
        table, labels=("X", "X", "Y"), likelihood="bernoulli", smoothing=0.5
    )
    p = np.array([[1.5 / 3, 0.5 / 3], [1.5 / 2, 1.5 / 2]])  # (on + 0.5) / (rows + 1)
    np.testing.assert_allclose(prior.loc, p, rtol=1e-6)
    ll = prior.log_likelihood(np.array([1.0, 0.0]))
    np.testing.assert_allclose(ll, np.log(p[:, 0]) + np.log1p(-p[:, 1]), rtol=1e-6)


def test_loss_vanishes_at_the_prior_and_grows_away_from_it():
    values, rows, labels = replicate_table()
    # A wide fixed std keeps the posterior soft, so perturbed logits really differ from it.
    prior = GeneExpressionPrior.from_table(values, genes=GENES, rows=rows, labels=labels, std=4.0)
    cells = MEANS + 2.0 * np.random.default_rng(1).normal(size=MEANS.shape)
    log_p = prior.log_prob(cells)
    assert float(prior.loss(log_p, cells)) == pytest.approx(0.0, abs=1e-5)
    ce_at_prior = float(prior.loss(log_p, cells, divergence="cross_entropy"))
    entropy = float(-jnp.mean(jnp.sum(jnp.exp(log_p) * log_p, -1)))
    assert ce_at_prior == pytest.approx(entropy, abs=1e-5)
    for seed in range(3):
        other = log_p + 0.3 * jax.random.normal(jax.random.key(seed), log_p.shape)
        assert float(prior.loss(other, cells)) > 1e-4
        assert float(prior.loss(other, cells, divergence="cross_entropy")) > ce_at_prior
    # The gradient in the logits is softmax(logits) - prior (per cell, averaged).
    logits = jnp.zeros((3, 3))
    g = jax.jit(jax.grad(lambda l: prior.loss(l, cells)))(logits)
    np.testing.assert_allclose(g, (jax.nn.softmax(logits) - jnp.exp(log_p)) / 3, atol=1e-6)
    # Masked cells do not count.
    assert float(prior.loss(other, cells, mask=jnp.array([False, False, False]))) == 0.0


def test_posterior_target_combines_prediction_and_expression():
    values, rows, labels = replicate_table()
    prior = GeneExpressionPrior.from_table(values, genes=GENES, rows=rows, labels=labels, std=4.0)
    cells = MEANS + 2.0 * np.random.default_rng(2).normal(size=MEANS.shape)
    logits = jax.random.normal(jax.random.key(3), (3, 3))
    # Target: softmax(log q + log-likelihood), held fixed; the kind-frequency prior is not used.
    post = jax.nn.softmax(jax.nn.log_softmax(logits) + prior.log_likelihood(cells))
    log_q = jax.nn.log_softmax(logits)
    want = jnp.mean(jnp.sum(post * (jnp.log(post) - log_q), -1))
    got = prior.loss(logits, cells, target="posterior")
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert float(got) > 1e-4
    # The gradient is softmax(logits) - target (the target carries no gradient).
    g = jax.grad(lambda l: prior.loss(l, cells, target="posterior"))(logits)
    np.testing.assert_allclose(g, (jax.nn.softmax(logits) - post) / 3, atol=1e-6)
    # Expression that does not tell the kinds apart (all genes missing) leaves q as its own
    # target: the loss is zero. The plain prior target is not (it pulls q to the kind prior).
    missing = np.full_like(cells, np.nan)
    assert float(prior.loss(logits, missing, target="posterior")) == pytest.approx(0.0, abs=1e-6)
    assert float(prior.loss(logits, missing)) > 1e-3
    with pytest.raises(ValueError, match="GeneExpressionPrior.loss: target must be one of"):
        prior.loss(logits, cells, target="likelihood")


def test_missing_values_are_ignored():
    values, rows, labels = replicate_table()
    prior = GeneExpressionPrior.from_table(values, genes=GENES, rows=rows, labels=labels)
    query = MEANS[1].copy()
    query[0] = np.nan
    sub = prior.log_prob(query[1:], genes=GENES[1:])
    np.testing.assert_allclose(prior.log_prob(query), sub, rtol=1e-6)
    np.testing.assert_allclose(prior.log_prob({g: query[i] for i, g in enumerate(GENES) if i}), sub, rtol=1e-6)
    # NaN queries have finite gradients.
    g = jax.grad(lambda x: prior.log_prob(x)[0])(jnp.asarray(query))
    assert bool(jnp.all(jnp.isfinite(g))) and float(g[0]) == 0.0
    # A gene never measured in the table is ignored; one missing for a kind is uninformative.
    table = MEANS.copy()
    table[:, 3] = np.nan
    table[2, 0] = np.nan
    p2 = GeneExpressionPrior.from_table(table, genes=GENES, rows=KINDS)
    np.testing.assert_array_equal(p2.gene_mask, [1, 1, 1, 0])
    x = MEANS[2].copy()
    ll_with = p2.log_likelihood(x)
    x[3] = 1e6  # the ignored gene has no effect
    np.testing.assert_allclose(p2.log_likelihood(x), ll_with)
    np.testing.assert_allclose(p2.loc[2, 0], np.mean(MEANS[:2, 0]))


def test_sampling_follows_the_posterior():
    prior = GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, std=4.0)
    cell = (MEANS[0] + MEANS[1]) / 2
    probs = np.asarray(jnp.exp(prior.log_prob(cell)))
    draws = prior.assign(np.broadcast_to(cell, (4000, 4)), key=jax.random.key(0))
    freq = np.bincount(np.asarray(draws), minlength=3) / 4000
    # Binomial standard error at 4000 draws is at most 0.008; allow 4 of them.
    np.testing.assert_allclose(freq, probs, atol=0.032)


def test_frequency_kind_prior_and_vocabulary():
    values, rows, labels = replicate_table(reps=2)
    values, rows, labels = values[:5], rows[:5], labels[:5]  # 2 gut, 2 muscle, 1 skin
    prior = GeneExpressionPrior.from_table(
        values, genes=GENES, rows=rows, labels=labels, kinds=("skin", "gut", "muscle"),
        kind_prior="frequency",
    )
    assert prior.kinds == ("skin", "gut", "muscle")
    np.testing.assert_allclose(jnp.exp(prior.log_kind_prior), [0.2, 0.4, 0.4], rtol=1e-6)
    # A jitted loss accepts the prior as an argument.
    out = jax.jit(lambda pr, l: pr.loss(l, MEANS))(prior, jnp.zeros((3, 3)))
    assert np.isfinite(float(out))


def test_errors():
    with pytest.raises(ValueError, match=r"table must have rows and genes; .*\(shape \(0, 4\)\)"):
        GeneExpressionPrior.from_table(np.zeros((0, 4)), genes=GENES, rows=())
    with pytest.raises(ValueError, match="table must have rows"):
        GeneExpressionPrior.from_table({})
    with pytest.raises(ValueError, match=r"genes must have one name per column: .* 4 columns"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES[:3], rows=KINDS)
    with pytest.raises(ValueError, match=r"rows must name the table's \d+ rows"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES)
    with pytest.raises(ValueError, match="rows must have one name per row"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS[:1])
    with pytest.raises(ValueError, match=r"kinds must include every label: row\(s\) skin .*known kinds: gut, muscle"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, kinds=("gut", "muscle"))
    with pytest.raises(ValueError, match=r"kinds must all have rows: kind\(s\) neuron have no rows"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, kinds=KINDS + ("neuron",))
    with pytest.raises(ValueError, match="from_table: table must be 2D"):
        GeneExpressionPrior.from_table(np.zeros(4), genes=GENES, rows=("a",))
    with pytest.raises(ValueError, match="genes must be unique names"):
        GeneExpressionPrior.from_table(MEANS, genes=("a", "a", "b", "c"), rows=KINDS)
    with pytest.raises(ValueError, match=r"genes must name every gene of the table: .*gene\(s\) zz"):
        GeneExpressionPrior.from_table({"r": {"a": 1.0, "zz": 2.0}}, genes=("a",))
    with pytest.raises(ValueError, match="from_table: likelihood must be one of"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, likelihood="poisson")
    with pytest.raises(ValueError, match="from_table: kind_prior must be one of"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, kind_prior="equal")
    with pytest.raises(ValueError, match="from_table: std must be a finite number > 0"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, std=0.0)
    with pytest.raises(ValueError, match="from_table: min_std must be a finite number > 0"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, min_std=-1.0)
    with pytest.raises(ValueError, match="from_table: smoothing must be a finite number > 0"):
        GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS, likelihood="bernoulli", smoothing=0)
    prior = GeneExpressionPrior.from_table(MEANS, genes=GENES, rows=KINDS)
    with pytest.raises(ValueError, match=r"expression has 3 gene\(s\) on its last axis \(shape \(2, 3\)\) but the prior has 4"):
        prior.log_prob(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Unknown gene\(s\) myo-3; the prior knows"):
        prior.log_prob(np.zeros(2), genes=("pha-4", "myo-3"))
    with pytest.raises(ValueError, match="logits must have the 3 kinds"):
        prior.loss(jnp.zeros((3, 2)), MEANS)
    with pytest.raises(ValueError, match="give one row of logits per cell"):
        prior.loss(jnp.zeros((2, 3)), MEANS)
