"""The lineage-graph schema shared by readers and simulators, the simulator's graph, and checks of
a population's bookkeeping.

A lineage is a `networkx.DiGraph` with one node per cell and edges mother -> daughter. Readers of
tracking data (`neurosym`'s `lineage`) and the simulator (`lineage_graph`) follow one schema:

- node: the cell's name. Readers use the names in the data; `lineage_graph(population, names)`
  builds them from the kind names (see `lineage_graph`); without `names` the node is the slot.
- `birth_min`: minute the cell was born (first seen after its mother divided), or None for a
  cell whose birth is not in the graph (a root).
- `division_min`: minute its daughters are born (first seen), or None if it did not divide.
- `cycle_min`: `division_min - birth_min` where both are known, else None.
- `first_min`, `last_min`: first and last minute the cell is present.
- `first_frame`, `last_frame`, `num_frames`: the same span in frames (readers) or steps
  (simulator; step `s` is the state after `s` steps, at minute `s * dt`).
- `founder`: the founder lineage: for C. elegans Sulston names (`rules.celegans`) AB, MS, E, C,
  D, P4, or P0, P1, P2, P3, EMS themselves; for other names the founder of the nearest
  Sulston-named ancestor, else the name of the root.
- `generation`: divisions since P0 for Sulston names (AB = 1, ABa = 2); for other names one more
  than the mother's, 0 for a root.

The simulator adds `slot` (the cell's slot in the `Population`), `kind` (index), `kind_name`
(with `names`), `death_min` (minute it died, or None), `alive` (at the end of the run), `position`
(its site; the last one for cells no longer alive), and the step counts `birth`, `division` and
`death` (None where not applicable) and `name` (= `kind_name`) kept for older code.
`graph.graph["minutes_per_step"]` holds `dt`.
"""

from __future__ import annotations

from typing import Sequence

import networkx as nx
import numpy as np

from automata._checks import check_number, fail
from rules.celegans import founder_of, is_sulston_name, sulston_generation
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


def _cell_names(a: dict, names: list[str]) -> list[str]:
    """Unique node names from kind names, Sulston-like (see `lineage_graph`)."""
    n, kind, parent = a["num_cells"], a["kind"], a["parent"]
    root_kinds = [int(kind[i]) for i in range(n) if parent[i] < 0]
    out: list[str] = []
    used: set[str] = set()
    for i in range(n):
        k, p = int(kind[i]), int(parent[i])
        if p < 0:
            name = names[k] if root_kinds.count(k) == 1 else f"{names[k]}.{i}"
        elif k != int(kind[p]) and names[k] not in used:
            name = names[k]
        else:
            # Daughter A takes the lower of the two new slots.
            name = out[p] + ("a" if i == 0 or parent[i - 1] != p else "p")
        while name in used:
            name = f"{name}.{i}"
        used.add(name)
        out.append(name)
    return out


def _minutes(step, dt: float):
    return None if step is None else float(step) * dt


def _schema(a: dict, i: int, dt: float, t_end: int) -> dict:
    """The schema's attributes of slot `i`, without `founder` and `generation`."""
    step = lambda v: None if v < 0 else int(v)  # noqa: E731
    birth, division, death = int(a["birth"][i]), step(a["division"][i]), step(a["death"][i])
    is_root = a["parent"][i] < 0
    last = (division if division is not None else death if death is not None else t_end + 1) - 1
    return {
        "birth_min": None if is_root else _minutes(birth, dt),
        "division_min": _minutes(division, dt),
        "cycle_min": None if is_root or division is None else (division - birth) * dt,
        "first_min": birth * dt,
        "last_min": last * dt,
        "first_frame": birth,
        "last_frame": last,
        "num_frames": last - birth + 1,
        "death_min": _minutes(death, dt),
        "slot": i,
        "kind": int(a["kind"][i]),
        "birth": birth,
        "division": division,
        "death": death,
        "alive": bool(a["alive"][i]),
        "position": tuple(int(x) for x in a["position"][i]),
    }


def _check_names(names, a: dict) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str):
        raise fail("lineage_graph", f"names must be a sequence of kind names, one per kind, got the "
                                    f"string {names!r}.", TypeError)
    names = [str(s) for s in names]
    kinds = a["kind"][: a["num_cells"]]
    if kinds.size and kinds.max() >= len(names):
        raise fail("lineage_graph", f"names must give one name per kind, but names has {len(names)} "
                                    f"entries and the population has a cell of kind "
                                    f"{int(kinds.max())}.")
    return names


def lineage_graph(population: Population, names: Sequence[str] | None = None, *,
                  dt: float = 1.0) -> nx.DiGraph:
    """The lineage of a population in the schema of this module: one node per cell ever born,
    edges mother -> daughter, times in minutes.

    With `names` (one per kind) the nodes are cell names built from the kinds, Sulston-like: a
    root takes its kind's name (`"<kind>.<slot>"` when several roots share a kind); a daughter
    whose kind differs from its mother's takes its kind's name the first time that name is
    free (P0 -> AB + P1, EMS -> MS + E); any other daughter takes its mother's name plus `"a"`
    (daughter A, which keeps the mother's site) or `"p"` (daughter B). With
    `rules.celegans.founder_table()` from one P0 this gives P0, AB, P1, ABa, ABp, EMS, P2, MS, E,
    MSa, ... (the letters name the daughter, not the embryo's axis). A name already taken gets
    `".<slot>"` appended. Without `names` the nodes are slot numbers.

    Args:
      population: a `Population`, e.g. the final one from `rules.simulate`.
      names: optional kind names, indexed by kind (e.g. a differentiation table's `names`).
      dt: minutes per step (the model's `dt`), positive.

    Example:
      >>> import jax, automata
      >>> from rules.celegans import founder_table
      >>> from rules.division import CellCycle, DivisionModel, simulate
      >>> table = founder_table()
      >>> lat = automata.Lattice((8, 8))
      >>> pop = Population.create(lat, [[4, 4]], [table.names.index("P0")], capacity=8)
      >>> model = DivisionModel(table=table, cycle=CellCycle(period=10.0), dt=2.0)
      >>> final, _ = simulate(model, lat, pop, key=jax.random.key(0), num_steps=10)
      >>> g = lineage_graph(final, names=table.names, dt=model.dt)
      >>> sorted(g.successors("P0")), g.nodes["AB"]["birth_min"], g.nodes["AB"]["cycle_min"]
      (['AB', 'P1'], 10.0, 10.0)
    """
    a = _host(population, "lineage_graph")
    dt = check_number(dt, "dt", minimum=0.0, open_minimum=True, owner="lineage_graph",
                      hint="Pass the model's dt (minutes per step).")
    names = _check_names(names, a)
    n, t_end = a["num_cells"], int(population.t)
    node = _cell_names(a, names) if names is not None else list(range(n))
    g = nx.DiGraph(minutes_per_step=dt)
    for i in range(n):
        attrs = _schema(a, i, dt, t_end)
        p = int(a["parent"][i])
        mother = g.nodes[node[p]] if p >= 0 else None
        label = node[i] if names is not None else None
        sulston = label is not None and is_sulston_name(label)
        if names is not None:
            attrs["kind_name"] = attrs["name"] = names[attrs["kind"]]
        attrs["founder"] = (founder_of(label) if sulston else
                            mother["founder"] if mother is not None else node[i])
        attrs["generation"] = (sulston_generation(label) if sulston else
                               mother["generation"] + 1 if mother is not None else 0)
        g.add_node(node[i], **attrs)
        if p >= 0:
            g.add_edge(node[p], node[i])
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
