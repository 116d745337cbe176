"""The division model's checks: shapes, ranges and types of its parts."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import automata
from rules.division import (
    CellCycle,
    DifferentiationTable,
    DivisionModel,
    Exclusion,
    PayoffHazard,
    Shove,
    expected_counts,
    simulate,
)
from rules.population import Population

LAT = automata.Lattice((8, 8))
KEY = jax.random.key(0)


def run(model, pop, num_steps, key=KEY, lattice=LAT):
    return simulate(model, lattice, pop, key=key, num_steps=num_steps)


ONE = DifferentiationTable.symmetric(2)


POP2 = Population.create(LAT, [[1, 1]], [0], capacity=4)


@pytest.mark.parametrize(
    "model_kwargs, error, match",
    [
        (dict(hazard=jnp.ones(3)), ValueError, r"DivisionModel: hazard must be a scalar or shape \(2,\)"),
        (dict(hazard=-0.1), ValueError, "DivisionModel: hazard must be >= 0"),
        (dict(death=jnp.array([0.1, jnp.nan])), ValueError, "DivisionModel: death must be >= 0"),
        (dict(hazard=np.array(["a", "b"])), TypeError, "hazard must hold numbers"),
        (dict(cycle=CellCycle(period=0.0)), ValueError, r"CellCycle: period must be > 0.0 \(inf allowed\)"),
        (dict(cycle=CellCycle(period=5.0, cv=-0.1)), ValueError, "CellCycle: cv must be >= 0"),
        (dict(cycle=5.0), TypeError, "cycle must be a CellCycle"),
        (dict(external=PayoffHazard(payoff=jnp.ones((2, 2)), base_rate=0.1, selection=1.5)),
         ValueError, r"PayoffHazard: selection must be in \[0.0, 1.0\]"),
        (dict(external=PayoffHazard(payoff=jnp.ones((3, 3)), base_rate=0.1)),
         ValueError, r"PayoffHazard: payoff must have shape \(2, 2\), got shape \(3, 3\)"),
        (dict(external=3.0), TypeError, "external must be callable"),
        (dict(placement=Exclusion(direction=jnp.ones((2, 3)))), ValueError,
         r"Exclusion: direction must have shape \(2, 2\), got shape \(2, 3\)"),
        (dict(placement=Shove(axis=2)), ValueError, "Shove: axis must be an axis of the lattice"),
        (dict(placement="exclusion"), TypeError, "placement must be Exclusion"),
    ],
)
def test_model_errors(model_kwargs, error, match):
    model = DivisionModel(table=ONE, **model_kwargs)
    with pytest.raises(error, match=match):
        simulate(model, LAT, POP2, key=KEY, num_steps=1)


def test_table_and_config_errors():
    with pytest.raises(ValueError, match=r"daughters must name kinds 0 .. 1"):
        DifferentiationTable(daughters=((0, 2), (1, 1)))
    with pytest.raises(TypeError, match="daughters must be a sequence of"):
        DifferentiationTable(daughters=(("a", "b"),))
    with pytest.raises(ValueError, match="rules must use known kinds, got the unknown kind 'Q'"):
        DifferentiationTable.from_names(["P0", "AB"], {"P0": ("AB", "Q")})
    with pytest.raises(ValueError, match="names must give one name per kind"):
        DifferentiationTable(daughters=((0, 0),), names=("a", "b"))
    with pytest.raises(ValueError, match="names must be distinct"):
        DifferentiationTable(daughters=((0, 0), (1, 1)), names=("a", "a"))
    with pytest.raises(ValueError, match="daughters must hold at least one kind"):
        DifferentiationTable(daughters=())
    with pytest.raises(ValueError, match="rules must map each mother to a pair"):
        DifferentiationTable.from_names(["P0", "AB"], {"P0": 3})
    with pytest.raises(TypeError, match="table must be a DifferentiationTable"):
        simulate(DivisionModel(table=((0, 0),)), LAT, POP2, key=KEY, num_steps=1)
    for dt, error in ((0.0, ValueError), (float("nan"), ValueError), ("1", TypeError)):
        with pytest.raises(error, match="DivisionModel: dt must be a finite number > 0"):
            DivisionModel(table=ONE, dt=dt)
    model = DivisionModel(table=ONE, hazard=0.1)
    with pytest.raises(ValueError, match="simulate: num_steps must be at least 1"):
        simulate(model, LAT, POP2, key=KEY, num_steps=0)
    with pytest.raises(TypeError, match="simulate: key must be a JAX PRNG key"):
        simulate(model, LAT, POP2, key=None, num_steps=1)
    with pytest.raises(TypeError, match="simulate: lattice must be an automata.Lattice"):
        simulate(model, (8, 8), POP2, key=KEY, num_steps=1)
    with pytest.raises(TypeError, match="simulate: model must be a rules.DivisionModel"):
        simulate("model", LAT, POP2, key=KEY, num_steps=1)
    with pytest.raises(ValueError, match="expected_counts: temperature must be a finite number > 0"):
        expected_counts(model, POP2, num_steps=2, temperature=0.0)
