"""Fuzzy connectives: t-norms, t-conorms and implications, known values and classical limits."""

import itertools

import pytest
import sympy

from rules.logic import IMPLICATIONS, conjunction, disjunction, implication
from rules.logic.semantics import fuzzy_connective, resolve_implication


@pytest.mark.parametrize("name", sorted(IMPLICATIONS))
def test_every_implication_is_classical_on_crisp_inputs(name):
    for a, b in itertools.product((0.0, 1.0), repeat=2):
        assert float(implication(a, b, "product", name)) == float((not a) or b)


def test_known_values():
    a, b = 0.7, 0.6
    expect = {
        ("product", "and"): 0.42,
        ("product", "or"): 0.88,
        ("goedel", "and"): 0.6,
        ("goedel", "or"): 0.7,
        ("lukasiewicz", "and"): 0.3,
        ("lukasiewicz", "or"): 1.0,
    }
    for (sem, op), want in expect.items():
        fn = conjunction if op == "and" else disjunction
        assert float(fn(a, b, sem)) == pytest.approx(want, abs=1e-6), (sem, op)
    assert float(implication(a, b, "product")) == pytest.approx(1 - a + a * b)  # Reichenbach
    assert float(implication(a, b, "goedel")) == pytest.approx(0.6)  # residuum: b when a > b
    assert float(implication(0.5, b, "goedel")) == 1.0
    assert float(implication(a, b, "lukasiewicz")) == pytest.approx(0.9)
    assert float(implication(a, b, "product", "goguen")) == pytest.approx(b / a)
    assert float(implication(a, b, "goedel", "kleene_dienes")) == pytest.approx(0.6)


def test_derived_connectives_follow_their_definitions():
    a, b, c = sympy.symbols("a b c")
    x, y, z = 0.7, 0.4, 0.2

    def and_(p, q):
        return p * q

    def or_(p, q):
        return p + q - p * q

    def reich(p, q):
        return 1 - p + p * q

    cases = {
        sympy.Xor(a, b, evaluate=False): and_(or_(x, y), 1 - and_(x, y)),
        sympy.Equivalent(a, b, evaluate=False): and_(reich(x, y), reich(y, x)),
        sympy.ITE(a, b, c, evaluate=False): or_(and_(x, y), and_(1 - x, z)),
        sympy.Nand(a, b, evaluate=False): 1 - and_(x, y),
        sympy.Nor(a, b, evaluate=False): 1 - or_(x, y),
    }
    for node, want in cases.items():
        args = [x, y, z][: len(node.args)]
        assert float(fuzzy_connective(node, args, "product", "reichenbach")) == pytest.approx(want), node
    assert fuzzy_connective(sympy.Symbol("a"), [], "product", "reichenbach") is None


def test_semantics_and_implication_choices_are_checked():
    assert resolve_implication("goedel", None) == "goedel"
    assert resolve_implication("product", "goguen") == "goguen"
    with pytest.raises(ValueError, match="conjunction: semantics must be one of"):
        conjunction(0.5, 0.5, "min")
    with pytest.raises(ValueError, match="disjunction: semantics must be one of"):
        disjunction(0.5, 0.5, "max")
    with pytest.raises(ValueError, match="implication: implication must be one of .*got 'material'"):
        implication(0.5, 0.5, "product", "material")
