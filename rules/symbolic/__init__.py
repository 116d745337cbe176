"""Sympy expressions compiled to JAX, crisp (exact) or soft (smooth, with a temperature).

An expression over named inputs (a site's state, neighbour counts, expression levels, ...) and
named parameters becomes a function of arrays. The tree is walked node by node (no
`sympy.lambdify`, see `rules.symbolic.lowering`), so that every node has both meanings:

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

Modules: `nodes` (the supported sympy nodes), `lowering` (`evaluate`, `MODES`), `params`
(names and parameters), `expression` (`SymbolicExpression`), `rule` (`SymbolicRule`).

Example:
  >>> import jax.numpy as jnp, sympy
  >>> from rules.symbolic import SymbolicExpression
  >>> f = SymbolicExpression("x > theta", inputs=("x",), params={"theta": 0.5})
  >>> f({"x": jnp.array([0.2, 0.9])})
  Array([False,  True], dtype=bool)
  >>> f.to_sympy()
  x > 0.5
"""

from rules.symbolic.expression import SymbolicExpression
from rules.symbolic.lowering import MODES, evaluate
from rules.symbolic.rule import SymbolicRule

__all__ = ["MODES", "SymbolicExpression", "SymbolicRule", "evaluate"]
