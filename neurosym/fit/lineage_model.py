"""An observed lineage turned into a division model's structure and its observations.

The kinds of the model are the pairs *(lineage, generation)* present in the data. Daughters'
kinds follow the observed lineage: a cell of lineage `L` and generation `g` gives two daughters
of generation `g + 1`, in the lineages its observed daughters belong to (so the C. elegans
founder rules, e.g. EMS -> MS + E, come from the data, not from a table). Each lineage has a
reference generation, the median of its generations: the period fitted for a lineage is the
period of that generation, and the other generations' periods lengthen or shorten from it.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter

import networkx as nx
import numpy as np

from neurosym import data as nsdata
from rules.division import DifferentiationTable

__all__ = ["COLLAPSE", "LATE_START", "LineageModel", "build_model", "kind_names", "recording_start"]

#: A lineage whose count falls below this share of the most it had (and had at least 8 cells)
#: is no longer tracked from that frame on.
COLLAPSE = 0.5
#: The most of a recording's frames that a late start (`recording_start`) may leave out.
LATE_START = 0.25


@dataclasses.dataclass(frozen=True)
class LineageModel:
    """The observed lineage turned into a division model's structure and its observations.

    Attributes:
      lineages: lineage (group) names, in order.
      kinds: `(lineage, generation)` of every kind.
      table: the `DifferentiationTable` over the kinds.
      kind_lineage: `(K,)` lineage index of every kind.
      kind_offset: `(K,)` generation minus the lineage's reference generation.
      reference_generation: `(L,)` each lineage's reference generation (the median of its
        kinds' generations), the generation whose period is fitted per lineage.
      root_kinds: `(N,)` kinds of the cells at the first frame.
      root_names: `(N,)` names of those cells.
      root_division_step: `(N,)` steps after the start at which each root cell divided
        (NaN where it never did in the data).
      dt: minutes per step (the median frame interval).
      num_steps: number of steps simulated.
      times: `(T,)` minutes after the first frame of the observed frames (the first excluded).
      steps: `(T,)` step index (0-based, after that many + 1 steps) of each observed frame.
      observed: `(T, L)` observed number of cells of each lineage at each frame.
      mask: `(T, L)` True where the lineage was still being tracked: after the last frame on
        which any of its undivided cells (leaves) is seen, or from the frame where its count
        first falls below `COLLAPSE` of the most it had, a lineage is unobserved (tracking of a
        lineage can stop before the recording does; its counts there are not data).
      initial: `(L,)` cells of each lineage at the first frame (the model's start).
      cycle_weights: `(K,)` number of cells of each kind whose cycle was observed.
      cycle_kinds: `(M,)` kind of each cell whose cycle was observed.
      cycle_window: `(M,)` minutes from that cell's birth to the end of the data: a cycle is
        only observed if it is shorter than this.
      measured_cycle: lineage -> mean observed cycle length in minutes.
      t0: minute of the first frame.
      cell_kinds: `(C,)` kind of every cell whose birth was observed.
      cell_age: `(C,)` minutes from its birth to its division (status 0), to the end of its
        lineage's tracking (status 1) or to its last frame (status 2).
      cell_status: `(C,)` 0 divided, 1 still there when its lineage's tracking ended (its cycle
        is censored), 2 vanished earlier without dividing (died, or lost by the tracking).
      cell_window: `(C,)` minutes from its birth to the last frame of the data.
    """

    lineages: tuple[str, ...]
    kinds: tuple[tuple[str, int], ...]
    table: DifferentiationTable
    kind_lineage: np.ndarray
    kind_offset: np.ndarray
    reference_generation: np.ndarray
    root_kinds: np.ndarray
    root_names: tuple[str, ...]
    root_division_step: np.ndarray
    dt: float
    num_steps: int
    times: np.ndarray
    steps: np.ndarray
    observed: np.ndarray
    mask: np.ndarray
    initial: np.ndarray
    cycle_weights: np.ndarray
    cycle_kinds: np.ndarray
    cycle_window: np.ndarray
    measured_cycle: dict
    t0: float
    cell_kinds: np.ndarray
    cell_age: np.ndarray
    cell_status: np.ndarray
    cell_window: np.ndarray

    @property
    def kind_names(self) -> tuple[str, ...]:
        """`"lineage.generation"` name of every kind."""
        return kind_names(self.kinds)

    def measured_kind_cycles(self) -> dict:
        """Kind name -> the cycle lengths (minutes) observed for cells of that kind."""
        out: dict = {}
        for k, a, st in zip(self.cell_kinds, self.cell_age, self.cell_status):
            if st == 0:
                out.setdefault(self.kind_names[k], []).append(float(a))
        return out


def kind_names(kinds) -> tuple[str, ...]:
    """`"lineage.generation"` names of `(lineage, generation)` kinds.

    Example:
      >>> kind_names([("AB", 3), ("E", 4)])
      ('AB.3', 'E.4')
    """
    return tuple(f"{L}.{g}" for L, g in kinds)


def _group(attrs: dict) -> str:
    founder = attrs.get("founder")
    return str(founder) if founder not in (None, "") else "all"


def _frame_times(table: "nsdata.CellTable") -> tuple[np.ndarray, np.ndarray, float]:
    """`(frames, minutes of each frame, minutes per step)`, refusing tables that cannot be fitted."""
    embryos = table.embryos()
    if len(embryos) != 1:
        raise ValueError(
            f"fit_lineage fits one embryo at a time; the table holds {len(embryos)} "
            f"({', '.join(map(str, embryos[:5]))}). Pick one with table.select(embryo=...)."
        )
    frames = np.asarray(table.frames())
    if len(frames) < 2:
        raise ValueError("The table has a single frame; fitting division needs a time series.")
    times = np.array([float(np.min(table.time_min[table.frame == f])) for f in frames])
    gaps = np.diff(times)
    gaps = gaps[gaps > 0]
    if gaps.size == 0:
        raise ValueError("All frames have the same time; give minutes_per_frame when reading.")
    return frames, times, float(np.median(gaps))


def _kinds(table, frames, graph, group, gen) -> tuple[list, list, DifferentiationTable]:
    """Lineages (by first appearance), kinds `(lineage, generation)` and the daughters' kinds."""
    lineages = []
    for f in frames:
        for c in table.at(f).cell:
            g = group.get(c, "all")
            if g not in lineages:
                lineages.append(g)
    # Generations seen per lineage, and one more beyond the last (cells born at the very end).
    found = {(group[n], gen[n] + extra) for n in graph.nodes for extra in (0, 1)}
    kinds = sorted(found, key=lambda k: (lineages.index(k[0]) if k[0] in lineages else 99, k[1]))
    # Daughter kinds from the observed divisions (the most common pair per kind).
    pairs: dict = {}
    for n in graph.nodes:
        kids = sorted(graph.successors(n), key=str)
        if len(kids) == 2:
            pair = tuple(sorted(((group[kids[0]], gen[n] + 1), (group[kids[1]], gen[n] + 1))))
            pairs.setdefault((group[n], gen[n]), Counter())[pair] += 1
    rules = {}
    for k in kinds:
        if k in pairs:
            a, b = pairs[k].most_common(1)[0][0]
        else:
            a = b = (k[0], k[1] + 1) if (k[0], k[1] + 1) in found else k
        rules[f"{k[0]}.{k[1]}"] = (f"{a[0]}.{a[1]}", f"{b[0]}.{b[1]}")
    names = [f"{k[0]}.{k[1]}" for k in kinds]
    return lineages, kinds, DifferentiationTable.from_names(names, rules)


def _observations(table, frames, times, graph, group, lineages) -> tuple[np.ndarray, np.ndarray]:
    """`(observed, mask)`, both `(frames, lineages)`: counts and where each lineage is tracked."""
    observed = np.zeros((len(frames), len(lineages)), np.float32)
    for i, f in enumerate(frames):
        for c in table.at(f).cell:
            observed[i, lineages.index(group.get(str(c), "all"))] += 1
    # A lineage is tracked until its last leaf's last frame (lineages that only divide into
    # other lineages, such as EMS, have no leaves and are tracked throughout), and until its
    # count first collapses below COLLAPSE of the most it had: cells leave a lineage by death one
    # at a time, so a lineage that loses half its cells at once has lost its tracking.
    mask = np.ones_like(observed, dtype=bool)
    for i, lineage in enumerate(lineages):
        leaves = [d.get("last_min") for n, d in graph.nodes(data=True)
                  if group[n] == lineage and graph.out_degree(n) == 0 and d.get("last_min") is not None]
        if leaves:
            mask[:, i] = times <= max(leaves) + 1e-6
        most = np.maximum.accumulate(observed[:, i])
        collapsed = np.nonzero((most >= 8) & (observed[:, i] < COLLAPSE * most))[0]
        if collapsed.size:
            mask[collapsed[0]:, i] = False
    return observed, mask


def _observed_cycles(graph, group, gen, index, t_end) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(weights per kind, kind of each observed cycle, its window in minutes)`."""
    weights = np.zeros(len(index), np.float32)
    kinds, window = [], []
    for n, d in graph.nodes(data=True):
        if d.get("cycle_min") is not None and d.get("birth_min") is not None:
            k = index[(group[n], gen[n])]
            weights[k] += 1
            kinds.append(k)
            window.append(t_end - float(d["birth_min"]))
    return weights, np.array(kinds, np.int32), np.array(window, np.float64)


def _cell_fates(graph, group, gen, index, mask_end, dt, t_end) -> tuple[np.ndarray, ...]:
    """`(kind, age, status, window)` of every cell whose birth was observed (see `LineageModel`)."""
    kinds, ages, status, window = [], [], [], []
    for n, d in graph.nodes(data=True):
        birth = d.get("birth_min")
        if birth is None or (group[n], gen[n]) not in index:
            continue
        end = mask_end.get(group[n])
        if d.get("cycle_min") is not None:
            kinds.append(index[(group[n], gen[n])]), ages.append(float(d["cycle_min"])), status.append(0)
            window.append(t_end - float(birth))
        elif graph.out_degree(n) == 0 and d.get("last_min") is not None and end is not None:
            last = float(d["last_min"])
            gone = last < end - 0.5 * dt
            kinds.append(index[(group[n], gen[n])])
            ages.append(last - float(birth))
            status.append(2 if gone else 1)
            window.append(t_end - float(birth))
    return (np.array(kinds, np.int32), np.array(ages, np.float64), np.array(status, np.int8),
            np.array(window, np.float64))


def recording_start(graph: nx.DiGraph, frames) -> int:
    """The first frame from which the recording is whole: every cell first seen later has its
    mother seen at or after that frame. Earlier frames are a stray record (a cell annotated long
    before the rest) or a start whose cells were not all tracked (their daughters appear without
    a mother). If that would leave out more than `LATE_START` of the frames, the first frame.

    Example:
      >>> from neurosym.data import CellTable, lineage
      >>> t = CellTable(embryo="e", cell=["P2", "MS", "E", "MSa", "MSp", "Ea"], frame=[1, 5, 5, 6, 6, 7],
      ...               time_min=[1.0, 5, 5, 6, 6, 7], x=[0.0] * 6, y=[0.0] * 6, z=[0.0] * 6)
      >>> int(recording_start(lineage(t), [1, 5, 6, 7]))  # P2 at frame 1 is on its own
      5
    """
    frames = np.asarray(frames)
    ok = np.ones(len(frames), bool)
    for n, d in graph.nodes(data=True):
        first = d.get("first_frame")
        if first is None:  # a mother known only from names
            continue
        mothers = [m for m in graph.predecessors(n) if graph.nodes[m].get("last_frame") is not None]
        if mothers:
            ok &= ~((frames > graph.nodes[mothers[0]]["last_frame"]) & (frames < first))
        else:
            ok &= frames >= first
    index = np.nonzero(ok)[0]
    if index.size == 0 or index[0] > LATE_START * len(frames):
        return frames[0]
    return frames[index[0]]


def build_model(table: "nsdata.CellTable", graph: nx.DiGraph | None = None) -> LineageModel:
    """Turn one embryo's cell table (and its lineage graph) into a `LineageModel`.

    Args:
      table: one embryo's `CellTable`.
      graph: its lineage graph (default `neurosym.data.lineage(table)`).

    Raises:
      ValueError: the table holds several embryos, fewer than two frames, or no cell divides.

    Example:
      >>> from neurosym.datasets import load_celegans
      >>> m = build_model(load_celegans())
      >>> m.lineages[:3], m.root_names, m.observed.shape[0] + 1 == len(load_celegans().frames())
      (('AB', 'EMS', 'P2'), ('ABa', 'ABp', 'EMS', 'P2'), True)
    """
    frames, times, dt = _frame_times(table)
    if graph is None:
        graph = nsdata.lineage(table)
    start = recording_start(graph, frames)
    if start != frames[0]:
        warnings.warn(f"the recording is taken to start at frame {start}, not {frames[0]}: cells first seen "
                      f"after frame {frames[0]} have no mother seen since then ({np.sum(frames < start)} "
                      "earlier frames left out).", stacklevel=2)
        table = table.take(np.nonzero(table.frame >= start)[0])
        graph = graph.subgraph(table.cells()).copy()
        frames, times, dt = _frame_times(table)
    if not any(graph.out_degree(n) >= 2 for n in graph.nodes):
        raise ValueError("No cell divides in this table: there is nothing to fit a division model to.")
    t0 = float(times[0])
    nodes = dict(graph.nodes(data=True))
    gen = {n: int(d.get("generation") or 0) for n, d in nodes.items()}
    group = {n: _group(d) for n, d in nodes.items()}
    lineages, kinds, diff_table = _kinds(table, frames, graph, group, gen)
    index = {k: i for i, k in enumerate(kinds)}
    gref = np.array([np.median([g for (name, g) in kinds if name == L]) for L in lineages])
    # A lineage seen only in the graph (a mother inferred from names) counts as the first.
    kind_lineage = np.array([lineages.index(k[0]) if k[0] in lineages else 0 for k in kinds], np.int32)
    kind_offset = np.array([k[1] - (gref[lineages.index(k[0])] if k[0] in lineages else 0.0) for k in kinds],
                           np.float32)

    roots = [str(c) for c in table.at(frames[0]).cell]
    division = [nodes[c].get("division_min") for c in roots]
    observed, mask = _observations(table, frames, times, graph, group, lineages)
    steps = np.rint((times - t0) / dt).astype(np.int64)
    keep = steps >= 1  # frame 0 is the start; frame i is observed after steps[i] steps
    weights, cycle_kinds, window = _observed_cycles(graph, group, gen, index, float(times[-1]))
    ends = {L: float(times[mask[:, i]].max()) for i, L in enumerate(lineages) if mask[:, i].any()}
    cell_kinds, cell_age, cell_status, cell_window = _cell_fates(graph, group, gen, index, ends, dt,
                                                                 float(times[-1]))
    return LineageModel(
        lineages=tuple(lineages), kinds=tuple(kinds), table=diff_table, kind_lineage=kind_lineage,
        kind_offset=kind_offset, reference_generation=gref,
        root_kinds=np.array([index[(group[c], gen[c])] for c in roots], np.int32), root_names=tuple(roots),
        root_division_step=np.array([np.nan if d is None else (float(d) - t0) / dt for d in division], np.float32),
        dt=dt, num_steps=int(steps.max()), times=times[keep] - t0, steps=steps[keep],
        observed=observed[keep], mask=mask[keep], initial=observed[0], cycle_weights=weights,
        cycle_kinds=cycle_kinds, cycle_window=window, measured_cycle=dict(nsdata.cycle_lengths(graph)), t0=t0,
        cell_kinds=cell_kinds, cell_age=cell_age, cell_status=cell_status, cell_window=cell_window,
    )
