"""What `fit` returns: the best parameters, every start's, the loss histories and diagnostics."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from neurosym.fit.batch import where

__all__ = ["FitResult", "NonFiniteError", "last_finite", "make_result"]


class NonFiniteError(FloatingPointError):
    """A fit whose loss or gradient became NaN or infinite; `.result` holds what was fitted.

    `.result` is the `FitResult` with the last good parameters (those of the last step whose
    loss and gradient were finite) and the loss history up to and including the bad step.
    """

    def __init__(self, message: str, result: "FitResult"):
        super().__init__(message)
        self.result = result


def last_finite(column: np.ndarray) -> float:
    """The last finite entry of a 1-D array, or NaN if there is none.

    Example:
      >>> last_finite(np.array([1.0, 2.0, np.nan]))
      2.0
    """
    finite = np.flatnonzero(np.isfinite(column))
    return float(column[finite[-1]]) if finite.size else float("nan")


@dataclasses.dataclass
class FitResult:
    """What `fit` returns.

    Attributes:
      params: the best start's parameters (same structure as `init_params`).
      all_params: every start's parameters, each leaf with a leading axis of `num_starts`.
        A start stopped by a non-finite loss holds its last good parameters.
      losses: numpy `(steps_done, num_starts)`: the total loss (data + constraints + priors)
        at each step, evaluated at the parameters before that step's update. NaN after a start
        was stopped; the non-finite value itself at the step where it was stopped.
      best_start: index of the start with the lowest last finite loss among the starts that
        never became non-finite (noisy for a stochastic loss: look at `losses` to judge).
      final_loss: the best start's last finite loss.
      init_params: every start's initial parameters (leading axis `num_starts`).
      diagnostics: dict with `grad_norm` (numpy `(steps_done, num_starts)`, global gradient
        norms), `terms` (dict of `data`, `constraints`, `priors` histories of that shape),
        `stopped_early` (bool), `message` (str), `steps_done`, `num_steps`, `seconds` (wall
        time of this call, compilation included), `failed_at` (numpy `(num_starts,)`, the step
        where each start became non-finite, -1 if never), `failed_starts` (list),
        `estimator` (its name), `num_devices`, `resumed_from` (the step a checkpoint resumed
        from, or None).
    """

    params: Any
    all_params: Any
    losses: np.ndarray
    best_start: int
    final_loss: float
    init_params: Any
    diagnostics: dict

    @property
    def num_starts(self) -> int:
        return int(self.losses.shape[1])

    def final_losses(self) -> np.ndarray:
        """`(num_starts,)` each start's last finite loss (NaN where it has none)."""
        return np.array([last_finite(self.losses[:, s]) for s in range(self.num_starts)])

    def summary(self) -> str:
        """A few lines of text: steps, time, best start and loss, per-start losses, parameters."""
        d = self.diagnostics
        lines = [
            f"fit: {d['steps_done']}/{d['num_steps']} steps, estimator={d['estimator']}, "
            f"{self.num_starts} start{'s' if self.num_starts != 1 else ''} on "
            f"{d['num_devices']} device{'s' if d['num_devices'] != 1 else ''}, {d['seconds']:.2f} s",
            f"best start {self.best_start}: final loss {self.final_loss:.6g}",
        ]
        if self.num_starts > 1:
            last = [
                f"{value:.4g}" + (f" (stopped at step {int(d['failed_at'][s])})" if d["failed_at"][s] >= 0 else "")
                for s, value in enumerate(self.final_losses())
            ]
            lines.append("last loss per start: " + ", ".join(last))
        lines.append(d["message"])
        lines.append("parameters (best start):")
        for path, leaf in jax.tree_util.tree_leaves_with_path(self.params):
            value = np.asarray(leaf)
            name = jax.tree_util.keystr(path) or "params"
            if value.size <= 6:
                lines.append(f"  {name}: {np.array2string(value, precision=5)}")
            else:
                lines.append(
                    f"  {name}: shape {value.shape} {value.dtype}, mean {value.mean():.4g}, "
                    f"min {value.min():.4g}, max {value.max():.4g}"
                )
        return "\n".join(lines)

    def plot(self, ax=None):
        """Loss curves, one line per start with the best one drawn bold; returns the Figure.

        Args:
          ax: a matplotlib Axes to draw on (default: a new figure).
        """
        import matplotlib.pyplot as plt  # lazily: only plotting needs matplotlib

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4))
        else:
            fig = ax.figure
        steps = np.arange(self.losses.shape[0])
        for s in range(self.num_starts):
            best = s == self.best_start
            ax.plot(steps, self.losses[:, s], lw=2.0 if best else 0.8, alpha=1.0 if best else 0.6,
                    label=f"start {s}" + (" (best)" if best else ""))
        finite = self.losses[np.isfinite(self.losses)]
        if finite.size and np.all(finite > 0):
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        if self.num_starts <= 10:
            ax.legend(fontsize="small")
        return fig


def _message(failed_at, history, steps_done, num_steps, throw) -> str:
    failed = failed_at >= 0
    losses = history["loss"]
    messages = []
    for s in np.flatnonzero(failed):
        k = int(failed_at[s])
        row = losses[k, s] if k < len(losses) else np.nan
        what = f"gradient norm became {history['grad_norm'][k, s]}" if np.isfinite(row) else f"loss became {row}"
        kept = "its initial parameters" if k == 0 else f"the parameters of step {k - 1}"
        messages.append(f"start {s}: the {what} at step {k}; kept {kept}")
    if messages:
        stop = "The fit stopped" if throw or failed.all() else "Those starts stopped, the others went on"
        return (
            "Non-finite values in the fit. " + "; ".join(messages) + f". {stop} after {steps_done} "
            f"of {num_steps} steps. Check the data and the model for NaN/inf (check_finite), "
            "lower the learning rate, or keep the parameters in range (constraints=, or a "
            "reparametrisation such as a log or logit)."
        )
    if steps_done >= num_steps:
        return f"Completed {steps_done} steps."
    return f"Stopped after {steps_done} of {num_steps} steps."


def make_result(state, history: dict, init_params, *, num_steps: int, estimator: str, num_devices: int,
                resumed_from, throw: bool, seconds: float) -> FitResult:
    """The `FitResult` of a finished loop, from its (host, real starts only) state and histories."""
    failed_at = np.asarray(state.failed_at)
    failed = failed_at >= 0
    all_params = where(failed, state.good_params, state.params, xp=np)
    losses = history["loss"]
    num_starts = losses.shape[1]
    steps_done = int(state.step)
    last = np.array([last_finite(losses[:, s]) for s in range(num_starts)])
    score = np.where(np.isnan(last), np.inf, last)
    if not failed.all():
        score = np.where(failed, np.inf, score)
    best = int(np.argmin(score))
    diagnostics = {
        "grad_norm": history["grad_norm"],
        "terms": {name: history[name] for name in ("data", "constraints", "priors")},
        "stopped_early": steps_done < num_steps,
        "message": _message(failed_at, history, steps_done, num_steps, throw),
        "steps_done": steps_done,
        "num_steps": num_steps,
        "seconds": seconds,
        "failed_at": failed_at,
        "failed_starts": [int(s) for s in np.flatnonzero(failed)],
        "estimator": estimator,
        "num_devices": num_devices,
        "resumed_from": resumed_from,
    }
    return FitResult(
        params=jax.tree.map(lambda x: jnp.asarray(x[best]), all_params),
        all_params=jax.tree.map(jnp.asarray, all_params),
        losses=losses,
        best_start=best,
        final_loss=float(last[best]),
        init_params=jax.tree.map(jnp.asarray, jax.device_get(init_params)),
        diagnostics=diagnostics,
    )
