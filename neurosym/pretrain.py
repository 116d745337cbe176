"""Pre-training helpers; the names live in `neurosym.encoder` now (the script is `benchmarks/pretrain.py`)."""

from neurosym.encoder.heads import EMBRYO_KINDS, POSITIONS, STAIN_KINDS, outer_probability, with_kinds
from neurosym.encoder.pretraining import pretrain

__all__ = ["EMBRYO_KINDS", "POSITIONS", "STAIN_KINDS", "outer_probability", "pretrain", "with_kinds"]
