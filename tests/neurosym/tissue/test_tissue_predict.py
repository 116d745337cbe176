"""neurosym.tissue.predict, score and axes: contact graphs scored by hand, baselines, simulation."""

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

from automata.potts import PottsParams
from neurosym.tissue import (
    KIND_NAMES,
    Division,
    body_frame,
    cell_centroids,
    division_schedule,
    fit_division_axes,
    observed_divisions,
    persistence_contacts,
    predict_contacts,
    score_contacts,
    uniform_adhesion,
)
from rules.tissue import DivisionAxes, daughter_names

K = len(KIND_NAMES)


def _axes(direction, kappa=1e3):
    return DivisionAxes(mean=jnp.tile(jnp.asarray([direction], jnp.float32), (K, 1)),
                        concentration=jnp.full((K,), kappa, jnp.float32))


def _params():
    j = np.full((K, K), 2.0, np.float32)
    j[0, 0] = 0.0
    return PottsParams(contact=jnp.asarray(j), lambda_volume=jnp.full((K,), 0.05), target_volume=0.0,
                       temperature=1.0)


def _two_cells():
    x = np.zeros((12, 12), np.int32)
    x[2:10, 2:6] = 1
    x[2:10, 6:10] = 2
    return x


# ---------------------------------------------------------------------------- score
def test_score_by_hand():
    s = score_contacts({("A", "B"): 3.0, ("A", "C"): 1.0}, {("B", "A"): 2.0, ("B", "C"): 2.0})
    assert (s.precision, s.recall, s.f1, s.overlap) == (0.5, 0.5, 0.5, 0.5)
    # 3 predicted, 2 observed, 2 shared: P = 2/3, R = 1, F1 = 0.8; areas (1/4, 1/4, 1/2) vs (1/4, 3/4).
    s = score_contacts({("A", "B"): 1.0, ("A", "C"): 1.0, ("B", "C"): 2.0}, {("A", "B"): 1.0, ("A", "C"): 3.0})
    assert s.precision == pytest.approx(2 / 3) and s.recall == 1.0 and s.f1 == pytest.approx(0.8)
    assert s.overlap == pytest.approx(0.5)
    assert (s.num_predicted, s.num_observed) == (3, 2)


def test_score_of_graphs_equals_score_of_dicts_and_edge_cases():
    g = nx.Graph()
    g.add_edge("A", "B", area=1.0)
    g.add_edge("A", "C", area=3.0)
    assert score_contacts(g, {("A", "B"): 1.0, ("A", "C"): 3.0}).overlap == pytest.approx(1.0)
    assert score_contacts(g, g).f1 == 1.0
    assert score_contacts({}, {}).f1 == 1.0
    assert score_contacts({}, g).f1 == 0.0 and score_contacts(g, {}).overlap == 0.0
    # min_area drops the small contact from both graphs.
    assert score_contacts(g, {("A", "C"): 3.0}, min_area=2.0).f1 == 1.0


def test_score_refuses_bad_graphs():
    with pytest.raises(TypeError, match="score_contacts: predicted must be a networkx Graph"):
        score_contacts([("A", "B")], {})
    g = nx.Graph()
    g.add_edge("A", "B")
    with pytest.raises(ValueError, match=r"observed: the contact \('A', 'B'\) has no 'area'"):
        score_contacts({}, g)
    with pytest.raises(ValueError, match="contact areas must be finite and >= 0"):
        score_contacts({("A", "B"): -1.0}, {})
    with pytest.raises(ValueError, match="a contact joins two different cells"):
        score_contacts({("A", "A"): 1.0}, {})


# ---------------------------------------------------------------------------- schedule and persistence
def test_division_schedule_over_one_and_two_rounds():
    sched = division_schedule(["ABa", "ABp", "P2"], ["ABala", "ABalp", "ABar", "ABp", "C", "P3", "MSa"])
    assert sched == {"ABa": ("ABala", "ABalp", "ABar"), "P2": ("C", "P3")}  # MSa has no mother now
    with pytest.raises(ValueError, match="names_later must be C. elegans Sulston names"):
        division_schedule(["ABa"], ["cell1"])
    with pytest.raises(ValueError, match=r"names_now must be distinct, got \['ABa'\]"):
        division_schedule(["ABa", "ABa"], ["ABa"])


def test_persistence_on_a_hand_made_division():
    g = nx.Graph()
    g.add_edge("ABa", "ABp", area=4.0)
    g.add_edge("ABa", "EMS", area=2.0)
    g.add_edge("ABp", "EMS", area=6.0)
    g.add_edge("ABp", "P2", area=1.0)
    h = persistence_contacts(g, ["ABal", "ABar", "ABp", "EMS"])  # P2 is gone
    expected = {("ABal", "ABp"): 2.0, ("ABar", "ABp"): 2.0, ("ABal", "EMS"): 1.0, ("ABar", "EMS"): 1.0,
                ("ABp", "EMS"): 6.0, ("ABal", "ABar"): 3.0}
    got = {tuple(sorted((a, b))): d for a, b, d in h.edges(data="area")}
    assert got == {tuple(sorted(k)): v for k, v in expected.items()}
    # Against an observed graph where ABar does not touch EMS: 5 of 6 predicted pairs are right.
    observed = {k: v for k, v in expected.items() if k != ("ABar", "EMS")}
    s = score_contacts(h, observed)
    assert s.precision == pytest.approx(5 / 6) and s.recall == 1.0
    assert s.overlap == pytest.approx(1 - 1 / 15)  # the lost 1 of 15 units of predicted area
    with pytest.raises(TypeError, match="persistence_contacts: graph must be a networkx Graph"):
        persistence_contacts({("ABa", "ABp"): 1.0}, ["ABa"])


# ---------------------------------------------------------------------------- prediction
def test_division_without_simulation_is_exact_and_named_from_the_axis():
    x = _two_cells()
    p = predict_contacts(x, ["ABa", "ABp"], ["ABaa", "ABap", "ABp"], None, key=jax.random.key(0),
                         axes=_axes([1.0, 0.0]), frame={"anterior": [1.0, 0.0], "left": [0.0, 1.0]})
    assert p.num_mcs == 0
    # The axis points along +rows, the anterior: rows 6..9 (positive side) are ABaa, id 3.
    assert p.names == ("ABap", "ABp", "ABaa")
    assert np.all(p.sites[6:10, 2:6] == 3) and np.all(p.sites[2:6, 2:6] == 1)
    assert p.divisions == (("ABa", "ABaa", "ABap"),)
    assert sorted(map(sorted, p.graph.edges)) == [["ABaa", "ABap"], ["ABaa", "ABp"], ["ABap", "ABp"]]
    # The same with the frame turned round: the names swap sides.
    q = predict_contacts(x, ["ABa", "ABp"], ["ABaa", "ABap", "ABp"], None, key=jax.random.key(0),
                         axes=_axes([1.0, 0.0]), frame={"anterior": [-1.0, 0.0]})
    assert q.names == ("ABaa", "ABp", "ABap")


def test_two_rounds_and_founder_rules():
    x = _two_cells()
    p = predict_contacts(x, ["ABa", "P2"], ["ABaaa", "ABaap", "ABapa", "ABapp", "C", "P3"], None,
                         key=jax.random.key(1), axes=_axes([1.0, 0.0]))
    assert sorted(p.names) == sorted(["ABaaa", "ABaap", "ABapa", "ABapp", "C", "P3"])
    assert len(p.divisions) == 4  # ABa, then both its daughters, and P2
    assert set(np.unique(p.sites).tolist()) == set(range(7))


def test_simulation_keeps_cells_and_the_medium():
    x = _two_cells()
    p = predict_contacts(x, ["ABa", "ABp"], ["ABal", "ABar", "ABp"], _params(), key=jax.random.key(2),
                         mcs_per_time=5, num_times=2)
    assert p.num_mcs == 10 and p.sites.shape == x.shape
    assert np.array_equal(p.sites == 0, x == 0)  # confined: the medium is held
    assert set(np.unique(p.sites).tolist()) == {0, 1, 2, 3}
    assert set(p.graph.nodes) <= set(p.names) and len(p.names) == 3
    # Random axes (axes=None) are reproducible with the key.
    a = predict_contacts(x, ["ABa", "ABp"], ["ABal", "ABar", "ABp"], _params(), key=jax.random.key(3))
    b = predict_contacts(x, ["ABa", "ABp"], ["ABal", "ABar", "ABp"], _params(), key=jax.random.key(3))
    assert np.array_equal(a.sites, b.sites) and a.names == b.names


def test_uniform_adhesion_keeps_the_means():
    j = np.arange(K * K, dtype=np.float32).reshape(K, K)
    j = j + j.T
    j[0, 0] = 0.0
    p = uniform_adhesion(PottsParams(contact=jnp.asarray(j)), kinds=[1, 2])
    u = np.asarray(p.contact)
    assert u[1, 1] == u[1, 2] == u[5, 6] == pytest.approx(np.mean([j[1, 1], j[1, 2], j[2, 1], j[2, 2]]))
    assert u[0, 3] == u[4, 0] == pytest.approx((j[0, 1] + j[0, 2]) / 2) and u[0, 0] == 0.0
    with pytest.raises(ValueError, match="uniform_adhesion: kinds must be cell kinds"):
        uniform_adhesion(PottsParams(contact=jnp.asarray(j)), kinds=[0])


def test_prediction_refuses_bad_input():
    x = _two_cells()
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="names must name every cell id 1..N"):
        predict_contacts(x, ["ABa"], ["ABa"], None, key=key)
    with pytest.raises(ValueError, match="names must be C. elegans Sulston names"):
        predict_contacts(x, ["ABa", "c2"], ["ABa"], None, key=key)
    with pytest.raises(TypeError, match="sites must be a 2D or 3D integer lattice"):
        predict_contacts(x.astype(float), ["ABa", "ABp"], ["ABa"], None, key=key)
    with pytest.raises(ValueError, match="params must be over the 8 kinds"):
        predict_contacts(x, ["ABa", "ABp"], ["ABa"], PottsParams(contact=jnp.zeros((3, 3))), key=key)
    with pytest.raises(ValueError, match="axes must have one row per kind"):
        predict_contacts(x, ["ABa", "ABp"], ["ABa"], None, key=key, axes=_axes([1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="neighbourhood must be one of"):
        predict_contacts(x, ["ABa", "ABp"], ["ABa"], None, key=key, neighbourhood="hex")


# ---------------------------------------------------------------------------- axes
def test_observed_axes_frame_and_names_round_trip():
    before = ["ABa", "ABp", "EMS"]
    after = {"ABaa": np.array([5.0, 0.0, 1.0]), "ABap": np.array([1.0, 0.0, 1.0]),
             "ABpl": np.array([0.0, 0.0, 3.0]), "ABpr": np.array([0.0, 0.0, -1.0]),
             "MS": np.array([2.0, 0.0, 0.0]), "E": np.array([0.0, 0.0, 0.0])}
    divs = observed_divisions(before, after)
    assert [(d.mother, d.first, d.second, d.pair) for d in divs] == [
        ("ABa", "ABaa", "ABap", "ap"), ("ABp", "ABpl", "ABpr", "lr"), ("EMS", "MS", "E", "ap")]
    frame = body_frame(divs)
    np.testing.assert_allclose(frame["anterior"], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(frame["left"], [0.0, 0.0, 1.0])
    for d in divs:  # each observed axis gives back the observed names
        assert daughter_names(d.mother, d.axis, frame) == (d.first, d.second)
    axes = fit_division_axes(divs, prior_weight=0)
    ab = KIND_NAMES.index("AB")
    np.testing.assert_allclose(np.asarray(axes.mean[ab]), [np.sqrt(0.5), 0.0, np.sqrt(0.5)], atol=1e-6)
    assert float(axes.concentration[KIND_NAMES.index("EMS")]) == 100.0  # one division, unshrunk: the cap
    shrunk = fit_division_axes(divs)                                   # two pseudo-divisions of the pool
    assert float(shrunk.concentration[KIND_NAMES.index("EMS")]) < 10.0
    many = [Division("EMS", "MS", "E", "ap", np.array([1.0, 0.0, 0.0]))] * 200
    assert float(fit_division_axes(many + divs).concentration[KIND_NAMES.index("EMS")]) > 50.0
    assert float(fit_division_axes(divs, fallback="uniform").concentration[KIND_NAMES.index("C")]) == 0.0
    np.testing.assert_allclose(np.asarray(axes.mean[KIND_NAMES.index("C")]), np.asarray(axes.mean[KIND_NAMES.index("P")]))
    with pytest.raises(ValueError, match="body_frame: divisions must hold at least one"):
        body_frame([])


def test_cell_centroids_by_hand():
    c = cell_centroids(np.array([[1, 1, 0], [2, 0, 0]]), ["ABa", "ABp"])
    assert c["ABa"].tolist() == [0.0, 0.5] and c["ABp"].tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="names must name every cell id"):
        cell_centroids(np.array([[1, 2]]), ["ABa"])
    assert Division("P2", "C", "P3", "ap", np.ones(2)).first == "C"
