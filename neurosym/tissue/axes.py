"""Division axes read from named lattices: the body frame and a per-kind axis distribution.

When a cell present at one time point has both its daughters at a later one, the vector between
the daughters' centroids is its observed division axis. It points from the daughter with the
second letter of its pair (p, v, r) to the one with the first (a, d, l; for the founder
divisions of `rules.celegans.FOUNDER_RULES`, to the anterior daughter), the polar axis that
`rules.tissue.daughter_names` reads back into the same names.

- `observed_divisions`: those axes, from the names and centroids of two time points.
- `body_frame`: the embryo's anterior, dorsal and left directions in lattice coordinates, the
  mean axis of the divisions named along each (a/p, d/v, l/r), made orthonormal in that order.
- `fit_division_axes`: a von Mises-Fisher distribution of axes per kind (`rules.tissue.
  DivisionAxes`): the mean direction, and the concentration from the mean resultant length `R`
  by Banerjee et al.'s approximation `kappa = R (D - R^2) / (1 - R^2)` (J. Mach. Learn. Res. 6,
  1345 (2005)); a kind with no observed division gets the distribution of all divisions pooled
  (or the uniform one, `fallback="uniform"`).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import jax.numpy as jnp
import numpy as np

from automata._checks import check_number, fail
from rules.celegans import FOUNDER_RULES, sulston_parent
from rules.tissue import DivisionAxes
from neurosym.tissue.kinds import KIND_NAMES, founder_kind

__all__ = ["Division", "body_frame", "cell_centroids", "fit_division_axes", "observed_divisions"]

_PAIR = {"a": "ap", "p": "ap", "d": "dv", "v": "dv", "l": "lr", "r": "lr"}
_FRAME_OF_PAIR = {"ap": "anterior", "dv": "dorsal", "lr": "left"}


@dataclasses.dataclass(frozen=True)
class Division:
    """One observed division.

    Attributes:
      mother: the mother's name.
      first, second: the daughters' names, the one on the positive side of `axis` first.
      pair: "ap", "dv" or "lr", the letter pair of the daughters' names ("ap" for founder rules).
      axis: `(D,)` unit vector from `second`'s centroid to `first`'s.

    Example:
      >>> Division("ABa", "ABal", "ABar", "lr", np.array([0.0, 0.0, 1.0])).pair
      'lr'
    """

    mother: str
    first: str
    second: str
    pair: str
    axis: np.ndarray


def cell_centroids(sites, names) -> dict[str, np.ndarray]:
    """The centroid, in site coordinates, of each named cell of a lattice of ids.

    Args:
      sites: 2D or 3D int lattice of cell ids (0 the medium).
      names: the names of ids 1..N in order.

    Example:
      >>> cell_centroids(np.array([[1, 1, 2]]), ["ABa", "ABp"])["ABa"].tolist()
      [0.0, 0.5]
    """
    sites = np.asarray(sites)
    names = list(names)
    if not np.issubdtype(sites.dtype, np.integer) or sites.ndim not in (2, 3):
        raise fail("cell_centroids", f"sites must be a 2D or 3D integer lattice of cell ids, got shape "
                   f"{sites.shape} and dtype {sites.dtype}.", TypeError)
    if sites.max(initial=0) > len(names):
        raise fail("cell_centroids", f"names must name every cell id 1..{int(sites.max())}, got "
                   f"{len(names)} names.")
    flat = sites.ravel()
    count = np.bincount(flat, minlength=len(names) + 1)
    coords = np.indices(sites.shape).reshape(sites.ndim, -1)
    sums = np.stack([np.bincount(flat, weights=c, minlength=len(names) + 1) for c in coords], axis=1)
    return {n: sums[i + 1] / count[i + 1] for i, n in enumerate(names) if count[i + 1] > 0}


def _ordered(mother: str, daughters: list[str]):
    """`(first, second, pair)` of a mother's two daughters, or None if they are not a named pair."""
    if mother in FOUNDER_RULES:
        anterior, posterior = FOUNDER_RULES[mother]
        return (anterior, posterior, "ap") if set(daughters) == {anterior, posterior} else None
    last = sorted(d[-1] for d in daughters)
    pair = _PAIR.get(last[0])
    if pair is None or sorted(pair) != last:
        return None
    first = next(d for d in daughters if d[-1] == pair[0])
    second = next(d for d in daughters if d[-1] == pair[1])
    return first, second, pair


def observed_divisions(names_before, centroids_after: Mapping[str, np.ndarray]) -> list[Division]:
    """The divisions of cells named at one time point whose two daughters are both at a later one.

    Args:
      names_before: names of the cells at the earlier time point.
      centroids_after: {name: centroid} at the later time point (e.g. `cell_centroids`).

    Example:
      >>> after = {"ABal": np.array([0.0, 0.0, 4.0]), "ABar": np.array([0.0, 0.0, 1.0]), "P2": np.zeros(3)}
      >>> d = observed_divisions(["ABa", "P2"], after)
      >>> [(x.mother, x.first, x.pair, x.axis.tolist()) for x in d]
      [('ABa', 'ABal', 'lr', [0.0, 0.0, 1.0])]
    """
    before = set(names_before)
    children: dict[str, list[str]] = {}
    for name in centroids_after:
        parent = sulston_parent(name)
        if parent in before and name not in before:
            children.setdefault(parent, []).append(name)
    out = []
    for mother in sorted(children):
        kids = children[mother]
        if len(kids) != 2:
            continue
        order = _ordered(mother, kids)
        if order is None:
            continue
        first, second, pair = order
        v = np.asarray(centroids_after[first], float) - np.asarray(centroids_after[second], float)
        norm = np.linalg.norm(v)
        if norm > 0:
            out.append(Division(mother, first, second, pair, v / norm))
    return out


def body_frame(divisions) -> dict[str, np.ndarray]:
    """The body axes in lattice coordinates from observed divisions: {'anterior', 'dorsal',
    'left'} (those with at least one division), orthonormal in that order, for
    `rules.tissue.daughter_names(..., frame=)`.

    Example:
      >>> ds = [Division("ABa", "ABaa", "ABap", "ap", np.array([0.0, 1.0, 0.0])),
      ...       Division("ABp", "ABpl", "ABpr", "lr", np.array([0.6, 0.8, 0.0]))]
      >>> {k: v.round(3).tolist() for k, v in body_frame(ds).items()}
      {'anterior': [0.0, 1.0, 0.0], 'left': [1.0, 0.0, 0.0]}
    """
    divisions = list(divisions)
    if not divisions:
        raise fail("body_frame", "divisions must hold at least one observed division (see "
                   "observed_divisions), got none.")
    out: dict[str, np.ndarray] = {}
    for pair, axis_name in _FRAME_OF_PAIR.items():
        vs = [d.axis for d in divisions if d.pair == pair]
        if not vs:
            continue
        v = np.mean(vs, axis=0)
        for u in out.values():
            v = v - np.dot(v, u) * u
        if np.linalg.norm(v) > 1e-9:
            out[axis_name] = v / np.linalg.norm(v)
    return out


def _vmf(vs, d: int, max_concentration: float, prior=None, prior_weight: float = 0.0):
    """Mean direction and concentration (Banerjee et al. 2005's approximation) of unit vectors,
    with `prior_weight` pseudo-observations of the resultant vector `prior` added to their sum."""
    total = np.sum(vs, axis=0)
    if prior is not None and prior_weight > 0:
        total = total + prior_weight * np.asarray(prior, float)
    m = total / (len(vs) + (prior_weight if prior is not None else 0.0))
    r = float(np.linalg.norm(m))
    if r <= 1e-9:
        out = np.zeros(d)
        out[0] = 1.0
        return out, 0.0
    r1 = min(r, 1 - 1e-9)
    return m / r, min(r1 * (d - r1 * r1) / (1 - r1 * r1), max_concentration)


def fit_division_axes(divisions, kind_names=KIND_NAMES, *, max_concentration: float = 100.0,
                      fallback: str = "pooled", prior_weight: float = 2.0) -> DivisionAxes:
    """A von Mises-Fisher distribution of division axes per kind (the mother's founder kind).

    Args:
      divisions: observed `Division`s (all of one dimension D).
      kind_names: the kinds, as `neurosym.tissue.KIND_NAMES`; row k of the result is kind k.
      max_concentration: a cap on kappa.
      fallback: for a kind with no division, "pooled" (the distribution of all divisions) or
        "uniform"; also what a kind's few divisions are shrunk toward.
      prior_weight: each kind's divisions are joined by this many pseudo-divisions of the
        fallback (the pooled mean resultant vector, or none for "uniform"): a kind seen dividing
        once is then not taken to divide always along that axis (its concentration would
        otherwise be the cap), while a kind seen dividing many times keeps its own estimate.

    Returns:
      `rules.tissue.DivisionAxes` with `(K, D)` means and `(K,)` concentrations.

    Example:
      >>> ds = [Division("ABa", "ABaa", "ABap", "ap", np.array([0.0, 1.0])),
      ...       Division("ABp", "ABpa", "ABpp", "ap", np.array([0.6, 0.8]))]
      >>> axes = fit_division_axes(ds, fallback="uniform")
      >>> [round(float(v), 3) for v in axes.mean[1]], float(axes.concentration[2])  # AB; MS: none seen
      ([0.316, 0.949], 0.0)
      >>> one = fit_division_axes(ds[:1], fallback="uniform")     # one AB division, shrunk toward none
      >>> round(float(one.concentration[1]), 3), float(fit_division_axes(ds[:1], prior_weight=0).concentration[1])
      (0.708, 100.0)
    """
    divisions = list(divisions)
    if not divisions:
        raise fail("fit_division_axes", "divisions must hold at least one observed division, got none.")
    if fallback not in ("pooled", "uniform"):
        raise fail("fit_division_axes", f"fallback must be 'pooled' or 'uniform', got {fallback!r}.")
    d = divisions[0].axis.shape[0]
    index = {k: i for i, k in enumerate(kind_names)}
    prior_weight = check_number(prior_weight, "prior_weight", minimum=0.0, owner="fit_division_axes")
    if fallback == "pooled":
        pooled = _vmf([x.axis for x in divisions], d, max_concentration)
        resultant = np.mean([x.axis for x in divisions], axis=0)
    else:
        pooled = (np.eye(d)[0], 0.0)
        resultant = np.zeros(d)
    mean = np.tile(pooled[0], (len(kind_names), 1))
    kappa = np.full(len(kind_names), pooled[1])
    for k, name in enumerate(kind_names):
        vs = [x.axis for x in divisions if index.get(founder_kind(x.mother)) == k]
        if vs:
            mean[k], kappa[k] = _vmf(vs, d, max_concentration, resultant, prior_weight)
    return DivisionAxes(mean=jnp.asarray(mean, jnp.float32), concentration=jnp.asarray(kappa, jnp.float32))
