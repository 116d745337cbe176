import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

import automata
from neurosym.encoder import Encoder
from neurosym.perception import KINDS, _run_score, learn_rule_from_images, render_life_movie
from neurosym.synthetic import FOUNDERS, marker_profiles, simulate_embryo


def test_life_movie_frames_follow_the_rule():
    lat = automata.Lattice((8, 8))
    movie = render_life_movie(jax.random.key(0), lat, "B3/S23", num_steps=3, site_pixels=6)
    assert movie.images.shape == (4, 48, 48) and movie.states.shape == (4, 8, 8)
    for a, b in zip(movie.states[:-1], movie.states[1:]):
        nxt = automata.step(automata.LIFE, lat, automata.LatticeState(x=a[..., None].astype(np.uint8)), key=jax.random.key(0))
        np.testing.assert_array_equal(np.asarray(nxt.x[..., 0]), b)
    # "on" cells are brighter than "off" cells
    means = [movie.images[0][movie.labels == l + 1].mean() for l in range(64)]
    on = movie.states[0].reshape(-1).astype(bool)
    assert np.mean(np.asarray(means)[on]) > np.mean(np.asarray(means)[~on]) + 0.1


@pytest.mark.slow
def test_states_and_rule_learned_without_labels():
    lat = automata.Lattice((12, 12))
    movie = render_life_movie(jax.random.key(1), lat, "B3/S23", num_steps=6, site_pixels=6)
    result = learn_rule_from_images(movie.images, movie.labels, lat, key=jax.random.key(2), num_steps=250, restarts=1)
    accuracy = (result.states == movie.states).mean()
    assert accuracy > 0.97
    assert result.rule == "B3/S23"
    assert result.table.shape == (2, 9)
    assert result.loss_history.shape == (250,)
    assert result.restart_agreements == (result.agreement,)
    assert result.agreement > 0.99


def test_runs_are_scored_by_how_well_their_states_explain_themselves():
    lat = automata.Lattice((8, 8))
    movie = render_life_movie(jax.random.key(3), lat, "B3/S23", num_steps=5, site_pixels=4)
    exact, _ = _run_score(movie.states, lat, min_fraction=0.01)
    assert exact == 1.0
    noisy = movie.states.copy()
    noisy[2, 3, 3] ^= 1
    noisy[4, 1, 5] ^= 1
    assert 0.9 < _run_score(noisy, lat, min_fraction=0.01)[0] < 1.0
    # "every cell off" is explained by any rule without B0, and must rank below real labellings
    empty = np.zeros_like(movie.states)
    assert _run_score(empty, lat, min_fraction=0.01)[0] < _run_score(noisy, lat, min_fraction=0.01)[0]
    assert _run_score(1 - empty, lat, min_fraction=0.01)[0] < 0.5
    # cells "on" in the first frame only: "B/S" explains every transition, and the labelling
    # must still rank below real ones
    dying = empty.copy()
    dying[0] = movie.states[0]
    score, fit = _run_score(dying, lat, min_fraction=0.01)
    assert fit.rule == "B/S" and fit.agreement == 1.0
    assert score < _run_score(noisy, lat, min_fraction=0.01)[0]


@pytest.mark.slow
def test_restarts_stop_once_a_run_explains_its_states():
    lat = automata.Lattice((4, 4))
    movie = render_life_movie(jax.random.key(0), lat, "B3/S23", num_steps=2, site_pixels=4)
    kw = dict(key=jax.random.key(0), num_steps=2, restarts=3)
    # every score is at least -1: the first run is enough
    one = learn_rule_from_images(movie.images, movie.labels, lat, stop_agreement=-1.0, **kw)
    assert len(one.restart_agreements) == 1
    # no score reaches 2: all runs happen, and the best one is kept
    every = learn_rule_from_images(movie.images, movie.labels, lat, stop_agreement=2.0, **kw)
    assert len(every.restart_agreements) == 3
    best = max(every.restart_agreements)  # a labelling using one kind only scores agreement - 1
    assert every.agreement == pytest.approx(best if best > 0 else best + 1)


def test_perception_errors():
    lat = automata.Lattice((4, 4))
    movie = render_life_movie(jax.random.key(0), lat, "B3/S23", num_steps=2, site_pixels=4)
    with pytest.raises(ValueError, match="T >= 2 frames"):
        learn_rule_from_images(movie.images[:1], movie.labels, lat, key=jax.random.key(0))
    with pytest.raises(ValueError, match="one \\(H, W\\) label image for all frames"):
        learn_rule_from_images(movie.images, movie.labels[:-1], lat, key=jax.random.key(0))
    with pytest.raises(ValueError, match="exactly one label per lattice site"):
        learn_rule_from_images(movie.images, np.minimum(movie.labels, 3), lat, key=jax.random.key(0))
    bad = movie.images.copy()
    bad[1, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        learn_rule_from_images(bad, movie.labels, lat, key=jax.random.key(0))
    with pytest.raises(ValueError, match="restarts must be at least 1"):
        learn_rule_from_images(movie.images, movie.labels, lat, key=jax.random.key(0), restarts=0)
    with pytest.raises(ValueError, match="stop_agreement must be a finite number"):
        learn_rule_from_images(movie.images, movie.labels, lat, key=jax.random.key(0), stop_agreement=float("nan"))
    with pytest.raises(ValueError, match="features must be positive channel counts"):
        learn_rule_from_images(movie.images, movie.labels, lat, key=jax.random.key(0), features=(8, 0))
    with pytest.raises(ValueError, match="2D lattices"):
        render_life_movie(jax.random.key(0), automata.Lattice((4, 4, 4)), "B3/S23", num_steps=1)
    with pytest.raises(ValueError, match="Moore \\(8-neighbour\\) neighbourhood"):
        learn_rule_from_images(movie.images, movie.labels, automata.Lattice((4, 4), neighbourhood="von_neumann"),
                               key=jax.random.key(0))
    with pytest.raises(ValueError, match="encoder must have the kinds"):
        learn_rule_from_images(movie.images, movie.labels, lat, key=jax.random.key(0),
                               encoder=Encoder(("a", "b"), features=(4,), rngs=nnx.Rngs(0)))
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        learn_rule_from_images(movie.images, movie.labels, lat, key=0)
    with pytest.raises(ValueError, match="rule_weight must be a finite number >= 0"):
        learn_rule_from_images(movie.images, movie.labels, lat, key=jax.random.key(0), rule_weight=-1.0)


def _swap_change(features, image, swapped, labels):
    """How much a fresh encoder's logits for cell 6 change between `image` and `swapped`."""
    enc = Encoder(KINDS, features=features, head_hidden=16, rngs=nnx.Rngs(0))
    logits = np.asarray(enc(np.stack([image, swapped]), jnp.stack([labels, labels]), num_labels=17)[:, 6])
    return np.abs(logits[0] - logits[1]).max()


@pytest.mark.slow
def test_the_default_fresh_encoder_reads_each_cell_from_its_own_pixels():
    # A 4x4 lattice of 6 px cells; cell 6 covers rows and columns 6..11. Two pixels 3 px away
    # from it, in other cells, swap values: the image's mean and spread stay the same. The one
    # level encoder's two 3x3 convolutions reach 2 px beyond a pixel, so only image-wide
    # statistics (its group norms) carry the swap to cell 6: a small change. One more level
    # sees the swapped pixels themselves and changes its reading far more.
    labels = jnp.arange(1, 17).reshape(4, 4).repeat(6, 0).repeat(6, 1)
    image = np.array(jax.random.uniform(jax.random.key(0), (24, 24)))
    image[8, 3], image[3, 8] = 5.0, -5.0
    swapped = image.copy()
    swapped[8, 3], swapped[3, 8] = image[3, 8], image[8, 3]
    default = inspect.signature(learn_rule_from_images).parameters["features"].default
    deeper = tuple(default) + (16,)
    assert _swap_change(default, image, swapped, labels) < 0.1 * _swap_change(deeper, image, swapped, labels)


@pytest.mark.slow
def test_synthetic_embryo_is_consistent():
    e = simulate_embryo(jax.random.key(3), lattice_shape=(12, 12), num_cells=24)
    present = e.present
    assert present.sum() >= 24
    labels_in_image = set(np.unique(e.labels)) - {0}
    assert labels_in_image == set(np.flatnonzero(present))
    assert set(e.kinds[present]) <= set(range(len(FOUNDERS)))
    # every founder lineage but the late P4 is there by 24 cells
    assert {FOUNDERS[k] for k in e.kinds[present]} >= {"AB", "MS", "E", "C"}
    # contacts are symmetric and only between cells
    for i in np.flatnonzero(present):
        for j in e.neighbours[i][e.neighbours[i] >= 0]:
            assert present[j] and i in e.neighbours[j]
    assert np.isnan(e.expression[~present]).all() and np.isfinite(e.expression[present]).all()
    # each cell's own marker is its highest expression on average
    own = e.expression[present, e.kinds[present]]
    assert own.mean() > np.nanmean(e.expression[present]) + 0.3
    assert marker_profiles(("a", "b")) == {"a": {"a-marker": 1.0, "b-marker": 0.0}, "b": {"a-marker": 0.0, "b-marker": 1.0}}
    with pytest.raises(ValueError, match="do not fit comfortably"):
        simulate_embryo(jax.random.key(0), lattice_shape=(4, 4), num_cells=40)
