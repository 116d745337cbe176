"""The encoder network: image -> per-pixel features -> per-cell logits over an alphabet of kinds.

`Encoder` is a Flax NNX U-Net-like convolutional network (2D or 3D). `pool_cells` averages its
per-pixel features over each cell of a label image (segment means in JAX), and a small head
turns each cell's mean feature into logits over the alphabet. The cell with label `l` is row
`l` of the output; row 0 is the background and is never a cell. `check_inputs` checks an image
batch and its label images once, at a public entry point.

Example:
  >>> import jax.numpy as jnp
  >>> from flax import nnx
  >>> enc = Encoder(("dim", "bright"), features=(8, 16), rngs=nnx.Rngs(0))
  >>> image = jnp.zeros((1, 16, 16)); labels = jnp.zeros((1, 16, 16), jnp.int32).at[:, 4:8, 4:8].set(1)
  >>> enc(image, labels, num_labels=2).shape
  (1, 2, 2)
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from automata._checks import check_choice, check_finite_array, check_int, fail

__all__ = ["Encoder", "check_inputs", "check_kinds", "pool_cells"]


def check_kinds(kinds, *, owner: str = "Encoder") -> tuple[str, ...]:
    """An alphabet of at least two distinct kind names, as a tuple of strings, or a clear error.

    Example:
      >>> check_kinds(["AB", "P"])
      ('AB', 'P')
    """
    if isinstance(kinds, str) or not isinstance(kinds, Sequence):
        raise fail(owner, f"kinds must be a sequence of kind names such as ('AB', 'P'), got {kinds!r}.", TypeError)
    names = tuple(str(k) for k in kinds)
    if len(names) < 2:
        raise fail(owner, f"kinds must be an alphabet of at least 2 kinds, got {names}.")
    if len(set(names)) != len(names):
        raise fail(owner, f"kinds must be distinct names, got {names}.")
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

    Example:
      >>> from flax import nnx
      >>> Encoder(("a", "b"), ndim=3, features=(4,), rngs=nnx.Rngs(0)).config["ndim"]
      3
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
        check_choice(ndim, "ndim", (2, 3), owner="Encoder", hint="Use 2 for images, 3 for volumes.")
        features = tuple(features)
        if not features or any(isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f < 1 for f in features):
            raise fail("Encoder", f"features must be positive channel counts, one per level, got {features}.")
        self.kinds = check_kinds(kinds)
        self.ndim = int(ndim)
        self.in_channels = check_int(in_channels, "in_channels", 1, owner="Encoder")
        self.features = tuple(int(f) for f in features)
        self.head_hidden = check_int(head_hidden, "head_hidden", 1, owner="Encoder")
        self.normalise = bool(normalise)
        f = self.features
        self.down = nnx.List(
            [_Block(self.in_channels if i == 0 else f[i - 1], c, ndim, rngs=rngs) for i, c in enumerate(f)]
        )
        self.up = nnx.List(
            [_Block(f[i + 1] + f[i], f[i], ndim, rngs=rngs) for i in reversed(range(len(f) - 1))]
        )
        self.hidden = nnx.Linear(f[0], self.head_hidden, rngs=rngs)
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
            axes = ", ".join("zyx"[3 - self.ndim:]) + (", channels" if self.in_channels > 1 else "")
            raise fail("Encoder", (
                f"image must have shape (batch, {axes}) with {self.in_channels} channel(s), got shape "
                f"{tuple(image.shape)}. Add a batch axis with image[None]."
            ))
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
            raise fail("Encoder", (
                f"labels must have the image's shape {tuple(feats.shape[:-1])} (one label image per "
                f"image, pixel for pixel), got {tuple(labels.shape)}."
            ))
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


def check_inputs(image, labels, *, ndim: int | None = None, owner: str = "check_inputs") -> tuple[np.ndarray, np.ndarray]:
    """Check an image batch and its label images on concrete values; return numpy arrays.

    Args:
      image: `(..., *spatial[, channels])` numeric pixels, all finite.
      labels: `(..., *spatial)` integer labels (0 = background), matching the image pixel for pixel;
        whole-number floats are converted to int32.
      ndim: the spatial dimension expected (2 or 3), or None for any.
      owner: the public function the inputs belong to, named in the messages.

    Raises:
      TypeError: a non-numeric image or non-integer labels.
      ValueError: NaN or infinite pixels, labels whose shape differs from the image, negative labels.

    Example:
      >>> image, labels = check_inputs(np.zeros((1, 4, 4)), np.ones((1, 4, 4)))
      >>> labels.dtype
      dtype('int32')
    """
    image, labels = np.asarray(image), np.asarray(labels)
    if not np.issubdtype(image.dtype, np.number):
        raise fail(owner, f"image must be numeric, got dtype {image.dtype}.", TypeError)
    check_finite_array(image, "image", owner=owner, hint=(
        "Replace the NaN or infinite pixels (e.g. np.nan_to_num(image, nan=np.nanmedian(image))) or crop them away."
    ))
    if labels.shape != image.shape[: labels.ndim] or labels.ndim < image.ndim - 1:
        raise fail(owner, (
            f"labels must match the image pixel for pixel (without the channel axis), got labels of "
            f"shape {labels.shape} for an image of shape {image.shape}."
        ))
    if ndim is not None and labels.ndim not in (ndim, ndim + 1):
        raise fail(owner, f"labels must be {ndim}D label images (with or without a batch axis), got shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        if np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int32)
        else:
            raise fail(owner, f"labels must be integers (0 = background), got dtype {labels.dtype}.", TypeError)
    if labels.size and labels.min() < 0:
        raise fail(owner, f"labels must be >= 0 (0 = background), found {int(labels.min())}.")
    return image, labels
