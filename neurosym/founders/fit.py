"""Naming cells by founder: a learned per-cell classifier, a few labels and label-free terms.

`fit_founders` trains a small Flax NNX network on every cell's features (`cell_features`:
geometry, image statistics and, where given, features a convolutional encoder pools inside
the cell's mask) with cross-entropy on the labelled cells plus, for each term
(`neurosym.founders.terms`), its weight times its penalty on all cells, labelled or not. It
returns a `FounderFit` with the probabilities of every cell.

Example:
  >>> import numpy as np
  >>> feats = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
  >>> truth = (feats[:, 0] > 0).astype(int)                   # AB or MS by the first feature
  >>> labels = np.where(np.arange(40) % 4 == 0, truth, -1)
  >>> fit = fit_founders(feats, labels, num_steps=150, seed=0)
  >>> float((fit.predicted == truth).mean()) > 0.8
  True
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from automata._checks import check_int, check_number, fail
from neurosym.encoder.train import train
from neurosym.founders.classes import FOUNDERS
from neurosym.founders.tracks import track_features

__all__ = ["FounderFit", "FounderNet", "cell_features", "fit_founders"]


def cell_features(cells, *, image: bool = True, tracks: bool = False, encoder_features=None) -> np.ndarray:
    """(N, F) features of every cell of a `CellSeries`: its geometry, its image statistics
    (`image=True`), what anonymous tracking tells of its history (`tracks=True`,
    `neurosym.founders.tracks.track_features`) and any extra per-cell features (e.g. pooled
    by a convolutional encoder inside each cell's mask)."""
    parts = [cells.geometry]
    if image:
        parts.append(cells.image_stats)
    if tracks:
        parts.append(track_features(cells.parent, cells.times[cells.time_index]).astype(np.float32))
    if encoder_features is not None:
        extra = np.asarray(encoder_features, np.float32)
        if extra.ndim != 2 or extra.shape[0] != cells.num_cells:
            raise fail("cell_features", (
                f"encoder_features must be one row per cell, shape ({cells.num_cells}, F); got {extra.shape}."
            ))
        parts.append(extra)
    return np.concatenate(parts, axis=1).astype(np.float32)


class FounderNet(nnx.Module):
    """A two-layer perceptron from standardised cell features to founder logits."""

    def __init__(self, num_features: int, *, hidden: int = 32, rngs: nnx.Rngs):
        self.hidden1 = nnx.Linear(num_features, hidden, rngs=rngs)
        self.hidden2 = nnx.Linear(hidden, hidden, rngs=rngs)
        self.out = nnx.Linear(hidden, len(FOUNDERS), rngs=rngs)

    def __call__(self, x):
        x = jax.nn.gelu(self.hidden1(x))
        return self.out(jax.nn.gelu(self.hidden2(x)))


@dataclass(frozen=True)
class FounderFit:
    """What `fit_founders` returns.

    Attributes:
      probabilities: (N, 6) founder probabilities of every cell, columns in `FOUNDERS` order
        (after tracking inference, where a `Tracking` term is given).
      classifier: (N, 6) the classifier's own probabilities.
      loss_history: the total loss per step.
      term_history: each term's penalty per step, by its name, and `"labels"` for the
        cross-entropy.
      model: the trained `FounderNet`; `mean`, `scale`: the feature standardisation.
    """

    probabilities: np.ndarray
    classifier: np.ndarray
    loss_history: np.ndarray
    term_history: dict
    model: FounderNet
    mean: np.ndarray
    scale: np.ndarray

    @property
    def predicted(self) -> np.ndarray:
        """(N,) index of each cell's most probable founder."""
        return self.probabilities.argmax(1)

    def founders(self) -> list[str]:
        """Each cell's most probable founder, by name."""
        return [FOUNDERS[i] for i in self.predicted]


def _check_labels(labels, n: int) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.shape != (n,) or not np.issubdtype(lab.dtype, np.integer):
        raise fail("fit_founders", (
            f"labels must be ({n},) integers: a founder index 0-5 ({', '.join(FOUNDERS)}) for a "
            f"labelled cell, -1 for the others; got shape {lab.shape}, dtype {lab.dtype}."
        ), TypeError)
    if ((lab < -1) | (lab >= len(FOUNDERS))).any():
        raise fail("fit_founders", f"labels must be -1 or a founder index 0-{len(FOUNDERS) - 1}.")
    return lab


def fit_founders(features, labels, *, cells=None, terms=(), num_steps: int = 400, learning_rate: float = 3e-3,
                 hidden: int = 32, weight_decay: float = 1e-3, seed: int = 0, progress: bool = False) -> FounderFit:
    """Train the per-cell founder classifier.

    Args:
      features: (N, F) per-cell features (`cell_features`).
      labels: (N,) founder index of each labelled cell (columns of `FOUNDERS`), -1 elsewhere.
        Cells with no label are still seen by the terms.
      cells: the `CellSeries` the rows come from; needed by the terms.
      terms: label-free terms (`Tracking`, `Composition`, `SpatialRules`); none gives the
        labels-only classifier.
      num_steps, learning_rate, weight_decay: full-batch AdamW steps.
      hidden: width of the network's hidden layers.
      seed: initial weights.
      progress: print progress lines on stderr.

    Returns:
      A `FounderFit`.
    """
    owner = "fit_founders"
    x = np.asarray(features, np.float32)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise fail(owner, f"features must be a finite (N, F) array, got shape {x.shape}.")
    lab = _check_labels(labels, x.shape[0])
    if not (lab >= 0).any():
        raise fail(owner, "no cell is labelled; give the founder of at least one cell.")
    num_steps = check_int(num_steps, "num_steps", 1, owner=owner)
    learning_rate = check_number(learning_rate, "learning_rate", minimum=0.0, open_minimum=True, owner=owner)
    terms = tuple(terms)
    if terms and cells is None:
        raise fail(owner, "terms need the CellSeries the features come from: pass cells=.")
    if cells is not None and cells.num_cells != x.shape[0]:
        raise fail(owner, f"cells has {cells.num_cells} cells but features has {x.shape[0]} rows.")
    for t in terms:
        if not (hasattr(t, "loss") or hasattr(t, "posterior")):
            raise fail(owner, f"terms must be Tracking, Composition or SpatialRules objects, got {type(t).__name__}.",
                       TypeError)
    trackers = [t for t in terms if hasattr(t, "posterior")]
    terms = tuple(t for t in terms if hasattr(t, "loss"))
    names = [t.name for t in terms] + [t.name for t in trackers]
    if len(set(names)) != len(names):
        raise fail(owner, f"each term may be given once, got {names}.")
    mean, scale = x.mean(0), x.std(0) + 1e-6
    batch = {
        "x": jnp.asarray((x - mean) / scale),
        "y": jnp.asarray(np.maximum(lab, 0), jnp.int32),
        "w": jnp.asarray(lab >= 0, jnp.float32),
        "terms": {t.name: t.arrays(cells) for t in terms},
    }

    def loss_fn(model, b, key):
        logits = model(b["x"])
        logp = jax.nn.log_softmax(logits)
        ce = -jnp.sum(jnp.take_along_axis(logp, b["y"][:, None], 1)[:, 0] * b["w"]) / jnp.sum(b["w"])
        probs = jnp.exp(logp)
        extras = {"labels": ce}
        total = ce
        for t in terms:
            value = t.loss(probs, b["terms"][t.name])
            extras[t.name] = value
            total = total + t.weight * value
        return total, extras

    model = FounderNet(x.shape[1], hidden=check_int(hidden, "hidden", 1, owner=owner), rngs=nnx.Rngs(seed))
    result = train(model, loss_fn, itertools.repeat(batch), num_steps=num_steps, key=jax.random.key(seed),
                   optimizer=optax.adamw(learning_rate, weight_decay=weight_decay), progress=progress,
                   label="founders")
    probs = np.asarray(jax.nn.softmax(result.model(batch["x"])), np.float64)
    classifier = probs
    for t in trackers:
        probs = t.posterior(cells, probs, lab)
    history = {k: v for k, v in result.aux_history.items()}
    return FounderFit(probs, classifier, result.loss_history, history, result.model, mean, scale)
