"""Tests of neurosym.encoder.heads: the pre-trained alphabets, outer_probability, with_kinds."""

import jax
import numpy as np
import pytest
from flax import nnx

from neurosym.encoder import EMBRYO_KINDS, POSITIONS, STAIN_KINDS, Encoder, outer_probability, with_kinds


def test_embryo_kinds_index_stain_then_position():
    assert EMBRYO_KINDS == ("low outer", "low inner", "mid outer", "mid inner", "high outer", "high inner")
    for stain, s in enumerate(STAIN_KINDS):
        for position, q in enumerate(POSITIONS):
            assert EMBRYO_KINDS[len(POSITIONS) * stain + position] == f"{s} {q}"


def test_outer_probability_sums_the_outer_kinds():
    logits = jax.random.normal(jax.random.key(1), (3, 5, 6))
    probs = np.asarray(jax.nn.softmax(logits, -1))
    outer = [i for i, k in enumerate(EMBRYO_KINDS) if k.endswith(" outer")]
    np.testing.assert_allclose(outer_probability(logits), probs[..., outer].sum(-1), rtol=1e-6)
    with pytest.raises(ValueError, match="logits must hold the 6 EMBRYO_KINDS on the last axis"):
        outer_probability(logits[..., :3])


@pytest.mark.slow
def test_with_kinds_keeps_the_body_and_replaces_the_head():
    old = Encoder(("a", "b", "c"), features=(4, 8), head_hidden=6, rngs=nnx.Rngs(0))
    new = with_kinds(old, ("x", "y"), rngs=nnx.Rngs(5))
    before, after = nnx.to_pure_dict(nnx.state(old)), nnx.to_pure_dict(nnx.state(new))
    body = [name for name in before if name not in ("hidden", "logits")]
    assert body == ["down", "up"]
    for a, b in zip(jax.tree_util.tree_leaves({n: before[n] for n in body}),
                    jax.tree_util.tree_leaves({n: after[n] for n in body})):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert new.kinds == ("x", "y") and new.logits.kernel.shape == (6, 2)
    assert not np.allclose(np.asarray(new.hidden.kernel[...]), np.asarray(old.hidden.kernel[...]))
    assert old.kinds == ("a", "b", "c")  # left as it was
    with pytest.raises(ValueError, match="with_kinds: kinds must be an alphabet of at least 2"):
        with_kinds(old, ("x",), rngs=nnx.Rngs(0))
