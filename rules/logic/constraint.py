"""`Constraint`: a sympy Boolean formula over named soft predicates, scored in [0, 1].

Calling a constraint runs three named steps: `truth_arrays` checks and broadcasts the truth
values, `check_neighbours` checks the lattice or contact graph the counts need, and
`satisfaction` walks the formula with the connectives of `rules.logic.semantics` and the counts
of `rules.logic.counting`.

Example:
  >>> import jax.numpy as jnp
  >>> c = Constraint("Implies(neuron, Not(muscle))", semantics="lukasiewicz")
  >>> [round(float(v), 4) for v in c({"neuron": jnp.array([1.0, 0.9]), "muscle": jnp.array([0.0, 0.4])})]
  [1.0, 0.7]
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from flax import struct
from sympy.logic import boolalg

from automata._checks import as_float, check_choice, concrete, fail
from automata.lattice import Lattice
from rules.logic.counting import Count, count_truth, neighbour_values
from rules.logic.formula import check_boolean_formula, check_known_symbols, parse_formula
from rules.logic.semantics import fuzzy_connective, resolve_implication

__all__ = ["Constraint", "check_neighbours", "satisfaction", "truth_arrays"]

_OWNER = "Constraint"


def _check_unit_interval(name: str, value) -> None:
    """Refuse a concrete array with values outside [0, 1]; a traced one is the caller's to check."""
    if isinstance(value, jax.core.Tracer):
        return
    array = concrete(value)
    if array is None or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise fail(
            _OWNER, f"truth[{name!r}] must be an array of truth values, got {type(value).__name__}.", TypeError
        )
    v = array.astype(np.float64)
    inside = (v >= 0) & (v <= 1)
    if not np.all(inside):
        bad = v[~inside]
        raise fail(
            _OWNER,
            f"truth[{name!r}] must lie in [0, 1], got {bad.size} value(s) outside (e.g. "
            f"{float(bad.flat[0])}). Truth values are probabilities or degrees: pass e.g. "
            "jax.nn.sigmoid(logits) or jax.nn.softmax(logits)[..., k].",
        )


def truth_arrays(truth: Mapping[str, jax.Array], names: tuple[str, ...]) -> tuple[dict, tuple, jnp.dtype]:
    """Check the truth values of `names` and broadcast them to one shape.

    Returns:
      `(values, shape, dtype)`: name -> float array of the broadcast `shape`, and their dtype.

    Example:
      >>> values, shape, _ = truth_arrays({"a": jnp.ones(3), "b": 0.5}, ("a", "b"))
      >>> shape, values["b"].tolist()
      ((3,), [0.5, 0.5, 0.5])
    """
    if not isinstance(truth, Mapping):
        raise fail(
            _OWNER,
            f"truth must be a dict mapping predicate names to arrays in [0, 1], got {type(truth).__name__}.",
            TypeError,
        )
    missing = [n for n in names if n not in truth]
    if missing:
        raise fail(
            _OWNER,
            f"truth must give values for {', '.join(missing)}; given: {', '.join(sorted(truth)) or '(none)'}.",
        )
    for n in names:
        _check_unit_interval(n, truth[n])
    values = {n: as_float(jnp.asarray(truth[n])) for n in names}
    try:
        shape = jnp.broadcast_shapes(*(v.shape for v in values.values())) if values else ()
    except ValueError as err:
        shapes = ", ".join(f"{n}: {v.shape}" for n, v in values.items())
        raise fail(
            _OWNER,
            f"truth arrays must broadcast together, got {shapes}; give every predicate the same "
            "per-site or per-cell shape.",
        ) from err
    values = {n: jnp.broadcast_to(v, shape) for n, v in values.items()}
    dtype = jnp.result_type(*values.values()) if values else jnp.result_type(float)
    return values, tuple(shape), dtype


def check_neighbours(
    expr: sympy.Basic, shape: tuple, lattice: Lattice | None, neighbours
) -> jax.Array | None:
    """Check where the counts of `expr` find their neighbours; the contact graph as an array.

    Returns:
      `neighbours` as an integer array when the formula counts over a contact graph, else None
      (no counts, or counts on `lattice`).

    Example:
      >>> check_neighbours(parse_formula("AtLeast(1, a)"), (2,), None, [[1], [0]]).tolist()
      [[1], [0]]
    """
    if lattice is not None and neighbours is not None:
        raise fail(_OWNER, "lattice and neighbours must not both be given: counts use one or the other.")
    if not expr.atoms(Count):
        return None
    if neighbours is not None:
        neighbours = jnp.asarray(neighbours)
        if neighbours.ndim != 2 or not jnp.issubdtype(neighbours.dtype, jnp.integer):
            raise fail(
                _OWNER,
                "neighbours must be an (num_cells, m) integer array of neighbour indices padded with "
                f"-1, got shape {tuple(neighbours.shape)} and dtype {neighbours.dtype}.",
            )
        if not shape or shape[0] != neighbours.shape[0]:
            raise fail(
                _OWNER,
                f"neighbours must have one row per cell: it lists {neighbours.shape[0]} cells but the "
                f"truth arrays have shape {shape}.",
            )
        return neighbours
    if not isinstance(lattice, Lattice):
        raise fail(
            _OWNER,
            f"lattice must be given: {expr} counts neighbours (AtLeast/AtMost/Exactly) and needs "
            "lattice=automata.Lattice(...) or a contact graph's neighbours=.",
        )
    if shape[: lattice.ndim] != lattice.shape:
        raise fail(
            _OWNER,
            f"truth arrays must have the lattice's shape {lattice.shape} to count neighbours, got "
            f"broadcast shape {shape}.",
        )
    return None


def _gather_neighbours(inner: jax.Array, lattice: Lattice | None, neighbours: jax.Array | None) -> jax.Array:
    """Per-site (or per-cell) truth values -> the neighbours' values on the last axis."""
    if neighbours is None:
        return jnp.moveaxis(neighbour_values(lattice, inner), lattice.ndim, -1)
    present = neighbours >= 0
    nb = inner[jnp.where(present, neighbours, 0)]
    # A padded slot counts as false.
    nb = jnp.where(present.reshape(present.shape + (1,) * (nb.ndim - 2)), nb, 0)
    return jnp.moveaxis(nb, 1, -1)


def satisfaction(
    expr: sympy.Basic,
    values: Mapping[str, jax.Array],
    *,
    shape: tuple,
    dtype,
    semantics: str,
    implication: str,
    lattice: Lattice | None = None,
    neighbours: jax.Array | None = None,
) -> jax.Array:
    """The fuzzy truth value of a checked formula on checked truth arrays (see `Constraint`).

    Example:
      >>> float(satisfaction(parse_formula("Or(a, b)"), {"a": jnp.array(0.5), "b": jnp.array(0.5)},
      ...                    shape=(), dtype=jnp.float32, semantics="product", implication="reichenbach"))
      0.75
    """

    def walk(node):
        if isinstance(node, sympy.Symbol):
            return values[node.name]
        if isinstance(node, (boolalg.BooleanTrue, boolalg.BooleanFalse)):
            return jnp.full(shape, 1.0 if isinstance(node, boolalg.BooleanTrue) else 0.0, dtype)
        if isinstance(node, Count):
            nb = _gather_neighbours(walk(node.args[1]), lattice, neighbours)
            return count_truth(type(node).__name__, int(node.args[0]), nb, semantics)
        return fuzzy_connective(node, [walk(a) for a in node.args], semantics, implication)

    return walk(expr)


class Constraint(struct.PyTreeNode):
    """A fuzzy-logic constraint: a sympy Boolean formula over named predicates.

    Calling it with a dict of truth values (arrays in [0, 1], broadcast together) gives the
    degree of satisfaction per site or cell; `loss` turns that into a training loss. The formula
    is static configuration (a constraint has no trainable parameters).

    Args:
      expr: a sympy Boolean expression or a string (`"Implies(gut, Not(skin))"`); symbols are
        predicate names; `AtLeast(k, p)`, `AtMost(k, p)`, `Exactly(k, p)` count neighbours on a
        lattice (see `rules.logic.counting`).
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
        expr = parse_formula(self.expr, owner=_OWNER)
        if not isinstance(expr, boolalg.Boolean):
            raise fail(
                _OWNER,
                f"expr must be a Boolean formula (And, Or, Implies, ...), got the "
                f"{type(expr).__name__} {expr}. For comparisons of numbers use "
                "rules.symbolic.SymbolicExpression in soft mode.",
                TypeError,
            )
        object.__setattr__(self, "expr", expr)
        resolve_implication(self.semantics, self.implication, _OWNER)
        if self.predicates is not None:
            preds = (self.predicates,) if isinstance(self.predicates, str) else tuple(self.predicates)
            object.__setattr__(self, "predicates", preds)
            check_known_symbols(expr, preds, "predicates", _OWNER)
        check_boolean_formula(expr, _OWNER)

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
        values, shape, dtype = truth_arrays(truth, self.names)
        neighbours = check_neighbours(self.expr, shape, lattice, neighbours)
        return satisfaction(
            self.expr, values, shape=shape, dtype=dtype, semantics=self.semantics,
            implication=resolve_implication(self.semantics, self.implication, _OWNER),
            lattice=lattice, neighbours=neighbours,
        )

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
        check_choice(reduction, "reduction", ("mean", "log"), owner="Constraint.loss")
        sat = self(truth, lattice=lattice, neighbours=neighbours)
        per = 1 - sat if reduction == "mean" else -jnp.log(sat + eps)
        if mask is None:
            return jnp.mean(per)
        mask = jnp.asarray(mask)
        try:
            w = jnp.broadcast_to(mask, per.shape).astype(per.dtype)
        except ValueError as err:
            raise fail(
                "Constraint.loss", f"mask must have the satisfaction's shape {per.shape}, got {mask.shape}."
            ) from err
        return jnp.sum(per * w) / jnp.maximum(jnp.sum(w), 1)
