"""Sulston names of two daughters from the division axis in embryo coordinates.

A C. elegans cell born by a division is named by its mother's name plus one letter for its side
along the division axis: a/p (anterior/posterior), d/v (dorsal/ventral) or l/r (left/right)
(Sulston et al. 1983, doi:10.1016/0012-1606(83)90201-4; `rules.celegans`). Most divisions are
named a/p, because most early spindles lie near the anterior-posterior axis, but some lineages
divide left-right (ABa -> ABal/ABar, ABp -> ABpl/ABpr, MSa/MSp in part) or dorsal-ventral (some C
and D daughters). The letter pair here is read from the data: the division axis is projected on
the embryo's three body axes and the pair of the axis with the largest absolute component is
used (ties go to a/p, then d/v, then l/r). The daughter on the side the body axis points to
(anterior, dorsal or left) gets the first letter of the pair.

The founder divisions (P0 -> AB + P1, P1 -> EMS + P2, EMS -> MS + E, P2 -> C + P3, P3 -> D + P4;
`rules.celegans.FOUNDER_RULES`) have fixed names: the first of each pair is the anterior daughter,
so there only the anterior-posterior component's sign is used.

Plain Python and NumPy: names are strings, so this runs outside `jit`, on the axes a simulation or
a tracking returns.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from automata._checks import fail
from rules.celegans import FOUNDER_RULES, founder_of

__all__ = ["BODY_AXES", "daughter_names", "division_letters"]

BODY_AXES = (("anterior", "a", "p"), ("dorsal", "d", "v"), ("left", "l", "r"))
"""The body axes of a frame, in tie-breaking order: (name, letter of the side it points to,
letter of the other side)."""


def _frame(frame, d: int, owner: str) -> dict[str, np.ndarray]:
    if frame is None:
        eye = np.eye(d)
        names = [n for n, _, _ in BODY_AXES][:d] if d == 3 else ["anterior", "left"]
        return {n: eye[i] for i, n in enumerate(names)}
    if not isinstance(frame, Mapping) or not frame:
        raise fail(owner, "frame must be a dict from body axis ('anterior', 'dorsal', 'left') to the "
                   f"direction it points to, got {type(frame).__name__}.", TypeError)
    known = [n for n, _, _ in BODY_AXES]
    out = {}
    for name, vec in frame.items():
        if name not in known:
            raise fail(owner, f"frame keys must be among {known}, got {name!r}.")
        v = np.asarray(vec, float)
        if v.shape != (d,) or not np.all(np.isfinite(v)) or not np.linalg.norm(v) > 0:
            raise fail(owner, f"frame[{name!r}] must be a finite nonzero vector of {d} components (as the "
                       f"axis), got {np.asarray(vec).tolist()}.")
        out[name] = v / np.linalg.norm(v)
    return out


def division_letters(axis, frame: Mapping | None = None) -> tuple[str, str, float]:
    """The letter pair of a division along `axis`: `(letter of the daughter on the positive side,
    letter of the other, |cosine| of the axis with the chosen body axis)`.

    Args:
      axis: `(D,)` division axis (the normal of the division plane) in the frame's coordinates,
        pointing from the mother's centre towards the daughter on the positive side.
      frame: dict from body axis name ('anterior', 'dorsal', 'left') to the `(D,)` direction it
        points to; any subset (a 2D view may have only two). Default: the coordinate axes, in 3D
        `{'anterior': e0, 'dorsal': e1, 'left': e2}`, in 2D `{'anterior': e0, 'left': e1}`.

    The cosine says how clear the call is: near 1 the axis lies along a body axis, near 0.58
    (3D) it is diagonal and the letter could go either way.

    Example:
      >>> division_letters([0.2, -0.1, -0.9])
      ('r', 'l', 0.9...)
    """
    owner = "division_letters"
    a = np.asarray(axis, float)
    if a.ndim != 1 or a.shape[0] not in (2, 3) or not np.all(np.isfinite(a)) or not np.linalg.norm(a) > 0:
        raise fail(owner, f"axis must be a finite nonzero vector of 2 or 3 components, got {np.asarray(axis).tolist()}.")
    a = a / np.linalg.norm(a)
    frame = _frame(frame, a.shape[0], owner)
    best = None
    for name, pos, neg in BODY_AXES:
        if name not in frame:
            continue
        c = float(np.dot(a, frame[name]))
        if best is None or abs(c) > abs(best[2]) + 1e-12:
            best = (pos, neg, c) if c >= 0 else (neg, pos, c)
    pos, neg, c = best
    return pos, neg, abs(c)


def daughter_names(mother: str, axis, frame: Mapping | None = None) -> tuple[str, str]:
    """Names of the two daughters of `mother` dividing along `axis`: `(the daughter on the
    positive side of the plane, the other)`, as `rules.tissue.divide_cell` assigns new id / mother
    id.

    Args:
      mother: the mother's Sulston name ("ABa", "MSp", or a founder-rule mother such as "EMS").
      axis: `(D,)` division axis, from the mother's centre towards the positive daughter.
      frame: body axes, as for `division_letters`.

    Example:
      >>> daughter_names("ABa", [0.1, 0.2, 0.95])   # mostly along the left axis
      ('ABal', 'ABar')
      >>> daughter_names("ABpl", [-0.9, 0.3, 0.1])  # mostly posterior
      ('ABplp', 'ABpla')
      >>> daughter_names("EMS", [-1.0, 0.0, 0.0])   # founder rule: MS is anterior
      ('E', 'MS')
    """
    owner = "daughter_names"
    if mother in FOUNDER_RULES:
        anterior, posterior = FOUNDER_RULES[mother]
        a = np.asarray(axis, float)
        if a.ndim != 1 or a.shape[0] not in (2, 3) or not np.all(np.isfinite(a)):
            raise fail(owner, f"axis must be a finite vector of 2 or 3 components, got {np.asarray(axis).tolist()}.")
        frame = _frame(frame, a.shape[0], owner)
        if "anterior" not in frame:
            raise fail(owner, f"{mother} divides along the anterior-posterior axis into {anterior} "
                       f"(anterior) and {posterior}; frame must give 'anterior'.")
        c = float(np.dot(a, frame["anterior"]))
        if c == 0:
            raise fail(owner, f"axis {a.tolist()} is perpendicular to the anterior-posterior axis, so "
                       f"which of {anterior} and {posterior} is anterior is undecided.")
        return (anterior, posterior) if c > 0 else (posterior, anterior)
    if founder_of(mother) not in ("AB", "MS", "E", "C", "D"):
        raise fail(owner, f"mother must be a Sulston name that daughters extend by one letter (e.g. 'ABa', "
                   f"'MSp', 'Ca') or a founder-rule mother {sorted(FOUNDER_RULES)}, got {mother!r}.")
    pos, neg, _ = division_letters(axis, frame)
    return mother + pos, mother + neg
