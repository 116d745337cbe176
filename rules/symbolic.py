"""Sympy expressions compiled to JAX, crisp (exact) or soft (smooth, with a temperature).

An expression over named inputs (a site's state, neighbour counts, expression levels, ...) and
named parameters becomes a function of arrays. The tree is walked by this module (no
`sympy.lambdify`), node by node, so that every node has both meanings:

=======================  ==========================  =============================================
sympy                    crisp                       soft (temperature T)
=======================  ==========================  =============================================
`a > b`, `a >= b`        `a > b`, `a >= b`           `sigmoid((a - b) / T)`; if `a - b` is
                                                     integer-valued: `sigmoid((a - b -+ 1/2) / T)`
`Eq(a, b)`               `a == b`                    `exp(-((a - b) / T)^2)`; if integer-valued:
                                                     the bump `relax.soft_count_equals(a - b, 0, T)`
`Ne(a, b)`               `a != b`                    `1 - soft Eq(a, b)`
And, Or, Not, Implies,   Boolean                     fuzzy logic, `rules.logic` semantics
Xor, Equivalent, ITE                                 (product by default)
`Piecewise((e1, c1),     first branch whose          `c1 e1 + (1 - c1) (c2 e2 + (1 - c2) (...))`;
(e2, c2), ...)`          condition holds (else nan)  needs a final `(e, True)` branch
`sign(x)`, `Heaviside`   exact                       `tanh(x / T)`, `sigmoid(x / T)`
arithmetic, exp, log,    exact                       exact (floor, ceiling, Mod, Min, Max, Abs
tanh, ...                                            keep their piecewise gradients)
=======================  ==========================  =============================================

"Integer-valued" is decided by sympy from the names declared integer (e.g. neighbour counts)
and integer constants; parameters are always real. The half-unit shift makes soft `n > 2` and
soft `n >= 3` agree with the crisp values at every integer `n` as `T -> 0` (a plain
`sigmoid((n - 2) / T)` would give 1/2 at `n = 2`). Under the soft mode truth values are floats
in [0, 1]; a number used as a truth value is taken as its degree (so it should lie in [0, 1]).
Under the crisp mode a number used as a truth value is true when nonzero.

Example:
  >>> import jax.numpy as jnp, sympy
  >>> from rules.symbolic import SymbolicExpression
  >>> f = SymbolicExpression("x > theta", inputs=("x",), params={"theta": 0.5})
  >>> f({"x": jnp.array([0.2, 0.9])})
  Array([False,  True], dtype=bool)
  >>> f.to_sympy()
  x > 0.5
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import sympy
from flax import struct
from sympy.core import relational
from sympy.logic import boolalg

from automata import relax
from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState
from rules import logic

__all__ = ["MODES", "SymbolicExpression", "SymbolicRule", "evaluate"]

MODES = ("crisp", "soft")

# sympy function -> (crisp JAX function, soft JAX function taking (args, T) or None for "same").
_FUNCTIONS = {
    sympy.exp: jnp.exp,
    sympy.log: jnp.log,
    sympy.sin: jnp.sin,
    sympy.cos: jnp.cos,
    sympy.tan: jnp.tan,
    sympy.asin: jnp.arcsin,
    sympy.acos: jnp.arccos,
    sympy.atan: jnp.arctan,
    sympy.atan2: jnp.arctan2,
    sympy.sinh: jnp.sinh,
    sympy.cosh: jnp.cosh,
    sympy.tanh: jnp.tanh,
    sympy.asinh: jnp.arcsinh,
    sympy.acosh: jnp.arccosh,
    sympy.atanh: jnp.arctanh,
    sympy.Abs: jnp.abs,
    sympy.floor: jnp.floor,
    sympy.ceiling: jnp.ceil,
    sympy.Mod: jnp.mod,
    sympy.erf: jsp.erf,
    sympy.erfc: jsp.erfc,
    sympy.loggamma: jsp.gammaln,
    sympy.sign: jnp.sign,
    sympy.Heaviside: None,  # handled below: it has a value at 0 (its second argument)
    sympy.Min: None,
    sympy.Max: None,
}

_SUPPORTED = (
    "numbers, symbols, +, *, ** (sqrt), "
    + ", ".join(sorted(f.__name__ for f in _FUNCTIONS))
    + ", Eq, Ne, <, <=, >, >=, And, Or, Not, Implies, Xor, Equivalent, ITE, Nand, Nor, "
    "Piecewise, true, false, and (on a lattice) AtLeast/AtMost/Exactly(k, p)"
)

_RELATIONS = (
    relational.Equality,
    relational.Unequality,
    relational.StrictGreaterThan,
    relational.GreaterThan,
    relational.StrictLessThan,
    relational.LessThan,
)
_CONNECTIVES = (
    boolalg.And, boolalg.Or, boolalg.Not, boolalg.Implies, boolalg.Xor, boolalg.Equivalent,
    boolalg.ITE, boolalg.Nand, boolalg.Nor,
)


def _float_dtype():
    return jnp.result_type(float)


def _as_float(v):
    v = jnp.asarray(v)
    return v if jnp.issubdtype(v.dtype, jnp.inexact) else v.astype(_float_dtype())


def _check_supported(node: sympy.Basic, mode: str) -> None:
    """Raise at construction for nodes that cannot be compiled (before any array is seen)."""
    if isinstance(node, (sympy.Symbol, boolalg.BooleanTrue, boolalg.BooleanFalse)):
        return
    if node.is_number and not isinstance(node, boolalg.Boolean):
        try:
            value = complex(node)
        except (TypeError, ValueError) as err:
            raise TypeError(f"Cannot evaluate the constant {node} as a number.") from err
        if value.imag != 0 and not np.isnan(value.imag):
            raise TypeError(f"Complex constant {node} is not supported; expressions are real-valued.")
        return
    if isinstance(node, (sympy.Add, sympy.Mul, sympy.Pow) + _RELATIONS + _CONNECTIVES):
        pass
    elif isinstance(node, sympy.Piecewise):
        if mode == "soft" and node.args[-1].cond != sympy.true:
            raise ValueError(
                f"{node} has no default branch, so it is nan where no condition holds and has no "
                "soft relaxation; add a final (value, True) branch."
            )
        for pair in node.args:
            _check_supported(pair.expr, mode)
            _check_supported(pair.cond, mode)
        return
    elif isinstance(node, logic._Count):
        _check_supported(node.args[1], mode)
        return
    elif type(node) in _FUNCTIONS:
        pass
    else:
        name = type(node).__name__ if isinstance(node, sympy.Function) else node.func.__name__
        raise TypeError(f"Unsupported sympy function or node {name} (in {node}); supported: {_SUPPORTED}.")
    for a in node.args:
        _check_supported(a, mode)


def _reach_units(node: sympy.Basic, neighbour_names: frozenset) -> int:
    """How many neighbourhood radii away an expression looks (counts nest)."""
    if isinstance(node, sympy.Symbol):
        return int(node.name in neighbour_names)
    if isinstance(node, logic._Count):
        return 1 + _reach_units(node.args[1], neighbour_names)
    return max((_reach_units(a, neighbour_names) for a in node.args), default=0)


class _Walker:
    """Evaluates one sympy tree on arrays; shared sub-expressions are evaluated once."""

    def __init__(self, env, *, mode, temperature, semantics, implication, integer, params, lattice):
        self.env = env
        self.mode = mode
        self.soft = mode == "soft"
        self.temperature = temperature
        self.semantics = semantics
        self.implication = logic._resolve_implication(semantics, implication)
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

    # -- conversions between numbers and truth values
    def truth(self, v):
        v = jnp.asarray(v)
        if self.soft:
            return _as_float(v)
        return v if v.dtype == jnp.bool_ else v != 0

    @staticmethod
    def number(v):
        v = jnp.asarray(v) if not isinstance(v, (int, float)) else v
        if isinstance(v, jax.Array) and v.dtype == jnp.bool_:
            return v.astype(_float_dtype())
        return v

    def walk(self, node):
        if node in self.memo:
            return self.memo[node]
        out = self._walk(node)
        self.memo[node] = out
        return out

    def _walk(self, node):
        if isinstance(node, sympy.Symbol):
            return self.env[node.name]
        if isinstance(node, boolalg.BooleanTrue):
            return jnp.asarray(1.0) if self.soft else jnp.asarray(True)
        if isinstance(node, boolalg.BooleanFalse):
            return jnp.asarray(0.0) if self.soft else jnp.asarray(False)
        if node.is_number and not isinstance(node, boolalg.Boolean):
            # Exact integers stay Python ints so integer inputs keep an integer dtype.
            if isinstance(node, sympy.Integer):
                return int(node)
            return float(complex(node).real)
        if isinstance(node, sympy.Add):
            out = self.number(self.walk(node.args[0]))
            for a in node.args[1:]:
                out = out + self.number(self.walk(a))
            return out
        if isinstance(node, sympy.Mul):
            out = self.number(self.walk(node.args[0]))
            for a in node.args[1:]:
                out = out * self.number(self.walk(a))
            return out
        if isinstance(node, sympy.Pow):
            return self._pow(node)
        if isinstance(node, _RELATIONS):
            return self._relation(node)
        if isinstance(node, logic._Count):
            return self._count(node)
        if isinstance(node, _CONNECTIVES):
            args = [self.truth(self.walk(a)) for a in node.args]
            if self.soft:
                return logic.fuzzy_connective(node, args, self.semantics, self.implication)
            return self._crisp_connective(node, args)
        if isinstance(node, sympy.Piecewise):
            return self._piecewise(node)
        return self._function(node)

    def _pow(self, node):
        base, expo = node.args
        b = self.number(self.walk(base))
        if isinstance(expo, sympy.Integer):
            e = int(expo)
            if e < 0:
                # Integer arrays cannot take negative integer powers.
                return 1 / (_as_float(b) ** (-e))
            return b**e
        if expo == sympy.Rational(1, 2):
            return jnp.sqrt(_as_float(b))
        if expo == sympy.Rational(-1, 2):
            return jax.lax.rsqrt(_as_float(b))
        return jnp.power(_as_float(b), self.number(self.walk(expo)))

    def _relation(self, node):
        lhs = self.number(self.walk(node.lhs))
        rhs = self.number(self.walk(node.rhs))
        if not self.soft:
            ops = {
                relational.Equality: jnp.equal,
                relational.Unequality: jnp.not_equal,
                relational.StrictGreaterThan: jnp.greater,
                relational.GreaterThan: jnp.greater_equal,
                relational.StrictLessThan: jnp.less,
                relational.LessThan: jnp.less_equal,
            }
            return ops[type(node)](lhs, rhs)
        T = self.temperature
        d = _as_float(jnp.asarray(lhs) - jnp.asarray(rhs))
        integer = self._integer_valued(node.lhs - node.rhs)
        if isinstance(node, (relational.Equality, relational.Unequality)):
            bump = relax.soft_count_equals(d, 0, T) if integer else jnp.exp(-jnp.square(d / T))
            return bump if isinstance(node, relational.Equality) else 1 - bump
        if isinstance(node, (relational.StrictLessThan, relational.LessThan)):
            d = -d
        strict = isinstance(node, (relational.StrictGreaterThan, relational.StrictLessThan))
        shift = (0.5 if strict else -0.5) if integer else 0.0
        return relax.soft_threshold(d, shift, T)

    @staticmethod
    def _crisp_connective(node, args):
        if isinstance(node, (boolalg.And, boolalg.Nand)):
            out = args[0]
            for a in args[1:]:
                out = out & a
            return ~out if isinstance(node, boolalg.Nand) else out
        if isinstance(node, (boolalg.Or, boolalg.Nor)):
            out = args[0]
            for a in args[1:]:
                out = out | a
            return ~out if isinstance(node, boolalg.Nor) else out
        if isinstance(node, boolalg.Not):
            return ~args[0]
        if isinstance(node, boolalg.Implies):
            return ~args[0] | args[1]
        if isinstance(node, boolalg.Xor):
            out = args[0]
            for a in args[1:]:
                out = out ^ a
            return out
        if isinstance(node, boolalg.Equivalent):
            out = jnp.asarray(True)
            for a, b in zip(args[:-1], args[1:]):
                out = out & (a == b)
            return out
        c, a, b = args  # ITE
        return jnp.where(c, a, b)

    def _count(self, node):
        if self.lattice is None:
            raise ValueError(
                f"{node} counts lattice neighbours, which needs a lattice: use it in a "
                "SymbolicRule (or rules.logic.Constraint with lattice=...)."
            )
        lat = self.lattice
        inner = self.truth(self.walk(node.args[1]))
        inner = jnp.broadcast_to(inner, lat.shape + jnp.shape(inner)[lat.ndim:])
        k = int(node.args[0])
        if self.soft:
            nb = jnp.moveaxis(logic.neighbour_values(lat, inner), lat.ndim, -1)
            return logic.count_truth(type(node).__name__, k, nb, self.semantics)
        count = jnp.sum(logic.neighbour_values(lat, inner.astype(jnp.int32)), axis=lat.ndim)
        if isinstance(node, logic.AtLeast):
            return count >= k
        if isinstance(node, logic.AtMost):
            return count <= k
        return count == k

    def _piecewise(self, node):
        pairs = node.args
        if self.soft:
            out = self.number(self.walk(pairs[-1].expr))
            for pair in reversed(pairs[:-1]):
                c = self.truth(self.walk(pair.cond))
                out = c * self.number(self.walk(pair.expr)) + (1 - c) * out
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
        args = [self.number(self.walk(a)) for a in node.args]
        T = self.temperature
        if f is sympy.Min or f is sympy.Max:
            op = jnp.minimum if f is sympy.Min else jnp.maximum
            out = args[0]
            for a in args[1:]:
                out = op(out, a)
            return out
        if f is sympy.Heaviside:
            x = _as_float(args[0])
            if self.soft:
                return jax.nn.sigmoid(x / T)
            at_zero = args[1] if len(args) > 1 else 0.5
            return jnp.where(x > 0, 1.0, jnp.where(x < 0, 0.0, at_zero)).astype(x.dtype)
        if f is sympy.sign and self.soft:
            return jnp.tanh(_as_float(args[0]) / T)
        return _FUNCTIONS[f](*[_as_float(a) if f is not sympy.Mod else a for a in args])


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
    """Evaluate a sympy expression on arrays (the walker behind the classes of this module).

    Args:
      expr: sympy expression; every free symbol must be a key of `values`.
      values: symbol name -> array (inputs and parameter values); shapes broadcast.
      mode: `"crisp"` or `"soft"` (see the module docs).
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
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; choose 'crisp' (exact) or 'soft' (smooth).")
    if mode == "soft":
        relax._check_temperature(temperature)
    expr = logic.parse_formula(expr)
    _check_supported(expr, mode)
    missing = sorted(s.name for s in expr.free_symbols if s.name not in values)
    if missing:
        raise ValueError(
            f"No value for symbol(s) {', '.join(missing)} in {expr}; given: "
            f"{', '.join(sorted(values)) or '(none)'}."
        )
    walker = _Walker(
        values, mode=mode, temperature=temperature, semantics=semantics,
        implication=implication, integer=integer, params=params, lattice=lattice,
    )
    return jnp.asarray(walker.walk(expr))


# ---------------------------------------------------------------------------- shared checks
def _as_names(value, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        names = tuple(value)
    except TypeError as err:
        raise TypeError(f"{what} must be a sequence of names, got {type(value).__name__}.") from err
    for n in names:
        if not (isinstance(n, str) and n.isidentifier()):
            raise ValueError(f"{what} must be identifiers such as 'n' or 'gfp', got {n!r}.")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} contain duplicates: {names}.")
    return names


def _normalise_params(params, owner: str) -> dict:
    if params is None:
        return {}
    if isinstance(params, (list, tuple, set, str)):
        names = [params] if isinstance(params, str) else list(params)
        raise ValueError(
            f"{owner} parameters need values: got only the name(s) {', '.join(map(str, names))}. "
            f"Pass a dict such as params={{{str(names[0])!r}: 2.5}}."
        )
    if not isinstance(params, Mapping):
        raise TypeError(f"{owner} params must be a dict of name -> value, got {type(params).__name__}.")
    out = {}
    for name, value in params.items():
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"Parameter names must be identifiers, got {name!r}.")
        # Concrete numbers become float arrays (trainable); anything else (arrays, tracers,
        # placeholders JAX puts in while rebuilding the pytree) is kept as it is.
        if isinstance(value, (bool, int, float, np.ndarray, np.number, list)):
            value = jnp.asarray(value, _float_dtype())
        out[name] = value
    return out


def _check_symbols(expr, inputs, param_names, owner) -> None:
    clash = sorted(set(inputs) & set(param_names))
    if clash:
        raise ValueError(f"{owner}: {', '.join(clash)} cannot be both an input and a parameter.")
    unknown = sorted(s.name for s in expr.free_symbols if s.name not in inputs and s.name not in param_names)
    if unknown:
        raise ValueError(
            f"{owner}: unknown symbol(s) {', '.join(unknown)} in {expr}. Known inputs: "
            f"{', '.join(inputs) or '(none)'}; parameters: {', '.join(param_names) or '(none)'}. "
            "Declare each symbol as an input or give it a parameter value."
        )


def _check_config(mode, temperature, semantics, implication) -> None:
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; choose 'crisp' (exact) or 'soft' (smooth).")
    relax._check_temperature(temperature)
    logic._resolve_implication(semantics, implication)


def _param_values(params: dict, owner: str) -> dict:
    missing = sorted(n for n, v in params.items() if v is None)
    if missing:
        raise ValueError(
            f"{owner}: parameter(s) {', '.join(missing)} have no value; set them, e.g. "
            f"obj.replace(params={{**obj.params, {missing[0]!r}: 1.0}})."
        )
    return {n: jnp.asarray(v) for n, v in params.items()}


def _substitute(expr, params: dict, digits: int | None, owner: str):
    reps = {}
    symbols = {s.name: s for s in expr.free_symbols}
    for name, value in params.items():
        if value is None:
            raise ValueError(f"{owner}: parameter {name!r} has no value to substitute.")
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError) as err:
            raise TypeError(
                f"{owner}.to_sympy() needs concrete parameter values; call it outside jit/grad."
            ) from err
        if arr.ndim != 0:
            raise ValueError(
                f"{owner}: parameter {name!r} has shape {arr.shape}; only scalar parameters can be "
                "written into a sympy expression."
            )
        v = float(arr)
        if digits is not None:
            v = float(f"{v:.{int(digits)}g}")
        if name in symbols:
            reps[symbols[name]] = sympy.Float(v)
    return expr.xreplace(reps)


# ---------------------------------------------------------------------------- expression
class SymbolicExpression(struct.PyTreeNode):
    """A sympy expression over named inputs and trainable parameters, callable on arrays.

    Args:
      expr: a sympy expression or a string (`"Or(Eq(n, 3), And(alive, Eq(n, 2)))"`); in a
        string every name that is not called is a symbol.
      inputs: the names of the inputs (given at call time), e.g. `("n", "alive")`.
      params: parameter name -> initial value (scalar or an array that broadcasts against the
        inputs). These are the pytree's array leaves: `jax.grad` differentiates them.
      integer_inputs: input names whose values are integers (counts, 0/1 flags); soft
        comparisons of integer-valued differences use the half-unit relaxations.
      mode: `"crisp"` (exact; equals sympy evaluated on numbers) or `"soft"`.
      temperature: soft-mode width, positive, in the units of the compared quantities. Static:
        changing it re-traces.
      semantics, implication: soft-mode fuzzy logic, see `rules.logic`.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> f = SymbolicExpression("n > theta", inputs=("n",), params={"theta": 2.5},
      ...                        mode="soft", temperature=0.5)
      >>> g = jax.grad(lambda f: f({"n": jnp.array(3.0)}))(f)
      >>> float(g.params["theta"]) < 0
      True
    """

    expr: sympy.Basic = struct.field(pytree_node=False)
    inputs: tuple[str, ...] = struct.field(pytree_node=False, default=())
    params: dict = struct.field(default_factory=dict)
    integer_inputs: tuple[str, ...] = struct.field(pytree_node=False, default=())
    mode: str = struct.field(pytree_node=False, default="crisp")
    temperature: float = struct.field(pytree_node=False, default=0.1)
    semantics: str = struct.field(pytree_node=False, default="product")
    implication: str | None = struct.field(pytree_node=False, default=None)

    def __post_init__(self):
        owner = "SymbolicExpression"
        inputs = _as_names(self.inputs, "inputs")
        object.__setattr__(self, "inputs", inputs)
        integer = _as_names(self.integer_inputs, "integer_inputs")
        stray = [n for n in integer if n not in inputs]
        if stray:
            raise ValueError(f"integer_inputs {stray} are not among the inputs {inputs}.")
        object.__setattr__(self, "integer_inputs", integer)
        params = _normalise_params(self.params, owner)
        object.__setattr__(self, "params", params)
        _check_config(self.mode, self.temperature, self.semantics, self.implication)
        object.__setattr__(self, "temperature", float(self.temperature))
        expr = logic.parse_formula(self.expr, {n: sympy.Symbol(n) for n in inputs + tuple(params)})
        object.__setattr__(self, "expr", expr)
        _check_symbols(expr, inputs, tuple(params), owner)
        _check_supported(expr, self.mode)

    def __call__(self, inputs: Mapping[str, jax.Array]) -> jax.Array:
        """Evaluate on arrays: `inputs` maps every declared input name to an array.

        Returns:
          the broadcast shape of the inputs and parameters; booleans for a crisp logical
          expression, floats otherwise.
        """
        owner = "SymbolicExpression"
        if not isinstance(inputs, Mapping):
            raise TypeError(
                f"{owner} is called with a dict of input arrays, e.g. f({{'n': n}}); got "
                f"{type(inputs).__name__}."
            )
        missing = [n for n in self.inputs if n not in inputs]
        extra = sorted(n for n in inputs if n not in self.inputs)
        if missing or extra:
            raise ValueError(
                f"{owner} inputs are {', '.join(self.inputs) or '(none)'}; "
                + (f"missing: {', '.join(missing)}. " if missing else "")
                + (f"unknown: {', '.join(extra)}." if extra else "")
            )
        values = {n: jnp.asarray(inputs[n]) for n in self.inputs}
        values.update(_param_values(self.params, owner))
        try:
            shape = jnp.broadcast_shapes(*(v.shape for v in values.values()))
        except ValueError as err:
            shapes = ", ".join(f"{n}: {tuple(v.shape)}" for n, v in values.items())
            raise ValueError(
                f"{owner}: input and parameter shapes do not broadcast together ({shapes}). "
                "Give every input the same shape (parameters scalar or of that shape)."
            ) from err
        out = evaluate(
            self.expr, values, mode=self.mode, temperature=self.temperature,
            semantics=self.semantics, implication=self.implication,
            integer=self.integer_inputs, params=tuple(self.params),
        )
        return jnp.broadcast_to(out, shape)

    def to_sympy(self, digits: int | None = None) -> sympy.Basic:
        """The expression with the current parameter values substituted (optionally rounded to
        `digits` significant digits)."""
        return _substitute(self.expr, self.params, digits, "SymbolicExpression")


# ---------------------------------------------------------------------------- rule
_RESERVED = ("alive", "n", "num_neighbours", "t")


class SymbolicRule(Rule):
    """A cellular-automaton rule written as a sympy expression over built-in site inputs.

    The expression gives the next value of one channel (`target`) at every site; the other
    channels are carried over unchanged. Built-in inputs, for state channels named by
    `channels` (default one channel named `x`):

    - `<c>`: the site's own value of channel `c` (e.g. `x`);
    - `n_<c>`: the sum of channel `c` over the lattice neighbours (for one-hot kind channels:
      the number of neighbours of that kind);
    - `alive`: the target channel as a live flag: crisp `x > 0` (0 or 1); soft: the value itself
      (read as the probability of being alive, in [0, 1]);
    - `n`: the number of live neighbours, `lattice.neighbour_sum(alive)`; beyond a `"fixed"`
      edge a site is alive when `lattice.fill > 0`;
    - `num_neighbours`: the lattice's neighbour count; `t`: the step counter.

    Extra per-site data (expression levels, a morphogen) go in their own channels and are read
    by name. `alive`, `n`, `num_neighbours`, `t`, and `c`, `n_c` for `c` in `integer_channels`,
    are integer-valued (see the soft relaxations in the module docs). Counts over neighbours of
    any sub-expression are available as `rules.logic.AtLeast/AtMost/Exactly(k, p)`.

    Args:
      expr: sympy expression or string over the built-in inputs and `params`.
      params: parameter name -> initial value (trainable array leaves).
      channels: names of the state's channels, in order (identifiers, not built-in names).
      target: the channel the expression writes (default: the first).
      integer_channels: channels whose values are integers (0/1 flags, one-hot kinds).
      mode: `"crisp"` (exact) or `"soft"` (smooth; needs a floating state).
      temperature: soft-mode width (static; changing it re-traces).
      semantics, implication: soft-mode fuzzy logic, see `rules.logic`.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> life = SymbolicRule("Or(Eq(n, 3), And(alive, Eq(n, 2)))")
      >>> lat = automata.Lattice((8, 8))
      >>> x = jnp.zeros((8, 8, 1), jnp.uint8).at[3, 2:5, 0].set(1)  # a blinker
      >>> final, _ = automata.rollout(life, lat, automata.LatticeState(x=x), num_steps=2)
      >>> bool((final.x == x).all())
      True
    """

    expr: sympy.Basic = struct.field(pytree_node=False)
    params: dict = struct.field(default_factory=dict)
    channels: tuple[str, ...] = struct.field(pytree_node=False, default=("x",))
    target: str | None = struct.field(pytree_node=False, default=None)
    integer_channels: tuple[str, ...] = struct.field(pytree_node=False, default=())
    mode: str = struct.field(pytree_node=False, default="crisp")
    temperature: float = struct.field(pytree_node=False, default=0.1)
    semantics: str = struct.field(pytree_node=False, default="product")
    implication: str | None = struct.field(pytree_node=False, default=None)

    def __post_init__(self):
        owner = "SymbolicRule"
        channels = _as_names(self.channels, "channels")
        if not channels:
            raise ValueError("SymbolicRule needs at least one channel name, e.g. channels=('x',).")
        bad = [c for c in channels if c in _RESERVED or (c.startswith("n_") and c[2:] in channels)]
        if bad:
            raise ValueError(
                f"Channel name(s) {', '.join(bad)} clash with built-in inputs "
                f"({', '.join(_RESERVED)}, n_<channel>); rename them."
            )
        object.__setattr__(self, "channels", channels)
        target = channels[0] if self.target is None else self.target
        if target not in channels:
            raise ValueError(f"target {target!r} is not one of the channels {channels}.")
        object.__setattr__(self, "target", target)
        integer = _as_names(self.integer_channels, "integer_channels")
        stray = [c for c in integer if c not in channels]
        if stray:
            raise ValueError(f"integer_channels {stray} are not among the channels {channels}.")
        object.__setattr__(self, "integer_channels", integer)
        params = _normalise_params(self.params, owner)
        object.__setattr__(self, "params", params)
        _check_config(self.mode, self.temperature, self.semantics, self.implication)
        object.__setattr__(self, "temperature", float(self.temperature))
        expr = logic.parse_formula(self.expr, {n: sympy.Symbol(n) for n in self.inputs + tuple(params)})
        object.__setattr__(self, "expr", expr)
        _check_symbols(expr, self.inputs, tuple(params), owner)
        _check_supported(expr, self.mode)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The built-in input names available to the expression."""
        return self.channels + tuple(f"n_{c}" for c in self.channels) + _RESERVED

    @property
    def integer_inputs(self) -> tuple[str, ...]:
        """Input names treated as integer-valued."""
        return ("alive", "n", "num_neighbours", "t") + self.integer_channels + tuple(
            f"n_{c}" for c in self.integer_channels
        )

    def reach(self, lattice: Lattice) -> int:
        names = frozenset(("n",) + tuple(f"n_{c}" for c in self.channels))
        return lattice.radius * max(1, _reach_units(self.expr, names))

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        super().check(lattice, state)
        x = state.x
        want = lattice.shape + (len(self.channels),)
        if tuple(x.shape) != want:
            raise ValueError(
                f"SymbolicRule with channels {self.channels} needs state.x of shape {want}; got "
                f"{tuple(x.shape)}."
            )
        if x.dtype != jnp.bool_ and not jnp.issubdtype(x.dtype, jnp.number) or jnp.issubdtype(
            x.dtype, jnp.complexfloating
        ):
            raise TypeError(f"SymbolicRule needs real or boolean site values, got dtype {x.dtype}.")
        if self.mode == "soft" and not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(
                f"A soft SymbolicRule produces values between 0 and 1, but state.x has dtype "
                f"{x.dtype}, which would truncate them; use x.astype(jnp.float32)."
            )

    def values(self, lattice: Lattice, state: LatticeState) -> dict:
        """The built-in inputs at every site (name -> array of shape `lattice.shape`)."""
        x = state.x
        if not jnp.issubdtype(x.dtype, jnp.floating):
            # Exact integer arithmetic without uint8 overflow in sums.
            x = x.astype(jnp.int32)
        env = {}
        for i, c in enumerate(self.channels):
            env[c] = x[..., i]
            env[f"n_{c}"] = lattice.neighbour_sum(x[..., i])
        own = x[..., self.channels.index(self.target)]
        live_lattice = lattice
        if lattice.boundary == "fixed":
            live_lattice = lattice.replace(fill=1.0 if lattice.fill > 0 else 0.0)
        alive = own if self.mode == "soft" else (own > 0).astype(jnp.int32)
        env["alive"] = alive
        env["n"] = live_lattice.neighbour_sum(alive)
        env["num_neighbours"] = lattice.num_neighbours
        env["t"] = jnp.asarray(state.t)
        return env

    def __call__(self, lattice: Lattice, state: LatticeState, *, key: jax.Array | None = None) -> jax.Array:
        owner = "SymbolicRule"
        env = self.values(lattice, state)
        params = _param_values(self.params, owner)
        for name, v in params.items():
            try:
                jnp.broadcast_shapes(v.shape, lattice.shape)
            except ValueError as err:
                raise ValueError(
                    f"{owner}: parameter {name!r} has shape {tuple(v.shape)}, which does not "
                    f"broadcast to the lattice {lattice.shape}; use a scalar or a per-site array."
                ) from err
        env.update(params)
        out = evaluate(
            self.expr, env, mode=self.mode, temperature=self.temperature,
            semantics=self.semantics, implication=self.implication,
            integer=self.integer_inputs, params=tuple(params), lattice=lattice,
        )
        out = jnp.broadcast_to(out, lattice.shape).astype(state.x.dtype)
        i = self.channels.index(self.target)
        if len(self.channels) == 1:
            return out[..., None]
        return state.x.at[..., i].set(out)

    def to_sympy(self, digits: int | None = None) -> sympy.Basic:
        """The rule's expression with the current parameter values substituted."""
        return _substitute(self.expr, self.params, digits, "SymbolicRule")
