"""A learned image encoder whose per-cell outputs are symbols: kinds from a user's alphabet.

Modules:
  `model`       the `Encoder` network (U-Net body, per-cell pooling `pool_cells`, head) and
                `check_inputs` for image batches with their label images;
  `heads`       the pre-trained alphabets, `outer_probability`, a new head with `with_kinds`;
  `losses`      `cell_cross_entropy`, `cell_accuracy`;
  `train`       the one training loop (`train` for NNX models, `train_params` for pytrees);
  `pretraining` `pretrain` on cells rendered under random microscopes;
  `weights`     `save_weights`, `load_weights`, `read_metadata` and the shipped weights.

Example:
  >>> from flax import nnx
  >>> body = load_pretrained("nuclei2d")              # weights that ship with the package
  >>> with_kinds(body, ("AB", "MS", "E"), rngs=nnx.Rngs(0)).kinds
  ('AB', 'MS', 'E')
"""

from neurosym.encoder.heads import EMBRYO_KINDS, POSITIONS, STAIN_KINDS, outer_probability, with_kinds
from neurosym.encoder.losses import cell_accuracy, cell_cross_entropy
from neurosym.encoder.model import Encoder, check_inputs, check_kinds, pool_cells
from neurosym.encoder.pretraining import STYLES, pretrain
from neurosym.encoder.train import TrainResult, reuse_compiled_steps, train, train_params
from neurosym.encoder.weights import (
    WEIGHTS_VERSION,
    load_pretrained,
    load_weights,
    pretrained_names,
    pretrained_path,
    read_metadata,
    save_weights,
)

__all__ = [
    "EMBRYO_KINDS", "POSITIONS", "STAIN_KINDS", "STYLES", "WEIGHTS_VERSION", "Encoder", "TrainResult",
    "cell_accuracy", "cell_cross_entropy", "check_inputs", "check_kinds", "load_pretrained", "load_weights",
    "outer_probability", "pool_cells", "pretrain", "pretrained_names", "pretrained_path", "read_metadata",
    "reuse_compiled_steps", "save_weights", "train", "train_params", "with_kinds",
]
