"""Fuzzy-logic constraints: sympy Boolean formulas over soft predicates, scored in [0, 1].

A constraint such as `Implies(neuron, Not(muscle))` or `Implies(gut, AtLeast(2, gut))` is a
sympy Boolean expression whose symbols are named predicates. Each predicate has a truth value
in [0, 1] per site or per cell (e.g. the probability a cell is of a kind, from an encoder head).
The formula's degree of satisfaction is computed with a t-norm (And), its t-conorm (Or), the
standard negation `1 - a` (Not) and a chosen implication, under one of three semantics:

=============  ========================  ========================  ===============================
semantics      And(a, b)                 Or(a, b)                  Implies(a, b) (default)
=============  ========================  ========================  ===============================
"product"      a b                       a + b - a b               Reichenbach: 1 - a + a b
"goedel"       min(a, b)                 max(a, b)                 Goedel residuum: 1 if a <= b
                                                                   else b
"lukasiewicz"  max(0, a + b - 1)         min(1, a + b)             Lukasiewicz: min(1, 1 - a + b)
=============  ========================  ========================  ===============================

The product default is the Reichenbach S-implication `Or(Not a, b)`, not the product residuum
(Goguen, `min(1, b / a)`), because the residuum's gradient vanishes whenever `a <= b` and blows
up as `a -> 0`; van Krieken, Acar & van Harmelen 2022 (doi:10.1016/j.artint.2021.103602,
arXiv:2002.06100) compare the choices for learning. The Lukasiewicz implication is both the
residuum and an S-implication. Any implication can be chosen by name (`IMPLICATIONS`). On crisp
0/1 inputs every semantics gives the classical truth table.

The other connectives are built from these: `Xor(a, b) = And(Or(a, b), Not(And(a, b)))`,
`Equivalent(a, b) = And(Implies(a, b), Implies(b, a))`, `ITE(c, a, b) = Or(And(c, a),
And(Not c, b))`, `Nand = Not And`, `Nor = Not Or`; n-ary forms fold from the left.

Counts over lattice neighbours: `AtLeast(k, p)`, `AtMost(k, p)` and `Exactly(k, p)` say how many
neighbours of a site satisfy `p` (a predicate or any Boolean formula, evaluated at each
neighbour). Their degrees, for neighbour truth values `v_1..v_m`:

- product: probabilities under independence (the Poisson-binomial law): `AtLeast = P(sum of
  Bernoulli(v_i) >= k)`, `Exactly = P(sum == k)`, `AtMost = P(sum <= k)`;
- goedel: `AtLeast(k)` is the k-th largest `v_i` (the max over k-subsets of their min);
  `AtMost(k) = 1 - AtLeast(k + 1)`; `Exactly = min(AtLeast, AtMost)`;
- lukasiewicz: bounded sums of the soft count `s = sum v_i`: `AtLeast(k) = clip(s - k + 1, 0,
  1)`, `AtMost(k) = clip(k + 1 - s, 0, 1)`, `Exactly = max(0, AtLeast + AtMost - 1)`.

Example:
  >>> import jax.numpy as jnp, sympy
  >>> from rules.logic import Constraint
  >>> c = Constraint("Implies(neuron, Not(muscle))", semantics="lukasiewicz")
  >>> truth = {"neuron": jnp.array([1.0, 0.9]), "muscle": jnp.array([0.0, 0.4])}
  >>> [round(float(v), 4) for v in c(truth)]  # 1 - a + (1 - b), capped at 1
  [1.0, 0.7]
"""

from __future__ import annotations

import ast
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import struct
from sympy.logic import boolalg

from automata.lattice import Lattice

__all__ = [
    "AtLeast",
    "AtMost",
    "Constraint",
    "Exactly",
    "IMPLICATIONS",
    "SEMANTICS",
    "conjunction",
    "count_law",
    "count_truth",
    "disjunction",
    "implication",
    "negation",
]

SEMANTICS = ("product", "goedel", "lukasiewicz")

#: Implications by name, `I(a, b)` for `Implies(a, b)`.
IMPLICATIONS = {
    # S-implications Or(Not a, b) under a t-conorm.
    "reichenbach": "1 - a + a b (product S-implication)",
    "kleene_dienes": "max(1 - a, b) (Goedel S-implication)",
    # Residua: sup {c : T(a, c) <= b}.
    "goguen": "1 if a <= b else b / a (product residuum)",
    "goedel": "1 if a <= b else b (Goedel residuum)",
    "lukasiewicz": "min(1, 1 - a + b) (Lukasiewicz residuum and S-implication)",
}

_DEFAULT_IMPLICATION = {"product": "reichenbach", "goedel": "goedel", "lukasiewicz": "lukasiewicz"}


def _check_semantics(semantics: str) -> None:
    if semantics not in SEMANTICS:
        raise ValueError(
            f"Unknown semantics {semantics!r}; choose one of {', '.join(map(repr, SEMANTICS))}."
        )


def _resolve_implication(semantics: str, name: str | None) -> str:
    _check_semantics(semantics)
    if name is None:
        return _DEFAULT_IMPLICATION[semantics]
    if name not in IMPLICATIONS:
        raise ValueError(
            f"Unknown implication {name!r}; choose one of {', '.join(map(repr, IMPLICATIONS))} "
            "(or None for the semantics' default)."
        )
    return name


# ---------------------------------------------------------------------------- connectives
def conjunction(a, b, semantics: str = "product") -> jax.Array:
    """Fuzzy And (a t-norm) of truth values in [0, 1]: product, min, or max(0, a + b - 1).

    Example:
      >>> round(float(conjunction(0.7, 0.6, "lukasiewicz")), 6)
      0.3
    """
    _check_semantics(semantics)
    a, b = jnp.asarray(a), jnp.asarray(b)
    if semantics == "product":
        return a * b
    if semantics == "goedel":
        return jnp.minimum(a, b)
    return jnp.maximum(a + b - 1, 0)


def disjunction(a, b, semantics: str = "product") -> jax.Array:
    """Fuzzy Or (the dual t-conorm): a + b - a b, max, or min(1, a + b).

    Example:
      >>> float(disjunction(0.5, 0.5, "product"))
      0.75
    """
    _check_semantics(semantics)
    a, b = jnp.asarray(a), jnp.asarray(b)
    if semantics == "product":
        return a + b - a * b
    if semantics == "goedel":
        return jnp.maximum(a, b)
    return jnp.minimum(a + b, 1)


def negation(a) -> jax.Array:
    """Standard fuzzy negation `1 - a` (the same under every semantics here)."""
    return 1 - jnp.asarray(a)


def implication(a, b, semantics: str = "product", name: str | None = None) -> jax.Array:
    """Fuzzy `Implies(a, b)`; `name` picks one of `IMPLICATIONS` (default: see module docs).

    Example:
      >>> round(float(implication(0.8, 0.5, "product")), 6)  # Reichenbach 1 - 0.8 + 0.4
      0.6
    """
    name = _resolve_implication(semantics, name)
    a, b = jnp.asarray(a), jnp.asarray(b)
    if name == "reichenbach":
        return 1 - a + a * b
    if name == "kleene_dienes":
        return jnp.maximum(1 - a, b)
    if name == "lukasiewicz":
        return jnp.minimum(1 - a + b, 1)
    if name == "goedel":
        return jnp.where(a <= b, jnp.ones_like(b), b)
    # Goguen: the inner `where` keeps b / a finite where it is not used, so its (discarded)
    # gradient is not nan.
    safe_a = jnp.where(a <= b, jnp.ones_like(a), a)
    return jnp.where(a <= b, jnp.ones_like(b), b / safe_a)


# ---------------------------------------------------------------------------- counts
class _Count(boolalg.BooleanFunction):
    """Base of the neighbour-count predicates; `args == (k, formula)`."""

    @classmethod
    def eval(cls, k, formula):
        if not (isinstance(k, sympy.Integer) and k >= 0):
            raise TypeError(
                f"{cls.__name__}(k, p) needs a non-negative integer k, got {k!r}; e.g. "
                f"{cls.__name__}(2, p)."
            )
        if not isinstance(formula, boolalg.Boolean):
            raise TypeError(
                f"{cls.__name__}(k, p) needs a Boolean p (a predicate symbol or formula), got "
                f"{formula!r}."
            )
        return None


class AtLeast(_Count):
    """`AtLeast(k, p)`: at least `k` lattice neighbours of the site satisfy `p`.

    Example:
      >>> import sympy
      >>> AtLeast(2, sympy.Symbol("gut"))
      AtLeast(2, gut)
    """


class AtMost(_Count):
    """`AtMost(k, p)`: at most `k` lattice neighbours of the site satisfy `p`."""


class Exactly(_Count):
    """`Exactly(k, p)`: exactly `k` lattice neighbours of the site satisfy `p`."""


COUNTS = {"AtLeast": AtLeast, "AtMost": AtMost, "Exactly": Exactly}


def count_law(values, cap: int | None = None) -> jax.Array:
    """The law of N, the number of true values among independent Bernoulli(`values[..., i]`).

    Args:
      values: `(..., m)` probabilities.
      cap: lump every count from `cap` up into one entry (default `m`: the full law). The cost
        is O(m * cap) rather than O(m^2).

    Returns:
      `(..., cap + 1)`: entry `j < cap` is `P(N = j)`, entry `cap` is `P(N >= cap)`.

    Example:
      >>> count_law(jnp.array([0.5, 0.5])).tolist()
      [0.25, 0.5, 0.25]
    """
    values = jnp.asarray(values)
    m = values.shape[-1]
    cap = m if cap is None else int(cap)
    if cap < 1:
        raise ValueError(f"cap must be at least 1, got {cap}.")
    # probs[j] = P(N == j) for j < cap and probs[cap] = P(N >= cap): a chain absorbing at cap.
    probs = [jnp.ones(values.shape[:-1], values.dtype)] + [jnp.zeros(values.shape[:-1], values.dtype)] * cap
    for i in range(m):
        v = values[..., i]
        new = [probs[0] * (1 - v)]
        new += [probs[j] * (1 - v) + probs[j - 1] * v for j in range(1, cap)]
        new.append(probs[cap] + probs[cap - 1] * v)
        probs = new
    return jnp.stack(probs, axis=-1)


def _poisson_binomial_tail(values: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """`(P(N >= k), P(N >= k + 1))` for N a sum of independent Bernoulli(values[..., i])."""
    law = count_law(values, cap=k + 1)
    return law[..., k] + law[..., k + 1], law[..., k + 1]


def count_truth(kind: str, k: int, values, semantics: str = "product") -> jax.Array:
    """Degree of `AtLeast`/`AtMost`/`Exactly(k, .)` from per-neighbour truth values.

    Args:
      kind: `"AtLeast"`, `"AtMost"` or `"Exactly"`.
      k: the count, a non-negative integer.
      values: truth values in [0, 1] with the neighbours on the last axis, shape `(..., m)`.
      semantics: `"product"`, `"goedel"` or `"lukasiewicz"` (see the module docs).

    Returns:
      shape `values.shape[:-1]`, in [0, 1].

    Example:
      >>> round(float(count_truth("AtLeast", 1, jnp.array([0.5, 0.5]), "product")), 6)
      0.75
    """
    _check_semantics(semantics)
    if kind not in COUNTS:
        raise ValueError(f"Unknown count {kind!r}; choose one of {', '.join(COUNTS)}.")
    values = jnp.asarray(values)
    if not jnp.issubdtype(values.dtype, jnp.inexact):
        values = values.astype(jnp.result_type(float))
    m = values.shape[-1]
    k = int(k)

    def at_least(j):
        if j <= 0:
            return jnp.ones(values.shape[:-1], values.dtype)
        if j > m:
            return jnp.zeros(values.shape[:-1], values.dtype)
        if semantics == "goedel":
            return -jnp.sort(-values, axis=-1)[..., j - 1]
        if semantics == "lukasiewicz":
            return jnp.clip(jnp.sum(values, axis=-1) - j + 1, 0, 1)
        return _poisson_binomial_tail(values, j)[0]

    if semantics == "product":
        if k > m:
            ge_k, ge_k1 = jnp.zeros(values.shape[:-1], values.dtype), jnp.zeros(values.shape[:-1], values.dtype)
        elif k == 0:
            ge_k, ge_k1 = jnp.ones(values.shape[:-1], values.dtype), at_least(1)
        else:
            ge_k, ge_k1 = _poisson_binomial_tail(values, k)
        if kind == "AtLeast":
            return ge_k
        if kind == "AtMost":
            return 1 - ge_k1
        return ge_k - ge_k1
    ge_k, le_k = at_least(k), 1 - at_least(k + 1)
    if kind == "AtLeast":
        return ge_k
    if kind == "AtMost":
        return le_k
    return conjunction(ge_k, le_k, semantics)


def neighbour_values(lattice: Lattice, values: jax.Array) -> jax.Array:
    """Per-site truth values -> `(*lattice.shape, m, ...)` neighbour truth values.

    Beyond a `"fixed"` edge a neighbour is true when `lattice.fill > 0` and false otherwise (the
    same convention as the live-neighbour count of `rules.symbolic.SymbolicRule`).
    """
    if lattice.boundary == "fixed":
        lattice = lattice.replace(fill=1.0 if lattice.fill > 0 else 0.0)
    return lattice.neighbours(values)


# ---------------------------------------------------------------------------- formulas
_BOOLEAN_NODES = (
    "And, Or, Not, Implies, Xor, Equivalent, ITE, Nand, Nor, true, false, "
    "AtLeast/AtMost/Exactly(k, p)"
)


def fuzzy_connective(node: sympy.Basic, args: list, semantics: str, implication_name: str):
    """Combine already-evaluated truth values of `node.args` for one Boolean sympy node.

    Returns None when `node` is not a Boolean connective handled here (the caller decides).
    """
    if isinstance(node, boolalg.And):
        out = args[0]
        for a in args[1:]:
            out = conjunction(out, a, semantics)
        return out
    if isinstance(node, boolalg.Or):
        out = args[0]
        for a in args[1:]:
            out = disjunction(out, a, semantics)
        return out
    if isinstance(node, boolalg.Not):
        return negation(args[0])
    if isinstance(node, boolalg.Implies):
        return implication(args[0], args[1], semantics, implication_name)
    if isinstance(node, boolalg.Xor):
        out = args[0]
        for a in args[1:]:
            out = conjunction(disjunction(out, a, semantics), negation(conjunction(out, a, semantics)), semantics)
        return out
    if isinstance(node, boolalg.Equivalent):
        out = None
        for a, b in zip(args[:-1], args[1:]):
            eq = conjunction(
                implication(a, b, semantics, implication_name),
                implication(b, a, semantics, implication_name),
                semantics,
            )
            out = eq if out is None else conjunction(out, eq, semantics)
        return jnp.ones_like(args[0]) if out is None else out
    if isinstance(node, boolalg.ITE):
        c, a, b = args
        return disjunction(conjunction(c, a, semantics), conjunction(negation(c), b, semantics), semantics)
    if isinstance(node, boolalg.Nand):
        return negation(fuzzy_connective(boolalg.And(*node.args, evaluate=False), args, semantics, implication_name))
    if isinstance(node, boolalg.Nor):
        return negation(fuzzy_connective(boolalg.Or(*node.args, evaluate=False), args, semantics, implication_name))
    return None


def parse_formula(expr, names: Mapping[str, sympy.Basic] | None = None) -> sympy.Basic:
    """A sympy expression from `expr` (sympy, or a string parsed with the count predicates known).

    Every identifier in a string becomes a plain symbol of that name (so `E`, `I`, `N`, `S` or
    `Q` are names, not sympy's constants), except sympy's function names and `names`.
    """
    if isinstance(expr, sympy.Basic):
        return expr
    if isinstance(expr, bool):
        return sympy.true if expr else sympy.false
    if not isinstance(expr, str):
        raise TypeError(
            f"Expected a sympy expression or a string such as 'Implies(a, Not(b))', got "
            f"{type(expr).__name__}."
        )
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as err:
        raise ValueError(f"Cannot parse the expression {expr!r}: {err.msg}.") from err
    local = dict(COUNTS)
    if names:
        local.update(names)
    # Names that are called stay sympy functions (Eq, exp, ...); every other name is a symbol,
    # so that single letters such as E, I, N, S, Q are not taken for sympy's objects.
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and node.id not in local
            and id(node) not in called
            and node.id not in ("true", "false", "oo", "pi", "nan", "zoo")
        ):
            local[node.id] = sympy.Symbol(node.id)
    try:
        return sympy.sympify(expr, locals=local)
    except (sympy.SympifyError, TypeError, SyntaxError) as err:
        raise ValueError(f"Cannot parse the expression {expr!r}: {err}") from err


def _check_unit_interval(name: str, value) -> None:
    """Raise if a concrete array has values outside [0, 1]; tracers pass unchecked."""
    try:
        v = np.asarray(value, dtype=np.float64)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return
    except (TypeError, ValueError) as err:
        raise TypeError(f"Predicate {name!r} must be an array of truth values, got {type(value).__name__}.") from err
    inside = (v >= 0) & (v <= 1)
    if not np.all(inside):
        bad = v[~inside]
        raise ValueError(
            f"Predicate {name!r} has {bad.size} value(s) outside [0, 1] (e.g. {float(bad.flat[0])}). "
            "Truth values are probabilities or degrees in [0, 1]: pass e.g. "
            "jax.nn.sigmoid(logits) or jax.nn.softmax(logits)[..., k]."
        )


class Constraint(struct.PyTreeNode):
    """A fuzzy-logic constraint: a sympy Boolean formula over named predicates.

    Calling it with a dict of truth values (arrays in [0, 1], broadcast together) gives the
    degree of satisfaction per site or cell; `loss` turns that into a training loss. The formula
    is static configuration (a constraint has no trainable parameters).

    Args:
      expr: a sympy Boolean expression or a string (`"Implies(gut, Not(skin))"`); symbols are
        predicate names; `AtLeast(k, p)`, `AtMost(k, p)`, `Exactly(k, p)` count neighbours on a
        lattice (see the module docs).
      semantics: `"product"` (default), `"goedel"` or `"lukasiewicz"`.
      implication: name from `IMPLICATIONS`, or None for the semantics' default (Reichenbach,
        Goedel residuum, Lukasiewicz).
      predicates: optional names the formula may use; a symbol outside them is an error (catches
        typos early). By default every symbol in the formula is a predicate.

    Reference: van Krieken, Acar & van Harmelen 2022, "Analyzing differentiable fuzzy logic
    operators", Artificial Intelligence 302:103602 (arXiv:2002.06100).

    Example:
      >>> import jax.numpy as jnp
      >>> c = Constraint("Implies(a, b)", semantics="product")
      >>> float(c.loss({"a": jnp.array([1.0]), "b": jnp.array([1.0])}))
      0.0
    """

    expr: sympy.Basic = struct.field(pytree_node=False)
    semantics: str = struct.field(pytree_node=False, default="product")
    implication: str | None = struct.field(pytree_node=False, default=None)
    predicates: tuple[str, ...] | None = struct.field(pytree_node=False, default=None)

    def __post_init__(self):
        expr = parse_formula(self.expr)
        if not isinstance(expr, boolalg.Boolean):
            raise TypeError(
                f"A constraint is a Boolean formula (And, Or, Implies, ...), got the "
                f"{type(expr).__name__} {expr}. For comparisons of numbers use "
                "rules.symbolic.SymbolicExpression in soft mode."
            )
        object.__setattr__(self, "expr", expr)
        _resolve_implication(self.semantics, self.implication)
        if self.predicates is not None:
            preds = (self.predicates,) if isinstance(self.predicates, str) else tuple(self.predicates)
            object.__setattr__(self, "predicates", preds)
            unknown = sorted(s.name for s in expr.free_symbols if s.name not in preds)
            if unknown:
                raise ValueError(
                    f"The constraint {expr} uses unknown predicate(s) {', '.join(unknown)}; "
                    f"known predicates: {', '.join(preds) or '(none)'}."
                )
        self._walk_check(expr)

    def _walk_check(self, node) -> None:
        """Reject node types with no fuzzy meaning at construction time."""
        if isinstance(node, (sympy.Symbol, boolalg.BooleanTrue, boolalg.BooleanFalse)):
            return
        if isinstance(node, _Count):
            self._walk_check(node.args[1])
            return
        known = (
            boolalg.And, boolalg.Or, boolalg.Not, boolalg.Implies, boolalg.Xor,
            boolalg.Equivalent, boolalg.ITE, boolalg.Nand, boolalg.Nor,
        )
        if not isinstance(node, known):
            raise TypeError(
                f"Constraint formulas use {_BOOLEAN_NODES} over predicate symbols; "
                f"{type(node).__name__} ({node}) is not supported. For comparisons of numbers use "
                "rules.symbolic.SymbolicExpression in soft mode."
            )
        for a in node.args:
            self._walk_check(a)

    @property
    def names(self) -> tuple[str, ...]:
        """The predicate names the formula uses, sorted."""
        return tuple(sorted(s.name for s in self.expr.free_symbols))

    def __call__(
        self,
        truth: Mapping[str, jax.Array],
        *,
        lattice: Lattice | None = None,
        neighbours: jax.Array | None = None,
    ) -> jax.Array:
        """Degree of satisfaction in [0, 1].

        Args:
          truth: predicate name -> truth values in [0, 1]; the arrays broadcast together (per
            site, per cell, ...). Extra names are ignored, so one dict can serve many
            constraints.
          lattice: needed when the formula counts neighbours; then the broadcast truth arrays
            have shape `lattice.shape` (plus optional trailing axes).
          neighbours: instead of a lattice, the neighbours of cells in a contact graph: an
            `(num_cells, m)` integer array of neighbour indices padded with -1 (see
            `neurosym.constraints.neighbour_index`); the truth arrays then have shape
            `(num_cells,)` (plus optional trailing axes). A padded slot counts as false.

        Returns:
          the broadcast shape of the truth arrays.
        """
        if not isinstance(truth, Mapping):
            raise TypeError(
                f"truth must be a dict mapping predicate names to arrays in [0, 1], got "
                f"{type(truth).__name__}."
            )
        missing = [n for n in self.names if n not in truth]
        if missing:
            raise ValueError(
                f"The constraint {self.expr} needs truth values for {', '.join(missing)}; given: "
                f"{', '.join(sorted(truth)) or '(none)'}."
            )
        values = {}
        for n in self.names:
            _check_unit_interval(n, truth[n])
            v = jnp.asarray(truth[n])
            if not jnp.issubdtype(v.dtype, jnp.inexact):
                v = v.astype(jnp.result_type(float))
            values[n] = v
        try:
            shape = jnp.broadcast_shapes(*(v.shape for v in values.values())) if values else ()
        except ValueError as err:
            shapes = ", ".join(f"{n}: {v.shape}" for n, v in values.items())
            raise ValueError(
                f"The truth arrays do not broadcast together ({shapes}); give every predicate "
                "the same per-site or per-cell shape."
            ) from err
        values = {n: jnp.broadcast_to(v, shape) for n, v in values.items()}
        dtype = jnp.result_type(*values.values()) if values else jnp.result_type(float)
        has_counts = bool(self.expr.atoms(_Count))
        if lattice is not None and neighbours is not None:
            raise ValueError("Give neighbours on a lattice (lattice=) or in a contact graph (neighbours=), not both.")
        if has_counts and neighbours is not None:
            neighbours = jnp.asarray(neighbours)
            if neighbours.ndim != 2 or not jnp.issubdtype(neighbours.dtype, jnp.integer):
                raise ValueError(
                    "neighbours must be an (num_cells, m) integer array of neighbour indices "
                    f"padded with -1, got shape {tuple(neighbours.shape)} and dtype {neighbours.dtype}."
                )
            if not shape or shape[0] != neighbours.shape[0]:
                raise ValueError(
                    f"neighbours lists {neighbours.shape[0]} cells but the truth arrays have shape "
                    f"{tuple(shape)}; give one row of neighbours per cell."
                )
        elif has_counts:
            if not isinstance(lattice, Lattice):
                raise ValueError(
                    f"The constraint {self.expr} counts neighbours (AtLeast/AtMost/Exactly) and "
                    "needs lattice=automata.Lattice(...) or a contact graph's neighbours=."
                )
            if tuple(shape[: lattice.ndim]) != lattice.shape:
                raise ValueError(
                    f"Counting neighbours needs truth arrays of shape {lattice.shape} (the "
                    f"lattice), got broadcast shape {tuple(shape)}."
                )
        impl = _resolve_implication(self.semantics, self.implication)

        def walk(node):
            if isinstance(node, sympy.Symbol):
                return values[node.name]
            if isinstance(node, boolalg.BooleanTrue):
                return jnp.ones(shape, dtype)
            if isinstance(node, boolalg.BooleanFalse):
                return jnp.zeros(shape, dtype)
            if isinstance(node, _Count):
                inner = walk(node.args[1])
                if neighbours is not None:
                    present = neighbours >= 0
                    nb = inner[jnp.where(present, neighbours, 0)]
                    nb = jnp.where(present.reshape(present.shape + (1,) * (nb.ndim - 2)), nb, 0)
                    nb = jnp.moveaxis(nb, 1, -1)
                else:
                    nb = jnp.moveaxis(neighbour_values(lattice, inner), lattice.ndim, -1)
                return count_truth(type(node).__name__, int(node.args[0]), nb, self.semantics)
            return fuzzy_connective(node, [walk(a) for a in node.args], self.semantics, impl)

        return walk(self.expr)

    def loss(
        self,
        truth: Mapping[str, jax.Array],
        *,
        lattice: Lattice | None = None,
        neighbours: jax.Array | None = None,
        reduction: str = "mean",
        mask: jax.Array | None = None,
        eps: float = 1e-6,
    ) -> jax.Array:
        """A scalar loss that is 0 when the constraint holds everywhere.

        Args:
          truth, lattice, neighbours: as for calling the constraint.
          reduction: `"mean"`: mean of `1 - satisfaction`; `"log"`: mean of
            `-log(satisfaction + eps)` (steeper for badly violated sites).
          mask: optional boolean or 0/1 weights of the satisfaction's shape (e.g. the alive
            cells); masked-out entries do not count.
          eps: keeps the log finite at satisfaction 0.

        Example:
          >>> import jax.numpy as jnp
          >>> c = Constraint("Or(a, b)", semantics="goedel")
          >>> round(float(c.loss({"a": jnp.array([0.2, 1.0]), "b": jnp.array(0.4)})), 4)
          0.3
        """
        sat = self(truth, lattice=lattice, neighbours=neighbours)
        if reduction == "mean":
            per = 1 - sat
        elif reduction == "log":
            per = -jnp.log(sat + eps)
        else:
            raise ValueError(f"Unknown reduction {reduction!r}; choose 'mean' or 'log'.")
        if mask is None:
            return jnp.mean(per)
        mask = jnp.asarray(mask)
        try:
            w = jnp.broadcast_to(mask, per.shape).astype(per.dtype)
        except ValueError as err:
            raise ValueError(
                f"mask has shape {mask.shape}, but the satisfaction has shape {per.shape}."
            ) from err
        return jnp.sum(per * w) / jnp.maximum(jnp.sum(w), 1)
