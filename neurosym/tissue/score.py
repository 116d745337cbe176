"""How well a predicted contact graph of named cells matches an observed one.

Two numbers, on graphs whose nodes are cell names and whose edges carry an `area` (as
`neurosym.io.contacts.Contacts.graph(names)` makes them):

- **F1 of named contacts**: the edges as unordered pairs of names; precision is the share of
  predicted pairs that are observed, recall the share of observed pairs that are predicted,
  `F1 = 2 P R / (P + R)` (0 when either is 0; 1 when both graphs have no edge).
- **area-weighted overlap**: each graph's areas divided by its total area, so that areas on
  lattices of different resolution compare, then `sum over pairs of min(p_e, q_e)`: 1 when the
  two graphs share every contact in the same proportions, 0 when they share none (it is one
  minus the total variation distance between the two area distributions).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import networkx as nx

from automata._checks import check_number, fail

__all__ = ["ContactScore", "score_contacts"]


@dataclasses.dataclass(frozen=True)
class ContactScore:
    """Scores of a predicted contact graph against an observed one (see the module docstring).

    Example:
      >>> ContactScore(precision=1.0, recall=0.5, f1=2 / 3, overlap=0.5, num_predicted=1, num_observed=2).f1
      0.6666666666666666
    """

    precision: float
    recall: float
    f1: float
    overlap: float
    num_predicted: int
    num_observed: int


def _areas(graph, name: str, min_area: float, owner: str) -> dict[frozenset, float]:
    if isinstance(graph, nx.Graph):
        items = [((a, b), d.get("area", None)) for a, b, d in graph.edges(data=True)]
    elif isinstance(graph, Mapping):
        items = list(graph.items())
    else:
        raise fail(owner, f"{name} must be a networkx Graph with an 'area' on each edge, or a dict "
                   f"{{(name_a, name_b): area}}, got {type(graph).__name__}.", TypeError)
    out: dict[frozenset, float] = {}
    for pair, area in items:
        if area is None:
            raise fail(owner, f"{name}: the contact {tuple(pair)} has no 'area'; build the graph with "
                       "neurosym.io.contact_areas(...).graph(names).")
        area = float(area)
        if not area >= 0 or area == float("inf"):
            raise fail(owner, f"{name}: contact areas must be finite and >= 0, got {area} for {tuple(pair)}.")
        key = frozenset(pair)
        if len(key) != 2:
            raise fail(owner, f"{name}: a contact joins two different cells, got {tuple(pair)}.")
        if area >= min_area:
            out[key] = out.get(key, 0.0) + area
    return out


def score_contacts(predicted, observed, *, min_area: float = 0.0) -> ContactScore:
    """F1 of named contacts and area-weighted overlap of `predicted` against `observed`.

    Args:
      predicted, observed: networkx Graphs with name nodes and an `area` per edge, or dicts
        `{(name_a, name_b): area}`.
      min_area: contacts smaller than this (in each graph's own units) are left out of both.

    Example:
      >>> pred = {("ABa", "ABp"): 3.0, ("ABa", "EMS"): 1.0}
      >>> obs = {("ABp", "ABa"): 2.0, ("ABp", "EMS"): 2.0}
      >>> s = score_contacts(pred, obs)
      >>> s.precision, s.recall, s.f1, s.overlap   # shared pair: min(3/4, 2/4)
      (0.5, 0.5, 0.5, 0.5)
    """
    owner = "score_contacts"
    min_area = check_number(min_area, "min_area", minimum=0.0, owner=owner)
    p = _areas(predicted, "predicted", min_area, owner)
    q = _areas(observed, "observed", min_area, owner)
    shared = set(p) & set(q)
    if not p and not q:
        return ContactScore(1.0, 1.0, 1.0, 1.0, 0, 0)
    precision = len(shared) / len(p) if p else 0.0
    recall = len(shared) / len(q) if q else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    tp, tq = sum(p.values()), sum(q.values())
    overlap = sum(min(p[e] / tp, q[e] / tq) for e in shared) if tp > 0 and tq > 0 else 0.0
    return ContactScore(precision=precision, recall=recall, f1=f1, overlap=overlap, num_predicted=len(p),
                        num_observed=len(q))
