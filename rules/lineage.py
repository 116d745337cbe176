"""Lineage of a population as a directed graph, and checks of its bookkeeping."""

from __future__ import annotations

from typing import Sequence

import networkx as nx
import numpy as np

from rules.population import Population

__all__ = ["check_lineage", "lineage_graph"]


def _host(population: Population, name: str) -> dict:
    if not isinstance(population, Population):
        kind = type(population).__name__
        hint = (
            " The lineage lives in the population (every cell ever born keeps its slot): pass "
            "the final population that simulate returns, not the history."
            if kind == "History" else ""
        )
        raise TypeError(f"{name} needs a rules.Population, got {kind}.{hint}")
    if np.ndim(population.num_cells) != 0:
        raise ValueError(
            f"{name} takes one population, but this one is batched (num_cells has shape "
            f"{np.shape(population.num_cells)}); select one, e.g. "
            "jax.tree.map(lambda x: x[0], population)."
        )
    fields = ("alive", "kind", "parent", "birth", "generation", "division", "death", "position",
              "occupancy")
    out = {f: np.asarray(getattr(population, f)) for f in fields}
    out["num_cells"] = int(population.num_cells)
    return out


def lineage_graph(population: Population, names: Sequence[str] | None = None) -> nx.DiGraph:
    """The lineage as a `networkx.DiGraph`: one node per cell ever born, edges mother -> daughter.

    Node ids are slot indices. Node attributes: `kind` (index), `name` (when `names` is given),
    `birth` (step), `division` (step, or None), `death` (step, or None), `generation`, `alive`,
    `position` (tuple of site coordinates; the last site for cells no longer alive).

    Args:
      population: a `Population`, e.g. the final one from `rules.simulate`.
      names: optional kind names, indexed by kind (e.g. `rules.C_ELEGANS_FOUNDERS`, or a
        differentiation table's `names`).

    Example:
      >>> import automata
      >>> pop = Population.create(automata.Lattice((4,)), [[1]], [0], capacity=4)
      >>> g = lineage_graph(pop, names=["P0"])
      >>> g.nodes[0]["name"], g.nodes[0]["division"]
      ('P0', None)
    """
    a = _host(population, "lineage_graph")
    n = a["num_cells"]
    if names is not None:
        names = list(names)
        kinds = a["kind"][:n]
        if kinds.size and kinds.max() >= len(names):
            raise ValueError(
                f"names has {len(names)} entries but the population has a cell of kind "
                f"{int(kinds.max())}; give one name per kind."
            )
    g = nx.DiGraph()
    for i in range(n):
        attrs = {
            "kind": int(a["kind"][i]),
            "birth": int(a["birth"][i]),
            "division": None if a["division"][i] < 0 else int(a["division"][i]),
            "death": None if a["death"][i] < 0 else int(a["death"][i]),
            "generation": int(a["generation"][i]),
            "alive": bool(a["alive"][i]),
            "position": tuple(int(x) for x in a["position"][i]),
        }
        if names is not None:
            attrs["name"] = names[attrs["kind"]]
        g.add_node(i, **attrs)
    for i in range(n):
        p = int(a["parent"][i])
        if p >= 0:
            g.add_edge(p, i)
    return g


def check_lineage(population: Population) -> None:
    """Raise `ValueError` naming the first broken bookkeeping invariant of a population.

    Checked: every cell but a root has one parent, an earlier slot that divided at the cell's
    birth step, and a generation one higher; every divided cell has exactly two daughters; the
    number of non-root cells is twice the number of divisions; slots from `num_cells` on are
    unused; divided or dead cells are not alive; and the occupancy grid holds exactly the alive
    cells, each at its position.

    Example:
      >>> import automata
      >>> check_lineage(Population.create(automata.Lattice((4,)), [[1]], [0], capacity=4))
    """
    a = _host(population, "check_lineage")
    n = a["num_cells"]
    cap = a["alive"].shape[0]
    if not 0 <= n <= cap:
        raise ValueError(f"num_cells = {n} lies outside [0, capacity = {cap}].")
    if np.any(a["alive"][n:]):
        raise ValueError(f"Slots beyond num_cells = {n} are marked alive.")
    parent = a["parent"][:n]
    nonroot = np.flatnonzero(parent >= 0)
    for i in nonroot:
        p = int(parent[i])
        if not p < i:
            raise ValueError(f"Cell {i} has parent {p}, which is not an earlier slot.")
        if a["division"][p] != a["birth"][i]:
            raise ValueError(
                f"Cell {i} was born at step {a['birth'][i]} but its parent {p} divided at step "
                f"{a['division'][p]}."
            )
        if a["generation"][i] != a["generation"][p] + 1:
            raise ValueError(
                f"Cell {i} has generation {a['generation'][i]}, its parent {p} "
                f"{a['generation'][p]}; a daughter is one generation after its mother."
            )
    divided = np.flatnonzero(a["division"][:n] >= 0)
    children = np.bincount(parent[nonroot], minlength=n) if n else np.zeros(0, int)
    if np.any(children[divided] != 2) or np.any(np.delete(children, divided) != 0):
        raise ValueError("A divided cell does not have exactly two daughters (or a cell that "
                         "never divided has daughters).")
    if len(nonroot) != 2 * len(divided):
        raise ValueError(
            f"{len(nonroot)} non-root cells but {len(divided)} divisions; expected twice as many."
        )
    gone = (a["division"][:n] >= 0) | (a["death"][:n] >= 0)
    if np.any(a["alive"][:n] & gone):
        raise ValueError(f"Cells {np.flatnonzero(a['alive'][:n] & gone).tolist()} are alive after "
                         "dividing or dying.")
    occ = a["occupancy"].reshape(-1)
    alive = np.flatnonzero(a["alive"])
    shape = a["occupancy"].shape
    flat = np.ravel_multi_index(tuple(a["position"][alive].T), shape) if alive.size else alive
    if np.any(occ[flat] != alive):
        raise ValueError("The occupancy grid does not hold every alive cell at its position.")
    if np.count_nonzero(occ >= 0) != alive.size:
        raise ValueError("The occupancy grid holds cells that are not alive (or one cell twice).")
