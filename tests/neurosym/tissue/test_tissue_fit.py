"""neurosym.tissue.fit and kinds: pseudo-likelihood fits of the CPM on lattices made here."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import automata
from automata.potts import Potts, PottsParams
from neurosym.tissue import KIND_NAMES, EvolutionStrategy, fit_loss, fit_potts, founder_kind, kinds_of, potts_params, target_volumes


def _checkerboard(n=24, side=5, per=4):
    """A `per` x `per` board of square cells of two kinds alternating, surrounded by medium."""
    x = np.zeros((n, n), np.int32)
    kinds = [0]
    for i in range(per):
        for j in range(per):
            x[2 + side * i:2 + side * (i + 1), 2 + side * j:2 + side * (j + 1)] = len(kinds)
            kinds.append(1 + (i + j) % 2)
    return x, np.array(kinds, np.int32)


def _sampled(contact, num=3, seed=0):
    x, kinds = _checkerboard()
    params = PottsParams(contact=jnp.asarray(contact), lambda_volume=0.5, target_volume=25.0, temperature=1.0)
    lat = automata.Lattice(x.shape, "von_neumann", boundary="fixed", fill=0.0)
    rule = Potts(params, kinds=jnp.asarray(kinds), mask=jnp.asarray(x > 0), spacing=4)
    _, traj = automata.rollout(rule, lat, jnp.asarray(x)[..., None], key=jax.random.key(seed), num_steps=150)
    return [(np.asarray(traj.x[i, ..., 0]), kinds) for i in range(149 - 25 * (num - 1), 150, 25)]


@pytest.mark.slow
def test_fit_recovers_which_contact_is_costlier():
    # Like kinds adhere (J_AA = J_BB = 1) and unlike kinds repel (J_AB = 4): cells sort. The fit must
    # find the unlike contact the costlier one; then the same with the roles swapped.
    for like, unlike in ((1.0, 4.0), (4.0, 1.0)):
        contact = [[0.0, 3.0, 3.0], [3.0, like, unlike], [3.0, unlike, like]]
        fit = fit_potts(_sampled(contact), ("medium", "A", "B"), num_steps=80)
        j = np.asarray(fit.params.contact)
        assert fit.losses[-1] < fit.losses[0]
        if unlike > like:
            assert j[1, 2] > j[1, 1] and j[1, 2] > j[2, 2]
        else:
            assert j[1, 2] < j[1, 1] and j[1, 2] < j[2, 2]


def test_fit_lowers_the_loss_and_keeps_j_symmetric_positive():
    x, kinds = _checkerboard(n=16, side=3)
    fit = fit_potts([(x, kinds)], ("medium", "A", "B"), num_steps=15, strategy=optax.adam(0.1))
    j = np.asarray(fit.params.contact)
    assert fit.losses.shape == (16,)
    assert fit.losses[-1] < fit.losses[0]
    np.testing.assert_allclose(j, j.T)
    assert j[0, 0] == 0 and np.all(j[np.triu_indices(3, 1)] > 0)
    assert np.all(np.asarray(fit.params.lambda_volume)[1:] > 0)
    assert float(fit.params.temperature) == 1.0
    assert fit.strategy == "gradient" and fit.free_kinds == (1, 2)


def test_evolution_strategy_never_raises_the_best_loss():
    x, kinds = _checkerboard(n=16, side=3)
    fit = fit_potts([(x, kinds)], ("medium", "A", "B"), num_steps=15, strategy=EvolutionStrategy(0.5),
                    key=jax.random.key(0))
    losses = np.asarray(fit.losses)
    assert losses.shape == (16,) and fit.strategy == "evolution"
    assert np.all(np.diff(losses) <= 0)


def test_absent_kinds_keep_their_starting_parameters():
    x, kinds = _checkerboard(n=16, side=3)
    kinds = np.where(kinds > 0, 1, 0).astype(np.int32)  # only kind 1 occurs
    fit = fit_potts([(x, kinds)], ("medium", "A", "B"), num_steps=5, contact=2.5)
    j = np.asarray(fit.params.contact)
    assert fit.free_kinds == (1,)
    np.testing.assert_allclose(j[2], [2.5, 2.5, 2.5], rtol=1e-5)


def test_target_volumes_by_hand():
    sites = np.array([[1, 1, 2, 0], [3, 3, 3, 0]])
    assert target_volumes(sites, np.array([0, 2, 2, 1]), 4).tolist() == [0.0, 3.0, 1.5, 0.0]


def test_founder_kinds():
    assert [founder_kind(n) for n in ("ABalp", "MSpp", "Ea", "Cpa", "Dp", "P4", "Z3", "EMS")] == [
        "AB", "MS", "E", "C", "D", "P", "P", "EMS"]
    assert kinds_of(["EMS", "ABp"]).tolist() == [0, KIND_NAMES.index("EMS"), 1]
    with pytest.raises(ValueError, match="founder_kind: name must be a C. elegans Sulston name"):
        founder_kind("cell7")
    with pytest.raises(ValueError, match="kinds_of: every name must be a C. elegans Sulston name"):
        kinds_of(["ABa", 12])
    with pytest.raises(TypeError, match="kinds_of: names must be a sequence"):
        kinds_of("ABa")


def test_bad_input_is_refused_with_the_fix():
    x, kinds = _checkerboard(n=16, side=3)
    names = ("medium", "A", "B")
    with pytest.raises(TypeError, match="observations must be a list of"):
        fit_potts((x, kinds), names)
    with pytest.raises(ValueError, match="observations must hold at least one"):
        fit_potts([], names)
    with pytest.raises(ValueError, match=r"observations\[0\]: sites must hold ids 0..2"):
        fit_potts([(x, kinds[:3])], names)
    with pytest.raises(ValueError, match=r"observations\[0\]: kinds\[0\] must be 0"):
        fit_potts([(x, np.full_like(kinds, 3))], names)
    with pytest.raises(TypeError, match=r"observations\[0\]: sites must be a 2D or 3D integer"):
        fit_potts([(x.astype(float), kinds)], names)
    with pytest.raises(ValueError, match="observations must all be 2D or all 3D"):
        fit_potts([(x, kinds), (x[None], kinds)], names)
    with pytest.raises(ValueError, match="key is needed with an EvolutionStrategy"):
        fit_potts([(x, kinds)], names, strategy=EvolutionStrategy())
    with pytest.raises(TypeError, match="strategy must be an optax transformation"):
        fit_potts([(x, kinds)], names, strategy="adam")
    with pytest.raises(ValueError, match="neighbourhood must be one of"):
        fit_potts([(x, kinds)], names, neighbourhood="hex")
    with pytest.raises(ValueError, match="num_steps must be"):
        fit_potts([(x, kinds)], names, num_steps=0)
    with pytest.raises(ValueError, match="kind_names must name the medium"):
        fit_potts([(x, kinds)], ("medium",))
    with pytest.raises(ValueError, match="EvolutionStrategy: sigma must be"):
        EvolutionStrategy(sigma=0.0)
    with pytest.raises(ValueError, match="potts_params: params.contact must be symmetric"):
        potts_params(jnp.array([[0.0, 1.0], [2.0, 0.0]]), 0.1, 1.0)


def test_fit_loss_is_the_loss_the_fit_reports():
    x, kinds = _checkerboard(n=16, side=3)
    y = np.rot90(x).copy()
    obs = [(x, kinds), (y[:, :14], kinds)]  # two shapes: padded with medium in the fit
    fit = fit_potts(obs, ("medium", "A", "B"), num_steps=5)
    assert fit_loss(fit.params, obs) == pytest.approx(float(fit.losses[-1]), rel=1e-4)
    with pytest.raises(ValueError, match="fit_loss: neighbourhood must be one of"):
        fit_loss(fit.params, obs, neighbourhood="hex")


def test_a_lattice_without_medium_fits_every_kind_on_it():
    x = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]], np.int32)
    fit = fit_potts([(x, np.array([0, 1, 1, 2, 2], np.int32))], ("medium", "A", "B"), num_steps=3)
    assert fit.free_kinds == (1, 2)
