"""Lowering a sympy tree to JAX: the node-by-node walker, crisp or soft, and `evaluate`.

The walker keeps both meanings of every node (see the table in `rules.symbolic`); shared
sub-expressions are evaluated once.

Example:
  >>> import sympy, jax.numpy as jnp
  >>> evaluate(sympy.sympify("x > 1"), {"x": jnp.array([1.0])}, mode="soft", temperature=1.0).round(4)
  Array([0.5], dtype=float32)
"""

from __future__ import annotations

import operator
from typing import Mapping

import jax
import jax.numpy as jnp
import sympy
from sympy.core import relational
from sympy.logic import boolalg

from automata import relax
from automata._checks import as_float, check_choice, check_number, fail
from automata.lattice import Lattice
from rules.logic import (
    AtLeast,
    AtMost,
    Count,
    check_known_symbols,
    count_truth,
    fuzzy_connective,
    neighbour_values,
    parse_formula,
    resolve_implication,
)
from rules.symbolic.nodes import CONNECTIVES, FUNCTIONS, RELATIONS, check_supported

__all__ = ["MODES", "check_config", "evaluate"]

MODES = ("crisp", "soft")

_CRISP_RELATIONS = {
    relational.Equality: jnp.equal,
    relational.Unequality: jnp.not_equal,
    relational.StrictGreaterThan: jnp.greater,
    relational.GreaterThan: jnp.greater_equal,
    relational.StrictLessThan: jnp.less,
    relational.LessThan: jnp.less_equal,
}


def check_config(mode: str, temperature, semantics: str, implication: str | None, owner: str = "") -> None:
    """Check the lowering's configuration: the mode, a positive temperature, the fuzzy logic.

    A traced temperature (under jit) cannot be checked here and passes.

    Example:
      >>> check_config("soft", 0.1, "product", None)
    """
    check_choice(mode, "mode", MODES, owner=owner, hint="'crisp' is exact, 'soft' is smooth.")
    if not isinstance(temperature, jax.core.Tracer):
        check_number(temperature, "temperature", minimum=0.0, open_minimum=True, owner=owner)
    resolve_implication(semantics, implication, owner)


def _float_dtype():
    return jnp.result_type(float)


def _number(v):
    """A value read as a number (booleans become 0.0/1.0)."""
    v = jnp.asarray(v) if not isinstance(v, (int, float)) else v
    if isinstance(v, jax.Array) and v.dtype == jnp.bool_:
        return v.astype(_float_dtype())
    return v


def _fold(args: list, op):
    out = args[0]
    for a in args[1:]:
        out = op(out, a)
    return out


def _crisp_connective(node, args):
    """A Boolean connective on boolean arrays."""
    if isinstance(node, (boolalg.And, boolalg.Nand)):
        out = _fold(args, operator.and_)
        return ~out if isinstance(node, boolalg.Nand) else out
    if isinstance(node, (boolalg.Or, boolalg.Nor)):
        out = _fold(args, operator.or_)
        return ~out if isinstance(node, boolalg.Nor) else out
    if isinstance(node, boolalg.Not):
        return ~args[0]
    if isinstance(node, boolalg.Implies):
        return ~args[0] | args[1]
    if isinstance(node, boolalg.Xor):
        return _fold(args, operator.xor)
    if isinstance(node, boolalg.Equivalent):
        out = jnp.asarray(True)
        for a, b in zip(args[:-1], args[1:]):
            out = out & (a == b)
        return out
    c, a, b = args  # ITE
    return jnp.where(c, a, b)


class _Walker:
    """Evaluates one sympy tree on arrays; shared sub-expressions are evaluated once."""

    def __init__(self, env, *, mode, temperature, semantics, implication, integer, params, lattice):
        self.env = env
        self.soft = mode == "soft"
        self.temperature = temperature
        self.semantics = semantics
        self.implication = resolve_implication(semantics, implication)
        self.lattice = lattice
        # Integer-ness is asked of sympy on a copy of the expression whose symbols carry the
        # declared assumptions: parameters real, declared integer inputs integer.
        self.integer = frozenset(integer)
        self.params = frozenset(params)
        self.memo = {}

    def _integer_valued(self, node) -> bool:
        reps = {}
        for s in node.free_symbols:
            if s.name in self.params:
                reps[s] = sympy.Symbol(s.name, real=True)
            elif s.name in self.integer:
                reps[s] = sympy.Symbol(s.name, integer=True)
        return bool(node.xreplace(reps).is_integer)

    def truth(self, v):
        """A value read as a truth value: a float degree (soft) or a boolean (crisp, nonzero)."""
        v = jnp.asarray(v)
        if self.soft:
            return as_float(v)
        return v if v.dtype == jnp.bool_ else v != 0

    def walk(self, node):
        if node not in self.memo:
            self.memo[node] = self._walk(node)
        return self.memo[node]

    def _constant(self, node):
        if isinstance(node, (boolalg.BooleanTrue, boolalg.BooleanFalse)):
            value = isinstance(node, boolalg.BooleanTrue)
            return jnp.asarray(float(value)) if self.soft else jnp.asarray(value)
        # Exact integers stay Python ints so integer inputs keep an integer dtype.
        if isinstance(node, sympy.Integer):
            return int(node)
        return float(complex(node).real)

    def _walk(self, node):
        if isinstance(node, sympy.Symbol):
            return self.env[node.name]
        if isinstance(node, (boolalg.BooleanTrue, boolalg.BooleanFalse)) or (
            node.is_number and not isinstance(node, boolalg.Boolean)
        ):
            return self._constant(node)
        if isinstance(node, (sympy.Add, sympy.Mul)):
            op = operator.add if isinstance(node, sympy.Add) else operator.mul
            return _fold([_number(self.walk(a)) for a in node.args], op)
        if isinstance(node, sympy.Pow):
            return self._pow(node)
        if isinstance(node, RELATIONS):
            return self._relation(node)
        if isinstance(node, Count):
            return self._count(node)
        if isinstance(node, CONNECTIVES):
            args = [self.truth(self.walk(a)) for a in node.args]
            if self.soft:
                return fuzzy_connective(node, args, self.semantics, self.implication)
            return _crisp_connective(node, args)
        if isinstance(node, sympy.Piecewise):
            return self._piecewise(node)
        return self._function(node)

    def _pow(self, node):
        base, expo = node.args
        b = _number(self.walk(base))
        if isinstance(expo, sympy.Integer):
            e = int(expo)
            if e < 0:
                # Integer arrays cannot take negative integer powers.
                return 1 / (as_float(b) ** (-e))
            return b**e
        if expo == sympy.Rational(1, 2):
            return jnp.sqrt(as_float(b))
        if expo == sympy.Rational(-1, 2):
            return jax.lax.rsqrt(as_float(b))
        return jnp.power(as_float(b), _number(self.walk(expo)))

    def _relation(self, node):
        lhs = _number(self.walk(node.lhs))
        rhs = _number(self.walk(node.rhs))
        if not self.soft:
            return _CRISP_RELATIONS[type(node)](lhs, rhs)
        T = self.temperature
        d = as_float(jnp.asarray(lhs) - jnp.asarray(rhs))
        integer = self._integer_valued(node.lhs - node.rhs)
        if isinstance(node, (relational.Equality, relational.Unequality)):
            bump = relax.soft_count_equals(d, 0, T) if integer else jnp.exp(-jnp.square(d / T))
            return bump if isinstance(node, relational.Equality) else 1 - bump
        if isinstance(node, (relational.StrictLessThan, relational.LessThan)):
            d = -d
        strict = isinstance(node, (relational.StrictGreaterThan, relational.StrictLessThan))
        shift = (0.5 if strict else -0.5) if integer else 0.0
        return relax.soft_threshold(d, shift, T)

    def _count(self, node):
        if self.lattice is None:
            raise fail(
                "evaluate",
                f"lattice must be given: {node} counts lattice neighbours; use it in a SymbolicRule "
                "(or rules.logic.Constraint with lattice=...).",
            )
        lat = self.lattice
        inner = self.truth(self.walk(node.args[1]))
        inner = jnp.broadcast_to(inner, lat.shape + jnp.shape(inner)[lat.ndim:])
        k = int(node.args[0])
        if self.soft:
            nb = jnp.moveaxis(neighbour_values(lat, inner), lat.ndim, -1)
            return count_truth(type(node).__name__, k, nb, self.semantics)
        count = jnp.sum(neighbour_values(lat, inner.astype(jnp.int32)), axis=lat.ndim)
        if isinstance(node, AtLeast):
            return count >= k
        if isinstance(node, AtMost):
            return count <= k
        return count == k

    def _piecewise(self, node):
        pairs = node.args
        if self.soft:
            out = _number(self.walk(pairs[-1].expr))
            for pair in reversed(pairs[:-1]):
                c = self.truth(self.walk(pair.cond))
                out = c * _number(self.walk(pair.expr)) + (1 - c) * out
            return out
        out = jnp.nan
        for pair in reversed(pairs):
            value = self.walk(pair.expr)
            if pair.cond == sympy.true:
                out = value
                continue
            c = self.truth(self.walk(pair.cond))
            value = jnp.asarray(value)
            if value.dtype == jnp.bool_ and jnp.asarray(out).dtype != jnp.bool_:
                value = value.astype(_float_dtype())
            out = jnp.where(c, value, out)
        return out

    def _function(self, node):
        f = type(node)
        args = [_number(self.walk(a)) for a in node.args]
        T = self.temperature
        if f is sympy.Min or f is sympy.Max:
            return _fold(args, jnp.minimum if f is sympy.Min else jnp.maximum)
        if f is sympy.Heaviside:
            x = as_float(args[0])
            if self.soft:
                return jax.nn.sigmoid(x / T)
            at_zero = args[1] if len(args) > 1 else 0.5
            return jnp.where(x > 0, 1.0, jnp.where(x < 0, 0.0, at_zero)).astype(x.dtype)
        if f is sympy.sign and self.soft:
            return jnp.tanh(as_float(args[0]) / T)
        return FUNCTIONS[f](*[as_float(a) if f is not sympy.Mod else a for a in args])


def evaluate(
    expr,
    values: Mapping[str, jax.Array],
    *,
    mode: str = "crisp",
    temperature: float = 0.1,
    semantics: str = "product",
    implication: str | None = None,
    integer: tuple[str, ...] = (),
    params: tuple[str, ...] = (),
    lattice: Lattice | None = None,
) -> jax.Array:
    """Evaluate a sympy expression on arrays (the walker behind `SymbolicExpression`, `SymbolicRule`).

    Args:
      expr: sympy expression; every free symbol must be a key of `values`.
      values: symbol name -> array (inputs and parameter values); shapes broadcast.
      mode: `"crisp"` or `"soft"` (see `rules.symbolic`).
      temperature: soft-mode width, positive, in the units of the compared quantities.
      semantics, implication: fuzzy logic for soft And/Or/Implies (see `rules.logic`).
      integer: names whose values are integers (picks the integer relaxations).
      params: names that are parameters (always treated as real).
      lattice: needed only for `AtLeast`/`AtMost`/`Exactly` counts; then the values are fields
        on the lattice, shape `lattice.shape`.

    Example:
      >>> import sympy, jax.numpy as jnp
      >>> n = sympy.Symbol("n")
      >>> evaluate(sympy.Eq(n, 3), {"n": jnp.arange(5)})
      Array([False, False, False,  True, False], dtype=bool)
    """
    owner = "evaluate"
    check_config(mode, temperature, semantics, implication, owner)
    expr = parse_formula(expr, owner=owner)
    check_supported(expr, mode, owner)
    check_known_symbols(expr, sorted(values), "values", owner)
    walker = _Walker(
        values, mode=mode, temperature=temperature, semantics=semantics,
        implication=implication, integer=integer, params=params, lattice=lattice,
    )
    return jnp.asarray(walker.walk(expr))
