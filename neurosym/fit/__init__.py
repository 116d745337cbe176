"""Fit parameters to observations: an optax loop over a pure loss, multi-start and sharded.

Modules:
  `neurosym.fit.loop`        `fit`, the loop (see its docstring for the loss protocol);
  `neurosym.fit.estimators`  gradient estimators as objects: `PathwiseGradient`,
                             `StraightThrough`, `ScoreFunction` (the names still work);
  `neurosym.fit.context`     `FitContext`, what a loss gets besides its parameters;
  `neurosym.fit.step`        the compiled step and its cache;
  `neurosym.fit.result`      `FitResult` and `NonFiniteError`;
  `neurosym.fit.checkpoint`  checkpoints written atomically, resumed exactly;
  `neurosym.fit.sweep`       `sweep`, a function over a batch of parameter sets;
  `neurosym.fit.checks`      `check_finite` and the argument checks;
  `neurosym.fit.batch`       the start axis over devices;
  `neurosym.fit.lineage_model` an observed lineage as a division model's kinds and counts;
  `neurosym.fit.timing`      the division-timing model over one or many embryos: structure
                             (`EmbryoBatch`), parameters, loss, comparable variants (`Terms`);
  `neurosym.fit.lineage`     the model fitted to embryos' lineages (`fit_lineage`,
                             `fit_lineages`) and held-out embryos predicted (`predict_lineage`);
  `neurosym.fit.inputs`      one embryo read for fitting, and `check_fittable`;
  `neurosym.fit.report`      what `neurosym fit` writes: fit.json, figures, the printed summary;
  `neurosym.fit.simulate`    what `neurosym simulate` runs: the division model on a lattice.

Example:
  >>> import jax, jax.numpy as jnp
  >>> res = fit(lambda p, ctx: jnp.sum((p - 3.0) ** 2), jnp.zeros(2), key=jax.random.key(0),
  ...           num_steps=200, learning_rate=0.1, progress=False)
  >>> [round(float(v), 3) for v in res.params]
  [3.0, 3.0]
"""

from neurosym.fit.checks import check_finite
from neurosym.fit.context import FitContext
from neurosym.fit.estimators import ESTIMATORS, Estimator, PathwiseGradient, ScoreFunction, StraightThrough
from neurosym.fit.loop import fit
from neurosym.fit.result import FitResult, NonFiniteError
from neurosym.fit.sweep import sweep

__all__ = [
    "ESTIMATORS",
    "Estimator",
    "FitContext",
    "FitResult",
    "NonFiniteError",
    "PathwiseGradient",
    "ScoreFunction",
    "StraightThrough",
    "check_finite",
    "fit",
    "sweep",
]
