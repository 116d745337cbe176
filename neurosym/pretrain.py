"""Pre-training an encoder on rendered cells, and the weights that ship with the package.

`pretrain` trains an `Encoder` on batches rendered on the fly by `neurosym.render.render_dataset`,
each image through a new random microscope (blur, shot and read noise, gain, background, uneven
illumination) and a random affine warp. Cells are drawn with one of three stain levels,
`("low", "mid", "high")` (a reporter off, weak or strong). Two layouts:

- `"scattered"`: cells anywhere on the lattice; the head reads the stain level (`STAIN_KINDS`).
- `"embryo"`: one compact tissue per image, cells touching like an embryo's inside its
  eggshell; the head reads stain level and position (`EMBRYO_KINDS`, e.g. `"mid outer"`): is
  the cell on the tissue's outside (`neurosym.render.outer_cells`) or inside it.

The body learns to find cells, read their stain and place them in their tissue under many
instruments, for cells about 6-20 px across (8 and 16 px sites, zoomed 0.8-1.25x; resize
images with larger cells first). A user keeps the body and trains a head for their own kinds
with `with_kinds`, or reads the pre-trained head directly (position: sum the "outer" kinds'
probabilities).

The shipped weights (`neurosym.encoder.load_pretrained`) were made with

  python -m neurosym.pretrain --style nuclei   --out neurosym/_weights/nuclei2d.npz
  python -m neurosym.pretrain --style membrane --layout embryo --lattice 16 --out neurosym/_weights/membrane2d.npz

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
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from neurosym.encoder import Encoder, TrainResult, cell_accuracy, cell_cross_entropy, save_weights, train
from neurosym.render import LAYOUTS, Microscope, outer_cells, render_dataset

__all__ = ["EMBRYO_KINDS", "POSITIONS", "STAIN_KINDS", "outer_probability", "pretrain", "with_kinds"]

#: The alphabet of the pre-training head: stain levels.
STAIN_KINDS = ("low", "mid", "high")

#: Where a cell lies in its tissue: on the outside (touching the background) or inside.
POSITIONS = ("outer", "inner")

#: The alphabet of the head pre-trained on embryo layouts: stain level and position,
#: e.g. `"mid inner"`; kind `len(POSITIONS) * stain + position`.
EMBRYO_KINDS = tuple(f"{s} {p}" for s in STAIN_KINDS for p in POSITIONS)


def outer_probability(logits) -> jax.Array:
    """P(the cell is on its tissue's outside) from logits `(..., len(EMBRYO_KINDS))` of a head
    pre-trained on embryo layouts: the probabilities of the "outer" kinds, summed over stains.

    Example:
      >>> import jax.numpy as jnp
      >>> round(float(outer_probability(jnp.zeros(6))), 3)      # uniform over the six kinds
      0.5
    """
    logits = jnp.asarray(logits)
    if logits.shape[-1:] != (len(EMBRYO_KINDS),):
        raise ValueError(
            f"outer_probability takes logits over the {len(EMBRYO_KINDS)} EMBRYO_KINDS on the last "
            f"axis, got shape {tuple(logits.shape)}; use a head pre-trained with layout='embryo'."
        )
    probs = jax.nn.softmax(logits, -1).reshape(*logits.shape[:-1], len(STAIN_KINDS), len(POSITIONS))
    return probs[..., POSITIONS.index("outer")].sum(-1)


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


def _embryo_batch(key, batch, lattice_shape, site_pixels, scope):
    """Half the batch at `site_pixels`, half at twice the size on half the lattice (same image
    size): small and large cells. Kinds are `EMBRYO_KINDS` indices, padded to one label count."""
    halves = []
    small = tuple(s // 2 for s in lattice_shape)
    num_labels = int(np.prod(lattice_shape)) + 1
    for i, (shape, px) in enumerate(((tuple(lattice_shape), site_pixels), (small, 2 * site_pixels))):
        images, labels, stain = render_dataset(
            jax.random.fold_in(key, i), batch - batch // 2 if i == 0 else batch // 2, shape=shape,
            site_pixels=px, microscope=scope, density=1.0, gap=0, layout="embryo",
        )
        outer = jax.vmap(lambda l: outer_cells(l, stain.shape[1]))(labels)
        position = jnp.where(outer, POSITIONS.index("outer"), POSITIONS.index("inner"))
        kinds = jnp.where(stain >= 0, len(POSITIONS) * stain + position, -1)
        halves.append((images, labels, jnp.pad(kinds, ((0, 0), (0, num_labels - kinds.shape[1])), constant_values=-1)))
    return tuple(jnp.concatenate(parts) for parts in zip(*halves))


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
    layout: str = "scattered",
    progress: bool = False,
) -> TrainResult:
    """Train an encoder on freshly rendered batches.

    Args:
      style: `"nuclei"` or `"membrane"`.
      num_steps: optimisation steps, each on a new batch.
      key: PRNG key.
      batch: images per step.
      lattice_shape: sites per image; site_pixels: pixels per site.
      features: encoder channels per level.
      learning_rate: peak of a cosine-decayed Adam schedule.
      layout: `"scattered"`: cells anywhere on the lattice (85% of sites), head `STAIN_KINDS`;
        `"embryo"`: one compact tissue per image (`render_dataset(layout="embryo")`), every
        cell touching its neighbours, head `EMBRYO_KINDS` (stain level and whether the cell is
        on the tissue's outside, `neurosym.render.outer_cells`). Half of each embryo batch has
        cells twice as large (half the lattice at twice `site_pixels`). Lattice sides must
        then be even.
      progress: print progress lines.

    Returns:
      a `TrainResult`; `aux_history["accuracy"]` is the per-cell accuracy on each training batch
      (every batch is new, so it is also a held-out accuracy).
    """
    if style not in ("nuclei", "membrane"):
        raise ValueError(f"style must be 'nuclei' or 'membrane', got {style!r}.")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(map(repr, LAYOUTS))}, got {layout!r}.")
    embryo = layout == "embryo"
    if embryo and (batch < 2 or any(int(s) % 2 or int(s) < 4 for s in lattice_shape)):
        raise ValueError(
            f"layout='embryo' renders half of each batch on half the lattice at twice the cell size; "
            f"it needs batch >= 2 and even lattice sides >= 4, got batch={batch}, lattice_shape={tuple(lattice_shape)}."
        )
    base = Microscope.nuclei(len(STAIN_KINDS)) if style == "nuclei" else Microscope.membrane(len(STAIN_KINDS))
    scope = functools.partial(Microscope.sample, base=base)
    gap = 1 if style == "nuclei" else 0
    num_labels = int(np.prod(lattice_shape)) + 1

    def batches(k):
        if embryo:
            return _embryo_batch(k, batch, tuple(lattice_shape), site_pixels, scope)
        return render_dataset(
            k, batch, shape=tuple(lattice_shape), site_pixels=site_pixels, microscope=scope,
            density=0.85, gap=gap,
        )

    def loss_fn(model, data, k):
        images, labels, kinds = data
        logits = model(images, labels, num_labels=num_labels)
        mask = kinds >= 0
        return cell_cross_entropy(logits, kinds, mask), {"accuracy": cell_accuracy(logits, kinds, mask)}

    kinds = EMBRYO_KINDS if embryo else STAIN_KINDS
    encoder = Encoder(kinds, features=features, rngs=nnx.Rngs(int(jax.random.randint(key, (), 0, 2**30))))
    schedule = optax.cosine_decay_schedule(learning_rate, int(num_steps), alpha=0.05)
    return train(encoder, loss_fn, batches, num_steps=num_steps, key=key, optimizer=optax.adam(schedule), progress=progress)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Pre-train an encoder on rendered cells and save its weights.")
    p.add_argument("--style", choices=("nuclei", "membrane"), default="nuclei")
    p.add_argument("--steps", type=int, default=800)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layout", choices=LAYOUTS, default="scattered",
                   help="cells scattered over the lattice (stain head) or one compact embryo per image "
                        "(stain and position head)")
    p.add_argument("--lattice", type=int, default=12, help="lattice side in sites (default 12)")
    p.add_argument("--out", required=True, help="the .npz file to write")
    args = p.parse_args(argv)
    result = pretrain(args.style, num_steps=args.steps, key=jax.random.key(args.seed), layout=args.layout,
                      lattice_shape=(args.lattice, args.lattice), progress=True)
    acc = result.aux_history["accuracy"]
    note = (f"pre-trained on rendered {args.style} images ({args.layout} layout, {args.lattice}x{args.lattice} "
            f"lattice), {args.steps} steps of 8 images, seed {args.seed}; "
            f"per-cell accuracy on the last 50 fresh batches {np.mean(acc[-50:]):.3f}")
    path = save_weights(result.encoder, args.out, note=note)
    print(f"{note}\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
