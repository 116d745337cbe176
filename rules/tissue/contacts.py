"""Contact-dependent fate: the daughter of a division that touches a signalling cell takes one
fate, its sister the other.

The example is the induction of the endoderm in C. elegans: EMS divides into MS and E, and the
daughter in contact with P2 (which signals through Wnt/MOM-2) becomes E, the other MS (Goldstein
1992, doi:10.1038/357255a0; without P2 both daughters become MS-like). `EMS_INDUCTION` is that
rule.

The rule reads a contact graph: a `networkx.Graph` whose nodes are cell names and whose edges carry
the contact `area` (any unit). It is a plain Python object, not a `rules.logic.Constraint` or a
`rules.symbolic` expression: those score truth values of predicates per site or per cell in
[0, 1] (for losses and soft rules under `jit`), whereas this rule decides between two named
cells by comparing their contacts with a third and renames them, which is a string operation on a
graph. Its soft counterpart for fitting would score `sigmoid((area(d1, P2) - area(d2, P2)) / T)`.
"""

from __future__ import annotations

import dataclasses

import networkx as nx

from automata._checks import check_number, fail

__all__ = ["ContactFate", "EMS_INDUCTION"]


@dataclasses.dataclass(frozen=True)
class ContactFate:
    """After `mother` divides, the daughter with the larger contact with `signal` takes
    `fates[0]`, the other `fates[1]`; if neither touches `signal` (contact area <= `min_area`),
    both take `fates[1]`.

    Attributes:
      mother: name of the dividing cell (for messages and for `applies_to`).
      signal: name of the signalling cell.
      fates: (fate of the daughter touching the signal, fate of the other).
      min_area: contact areas at or below this count as no contact.

    Example:
      >>> import networkx as nx
      >>> g = nx.Graph()
      >>> g.add_edge("EMSd1", "P2", area=12.0); g.add_edge("EMSd2", "ABp", area=9.0)
      >>> g.add_edge("EMSd1", "EMSd2", area=20.0)
      >>> EMS_INDUCTION(g, ("EMSd1", "EMSd2"))
      {'EMSd1': 'E', 'EMSd2': 'MS'}
    """

    mother: str
    signal: str
    fates: tuple[str, str]
    min_area: float = 0.0

    def __post_init__(self):
        owner = "ContactFate"
        for name in ("mother", "signal"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise fail(owner, f"{name} must be a cell name (a non-empty string), got "
                           f"{getattr(self, name)!r}.", TypeError)
        if (not isinstance(self.fates, tuple) or len(self.fates) != 2
                or not all(isinstance(f, str) and f for f in self.fates)):
            raise fail(owner, f"fates must be a pair of names (fate of the daughter touching {self.signal}, "
                       f"fate of the other), got {self.fates!r}.", TypeError)
        check_number(self.min_area, "min_area", minimum=0.0, owner=owner)

    def contact(self, graph: nx.Graph, cell: str) -> float:
        """The contact area of `cell` with the signalling cell in `graph` (0 with no edge).

        Example:
          >>> g = nx.Graph(); g.add_edge("a", "P2", area=3.0)
          >>> EMS_INDUCTION.contact(g, "a"), EMS_INDUCTION.contact(g, "b")
          (3.0, 0.0)
        """
        if not graph.has_edge(cell, self.signal):
            return 0.0
        data = graph.edges[cell, self.signal]
        if "area" not in data:
            raise fail("ContactFate", f"the edge {cell} - {self.signal} must carry its contact 'area', got "
                       f"attributes {sorted(data)}.")
        return float(data["area"])

    def __call__(self, graph: nx.Graph, daughters: tuple[str, str]) -> dict[str, str]:
        """The fates of the two `daughters` (node names in `graph`) as `{daughter: fate}`.

        Raises ValueError if a daughter is not in the graph, or if both touch the signal with the
        same area (the rule cannot tell them apart).
        """
        owner = "ContactFate"
        if not isinstance(graph, nx.Graph):
            raise fail(owner, f"graph must be a networkx.Graph of cell names with contact 'area' on the "
                       f"edges, got {type(graph).__name__}.", TypeError)
        if len(daughters) != 2 or daughters[0] == daughters[1]:
            raise fail(owner, f"daughters must be two distinct node names, got {daughters!r}.")
        for d in daughters:
            if d not in graph:
                raise fail(owner, f"daughter {d!r} of {self.mother} is not a node of the contact graph.")
        a, b = (self.contact(graph, d) for d in daughters)
        touch_a, touch_b = a > self.min_area, b > self.min_area
        if not (touch_a or touch_b):
            return {daughters[0]: self.fates[1], daughters[1]: self.fates[1]}
        if a == b:
            raise fail(owner, f"both daughters of {self.mother} touch {self.signal} with the same area {a}, "
                       f"so which becomes {self.fates[0]} is undecided.")
        first = daughters[0] if a > b else daughters[1]
        second = daughters[1] if a > b else daughters[0]
        return {first: self.fates[0], second: self.fates[1]}

    def relabel(self, graph: nx.Graph, daughters: tuple[str, str]) -> nx.Graph:
        """A copy of `graph` with the two daughters renamed by their fates (when both become the
        same fate, the second gets a `'` suffix, so that no node merges).

        Example:
          >>> g = nx.Graph(); g.add_edge("x", "P2", area=5.0); g.add_edge("x", "y", area=8.0)
          >>> sorted(EMS_INDUCTION.relabel(g, ("y", "x")).nodes)
          ['E', 'MS', 'P2']
        """
        fates = self(graph, daughters)
        if fates[daughters[0]] == fates[daughters[1]]:
            fates[daughters[1]] = fates[daughters[1]] + "'"
        clash = sorted(set(fates.values()) & (set(graph.nodes) - set(daughters)))
        if clash:
            raise fail("ContactFate", f"the graph already has nodes named {clash}; the daughters cannot "
                       "take those names.")
        return nx.relabel_nodes(graph, fates, copy=True)


EMS_INDUCTION = ContactFate(mother="EMS", signal="P2", fates=("E", "MS"))
"""EMS's daughter touching P2 becomes E, the other MS (Goldstein 1992, doi:10.1038/357255a0)."""
