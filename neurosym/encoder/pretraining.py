"""Pre-training an encoder on cells rendered on the fly, under random microscopes.

`pretrain` trains an `Encoder` on batches rendered by `neurosym.render.render_dataset` inside
the jitted step, each image through a new random microscope (blur, shot and read noise, gain,
background, uneven illumination) and a random affine warp. Cells are drawn with one of three
stain levels, `STAIN_KINDS` (a reporter off, weak or strong). Two layouts:

- `"scattered"`: cells anywhere on the lattice; the head reads the stain level (`STAIN_KINDS`).
- `"embryo"`: one compact tissue per image, cells touching like an embryo's inside its
  eggshell; the head reads stain level and position (`EMBRYO_KINDS`, e.g. `"mid outer"`): is
  the cell on the tissue's outside (`neurosym.render.outer_cells`) or inside it.

The body learns to find cells, read their stain and place them in their tissue under many
instruments, for cells about 6-20 px across (8 and 16 px sites, zoomed 0.8-1.25x; resize
images with larger cells first). A user keeps the body and trains a head for their own kinds
with `with_kinds`, or reads the pre-trained head directly (position: `outer_probability`).
The shipped weights are rebuilt by `benchmarks/pretrain.py`, which records its recipe in them.

Example:
  >>> import jax
  >>> result = pretrain("nuclei", num_steps=2, key=jax.random.key(0), batch=2, lattice_shape=(4, 4))
  >>> result.encoder.kinds, result.aux_history["accuracy"].shape
  (('low', 'mid', 'high'), (2,))
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from automata._checks import check_choice, check_int, check_key, check_number, fail
from neurosym.encoder.heads import EMBRYO_KINDS, POSITIONS, STAIN_KINDS
from neurosym.encoder.losses import cell_accuracy, cell_cross_entropy
from neurosym.encoder.model import Encoder
from neurosym.encoder.train import TrainResult, train
from neurosym.render import LAYOUTS, Microscope, outer_cells, render_dataset

__all__ = ["STYLES", "pretrain"]

#: The stains `pretrain` renders.
STYLES = ("nuclei", "membrane")


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


def _supervised_loss(num_labels: int):
    def loss_fn(model, data, key):
        images, labels, kinds = data
        logits = model(images, labels, num_labels=num_labels)
        mask = kinds >= 0
        return cell_cross_entropy(logits, kinds, mask), {"accuracy": cell_accuracy(logits, kinds, mask)}

    return loss_fn


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
      key: PRNG key (initial weights and every batch).
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
      progress: show progress lines.

    Returns:
      a `TrainResult`; `aux_history["accuracy"]` is the per-cell accuracy on each training batch
      (every batch is new, so it is also a held-out accuracy).
    """
    check_choice(style, "style", STYLES, owner="pretrain")
    key = check_key(key, owner="pretrain")
    num_steps = check_int(num_steps, "num_steps", 1, owner="pretrain")
    check_choice(layout, "layout", LAYOUTS, owner="pretrain")
    batch = check_int(batch, "batch", 1, owner="pretrain")
    site_pixels = check_int(site_pixels, "site_pixels", 1, owner="pretrain")
    learning_rate = check_number(learning_rate, "learning_rate", minimum=0.0, open_minimum=True, owner="pretrain")
    lattice_shape = tuple(check_int(s, "lattice_shape", 1, owner="pretrain") for s in lattice_shape)
    embryo = layout == "embryo"
    if embryo and (batch < 2 or any(s % 2 or s < 4 for s in lattice_shape)):
        raise fail("pretrain", (
            f"lattice_shape must have even sides >= 4, and batch must be >= 2, with layout='embryo' "
            f"(half of each batch is rendered on half the lattice at twice the cell size); got "
            f"batch={batch}, lattice_shape={lattice_shape}."
        ))
    base = Microscope.nuclei(len(STAIN_KINDS)) if style == "nuclei" else Microscope.membrane(len(STAIN_KINDS))
    scope = functools.partial(Microscope.sample, base=base)
    gap = 1 if style == "nuclei" else 0

    def batches(k):
        if embryo:
            return _embryo_batch(k, batch, lattice_shape, site_pixels, scope)
        return render_dataset(k, batch, shape=lattice_shape, site_pixels=site_pixels, microscope=scope,
                              density=0.85, gap=gap)

    kinds = EMBRYO_KINDS if embryo else STAIN_KINDS
    encoder = Encoder(kinds, features=features, rngs=nnx.Rngs(int(jax.random.randint(key, (), 0, 2**30))))
    schedule = optax.cosine_decay_schedule(learning_rate, num_steps, alpha=0.05)
    return train(encoder, _supervised_loss(int(np.prod(lattice_shape)) + 1), batches, num_steps=num_steps, key=key,
                 optimizer=optax.adam(schedule), progress=progress, label="pretrain")
