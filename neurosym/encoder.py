"""A learned image encoder whose per-cell outputs are symbols: kinds from a user's alphabet.

`Encoder` is a Flax NNX U-Net-like convolutional network (2D or 3D) giving per-pixel features.
`pool_cells` averages them over each cell of a label image (segment means in JAX), and a small
head turns each cell's mean feature into logits over the alphabet of kinds. The cell with label
`l` is row `l` of the output; row 0 is the background and is never a cell.

Training is `train`: the model is split once with `nnx.split` and the optimisation step is one
pure jitted function of `(params, opt_state, batch, key)`. The loss is any function of the
merged model and a batch, so supervised cross-entropy (`cell_cross_entropy`), rule constraints
and gene-expression priors (`neurosym.constraints`) add up freely.

Weights are saved with `save_weights` (an `.npz` with the architecture and the alphabet, written
atomically) and loaded with `load_weights`; `load_pretrained` loads the weights that ship with
the package (no download).

Example:
  >>> import jax, jax.numpy as jnp
  >>> from flax import nnx
  >>> enc = Encoder(("dim", "bright"), features=(8, 16), rngs=nnx.Rngs(0))
  >>> image = jnp.zeros((1, 16, 16)); labels = jnp.zeros((1, 16, 16), jnp.int32).at[:, 4:8, 4:8].set(1)
  >>> enc(image, labels, num_labels=2).shape
  (1, 2, 2)
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from automata._checks import check_int
from neurosym.files import atomic_path

__all__ = [
    "Encoder",
    "TrainResult",
    "WEIGHTS_VERSION",
    "cell_accuracy",
    "cell_cross_entropy",
    "check_inputs",
    "load_pretrained",
    "load_weights",
    "pool_cells",
    "pretrained_names",
    "reuse_compiled_steps",
    "save_weights",
    "train",
]

#: Version of the weight file layout; files of another version are refused with a clear error.
WEIGHTS_VERSION = 1

_WEIGHTS_DIR = Path(__file__).parent / "_weights"


def _check_kinds(kinds) -> tuple[str, ...]:
    if isinstance(kinds, str) or not isinstance(kinds, Sequence):
        raise TypeError(
            f"kinds must be a sequence of kind names such as ('AB', 'P'), got {kinds!r}."
        )
    names = tuple(str(k) for k in kinds)
    if len(names) < 2:
        raise ValueError(f"An encoder needs an alphabet of at least 2 kinds, got {names}.")
    if len(set(names)) != len(names):
        raise ValueError(f"Kind names must be distinct, got {names}.")
    return names


class _Block(nnx.Module):
    """Two 3x3 convolutions, each followed by group norm and GELU."""

    def __init__(self, cin: int, cout: int, ndim: int, *, rngs: nnx.Rngs):
        k = (3,) * ndim
        groups = max(1, min(8, cout // 4))
        self.conv1 = nnx.Conv(cin, cout, k, rngs=rngs)
        self.norm1 = nnx.GroupNorm(cout, num_groups=groups, rngs=rngs)
        self.conv2 = nnx.Conv(cout, cout, k, rngs=rngs)
        self.norm2 = nnx.GroupNorm(cout, num_groups=groups, rngs=rngs)

    def __call__(self, x):
        x = jax.nn.gelu(self.norm1(self.conv1(x)))
        return jax.nn.gelu(self.norm2(self.conv2(x)))


def _downsample(x, ndim: int):
    """Average over 2-pixel blocks along every spatial axis (sizes are already even)."""
    shape = x.shape
    b, spatial, c = shape[0], shape[1 : 1 + ndim], shape[-1]
    new = [b]
    for s in spatial:
        new += [s // 2, 2]
    x = x.reshape(*new, c)
    return x.mean(axis=tuple(2 + 2 * i for i in range(ndim)))


def _upsample(x, ndim: int):
    for axis in range(1, 1 + ndim):
        x = jnp.repeat(x, 2, axis=axis)
    return x


class Encoder(nnx.Module):
    """U-Net-like encoder: image -> per-pixel features -> per-cell logits over `kinds`.

    Args:
      kinds: the alphabet, e.g. `("AB", "MS", "E", "C", "D", "P4")`; the head has one logit per
        kind.
      ndim: 2 for `(batch, y, x)` images, 3 for `(batch, z, y, x)` volumes.
      in_channels: image channels (a trailing channel axis; a single channel may be omitted).
      features: channels per resolution level; `len(features) - 1` halvings, so spatial sizes
        are padded to a multiple of `2 ** (len(features) - 1)` inside the network.
      head_hidden: width of the head's hidden layer.
      normalise: standardise each image (per channel) before the network, which makes the
        encoder indifferent to a microscope's gain and offset.
      rngs: `nnx.Rngs` for the initial weights.

    Reference: Ronneberger, Fischer & Brox 2015, U-Net (arXiv:1505.04597).
    """

    def __init__(
        self,
        kinds: Sequence[str],
        *,
        ndim: int = 2,
        in_channels: int = 1,
        features: Sequence[int] = (16, 32, 64),
        head_hidden: int = 64,
        normalise: bool = True,
        rngs: nnx.Rngs,
    ):
        if ndim not in (2, 3):
            raise ValueError(f"ndim must be 2 (images) or 3 (volumes), got {ndim!r}.")
        features = tuple(int(f) for f in features)
        if not features or min(features) < 1:
            raise ValueError(f"features must be positive channel counts, one per level, got {features}.")
        if int(in_channels) < 1:
            raise ValueError(f"in_channels must be at least 1, got {in_channels}.")
        self.kinds = _check_kinds(kinds)
        self.ndim = int(ndim)
        self.in_channels = int(in_channels)
        self.features = features
        self.head_hidden = int(head_hidden)
        self.normalise = bool(normalise)
        self.down = nnx.List(
            [_Block(self.in_channels if i == 0 else features[i - 1], f, ndim, rngs=rngs) for i, f in enumerate(features)]
        )
        self.up = nnx.List(
            [_Block(features[i + 1] + features[i], features[i], ndim, rngs=rngs) for i in reversed(range(len(features) - 1))]
        )
        self.hidden = nnx.Linear(features[0], self.head_hidden, rngs=rngs)
        self.logits = nnx.Linear(self.head_hidden, len(self.kinds), rngs=rngs)

    @property
    def config(self) -> dict:
        """The constructor arguments (without `rngs`), as saved with the weights."""
        return dict(
            kinds=list(self.kinds), ndim=self.ndim, in_channels=self.in_channels,
            features=list(self.features), head_hidden=self.head_hidden, normalise=self.normalise,
        )

    def _channels_last(self, image):
        image = jnp.asarray(image)
        if image.ndim == self.ndim + 1 and self.in_channels == 1:
            image = image[..., None]
        if image.ndim != self.ndim + 2 or image.shape[-1] != self.in_channels:
            raise ValueError(
                f"The encoder takes images of shape (batch, {', '.join('zyx'[3 - self.ndim:])}"
                f"{', channels' if self.in_channels > 1 else ''}) with {self.in_channels} channel(s); "
                f"got shape {tuple(image.shape)}. Add a batch axis with image[None]."
            )
        return image.astype(jnp.float32)

    def pixel_features(self, image) -> jax.Array:
        """`(batch, *spatial[, channels])` image -> `(batch, *spatial, features[0])` features."""
        x = self._channels_last(image)
        if self.normalise:
            axes = tuple(range(1, 1 + self.ndim))
            mean = x.mean(axis=axes, keepdims=True)
            std = x.std(axis=axes, keepdims=True)
            x = (x - mean) / (std + 1e-3)
        spatial = x.shape[1 : 1 + self.ndim]
        m = 2 ** (len(self.features) - 1)
        pad = [(0, 0)] + [(0, (-s) % m) for s in spatial] + [(0, 0)]
        x = jnp.pad(x, pad, mode="edge")
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = _downsample(x, self.ndim)
            x = block(x)
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(jnp.concatenate([_upsample(x, self.ndim), skip], axis=-1))
        return x[(slice(None),) + tuple(slice(0, s) for s in spatial)]

    def head(self, cell_features) -> jax.Array:
        """`(..., features[0])` per-cell features -> `(..., num_kinds)` logits."""
        return self.logits(jax.nn.gelu(self.hidden(cell_features)))

    def __call__(self, image, labels, *, num_labels: int) -> jax.Array:
        """Per-cell logits.

        Args:
          image: `(batch, *spatial[, channels])`.
          labels: `(batch, *spatial)` integer label images, 0 = background, cells 1..num_labels-1.
          num_labels: static number of label values (max label + 1).

        Returns:
          `(batch, num_labels, num_kinds)` logits; row 0 (background) and rows of labels absent
          from an image are meaningless and must be masked (see `pool_cells`'s counts).
        """
        feats = self.pixel_features(image)
        labels = jnp.asarray(labels)
        if labels.shape != feats.shape[:-1]:
            raise ValueError(
                f"labels have shape {tuple(labels.shape)} but the image has spatial shape "
                f"{tuple(feats.shape[:-1])}; give one label image per image, pixel for pixel."
            )
        means, _ = jax.vmap(lambda f, l: pool_cells(f, l, num_labels))(feats, labels)
        return self.head(means)


def pool_cells(features, labels, num_labels: int) -> tuple[jax.Array, jax.Array]:
    """Mean feature of every label (segment means): `(num_labels, F)` and pixel counts.

    Args:
      features: `(*spatial, F)` per-pixel features.
      labels: `(*spatial)` integer labels in `[0, num_labels)`; labels outside are dropped.
      num_labels: static number of label values.

    Returns:
      `(means (num_labels, F), counts (num_labels,))`; a label with no pixels has mean 0, count 0.

    Example:
      >>> import jax.numpy as jnp
      >>> m, c = pool_cells(jnp.arange(4.0).reshape(2, 2, 1), jnp.array([[0, 1], [1, 1]]), 2)
      >>> m[:, 0].tolist(), c.tolist()
      ([0.0, 2.0], [1.0, 3.0])
    """
    features = jnp.asarray(features)
    flat = features.reshape(-1, features.shape[-1])
    seg = jnp.asarray(labels).reshape(-1).astype(jnp.int32)
    sums = jax.ops.segment_sum(flat, seg, num_segments=num_labels)
    counts = jax.ops.segment_sum(jnp.ones(seg.shape, flat.dtype), seg, num_segments=num_labels)
    return sums / jnp.maximum(counts, 1)[:, None], counts


def check_inputs(image, labels, *, ndim: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Check an image batch and its label images on concrete values; return numpy arrays.

    Raises a `ValueError` for NaN or infinite pixels, labels whose shape differs from the image,
    non-integer or negative labels.
    """
    image = np.asarray(image)
    labels = np.asarray(labels)
    if not np.issubdtype(image.dtype, np.number):
        raise TypeError(f"The image must be numeric, got dtype {image.dtype}.")
    bad = ~np.isfinite(image)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"The image has {int(bad.sum())} NaN or infinite pixel(s), the first at index {where}. "
            "Replace them (e.g. np.nan_to_num(image, nan=np.nanmedian(image))) or crop them away."
        )
    if labels.shape != image.shape[: labels.ndim] or labels.ndim < image.ndim - 1:
        raise ValueError(
            f"labels have shape {labels.shape} but the image has shape {image.shape}; the label "
            "image must match the image pixel for pixel (without the channel axis)."
        )
    if ndim is not None and labels.ndim not in (ndim, ndim + 1):
        raise ValueError(f"Expected {ndim}D label images (with or without a batch axis), got shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        if np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int32)
        else:
            raise TypeError(f"labels must be integers (0 = background), got dtype {labels.dtype}.")
    if labels.size and labels.min() < 0:
        raise ValueError(f"labels must be >= 0 (0 = background), found {int(labels.min())}.")
    return image, labels


def cell_cross_entropy(logits, kinds, mask) -> jax.Array:
    """Masked mean cross-entropy of per-cell logits against kind indices.

    Args:
      logits: `(..., num_kinds)`.
      kinds: `(...)` integer kind index of each cell (any value where `mask` is 0).
      mask: `(...)` booleans or weights: which cells are labelled.
    """
    logp = jax.nn.log_softmax(logits, axis=-1)
    k = jnp.clip(jnp.asarray(kinds), 0, logits.shape[-1] - 1)
    per = -jnp.take_along_axis(logp, k[..., None], axis=-1)[..., 0]
    w = jnp.asarray(mask).astype(per.dtype)
    return jnp.sum(per * w) / jnp.maximum(jnp.sum(w), 1)


def cell_accuracy(logits, kinds, mask) -> jax.Array:
    """Fraction of masked cells whose most probable kind is `kinds`."""
    hit = (jnp.argmax(logits, axis=-1) == jnp.asarray(kinds)).astype(jnp.float32)
    w = jnp.asarray(mask).astype(jnp.float32)
    return jnp.sum(hit * w) / jnp.maximum(jnp.sum(w), 1)


# ------------------------------------------------------------------------------- training
@dataclass
class TrainResult:
    """What `train` returns: the trained encoder, the loss per step and logged extras.

    With `validate`, `validation` holds `(step, score)` pairs and `best_step` the step (number of
    steps taken) whose model was returned; otherwise they are empty and `num_steps`.
    """

    encoder: Encoder
    loss_history: np.ndarray
    aux_history: dict[str, np.ndarray] = field(default_factory=dict)
    validation: list[tuple[int, float]] = field(default_factory=list)
    best_step: int | None = None


_SHARED_STEPS: dict | None = None


@contextlib.contextmanager
def reuse_compiled_steps():
    """Within this context, `train` calls with the same model structure, `loss_fn` object,
    optimizer object and batches function share one compiled training step.

    Useful for restarts from different initial weights: each would otherwise compile its own
    step. The compiled steps (and what their loss functions hold) are released on exit.

    Example:
      >>> with reuse_compiled_steps():  # doctest: +SKIP
      ...     runs = [train(Encoder(kinds, rngs=nnx.Rngs(i)), loss_fn, batches, num_steps=100,
      ...                   key=key, optimizer=opt) for i in range(4)]
    """
    global _SHARED_STEPS
    outer = _SHARED_STEPS
    _SHARED_STEPS = {} if outer is None else outer
    try:
        yield
    finally:
        _SHARED_STEPS = outer


def _train_step(graphdef, loss_fn, optimizer, generate):
    """The jitted training step `(params, rest, opt_state, batch, key) -> (params, opt_state, loss, aux)`."""
    key = (graphdef, loss_fn, optimizer, generate)
    try:
        step = None if _SHARED_STEPS is None else _SHARED_STEPS.get(key)
    except TypeError:  # an unhashable loss or optimizer: compile for this call alone
        return _make_train_step(*key)
    if step is None:
        step = _make_train_step(*key)
        if _SHARED_STEPS is not None:
            _SHARED_STEPS[key] = step
    return step


def _make_train_step(graphdef, loss_fn, optimizer, generate):
    def objective(p, rest, batch, k):
        model = nnx.merge(graphdef, p, rest)
        return loss_fn(model, batch, k)

    def one_step(p, rest, o, batch, k):
        if generate is not None:
            k, kb = jax.random.split(k)
            batch = generate(kb)
        (loss, aux), grads = jax.value_and_grad(objective, has_aux=True)(p, rest, batch, k)
        updates, o = optimizer.update(grads, o, p)
        return optax.apply_updates(p, updates), o, loss, aux

    return jax.jit(one_step)


def train(
    encoder: Encoder,
    loss_fn: Callable[[Encoder, Any, jax.Array], tuple[jax.Array, dict]],
    batches: Callable[[jax.Array], Any] | Iterable[Any],
    *,
    num_steps: int,
    key: jax.Array,
    optimizer: optax.GradientTransformation | None = None,
    params_filter: Any = nnx.Param,
    progress: bool = False,
    validate: Callable[[Any], float] | None = None,
    validate_every: int = 10,
) -> TrainResult:
    """Train an encoder (and anything else in `loss_fn`'s model) with optax.

    The model is split once (`nnx.split`); one step is a single pure jitted function
    `(params, opt_state, batch, key) -> (params, opt_state, loss, aux)`.

    Args:
      encoder: an `Encoder` (or any NNX module; `loss_fn` receives it merged).
      loss_fn: `loss_fn(model, batch, key) -> (scalar loss, dict of scalar extras)`.
      batches: a function `key -> batch` (e.g. rendering a fresh synthetic batch inside the
        jitted step) or an iterable of batches (pytrees of arrays with fixed shapes).
      num_steps: optimisation steps.
      key: PRNG key; step `i` uses `fold_in(key, i)`.
      optimizer: an optax transformation; default `optax.adam(1e-3)`.
      params_filter: which NNX variables are trained (default: all `nnx.Param`).
      progress: print a progress line every 10% of the steps.
      validate: optional `validate(model) -> score`, higher is better (e.g. accuracy or rule
        satisfaction on held-out images), called every `validate_every` steps and after the last
        step; the model with the best score is returned (the earliest on ties). Runs outside
        the jitted step, so it may use numpy.
      validate_every: steps between validations.

    Returns:
      `TrainResult` with the trained model (a new object; `encoder` is left as it was), the loss
      per step and each extra per step.
    """
    if int(num_steps) < 1:
        raise ValueError(f"num_steps must be at least 1, got {num_steps}.")
    if validate is not None:
        validate_every = check_int(validate_every, "validate_every", 1, owner="train")
    optimizer = optax.adam(1e-3) if optimizer is None else optimizer
    graphdef, params, rest = nnx.split(encoder, params_filter, ...)
    opt_state = optimizer.init(params)
    generate = callable(batches)
    step = _train_step(graphdef, loss_fn, optimizer, batches if generate else None)
    iterator = None if generate else iter(batches)
    losses, extras = [], {}
    validation, best = [], None
    for i in range(int(num_steps)):
        batch = None
        if iterator is not None:
            try:
                batch = next(iterator)
            except StopIteration:
                raise ValueError(f"batches ran out after {i} of {num_steps} steps; give at least num_steps batches or a function key -> batch.") from None
        params, opt_state, loss, aux = step(params, rest, opt_state, batch, jax.random.fold_in(key, i))
        loss = float(loss)
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"The training loss became {loss} at step {i}; lower the learning rate or check "
                "the images for extreme values. The model returned is the one before this step."
            )
        losses.append(loss)
        for name, value in aux.items():
            extras.setdefault(name, []).append(float(value))
        if progress and (i + 1) % max(1, int(num_steps) // 10) == 0:
            shown = ", ".join(f"{n} {v[-1]:.4g}" for n, v in extras.items())
            print(f"step {i + 1}/{num_steps}: loss {loss:.4g}" + (f", {shown}" if shown else ""), flush=True)
        if validate is not None and ((i + 1) % validate_every == 0 or i + 1 == int(num_steps)):
            score = float(validate(nnx.merge(graphdef, params, rest)))
            if np.isnan(score):
                raise ValueError(f"validate returned NaN at step {i + 1}; it must return a number, higher is better.")
            validation.append((i + 1, score))
            if best is None or score > best[0]:
                best = (score, i + 1, params)
    if best is not None:
        best_step, params = best[1], best[2]
    else:
        best_step = int(num_steps)
    model = nnx.merge(graphdef, params, rest)
    return TrainResult(model, np.asarray(losses), {n: np.asarray(v) for n, v in extras.items()},
                       validation, best_step)


# -------------------------------------------------------------------------------- weights
def _weight_name(key_path) -> str:
    """A weight's path in the model as one string, e.g. `"down/0/conv1/kernel"`."""
    return "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in key_path)


def save_weights(encoder: Encoder, path, *, note: str = "") -> Path:
    """Write an encoder's weights, architecture and alphabet to an `.npz` file, atomically.

    Args:
      encoder: the model.
      path: the file to write (`.npz` is appended if missing).
      note: free text saved with the weights (e.g. how they were trained).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    _, state = nnx.split(encoder)
    flat = jax.tree_util.tree_flatten_with_path(nnx.to_pure_dict(state))[0]
    arrays = {_weight_name(kp): np.asarray(v) for kp, v in flat}
    meta = dict(version=WEIGHTS_VERSION, config=encoder.config, note=note)
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def load_weights(path, *, kinds: Sequence[str] | None = None) -> Encoder:
    """Load an encoder written by `save_weights`.

    Args:
      path: the `.npz` file.
      kinds: optional alphabet the caller expects; a file whose head has another alphabet is
        refused (start from its features with `Encoder(...)` and a new head instead).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No weight file at {path}.")
    with np.load(path) as data:
        if "__meta__" not in data.files:
            raise ValueError(f"{path} is not an encoder weight file (no metadata); write one with save_weights.")
        meta = json.loads(bytes(data["__meta__"]).decode())
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
    if meta.get("version") != WEIGHTS_VERSION:
        raise ValueError(
            f"{path} has weight layout version {meta.get('version')}, this devosym reads version "
            f"{WEIGHTS_VERSION}; re-save the weights with a matching devosym."
        )
    config = meta["config"]
    if kinds is not None:
        kinds = _check_kinds(kinds)
        if tuple(config["kinds"]) != kinds:
            raise ValueError(
                f"The weights in {path} have a head for the kinds {tuple(config['kinds'])}, not "
                f"{kinds}. Use the file's kinds, or train a new head for yours."
            )
    encoder = Encoder(rngs=nnx.Rngs(0), **config)
    graphdef, state = nnx.split(encoder)
    pure = nnx.to_pure_dict(state)
    flat, treedef = jax.tree_util.tree_flatten_with_path(pure)
    leaves = []
    for kp, v in flat:
        name = _weight_name(kp)
        if name not in arrays or arrays[name].shape != v.shape:
            raise ValueError(f"{path} does not match the encoder it describes (weight {name!r}); the file is damaged.")
        leaves.append(jnp.asarray(arrays[name]))
    nnx.replace_by_pure_dict(state, jax.tree_util.tree_unflatten(treedef, leaves))
    return nnx.merge(graphdef, state)


def pretrained_names() -> tuple[str, ...]:
    """Names of the encoder weights that ship with the package."""
    if not _WEIGHTS_DIR.is_dir():
        return ()
    return tuple(sorted(p.stem for p in _WEIGHTS_DIR.glob("*.npz")))


def load_pretrained(name: str = "nuclei2d") -> Encoder:
    """Load encoder weights that ship with the package (pre-trained on rendered embryos).

    Args:
      name: one of `pretrained_names()`.
    """
    names = pretrained_names()
    if name not in names:
        raise ValueError(f"No pre-trained encoder named {name!r}; available: {', '.join(names) or '(none)'}.")
    return load_weights(_WEIGHTS_DIR / f"{name}.npz")
