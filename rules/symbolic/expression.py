"""`SymbolicExpression`: a sympy expression over named inputs and trainable parameters.

Example:
  >>> import jax.numpy as jnp
  >>> f = SymbolicExpression("Eq(n, 3)", inputs=("n",), integer_inputs=("n",))
  >>> f({"n": jnp.arange(5)}).tolist()
  [False, False, False, True, False]
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import sympy
from flax import struct

from automata._checks import fail
from rules.logic import parse_formula
from rules.symbolic.lowering import check_config, evaluate
from rules.symbolic.nodes import check_supported
from rules.symbolic.params import as_names, check_symbols, normalise_params, param_values, substitute

__all__ = ["SymbolicExpression", "settle_fields"]


def settle_fields(obj, inputs: tuple[str, ...], owner: str) -> None:
    """Check and canonicalise the shared fields of a symbolic object in place (in `__post_init__`).

    Normalises `params`, checks `mode`, `temperature`, `semantics` and `implication`, parses
    `expr` with `inputs` and the parameters as symbols, and checks its symbols and nodes.
    """
    params = normalise_params(obj.params, owner)
    object.__setattr__(obj, "params", params)
    check_config(obj.mode, obj.temperature, obj.semantics, obj.implication, owner)
    object.__setattr__(obj, "temperature", float(obj.temperature))
    expr = parse_formula(obj.expr, {n: sympy.Symbol(n) for n in inputs + tuple(params)}, owner=owner)
    object.__setattr__(obj, "expr", expr)
    check_symbols(expr, inputs, tuple(params), owner)
    check_supported(expr, obj.mode, owner)


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
        inputs = as_names(self.inputs, "inputs", owner)
        object.__setattr__(self, "inputs", inputs)
        integer = as_names(self.integer_inputs, "integer_inputs", owner)
        stray = [n for n in integer if n not in inputs]
        if stray:
            raise fail(owner, f"integer_inputs must be among the inputs {inputs}, got {stray}.")
        object.__setattr__(self, "integer_inputs", integer)
        settle_fields(self, inputs, owner)

    def _values(self, inputs: Mapping[str, jax.Array]) -> tuple[dict, tuple]:
        """The inputs and parameters as arrays, and their broadcast shape."""
        owner = "SymbolicExpression"
        if not isinstance(inputs, Mapping):
            raise fail(
                owner, f"inputs must be a dict of input arrays, e.g. f({{'n': n}}); got {type(inputs).__name__}.",
                TypeError,
            )
        missing = [n for n in self.inputs if n not in inputs]
        extra = sorted(n for n in inputs if n not in self.inputs)
        if missing or extra:
            raise fail(
                owner,
                f"inputs must name exactly {', '.join(self.inputs) or '(none)'}; "
                + (f"missing: {', '.join(missing)}. " if missing else "")
                + (f"unknown: {', '.join(extra)}." if extra else ""),
            )
        values = {n: jnp.asarray(inputs[n]) for n in self.inputs}
        values.update(param_values(self.params, owner))
        try:
            shape = jnp.broadcast_shapes(*(v.shape for v in values.values()))
        except ValueError as err:
            shapes = ", ".join(f"{n}: {tuple(v.shape)}" for n, v in values.items())
            raise fail(
                owner,
                f"inputs and parameters must broadcast together; their shapes do not broadcast together "
                f"({shapes}). Give every input the same shape (parameters scalar or of that shape).",
            ) from err
        return values, shape

    def __call__(self, inputs: Mapping[str, jax.Array]) -> jax.Array:
        """Evaluate on arrays: `inputs` maps every declared input name to an array.

        Returns:
          the broadcast shape of the inputs and parameters; booleans for a crisp logical
          expression, floats otherwise.
        """
        values, shape = self._values(inputs)
        out = evaluate(
            self.expr, values, mode=self.mode, temperature=self.temperature,
            semantics=self.semantics, implication=self.implication,
            integer=self.integer_inputs, params=tuple(self.params),
        )
        return jnp.broadcast_to(out, shape)

    def to_sympy(self, digits: int | None = None) -> sympy.Basic:
        """The expression with the current parameter values substituted (optionally rounded to
        `digits` significant digits)."""
        return substitute(self.expr, self.params, digits, "SymbolicExpression")
