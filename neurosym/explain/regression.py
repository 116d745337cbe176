"""Sparse regression: an equation with few terms over a library of sympy terms (STLSQ).

`target = sum_j xi_j term_j(inputs)` with few nonzero coefficients over a library of sympy
terms (`polynomial_library`), by sequentially thresholded least squares (Brunton, Proctor &
Kutz 2016). The result (`Equation`) is a sympy expression that
`rules.symbolic.SymbolicExpression` compiles back to JAX.

Example:
  >>> import numpy as np
  >>> u = np.linspace(-1, 1, 50)
  >>> str(sparse_regression({"u": u}, 2 * u**3, polynomial_library(["u"], 3)))
  '2.0*u**3'
"""

from __future__ import annotations

import dataclasses
import itertools
import numbers
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from automata._checks import check_int, fail
from rules.logic import parse_formula

__all__ = ["Equation", "polynomial_library", "sparse_regression"]


def polynomial_library(
    names: Sequence[str], degree: int, *, include_bias: bool = True
) -> tuple[sympy.Expr, ...]:
    """Every monomial of the named inputs up to `degree`, lowest degree first.

    Args:
      names: input names (identifiers), e.g. `("u", "v")`.
      degree: the highest total degree (>= 1).
      include_bias: start with the constant term `1`.

    Example:
      >>> polynomial_library(["u", "v"], 2)
      (1, u, v, u**2, u*v, v**2)
    """
    owner = "polynomial_library"
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
        raise fail(
            owner, f"names must be a non-empty sequence of identifiers such as ('u', 'v'); got {names!r}."
        )
    if len(set(names)) != len(names):
        raise fail(owner, f"names contain duplicates: {names}.")
    degree = check_int(degree, "degree", 1, owner=owner)
    syms = [sympy.Symbol(n) for n in names]
    terms: list[sympy.Expr] = [sympy.Integer(1)] if include_bias else []
    for d in range(1, degree + 1):
        terms.extend(sympy.Mul(*combo) for combo in itertools.combinations_with_replacement(syms, d))
    return tuple(terms)


@dataclasses.dataclass(frozen=True, eq=False)
class Equation:
    """A sparse equation fitted by `sparse_regression`.

    Attributes:
      expr: the sympy expression `sum_j xi_j term_j`, coefficients rounded to `digits`
        significant digits (dropped terms omitted); `str(eq)` prints it.
      coefficients: every library term -> its fitted coefficient at full precision (0.0 for
        dropped terms), in library order.
      r2: coefficient of determination on the fitted samples (NaN for a constant target).
      residual_rms: root-mean-square residual, in the target's units.
      inputs: the input names.
      iterations: thresholding passes run.

    Calling `eq(inputs)` evaluates the full-precision equation: numpy in, numpy out; JAX arrays
    in, JAX out (traceable, differentiable).
    """

    expr: sympy.Expr
    coefficients: dict
    r2: float
    residual_rms: float
    inputs: tuple[str, ...]
    iterations: int
    _numpy: Callable = dataclasses.field(repr=False)
    _jax: Callable = dataclasses.field(repr=False)

    @property
    def terms(self) -> tuple[sympy.Expr, ...]:
        """The library terms kept (nonzero coefficients)."""
        return tuple(t for t, c in self.coefficients.items() if c != 0.0)

    def __str__(self) -> str:
        return str(self.expr)

    def __call__(self, inputs: Mapping[str, object]):
        """Evaluate on arrays; `inputs` maps every input name to an array (they broadcast)."""
        if not isinstance(inputs, Mapping):
            raise TypeError(
                f"Equation: inputs must be a mapping name -> array; got {type(inputs).__name__}."
            )
        missing = [n for n in self.inputs if n not in inputs]
        if missing:
            raise ValueError(f"Equation: inputs lack {missing}; the equation needs {list(self.inputs)}.")
        args = [inputs[n] for n in self.inputs]
        if any(isinstance(a, jax.Array) for a in args):
            return self._jax(*args)
        return self._numpy(*[np.asarray(a, np.float64) for a in args])


def _library_terms(library, symbols: Mapping[str, sympy.Symbol], owner: str) -> tuple[sympy.Expr, ...]:
    if isinstance(library, (str, sympy.Basic)):
        library = (library,)
    try:
        items = list(library)
    except TypeError as err:
        raise TypeError(
            f"{owner}: library must be a sequence of sympy expressions or strings (e.g. "
            f"polynomial_library(names, degree)); got {type(library).__name__}."
        ) from err
    if not items:
        raise fail(owner, "the library is empty; give at least one term, e.g. polynomial_library(names, 2).")
    terms = []
    for i, item in enumerate(items):
        if isinstance(item, numbers.Number) and not isinstance(item, bool):
            item = sympy.sympify(item)
        term = parse_formula(item, dict(symbols))
        if not isinstance(term, sympy.Expr):
            raise fail(owner, f"library term {i} ({term}) is not an arithmetic expression.", TypeError)
        unknown = sorted(s.name for s in term.free_symbols if s.name not in symbols)
        if unknown:
            raise fail(
                owner,
                f"library term {i} ({term}) uses {unknown}, which are not inputs {sorted(symbols)}. "
                "Add them to inputs or change the term.",
            )
        # Name-matched symbols (whatever their assumptions) become the plain input symbols.
        terms.append(term.xreplace({s: symbols[s.name] for s in term.free_symbols}))
    seen = set()
    for t in terms:
        if t in seen:
            raise fail(owner, f"the library contains the term {t} twice; remove the duplicate.")
        seen.add(t)
    return tuple(terms)


def _check_inputs(inputs, owner: str) -> None:
    if not isinstance(inputs, Mapping) or not inputs:
        raise fail(
            owner,
            "inputs must be a non-empty mapping name -> array of samples, e.g. {'u': u}; got "
            f"{type(inputs).__name__}.",
        )
    for name in inputs:
        if not (isinstance(name, str) and name.isidentifier()):
            raise fail(owner, f"input names must be identifiers such as 'u'; got {name!r}.")


def _samples(inputs, target, owner: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The inputs and target as flat float64 samples of one shape, all finite."""
    y = np.asarray(target, np.float64)
    data = {}
    for n in inputs:
        v = np.asarray(inputs[n], np.float64)
        if v.shape != y.shape:
            raise fail(
                owner,
                f"input {n!r} has shape {v.shape} but the target has {y.shape}; give one value "
                "per sample in every array.",
            )
        if not np.all(np.isfinite(v)):
            raise fail(owner, f"input {n!r} has non-finite values; drop those samples.")
        data[n] = v.ravel()
    y = y.ravel()
    if not np.all(np.isfinite(y)):
        raise fail(owner, "the target has non-finite values; drop those samples.")
    return data, y


def _design_matrix(terms, syms, data, y, owner: str) -> np.ndarray:
    """`Theta`, `(num_samples, num_terms)`: every term evaluated on the samples."""
    cols = []
    with np.errstate(all="ignore"):
        for t in terms:
            values = sympy.lambdify(syms, t, "numpy")(*data.values())
            col = np.broadcast_to(np.asarray(values, np.float64), y.shape)
            if not np.all(np.isfinite(col)):
                raise fail(
                    owner,
                    f"the term {t} is not finite at some samples (e.g. a log of 0 or a division "
                    "by 0); restrict the samples or change the term.",
                )
            cols.append(col)
    theta = np.stack(cols, 1)
    zero = [str(t) for t, s in zip(terms, np.sqrt(np.mean(theta**2, 0))) if s == 0]
    if zero:
        raise fail(
            owner,
            f"the term(s) {zero} are 0 at every sample, so their coefficients cannot be fitted; "
            "remove them or give samples where they vary.",
        )
    return theta


def _solve(a: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    if ridge == 0.0:
        return np.linalg.lstsq(a, b, rcond=None)[0]
    n = a.shape[0]
    return np.linalg.solve(a.T @ a / n + ridge * np.eye(a.shape[1]), a.T @ b / n)


def _stlsq(a: np.ndarray, b: np.ndarray, threshold: float, max_iter: int, ridge: float):
    """Sequentially thresholded least squares on scaled columns: `(xi, active, iterations)`."""
    active = np.ones(a.shape[1], bool)
    xi = np.zeros(a.shape[1])
    iterations = 0
    for iterations in range(1, max_iter + 1):
        xi = np.zeros(a.shape[1])
        xi[active] = _solve(a[:, active], b, ridge)
        drop = active & (np.abs(xi) < threshold)
        if not drop.any():
            break
        active &= ~drop
        xi[~active] = 0.0
        if not active.any():
            break
    else:
        if active.any():
            xi = np.zeros(a.shape[1])
            xi[active] = _solve(a[:, active], b, ridge)
    return xi, active, iterations


def _round_sig(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def _broadcasting(fn, xp):
    """`fn(*args)` broadcast to the inputs' shape (a constant equation returns a scalar)."""
    def call(*args):
        out = fn(*args)
        shape = np.broadcast_shapes(*[np.shape(a) for a in args])
        return xp.broadcast_to(xp.asarray(out, dtype=float), shape)

    return call


def _equation(terms, coef, theta, y, syms, names, iterations, digits) -> Equation:
    residual = y - theta @ coef
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = float(1.0 - np.sum(residual**2) / ss_tot) if ss_tot > 0 else float("nan")
    rounded = sympy.Add(*[
        sympy.Float(_round_sig(c, digits)) * t if t != 1 else sympy.Float(_round_sig(c, digits))
        for c, t in zip(coef, terms) if c != 0.0
    ])
    exact = sympy.Add(*[sympy.Float(float(c)) * t for c, t in zip(coef, terms) if c != 0.0])
    return Equation(
        expr=rounded,
        coefficients={t: float(c) for t, c in zip(terms, coef)},
        r2=r2,
        residual_rms=float(np.sqrt(np.mean(residual**2))),
        inputs=names,
        iterations=iterations,
        _numpy=_broadcasting(sympy.lambdify(syms, exact, "numpy"), np),
        _jax=_broadcasting(sympy.lambdify(syms, exact, "jax"), jnp),
    )


def sparse_regression(
    inputs: Mapping[str, object],
    target,
    library,
    *,
    threshold: float = 0.1,
    max_iter: int = 20,
    ridge: float = 0.0,
    digits: int = 4,
) -> Equation:
    """A sparse equation for `target` over a library of terms (sequentially thresholded least squares).

    STLSQ (Brunton, Proctor & Kutz 2016, "Discovering governing equations from data by sparse
    identification of nonlinear dynamical systems", PNAS 113:3932, doi:10.1073/pnas.1517384113):
    evaluate every term on the samples into the columns of a matrix `Theta`; scale each column
    and the target to unit root-mean-square; solve least squares; drop every term whose scaled
    coefficient is below `threshold`; solve again on the terms left; repeat until no term is
    dropped (or `max_iter` passes). A scaled coefficient is the term's typical contribution
    (coefficient times the term's RMS over the samples) as a fraction of the target's RMS, so
    `threshold=0.1` drops terms contributing under 10% of the target's size, whatever the units.
    Strongly correlated terms (monomials of an input sampled on [0, 1] only, say) can trade
    large opposite coefficients under noise, which thresholding cannot separate: sample the
    inputs over a wider or centred range, or raise `threshold`.

    Args:
      inputs: name -> array of samples (numpy or JAX); all arrays and `target` have the same
        shape (any; samples are flattened).
      target: samples of the quantity to explain.
      library: sympy expressions (or strings such as `"u**2"`, `"exp(-u)"`) over the input
        names, e.g. `polynomial_library(("u",), 4)`. Any nonlinear features may be used; only
        their linear coefficients are fitted.
      threshold: the smallest scaled coefficient kept, >= 0 (0 keeps every term).
      max_iter: the most thresholding passes, >= 1.
      ridge: L2 penalty on the scaled coefficients (relative to unit-RMS columns), >= 0; 0 is
        plain least squares (minimum-norm via the SVD). Helps collinear libraries.
      digits: significant digits of the coefficients printed in `expr`.

    Returns:
      an `Equation`.

    Example:
      >>> import numpy as np, sympy
      >>> u = np.linspace(0, 1, 200)
      >>> eq = sparse_regression({"u": u}, 0.3 + 0.5 * u - 1.2 * u**2, polynomial_library(["u"], 4))
      >>> eq.expr
      -1.2*u**2 + 0.5*u + 0.3
      >>> eq.coefficients[sympy.Symbol("u") ** 4], round(eq.r2, 6)
      (0.0, 1.0)
    """
    owner = "sparse_regression"
    _check_inputs(inputs, owner)
    if not (isinstance(threshold, numbers.Real) and threshold >= 0):
        raise fail(owner, f"threshold must be a number >= 0; got {threshold!r}.")
    if not (isinstance(ridge, numbers.Real) and ridge >= 0):
        raise fail(owner, f"ridge must be a number >= 0; got {ridge!r}.")
    max_iter = check_int(max_iter, "max_iter", 1, owner=owner)
    digits = check_int(digits, "digits", 1, owner=owner)
    data, y = _samples(inputs, target, owner)
    names = tuple(data)
    symbols = {n: sympy.Symbol(n) for n in names}
    terms = _library_terms(library, symbols, owner)
    if y.size < len(terms):
        raise fail(
            owner,
            f"{y.size} samples cannot determine {len(terms)} library terms; give at least as "
            "many samples as terms, or a smaller library.",
        )
    syms = [symbols[n] for n in names]
    theta = _design_matrix(terms, syms, data, y, owner)
    scale = np.sqrt(np.mean(theta**2, 0))
    y_scale = float(np.sqrt(np.mean(y**2)))
    if y_scale == 0:
        raise fail(owner, "the target is 0 at every sample; there is nothing to fit.")
    xi, active, iterations = _stlsq(theta / scale, y / y_scale, threshold, max_iter, float(ridge))
    coef = xi * y_scale / scale
    coef[~active] = 0.0
    return _equation(terms, coef, theta, y, syms, names, iterations, digits)
