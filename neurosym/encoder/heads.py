"""Heads on an encoder's body: the alphabets of the pre-trained heads, reading position off one,
and a new head for a user's own kinds.

A pre-trained head reads stain levels (`STAIN_KINDS`), or stain level and position in the tissue
(`EMBRYO_KINDS`, e.g. `"mid outer"`). `outer_probability` sums the "outer" kinds' probabilities;
`with_kinds` keeps the body (every convolution) and puts a new, untrained head on it.

Example:
  >>> EMBRYO_KINDS[:2]
  ('low outer', 'low inner')
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from automata._checks import fail
from neurosym.encoder.model import Encoder, check_kinds

__all__ = ["EMBRYO_KINDS", "POSITIONS", "STAIN_KINDS", "outer_probability", "with_kinds"]

#: The alphabet of the pre-training head: stain levels.
STAIN_KINDS = ("low", "mid", "high")

#: Where a cell lies in its tissue: on the outside (touching the background) or inside.
POSITIONS = ("outer", "inner")

#: The alphabet of the head pre-trained on embryo layouts: stain level and position,
#: e.g. `"mid inner"`; kind `len(POSITIONS) * stain + position`.
EMBRYO_KINDS = tuple(f"{s} {p}" for s in STAIN_KINDS for p in POSITIONS)

#: The parts of an `Encoder` that form its head; everything else is the body.
_HEAD = ("hidden", "logits")


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
        raise fail("outer_probability", (
            f"logits must hold the {len(EMBRYO_KINDS)} EMBRYO_KINDS on the last axis, got shape "
            f"{tuple(logits.shape)}; use a head pre-trained with layout='embryo'."
        ))
    probs = jax.nn.softmax(logits, -1).reshape(*logits.shape[:-1], len(STAIN_KINDS), len(POSITIONS))
    return probs[..., POSITIONS.index("outer")].sum(-1)


def with_kinds(encoder: Encoder, kinds: Sequence[str], *, rngs: nnx.Rngs) -> Encoder:
    """A copy of `encoder` with its body (all convolutions) and a new, untrained head for `kinds`.

    Args:
      encoder: the encoder whose body is kept (left as it was).
      kinds: the new alphabet (at least two distinct names).
      rngs: `nnx.Rngs` for the new head's initial weights.

    Example:
      >>> from flax import nnx
      >>> e = Encoder(("a", "b"), features=(4,), rngs=nnx.Rngs(0))
      >>> with_kinds(e, ("x", "y", "z"), rngs=nnx.Rngs(1)).kinds
      ('x', 'y', 'z')
    """
    config = dict(encoder.config, kinds=list(check_kinds(kinds, owner="with_kinds")))
    fresh = Encoder(rngs=rngs, **config)
    _, body = nnx.split(encoder)
    graphdef, state = nnx.split(fresh)
    pure = nnx.to_pure_dict(state)
    old = nnx.to_pure_dict(body)
    for name in pure:
        if name not in _HEAD:
            pure[name] = old[name]
    nnx.replace_by_pure_dict(state, pure)
    return nnx.merge(graphdef, state)
