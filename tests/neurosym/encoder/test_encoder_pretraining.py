"""Tests of neurosym.encoder.pretraining: training on rendered cells (tiny sizes)."""

import jax
import pytest

from neurosym.encoder import EMBRYO_KINDS, STAIN_KINDS, pretrain


def test_pretrain_errors_name_the_argument():
    with pytest.raises(ValueError, match="pretrain: style must be one of"):
        pretrain("brightfield", num_steps=1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="layout must be one of 'scattered', 'embryo'"):
        pretrain("membrane", num_steps=1, key=jax.random.key(0), layout="ring")
    with pytest.raises(ValueError, match="even sides >= 4"):
        pretrain("membrane", num_steps=1, key=jax.random.key(0), layout="embryo", lattice_shape=(5, 6))
    with pytest.raises(ValueError, match="num_steps must be at least 1"):
        pretrain("nuclei", num_steps=0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        pretrain("nuclei", num_steps=1, key=jax.random.key(0), learning_rate=0.0)


@pytest.mark.slow
def test_pretrain_scattered_reads_stain_levels():
    result = pretrain("membrane", num_steps=3, key=jax.random.key(0), batch=2, lattice_shape=(4, 4), features=(4, 8))
    assert result.loss_history.shape == (3,) and result.encoder.kinds == STAIN_KINDS
    assert result.aux_history["accuracy"].shape == (3,)
    assert ((0 <= result.aux_history["accuracy"]) & (result.aux_history["accuracy"] <= 1)).all()


@pytest.mark.slow
def test_pretrain_on_embryo_layouts_learns_stain_and_position():
    result = pretrain("membrane", num_steps=2, key=jax.random.key(0), batch=2, lattice_shape=(4, 4),
                      features=(4, 8), layout="embryo")
    assert result.encoder.kinds == EMBRYO_KINDS
    assert result.aux_history["accuracy"].shape == (2,)
