"""Perception in the loop: read a lattice's states and its rule from images, without labels.

`learn_rule_from_images` takes a time series of images of a tissue whose cells sit on a lattice
(one label per site) and trains an `Encoder` with two kinds, `"off"` and `"on"`, together with a
Life-like rule table, using no per-cell annotation at all. The only teachers are:

- temporal consistency: the predicted states at `t + 1` must follow from those at `t` under the
  rule (`neurosym.constraints.life_like_expectation`, exact for independent sites);
- information maximisation (Krause, Perona & Gomes 2010, "Discriminative clustering by
  regularized information maximization", NeurIPS): confident per-cell predictions, both kinds
  used;
- the expert prior that empty space stays empty (no `B0`): without it the complementary
  labelling (`on` and `off` swapped, with the complementary rule) explains the images equally
  well.

The recovered rule is then read off the predicted states by majority evidence
(`neurosym.explain.recover_life_like`), which is exact whenever the states are.

Example:
  >>> import jax, automata
  >>> from neurosym.perception import render_life_movie, learn_rule_from_images
  >>> lat = automata.Lattice((8, 8))
  >>> movie = render_life_movie(jax.random.key(0), lat, "B3/S23", num_steps=4, site_pixels=6)
  >>> movie.images.shape, movie.states.shape
  ((5, 48, 48), (5, 8, 8))
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

import automata
from automata._checks import check_int, check_key, check_number, fail
from automata.lattice import Lattice
from automata.lifelike import LifeLike
from neurosym.constraints import life_like_expectation
from neurosym.encoder import Encoder, check_inputs, reuse_compiled_steps, train
from neurosym.progress import Progress
from neurosym.explain import recover_life_like
from neurosym.render import Microscope, lattice_labels, render
from rules.logic import count_law

__all__ = ["LifeMovie", "PerceptionResult", "learn_rule_from_images", "render_life_movie"]

KINDS = ("off", "on")


@dataclass(frozen=True)
class LifeMovie:
    """A rendered Life-like rollout: `images (T, H, W)`, `labels (H, W)`, true `states (T, *lattice)`."""

    images: np.ndarray
    labels: np.ndarray
    states: np.ndarray
    rule: str


def render_life_movie(
    key: jax.Array,
    lattice: Lattice,
    rule: str,
    *,
    num_steps: int,
    site_pixels: int = 6,
    density: float = 0.35,
    microscope: Microscope | None = None,
    jitter: float = 0.5,
) -> LifeMovie:
    """Roll a Life-like rule out from a random board and render every frame as a nuclei image.

    Args:
      key: PRNG key (board, cell outlines and imaging noise).
      lattice: a 2D lattice.
      rule: a B/S rule string such as `"B3/S23"`.
      num_steps: steps after the initial board (`num_steps + 1` frames).
      site_pixels: pixels per site.
      density: fraction of sites on at the start.
      microscope: the imaging model; default a nuclei stain where "on" cells are bright.
      jitter: cell-outline jitter (see `neurosym.render.lattice_labels`).
    """
    if lattice.ndim != 2:
        raise ValueError(f"render_life_movie draws 2D lattices, got a {lattice.ndim}D lattice.")
    kb, kl, kr = jax.random.split(key, 3)
    board = jax.random.bernoulli(kb, density, lattice.shape).astype(jnp.uint8)
    _, traj = automata.rollout(LifeLike(rule), lattice, automata.LatticeState(x=board[..., None]), key=kb, num_steps=num_steps)
    states = jnp.concatenate([board[None], traj.x[..., 0]]).astype(jnp.int32)
    labels = lattice_labels(lattice.shape, site_pixels, key=kl, jitter=jitter)
    m = Microscope.nuclei(num_kinds=2) if microscope is None else microscope
    kinds = jnp.concatenate([jnp.full((states.shape[0], 1), -1, jnp.int32), states.reshape(states.shape[0], -1)], axis=1)
    keys = jax.random.split(kr, states.shape[0])
    images = jax.vmap(lambda k, kd: render(labels, kd, m, key=k))(keys, kinds)
    return LifeMovie(np.asarray(images), np.asarray(labels), np.asarray(states), str(LifeLike(rule)))


@dataclass
class PerceptionResult:
    """What `learn_rule_from_images` found.

    Attributes:
      encoder: the trained encoder (kinds `("off", "on")`).
      states: `(T, *lattice)` predicted states (0/1).
      probabilities: `(T, *lattice)` predicted probability of "on".
      rule: the recovered B/S string, read off the predicted states.
      table: `(2, 9)` the rule table the predicted states support (probability of "on" next by
        centre state and live-neighbour count; NaN-free, 0 where never observed).
      loss_history: the training loss per step (of the kept training).
      swapped: whether the encoder's "on" kind was read as off (kinds are only known up to a
        swap; see the module docs).
      agreement: fraction of the predicted site transitions that `rule` reproduces. Correct
        states of a deterministic rule give 1.0; below 1 the states hold errors.
      restart_agreements: the agreement of each training run, in the order they ran (the
        score they were ranked by; a run that (almost) never uses one kind after the first
        frame scores its agreement minus 1).
    """

    encoder: Encoder
    states: np.ndarray
    probabilities: np.ndarray
    rule: str
    table: np.ndarray
    loss_history: np.ndarray
    swapped: bool = False
    agreement: float = float("nan")
    restart_agreements: tuple[float, ...] = ()


def _evidence_table(p, lattice: Lattice, eps: float = 1e-6):
    """The rule table that best explains soft states: soft evidence counts, no gradient.

    `T[c, n] = E[on at t + 1 and (centre, count) = (c, n) at t] / E[(centre, count) = (c, n)]`
    with the count's Poisson-binomial law under independent sites.
    """
    p = jax.lax.stop_gradient(p)
    nb = jnp.moveaxis(jax.vmap(lattice.neighbours)(p[:-1]), 1 + lattice.ndim, -1)
    dist = count_law(nb)
    centre = p[:-1][..., None]
    w = jnp.stack([(1 - centre) * dist, centre * dist])
    axes = tuple(range(1, w.ndim - 1))
    num = jnp.sum(w * p[1:][None, ..., None], axis=axes)
    den = jnp.sum(w, axis=axes)
    return num / (den + eps), den


def _entropy(p):
    p = jnp.clip(p, 1e-6, 1 - 1e-6)
    return -(p * jnp.log(p) + (1 - p) * jnp.log(1 - p))


def _evidence_fit(states: np.ndarray, lattice: Lattice):
    """Majority-evidence rule of a binary state sequence (unobserved entries: not in rule)."""
    pairs = list(zip(states[:-1], states[1:]))
    return recover_life_like(pairs, boundary=lattice.boundary, noise=None)


def _run_score(states: np.ndarray, lattice: Lattice, min_fraction: float):
    """How well a run's hard states explain themselves: the agreement of their own rule.

    A labelling whose frames after the first (the transitions' outcomes) (almost) never use one
    kind is explained trivially: "B/S" turns any first frame into an empty board, and every rule
    without B0 keeps an empty board empty. It scores its agreement minus 1, below every real one.
    Returns the score and the rule fit it comes from.
    """
    fit = _evidence_fit(states, lattice)
    on = float(states[1:].mean())
    return (fit.agreement if min(on, 1.0 - on) >= min_fraction else fit.agreement - 1.0), fit


def _check_movie(images, labels, lattice: Lattice):
    """The frames `(T, H, W)` and the label image `(H, W)` as numpy arrays, checked."""
    owner = "learn_rule_from_images"
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[0] < 2:
        raise fail(owner, f"images must be a (T, H, W) sequence with T >= 2 frames, got shape {images.shape}.")
    if np.shape(labels) != images.shape[1:]:
        raise fail(owner, (
            f"labels must be one (H, W) label image for all frames, shape {images.shape[1:]}; got {np.shape(labels)}."
        ))
    images, labels = check_inputs(images, np.broadcast_to(labels, images.shape), owner=owner)
    labels = labels[0]
    num_sites = int(np.prod(lattice.shape))
    present = np.unique(labels[labels > 0])
    if labels.max() > num_sites or len(present) != num_sites:
        raise fail(owner, (
            f"labels must hold exactly one label per lattice site (1 .. {num_sites}); the label image "
            f"holds {len(present)} labels up to {int(labels.max())}."
        ))
    if lattice.num_neighbours != 8:
        raise fail(owner, "lattice must have the Moore (8-neighbour) neighbourhood: it learns Life-like rules.")
    return images, labels


def _starts(encoder, features, restarts: int, key) -> list:
    """The initial encoders: `encoder` alone, or `restarts` fresh ones with `features`."""
    if encoder is None:
        return [
            Encoder(KINDS, features=features, head_hidden=16,
                    rngs=nnx.Rngs(int(jax.random.randint(jax.random.fold_in(key, i), (), 0, 2**30))))
            for i in range(restarts)
        ]
    if tuple(encoder.kinds) != KINDS:
        raise fail("learn_rule_from_images", f"encoder must have the kinds {KINDS}, got {encoder.kinds}.")
    return [encoder]


def _on_probability(model, x, lab, lattice: Lattice):
    """`(T, *lattice)` probability of "on" at every site of every frame."""
    logits = model(x, lab, num_labels=int(np.prod(lattice.shape)) + 1)[:, 1:]
    p = jax.nn.sigmoid(logits[..., 1] - logits[..., 0])
    return p.reshape((x.shape[0],) + lattice.shape)


def _perception_loss(lattice: Lattice, num_steps: int, entropy_weight: float, rule_weight: float, final_balance: float):
    """The label-free objective: temporal consistency under the soft evidence rule, plus
    information maximisation with a kind-balance term that relaxes as the rule comes in."""

    def loss_fn(model, batch, key):
        # The frames travel as arguments, not as constants of the compiled step: XLA would
        # otherwise constant-fold the per-label sums over them.
        x, lab, step = batch
        p = _on_probability(model, x, lab, lattice)
        table, _ = _evidence_table(p, lattice)
        pred = jnp.clip(jax.vmap(lambda q: life_like_expectation(table, lattice, q))(p[:-1]), 1e-6, 1 - 1e-6)
        target = p[1:]
        cross = -(target * jnp.log(pred) + (1 - target) * jnp.log(1 - pred))
        temporal = jnp.mean(cross - _entropy(target))
        progress = jnp.clip(step / (0.5 * num_steps), 0.0, 1.0)
        # The push towards using both kinds equally is needed to leave the all-"off" start, but
        # it biases the split towards 50/50; it is relaxed as the rule takes over.
        balance = 1.0 - (1.0 - final_balance) * progress
        info = jnp.mean(_entropy(p)) - balance * _entropy(jnp.mean(p))
        # The rule term is brought in gradually: first the two kinds separate, then the rule
        # corrects the cells that the image alone leaves ambiguous.
        return progress * rule_weight * temporal + entropy_weight * info, {"temporal": temporal, "info": info}

    return loss_fn


def _orient(states: np.ndarray, probs: np.ndarray, fit, lattice: Lattice):
    """Unlabelled kinds are only known up to a swap; "on" is the labelling whose rule has no
    birth on an empty neighbourhood (B0), or else the sparser one. Returns states, probabilities,
    rule and whether they were swapped."""
    rule = fit.rule
    flipped_rule = _evidence_fit(1 - states, lattice).rule
    if (rule.startswith("B0") and not flipped_rule.startswith("B0")) or (
        rule.startswith("B0") == flipped_rule.startswith("B0") and states.mean() > 0.5
    ):
        return 1 - states, 1 - probs, flipped_rule, True
    return states, probs, rule, False


def learn_rule_from_images(
    images,
    labels,
    lattice: Lattice,
    *,
    key: jax.Array,
    num_steps: int = 400,
    encoder: Encoder | None = None,
    learning_rate: float = 1e-3,
    entropy_weight: float = 1.0,
    rule_weight: float = 1.0,
    restarts: int = 4,
    stop_agreement: float = 0.998,
    final_balance: float = 0.25,
    features: tuple[int, ...] = (8,),
    progress: bool = False,
) -> PerceptionResult:
    """Train an encoder and a Life-like rule from an unlabelled image sequence.

    Args:
      images: `(T, H, W)` frames of one field of view, `T >= 2`.
      labels: `(H, W)` label image with one label per lattice site: site `i` (flat, C order) is
        label `i + 1`, as `neurosym.render.lattice_labels` or a segmentation mapped to sites.
      lattice: the 2D lattice (Moore neighbourhood; its boundary is used by the rule).
      key: PRNG key.
      num_steps: optimisation steps (full-batch: every frame each step).
      encoder: the starting encoder (kinds must be `("off", "on")`); default a fresh one.
      learning_rate: Adam learning rate.
      entropy_weight: weight of the information-maximisation term.
      rule_weight: weight of the temporal-consistency term (0: the image alone decides).
      final_balance: weight of the kind-balance term (the marginal entropy) once the rule term
        is fully on; it starts at 1.
      features: channels per resolution level of the fresh encoders (ignored when `encoder` is
        given). The default, one level, reads each cell from its own pixels: its two 3x3
        convolutions reach 2 px beyond a pixel, less than a cell, and beyond that only
        image-wide statistics (normalisations) enter. A deeper encoder also sees the
        neighbouring cells, and the label-free objective can then split the cells by "next to
        a bright cell" instead of by their own stain; the neighbours' part is the rule's to
        explain.
      restarts: at most this many independent trainings from different initial encoders
        (ignored when `encoder` is given). The objective has poor local optima: states with
        errors, or every cell "off" after the first frame (which "B/S" explains). Each run is
        scored, without labels, by how well its predicted states explain themselves: the
        fraction of their transitions reproduced by the rule read off them (correct states of a
        deterministic rule reproduce all of them); runs that (almost) never use one of the two
        kinds after the first frame score below every other. The best-scoring run is kept, ties
        going to the lower final loss.
      stop_agreement: stop starting new runs once one scores at least this (default 0.998:
        at most 2 unexplained transitions in 1000). 1.0 runs until an exact run; above 1
        always runs all `restarts`.
      progress: show progress lines (`neurosym.progress.Progress`).
    """
    owner = "learn_rule_from_images"
    images, labels = _check_movie(images, labels, lattice)
    key = check_key(key, owner=owner)
    restarts = check_int(restarts, "restarts", 1, owner=owner)
    num_steps = check_int(num_steps, "num_steps", 1, owner=owner)
    stop_agreement = check_number(stop_agreement, "stop_agreement", owner=owner,
                                  hint="Use 1.0 to stop only at an exact run.")
    learning_rate = check_number(learning_rate, "learning_rate", minimum=0.0, open_minimum=True, owner=owner)
    weights = [check_number(v, n, minimum=0.0, owner=owner) for n, v in
               (("entropy_weight", entropy_weight), ("rule_weight", rule_weight), ("final_balance", final_balance))]
    starts = _starts(encoder, features, restarts, key)
    x = jnp.asarray(images, jnp.float32)
    lab = jnp.broadcast_to(jnp.asarray(labels, jnp.int32), x.shape)
    loss_fn = _perception_loss(lattice, num_steps, *weights)
    batches = [(x, lab, jnp.float32(i)) for i in range(num_steps)]
    optimizer = optax.adam(learning_rate)
    bar = Progress(len(starts), label="restarts", enabled=progress)
    runs = []
    with reuse_compiled_steps():  # the restarts share one compiled training step
        for i, start in enumerate(starts):
            run = train(start, loss_fn, batches, num_steps=num_steps, key=jax.random.fold_in(key, 1000 + i),
                        optimizer=optimizer, progress=progress, label=f"restart {i + 1}")
            probs = np.asarray(_on_probability(run.encoder, x, lab, lattice))
            states = (probs > 0.5).astype(np.int32)
            score, fit = _run_score(states, lattice, min_fraction=0.01)
            runs.append((score, -float(np.mean(run.loss_history[-10:])), i, run, probs, states, fit))
            bar.update(i + 1, agreement=score)
            if score >= stop_agreement:
                break
    bar.close()
    _, _, _, result, probs, states, fit = max(runs, key=lambda r: r[:3])
    states, probs, rule, swapped = _orient(states, probs, fit, lattice)
    table, _ = _evidence_table(jnp.asarray(probs), lattice)
    return PerceptionResult(
        encoder=result.encoder, states=states, probabilities=probs, rule=rule, table=np.asarray(table),
        loss_history=result.loss_history, swapped=swapped, agreement=float(fit.agreement),
        restart_agreements=tuple(float(r[0]) for r in runs),
    )
