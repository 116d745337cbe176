"""Pre-training an encoder on rendered cells, and the weights that ship with the package.

`pretrain` trains an `Encoder` on batches rendered on the fly by `neurosym.render.render_dataset`:
random lattice states whose cells are drawn with one of three stain levels, `("low", "mid",
"high")` (a reporter off, weak or strong), each image through a new random microscope (blur,
shot and read noise, gain, background, uneven illumination) and a random affine warp. The body
learns to find cells and read their stain under many instruments; a user keeps the body and
trains a head for their own kinds with `with_kinds`.

The shipped weights (`neurosym.encoder.load_pretrained`) were made with

  python -m neurosym.pretrain --style nuclei   --out neurosym/_weights/nuclei2d.npz
  python -m neurosym.pretrain --style membrane --out neurosym/_weights/membrane2d.npz

Example:
  >>> import jax
  >>> result = pretrain("nuclei", num_steps=2, key=jax.random.key(0), batch=2, lattice_shape=(4, 4))
  >>> result.encoder.kinds
  ('low', 'mid', 'high')
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Sequence

import jax
import numpy as np
import optax
from flax import nnx

from neurosym.encoder import Encoder, TrainResult, cell_accuracy, cell_cross_entropy, save_weights, train
from neurosym.render import Microscope, render_dataset

__all__ = ["STAIN_KINDS", "pretrain", "with_kinds"]

#: The alphabet of the pre-training head: stain levels.
STAIN_KINDS = ("low", "mid", "high")


def with_kinds(encoder: Encoder, kinds: Sequence[str], *, rngs: nnx.Rngs) -> Encoder:
    """A copy of `encoder` with its body (all convolutions) and a new, untrained head for `kinds`.

    Example:
      >>> from flax import nnx
      >>> e = Encoder(("a", "b"), features=(4,), rngs=nnx.Rngs(0))
      >>> with_kinds(e, ("x", "y", "z"), rngs=nnx.Rngs(1)).kinds
      ('x', 'y', 'z')
    """
    config = dict(encoder.config, kinds=list(kinds))
    fresh = Encoder(rngs=rngs, **config)
    _, body = nnx.split(encoder)
    graphdef, state = nnx.split(fresh)
    pure = nnx.to_pure_dict(state)
    old = nnx.to_pure_dict(body)
    for name in pure:
        if name not in ("hidden", "logits"):
            pure[name] = old[name]
    nnx.replace_by_pure_dict(state, pure)
    return nnx.merge(graphdef, state)


def pretrain(
    style: str = "nuclei",
    *,
    num_steps: int = 800,
    key: jax.Array,
    batch: int = 8,
    lattice_shape=(12, 12),
    site_pixels: int = 8,
    features: Sequence[int] = (12, 24, 48),
    learning_rate: float = 2e-3,
    progress: bool = False,
) -> TrainResult:
    """Train an encoder with the head `STAIN_KINDS` on freshly rendered batches.

    Args:
      style: `"nuclei"` or `"membrane"`.
      num_steps: optimisation steps, each on a new batch.
      key: PRNG key.
      batch: images per step.
      lattice_shape: sites per image; site_pixels: pixels per site.
      features: encoder channels per level.
      learning_rate: peak of a cosine-decayed Adam schedule.
      progress: print progress lines.

    Returns:
      a `TrainResult`; `aux_history["accuracy"]` is the per-cell accuracy on each training batch
      (every batch is new, so it is also a held-out accuracy).
    """
    if style not in ("nuclei", "membrane"):
        raise ValueError(f"style must be 'nuclei' or 'membrane', got {style!r}.")
    base = Microscope.nuclei(len(STAIN_KINDS)) if style == "nuclei" else Microscope.membrane(len(STAIN_KINDS))
    scope = functools.partial(Microscope.sample, base=base)
    gap = 1 if style == "nuclei" else 0
    num_labels = int(np.prod(lattice_shape)) + 1

    def batches(k):
        images, labels, kinds = render_dataset(
            k, batch, shape=tuple(lattice_shape), site_pixels=site_pixels, microscope=scope,
            density=0.85, gap=gap,
        )
        return images, labels, kinds

    def loss_fn(model, data, k):
        images, labels, kinds = data
        logits = model(images, labels, num_labels=num_labels)
        mask = kinds >= 0
        return cell_cross_entropy(logits, kinds, mask), {"accuracy": cell_accuracy(logits, kinds, mask)}

    encoder = Encoder(STAIN_KINDS, features=features, rngs=nnx.Rngs(int(jax.random.randint(key, (), 0, 2**30))))
    schedule = optax.cosine_decay_schedule(learning_rate, int(num_steps), alpha=0.05)
    return train(encoder, loss_fn, batches, num_steps=num_steps, key=key, optimizer=optax.adam(schedule), progress=progress)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Pre-train an encoder on rendered cells and save its weights.")
    p.add_argument("--style", choices=("nuclei", "membrane"), default="nuclei")
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="the .npz file to write")
    args = p.parse_args(argv)
    result = pretrain(args.style, num_steps=args.steps, key=jax.random.key(args.seed), progress=True)
    acc = result.aux_history["accuracy"]
    note = (f"pre-trained on rendered {args.style} images, {args.steps} steps of 8 images, seed {args.seed}; "
            f"per-cell accuracy on the last 50 fresh batches {np.mean(acc[-50:]):.3f}")
    path = save_weights(result.encoder, args.out, note=note)
    print(f"{note}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
