"""The lineage a cell table implies: a `networkx.DiGraph` (parent -> daughters) and the rules it breaks.

Parents come from the table's `parent` column or, for C. elegans, from Sulston names. Each cell
gets its birth, division and cycle times, founder lineage and generation; cells with three
daughters, daughters seen before their mother has divided, missing mothers, broken founder
divisions (P0 -> AB + P1, P1 -> EMS + P2, EMS -> MS + E, P2 -> C + P3, P3 -> D + P4) and
names that do not continue their mother's are reported in a `LineageReport`. A parent cycle
(A parent of B and B of A) is not a lineage at all and is refused with a ValueError naming it.
Reference for the names: Sulston, Schierenberg, White & Thomson (1983), Dev. Biol. 100:64,
doi:10.1016/0012-1606(83)90201-4.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Sequence

import networkx as nx
import numpy as np

from automata._checks import fail
from neurosym.io.table import CellTable
from rules.celegans import (
    BLASTOMERES,
    FOUNDER_RULES,
    founder_of,
    is_named_blastomere,
    is_sulston_name,
    sulston_generation,
    sulston_parent,
)

__all__ = [
    "LineageProblem", "LineageReport", "LineageWarning", "build_lineage", "check_read_lineage",
    "cycle_length_samples", "cycle_lengths", "line_locator", "lineage", "one_embryo",
]


class LineageWarning(UserWarning):
    """Issued by a reader whose tracks break lineage rules (see `LineageReport`)."""


@dataclass(frozen=True)
class LineageProblem:
    """One broken rule.

    Attributes:
      kind: "too_many_daughters", "born_before_parent", "missing_parent", "founder_rule",
        "name_mismatch", "duplicate" or "inconsistent_parent".
      cell: the cell concerned.
      message: what is wrong, in words (readers prefix the file and line).
      frame: the frame concerned, where there is one.
    """

    kind: str
    cell: str
    message: str
    frame: int | None = None


@dataclass(frozen=True)
class LineageReport:
    """The problems found in one embryo's lineage; `ok` when there are none.

    Example:
      >>> t = CellTable(embryo="e", cell=["a", "b", "c", "d"], time_min=[0, 1, 1, 1],
      ...               frame=[0, 1, 1, 1], x=[0] * 4, y=[0] * 4, z=[0] * 4,
      ...               parent=["", "a", "a", "a"])
      >>> report = lineage(t).graph["report"]
      >>> report.ok, report.kinds()
      (False, {'too_many_daughters': 1})
    """

    embryo: str
    problems: tuple[LineageProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> dict[str, int]:
        """Number of problems of each kind."""
        return dict(Counter(p.kind for p in self.problems))

    def __str__(self) -> str:
        if self.ok:
            return f"lineage of embryo {self.embryo!r}: no problems"
        lines = [f"lineage of embryo {self.embryo!r}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p.message}" for p in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"  ... and {len(self.problems) - 20} more")
        return "\n".join(lines)


def one_embryo(table, embryo: str | None, owner: str) -> CellTable:
    """The rows of one embryo of `table`, or a clear error (not a table, empty, several embryos)."""
    if not isinstance(table, CellTable):
        raise fail(owner, f"table must be a CellTable (from neurosym.io.read or a read_* reader), "
                          f"got {type(table).__name__}.", TypeError)
    if len(table) == 0:
        raise fail(owner, "table must hold at least one row, got an empty table.")
    emb = table.embryos()
    if embryo is None:
        if len(emb) > 1:
            raise fail(owner, f"the table holds {len(emb)} embryos ({', '.join(emb[:5])}); "
                              "pass embryo=... to pick one.")
        return table
    return table.select(embryo=embryo)


def lineage(table: CellTable, *, embryo: str | None = None, strict: bool = False) -> nx.DiGraph:
    """The lineage of one embryo as a `networkx.DiGraph`, edges parent -> daughter.

    Parents come from the table's `parent` column where the source gives one, otherwise from
    C. elegans Sulston names (ABal -> ABala, EMS -> MS, ...) when the named mother appears in the
    table. Node ids are cell names. Node attributes:

    - `birth_min`: first time the cell is seen, if it was born in the data (its parent is in the
      graph), else None.
    - `division_min`: first time a daughter is seen, or None if no daughter is in the data.
    - `cycle_min`: `division_min - birth_min` where both are known, else None.
    - `first_min`, `last_min`, `first_frame`, `last_frame`, `num_frames`: the observed span.
    - `founder`: founder lineage (AB, MS, E, C, D, P4, or P0, P1, P2, P3, EMS themselves) from the
      Sulston name; for other names, the founder of the nearest Sulston-named ancestor, else the
      name of the first ancestor present in the data.
    - `generation`: divisions since P0 for Sulston names (AB = 1, ABa = 2, MS = 3, ...); for other
      names one more than the parent's, 0 for a cell without a parent in the data.

    `graph.graph` holds `embryo` and `report`, a `LineageReport` of cells with more than two
    daughters, daughters seen before their parent has divided, parents that never appear (or a
    Sulston mother missing although the daughter appears after the recording started), broken
    founder divisions, daughters whose name does not continue their mother's, the same cell twice
    in a frame, and a cell with two different parents.

    Args:
      table: a `CellTable`.
      embryo: which embryo, if the table holds more than one.
      strict: raise a ValueError listing the problems instead of only reporting them.

    Raises:
      ValueError: the parents form a cycle (a cell its own ancestor), naming the cells in it.

    Example:
      >>> t = CellTable(embryo="e", cell=["EMS", "MS", "E", "MS", "E", "Ea", "Ep"],
      ...               time_min=[0, 3, 3, 6, 6, 9, 9], frame=[1, 2, 2, 3, 3, 4, 4],
      ...               x=[0] * 7, y=[0] * 7, z=[0] * 7)
      >>> g = lineage(t)
      >>> sorted(g.successors("EMS")), g.nodes["E"]["cycle_min"], g.nodes["Ea"]["founder"]
      (['E', 'MS'], 6.0, 'E')
      >>> g.graph["report"].ok
      True
    """
    t = one_embryo(table, embryo, "lineage")
    graph, problems = build_lineage(t, source="lineage")
    report = LineageReport(embryo=str(t.embryo[0]), problems=tuple(problems))
    graph.graph["embryo"] = report.embryo
    graph.graph["report"] = report
    if strict and not report.ok:
        raise ValueError(f"{report}\nFix the tracks, or pass strict=False to get these as graph.graph['report'].")
    return graph


@dataclass
class _Spans:
    """Per distinct cell name (sorted): the observed span and how often it is seen."""

    names: np.ndarray
    inverse: np.ndarray
    first_frame: np.ndarray
    last_frame: np.ndarray
    first_min: np.ndarray
    last_min: np.ndarray
    num_frames: np.ndarray
    index: dict

    def when(self, i: int, first: bool = True) -> str:
        if first:
            return f"{self.first_min[i]:g} min (frame {self.first_frame[i]})"
        return f"{self.last_min[i]:g} min (frame {self.last_frame[i]})"


def build_lineage(t: CellTable, *, source: str = "the table",
                  locate: Callable[[str], str | None] | None = None) -> tuple[nx.DiGraph, list[LineageProblem]]:
    """The annotated lineage graph of a one-embryo table and the problems found.

    `source` starts the error raised for a parent cycle (e.g. the file name); `locate(cell)`, if
    given, says where in the file each cell of the cycle is (e.g. "line 3").
    """
    spans, problems = _spans(t)
    graph = nx.DiGraph()
    graph.add_nodes_from(spans.names.tolist())
    problems += _add_parent_edges(graph, t, spans)
    _refuse_cycles(graph, source, locate)
    problems += _check_daughters(graph, spans)
    _annotate(graph, spans)
    return graph, problems


def _spans(t: CellTable) -> tuple[_Spans, list[LineageProblem]]:
    names, inv = np.unique(t.cell, return_inverse=True)
    k = len(names)
    big = np.iinfo(np.int64).max
    first_frame, last_frame = np.full(k, big, dtype=np.int64), np.full(k, -big, dtype=np.int64)
    np.minimum.at(first_frame, inv, t.frame)
    np.maximum.at(last_frame, inv, t.frame)
    first_min, last_min = np.full(k, np.inf), np.full(k, -np.inf)
    np.minimum.at(first_min, inv, t.time_min)
    np.maximum.at(last_min, inv, t.time_min)
    # Distinct frames per cell, and cells seen twice in one frame.
    f0 = int(t.frame.min())
    span = int(t.frame.max()) - f0 + 1
    key = inv.astype(np.int64) * span + (t.frame - f0)
    ukey, kcount = np.unique(key, return_counts=True)
    num_frames = np.bincount(ukey // span, minlength=k)
    dup_cells = defaultdict(list)
    for kk in ukey[kcount > 1]:
        dup_cells[int(kk // span)].append(int(kk % span) + f0)
    problems = []
    for c, frames in sorted(dup_cells.items()):
        shown = ", ".join(map(str, frames[:5])) + (" ..." if len(frames) > 5 else "")
        problems.append(LineageProblem(
            "duplicate", str(names[c]),
            f"cell {str(names[c])!r} appears more than once in {len(frames)} frame(s) ({shown}): two "
            "nuclei share one name", frame=frames[0],
        ))
    index = {str(n): i for i, n in enumerate(names)}
    spans = _Spans(names, inv, first_frame, last_frame, first_min, last_min, num_frames, index)
    return spans, problems


def _add_parent_edges(graph: nx.DiGraph, t: CellTable, s: _Spans) -> list[LineageProblem]:
    """Edges from the explicit parents where given, else from Sulston names."""
    given: dict[int, Counter] = defaultdict(Counter)
    has_parent = t.parent != ""
    for c, p in zip(s.inverse[has_parent].tolist(), t.parent[has_parent].tolist()):
        given[c][p] += 1
    rec_start = int(t.frame.min())
    problems = []
    for i, n in enumerate(s.names.tolist()):
        if i in given:
            problems += _explicit_parent(graph, n, i, given[i], s)
            continue
        p = sulston_parent(n)
        if p is None:
            continue
        if p in s.index:
            graph.add_edge(p, n)
        elif s.first_frame[i] > rec_start:
            problems.append(LineageProblem(
                "missing_parent", n,
                f"cell {n!r} first appears at {s.when(i)}, after the recording started (frame "
                f"{rec_start}), but its mother {p!r} never appears",
                frame=int(s.first_frame[i]),
            ))
    return problems


def _explicit_parent(graph: nx.DiGraph, n: str, i: int, parents: Counter, s: _Spans) -> list[LineageProblem]:
    p = parents.most_common(1)[0][0]
    problems = []
    if len(parents) > 1:
        problems.append(LineageProblem(
            "inconsistent_parent", n,
            f"cell {n!r} has {len(parents)} different parents ({', '.join(map(repr, parents))}); "
            f"expected one; using {p!r}",
        ))
    if p not in s.index:
        problems.append(LineageProblem(
            "missing_parent", n, f"parent {p!r} of cell {n!r} never appears", frame=int(s.first_frame[i]),
        ))
        return problems
    graph.add_edge(p, n)
    return problems


def _refuse_cycles(graph: nx.DiGraph, source: str, locate) -> None:
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    members = [u for u, _ in cycle]
    where = {m: (locate(m) if locate is not None else None) for m in members}
    path = " -> ".join(repr(m) + (f" ({where[m]})" if where[m] else "") for m in members) + f" -> {members[0]!r}"
    what = f"cell {members[0]!r} is its own parent" if len(members) == 1 else (
        f"the parents form a cycle: {path} (each cell an ancestor of itself)")
    raise ValueError(
        f"{source}: {what}; a lineage is a tree. Fix the parent of one of these cells "
        "(a founder has no parent: leave its parent empty)."
    )


def _check_daughters(graph: nx.DiGraph, s: _Spans) -> list[LineageProblem]:
    problems = []
    for n in graph.nodes:
        i = s.index[n]
        kids = sorted(graph.successors(n), key=lambda d: (s.first_frame[s.index[d]], d))
        if len(kids) > 2:
            problems.append(LineageProblem(
                "too_many_daughters", n,
                f"cell {n!r} has {len(kids)} daughters ({', '.join(kids)}); a cell divides into two",
                frame=int(s.first_frame[s.index[kids[0]]]),
            ))
        for d in kids:
            problems += _check_birth(n, d, i, s.index[d], s)
            problems += _check_names(n, d, int(s.first_frame[s.index[d]]))
    return problems


def _check_birth(n: str, d: str, i: int, j: int, s: _Spans) -> list[LineageProblem]:
    if s.first_frame[j] < s.first_frame[i]:
        relation = f"before its parent {n!r} is first seen at {s.when(i)}"
    elif s.first_frame[j] <= s.last_frame[i]:
        relation = f"while its parent {n!r} is still seen until {s.when(i, first=False)}"
    else:
        return []
    return [LineageProblem("born_before_parent", d, f"daughter {d!r} is seen at {s.when(j)}, {relation}",
                           frame=int(s.first_frame[j]))]


def _check_names(n: str, d: str, frame: int) -> list[LineageProblem]:
    expected = sulston_parent(d)
    if expected is None or not is_sulston_name(n) or expected == n:
        return []
    if n in FOUNDER_RULES or is_named_blastomere(d):
        rule = FOUNDER_RULES.get(n) or FOUNDER_RULES.get(expected)
        mother = n if n in FOUNDER_RULES else expected
        return [LineageProblem(
            "founder_rule", d,
            f"{d!r} is tracked as a daughter of {n!r}, but the founder rule is {mother} -> {rule[0]} + {rule[1]}",
            frame=frame,
        )]
    return [LineageProblem(
        "name_mismatch", d,
        f"{d!r} is tracked as a daughter of {n!r}, but its name makes it a daughter of {expected!r}",
        frame=frame,
    )]


def _annotate(graph: nx.DiGraph, s: _Spans) -> None:
    for n in nx.topological_sort(graph):
        i = s.index[n]
        parents = list(graph.predecessors(n))
        parent = parents[0] if parents else None
        founder, gen = founder_of(n), sulston_generation(n)
        if founder is None:
            founder = graph.nodes[parent]["founder"] if parent is not None else n
        if gen is None:
            gen = graph.nodes[parent]["generation"] + 1 if parent is not None else 0
        kids = list(graph.successors(n))
        birth = float(s.first_min[i]) if parent is not None else None
        division = float(min(s.first_min[s.index[d]] for d in kids)) if kids else None
        graph.nodes[n].update(
            birth_min=birth,
            division_min=division,
            cycle_min=(division - birth) if birth is not None and division is not None else None,
            first_min=float(s.first_min[i]),
            last_min=float(s.last_min[i]),
            first_frame=int(s.first_frame[i]),
            last_frame=int(s.last_frame[i]),
            num_frames=int(s.num_frames[i]),
            founder=founder,
            generation=int(gen),
        )


def _founder_key(f: str):
    return (0, BLASTOMERES.index(f), "") if f in BLASTOMERES else (1, 0, f)


def cycle_length_samples(graph: nx.DiGraph) -> dict[str, np.ndarray]:
    """Observed cell-cycle lengths (minutes) per founder lineage.

    A cell counts when both its birth and its division are in the data
    (`division_min - birth_min`, i.e. the time between its first frame and its daughters').

    Args:
      graph: a lineage from `lineage`.

    Returns:
      {founder: float array of cycle lengths}, founders in developmental order.

    Example:
      >>> t = CellTable(embryo="e", cell=["E", "Ea", "Ep", "Eaa", "Eap"], time_min=[0, 3, 3, 9, 9],
      ...               frame=[1, 2, 2, 4, 4], x=[0] * 5, y=[0] * 5, z=[0] * 5)
      >>> cycle_length_samples(lineage(t))
      {'E': array([6.])}
    """
    _check_graph(graph, "cycle_length_samples")
    out: dict[str, list[float]] = defaultdict(list)
    for _, a in graph.nodes(data=True):
        if a["cycle_min"] is not None:
            out[a["founder"]].append(a["cycle_min"])
    return {f: np.array(out[f]) for f in sorted(out, key=_founder_key)}


def cycle_lengths(graph: nx.DiGraph) -> dict[str, float]:
    """Mean cell-cycle length (minutes) per founder lineage, over cells whose birth and division
    are both observed. Founders without such a cell are left out.

    Args:
      graph: a lineage from `lineage`.

    Example:
      >>> t = CellTable(embryo="e", cell=["AB", "ABa", "ABp", "ABal", "ABar", "ABpl", "ABpr"],
      ...               time_min=[0, 2, 2, 4, 4, 6, 6], frame=[1, 2, 2, 3, 3, 4, 4],
      ...               x=[0] * 7, y=[0] * 7, z=[0] * 7)
      >>> cycle_lengths(lineage(t))
      {'AB': 3.0}
    """
    _check_graph(graph, "cycle_lengths")
    return {f: float(v.mean()) for f, v in cycle_length_samples(graph).items()}


def _check_graph(graph, owner: str) -> None:
    if not isinstance(graph, nx.DiGraph):
        raise fail(owner, f"graph must be the networkx.DiGraph from neurosym.io.lineage, got "
                          f"{type(graph).__name__}.", TypeError)
    for n, a in graph.nodes(data=True):
        if "cycle_min" not in a or "founder" not in a:
            raise fail(owner, f"graph must be the graph from neurosym.io.lineage(table), but node {n!r} "
                              "has no 'cycle_min'/'founder' attributes.")
        break


def check_read_lineage(name: str, table: CellTable, strict: bool,
                       locator: Callable[[], Callable[[LineageProblem], str | None]]) -> CellTable:
    """Check each embryo's lineage; warn (or raise, if strict) naming file and line of each problem.

    `locator()` makes the function that finds a problem's line; it is only built when needed.
    The reports go to `table.meta["lineage_reports"]`. A parent cycle is always refused.
    """
    reports, where = {}, None
    several = len(table.embryos()) > 1
    for emb in table.embryos():
        sub = table.select(embryo=emb) if several else table
        _, problems = build_lineage(sub, source=name + (f" (embryo {emb!r})" if several else ""),
                                    locate=lambda cell: locator()(LineageProblem("cycle", cell, "")))
        if problems and where is None:
            where = locator()
        located = []
        for p in problems:
            loc = where(p)
            prefix = (f"{name}, {loc}" if loc else name) + (f" (embryo {emb!r})" if several else "")
            located.append(dataclasses.replace(p, message=f"{prefix}: {p.message}"))
        reports[emb] = LineageReport(embryo=emb, problems=tuple(located))
    bad = [r for r in reports.values() if not r.ok]
    if bad:
        n = sum(len(r.problems) for r in bad)
        text = "\n".join(str(r) for r in bad)
        if strict:
            raise ValueError(f"{name}: the tracks break {n} lineage rule(s).\n{text}")
        warnings.warn(
            f"{name}: the tracks break {n} lineage rule(s); they are kept as read and listed in "
            f"table.meta['lineage_reports'] (pass strict=True to refuse such files).\n{text}",
            LineageWarning, stacklevel=3,
        )
    return dataclasses.replace(table, meta={**table.meta, "lineage_reports": reports})


def line_locator(cells: np.ndarray, frames: np.ndarray, lines: Sequence,
                 unit: str = "line") -> Callable[[LineageProblem], str | None]:
    """A function giving the line(s) of the file where a `LineageProblem` is seen, or None."""
    first_line: dict[str, object] = {}
    at: dict[tuple[str, int], list] = defaultdict(list)
    for c, f, ln in zip(cells.tolist(), frames.tolist(), list(lines)):
        first_line.setdefault(c, ln)
        at[(c, f)].append(ln)

    def where(p: LineageProblem) -> str | None:
        if p.frame is not None and (p.cell, p.frame) in at:
            ls = at[(p.cell, p.frame)]
            return f"{unit}{'s' * (bool(unit) and len(ls) > 1)} {', '.join(map(str, ls[:4]))}".strip()
        if p.cell in first_line:
            return f"{unit} {first_line[p.cell]}".strip()
        return None

    return where
