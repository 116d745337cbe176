"""Tracks in the Graph Exchange File Format (GEFF, a zarr graph of detections and links).

A GEFF track graph has one node per detection (properties: a time axis and space axes named in
its metadata) and a directed edge per link from a detection to the next of the same cell or to a
daughter (Graph Exchange File Format, live-image-tracking-tools.github.io/geff). Tracklets are
the maximal chains of nodes without branches (the format's own definition); each becomes one cell
of a `CellTable`, with the tracklet it branches from as its parent, so `neurosym.io.lineage`
gives the lineage. `read_geff` needs the optional package geff (`pip install geff`);
`table_from_track_graph` does the conversion on a `networkx` graph and needs nothing more.
"""

from __future__ import annotations

import os
from typing import Sequence

import networkx as nx
import numpy as np

from automata._checks import fail
from neurosym.io.lineage import check_read_lineage
from neurosym.io.table import CellTable
from neurosym.io.text import CORE_COLUMNS
from neurosym.io.times import check_minutes_per_frame

__all__ = ["read_geff", "table_from_track_graph"]


def _tracklets(graph: nx.DiGraph, source: str) -> dict:
    """{node: first node of its tracklet}: a node continues its predecessor's tracklet when it
    has one predecessor and that predecessor has one successor."""
    start: dict = {}
    for n in nx.topological_sort(graph):
        preds = list(graph.predecessors(n))
        if len(preds) > 1:
            shown = ", ".join(map(repr, preds[:4]))
            raise ValueError(f"{source}: node {n!r} has {len(preds)} incoming links (from {shown}): tracks that "
                             "merge are not a lineage; split the merge into separate tracks.")
        if preds and graph.out_degree(preds[0]) == 1:
            start[n] = start[preds[0]]
        else:
            start[n] = n
    return start


def _orient(graph: nx.Graph, time: str, source: str) -> nx.DiGraph:
    if graph.is_directed():
        return graph
    out = nx.DiGraph()
    out.add_nodes_from(graph.nodes(data=True))
    for u, v in graph.edges:
        tu, tv = graph.nodes[u][time], graph.nodes[v][time]
        if tu == tv:
            raise ValueError(f"{source}: the undirected link {u!r} - {v!r} joins two nodes at one time ({tu}); "
                             "links go from one frame to a later one.")
        out.add_edge(*((u, v) if tu < tv else (v, u)))
    return out


def table_from_track_graph(graph: nx.Graph, *, time: str = "t", space: Sequence[str] | None = None,
                           tracklet: str | None = None, minutes_per_frame: float = 1.0,
                           embryo: str = "tracks", source: str = "graph", strict: bool = False) -> CellTable:
    """A `CellTable` from a track graph: nodes are detections, edges link them forward in time.

    Each tracklet (a maximal chain of nodes without branches, or the node property `tracklet`
    where the graph has one) becomes one cell, named by its first node's id (or the tracklet
    id) as text; its parent is the tracklet its first node is linked from. Undirected graphs are
    oriented from earlier to later nodes. Other numeric node properties become extra columns
    (prefixed "node_" where the name is a core column's, e.g. "node_z"), and `extra["node"]`
    holds each row's node id as text.

    Args:
      graph: `networkx.DiGraph` (or Graph) of detections.
      time: the node property holding the frame (whole numbers).
      space: node properties of the spatial axes in axis order, the last being x (e.g.
        ("z", "y", "x")); default those of "z", "y", "x" that the nodes have.
      tracklet: node property holding a tracklet id, if the graph has one.
      minutes_per_frame: time_min = frame * minutes_per_frame.
      embryo: the embryo name.
      source: the graph's origin, for messages and `meta`.
      strict: raise a ValueError for lineage problems instead of a `LineageWarning`.

    Raises:
      ValueError: naming the node, for a missing time or position, a fractional time, a link
        that does not go forward in time, or a node with two incoming links (a merge).

    Example:
      >>> g = nx.DiGraph([(0, 1), (1, 2), (1, 3)])
      >>> nx.set_node_attributes(g, {0: 0, 1: 1, 2: 2, 3: 2}, "t")
      >>> nx.set_node_attributes(g, {0: 5.0, 1: 5.0, 2: 4.0, 3: 6.0}, "x")
      >>> nx.set_node_attributes(g, {n: 1.0 for n in g}, "y")
      >>> t = table_from_track_graph(g)
      >>> t.cell.tolist(), t.parent.tolist(), t.x.tolist()
      (['0', '0', '2', '3'], ['', '', '0', '0'], [5.0, 5.0, 4.0, 6.0])
    """
    owner = "table_from_track_graph"
    mpf = check_minutes_per_frame(minutes_per_frame, owner=owner)
    if not isinstance(graph, nx.Graph):
        raise fail(owner, f"graph must be a networkx graph of detections, got {type(graph).__name__}.", TypeError)
    if graph.number_of_nodes() == 0:
        raise ValueError(f"{source}: the graph has no nodes; expected one node per detection.")
    nodes = list(graph.nodes)
    attrs = [graph.nodes[n] for n in nodes]
    if space is None:
        space = [a for a in ("z", "y", "x") if any(a in d for d in attrs)]
        if not space:
            raise ValueError(f"{source}: the nodes have no 'x', 'y' or 'z' property; pass space=(...) with the "
                             "names of the position properties.")
    space = [str(s) for s in space]
    if not 1 <= len(space) <= 3:
        raise fail(owner, f"space must name 1 to 3 position properties, got {space!r}.")
    for prop in [time, *space] + ([tracklet] if tracklet else []):
        lacking = [n for n, d in zip(nodes, attrs) if prop not in d]
        if lacking:
            raise ValueError(f"{source}: node {lacking[0]!r} (and {len(lacking) - 1} more) has no property "
                             f"{prop!r}; every detection needs its {prop}.")
    t = np.array([d[time] for d in attrs], dtype=np.float64)
    if not np.all(np.isfinite(t) & (t == np.round(t))):
        i = int(np.argmax(~(np.isfinite(t) & (t == np.round(t)))))
        raise ValueError(f"{source}: node {nodes[i]!r} has {time} = {t[i]}; expected a whole frame number.")
    frame_of = dict(zip(nodes, t.astype(np.int64).tolist()))
    g = _orient(graph, time, source)
    for u, v in g.edges:
        if frame_of[v] <= frame_of[u]:
            raise ValueError(f"{source}: the link {u!r} -> {v!r} goes from frame {frame_of[u]} to {frame_of[v]}; "
                             "links go forward in time.")
    if tracklet is None:
        first = _tracklets(g, source)
        cell_of = {n: str(first[n]) for n in nodes}
    else:
        cell_of = {n: str(d[tracklet]) for n, d in zip(nodes, attrs)}
    parent_of: dict[str, str] = {}
    for u, v in g.edges:
        if cell_of[u] != cell_of[v]:
            parent_of.setdefault(cell_of[v], cell_of[u])
    pos = {name: np.array([d[name] for d in attrs], dtype=np.float64) for name in space}
    axis = dict(zip("XYZ", reversed(space)))
    zero = np.zeros(len(nodes))
    extra = {"node": np.array([str(n) for n in nodes], dtype=str)}
    skip = {time, tracklet, *space}
    for key in sorted(set(attrs[0]).difference(skip)):
        vals = [d.get(key) for d in attrs]
        if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in vals):
            extra[f"node_{key}" if key in CORE_COLUMNS or key == "node" else key] = np.array(vals)
    cell = [cell_of[n] for n in nodes]
    frame = np.array([frame_of[n] for n in nodes], dtype=np.int64)
    table = CellTable(
        embryo=embryo, cell=cell, time_min=frame * mpf, frame=frame, x=pos[axis["X"]],
        y=pos[axis["Y"]] if "Y" in axis else zero, z=pos[axis["Z"]] if "Z" in axis else zero,
        parent=[parent_of.get(c, "") for c in cell], extra=extra,
        meta={"source": source, "format": "geff", "space": tuple(space),
              "time_source": f"{mpf:g} min per frame, frame 0 at 0 min"},
    ).sorted()
    return check_read_lineage(source, table, strict, lambda: (lambda p: f"tracklet {p.cell}"))


def read_geff(path, *, minutes_per_frame: float = 1.0, embryo: str | None = None,
              strict: bool = False) -> CellTable:
    """Read a GEFF track graph into a `CellTable` (one row per detection, cells = tracklets).

    The time and space axes come from the file's metadata (`axes` with type "time" and
    "space", the last space axis being x), the tracklet ids from `track_node_props` where the
    file has them; then `table_from_track_graph`. Needs the optional package geff.

    Args:
      path: the GEFF zarr folder.
      minutes_per_frame: time_min = frame * minutes_per_frame.
      embryo: the embryo name (default the file's name).
      strict: raise a ValueError for lineage problems instead of a `LineageWarning`.

    Raises:
      ImportError: geff is not installed (`pip install geff`).
      FileNotFoundError: no such path.
      ValueError: a file geff cannot read, or one without a time axis (see also
        `table_from_track_graph`).

    Example:
      >>> import importlib.util
      >>> g = nx.DiGraph([(0, 1), (1, 2), (1, 3)])
      >>> nx.set_node_attributes(g, {0: 0, 1: 1, 2: 2, 3: 2}, "t")
      >>> nx.set_node_attributes(g, {0: 5.0, 1: 5.0, 2: 4.0, 3: 6.0}, "x")
      >>> nx.set_node_attributes(g, {n: 1.0 for n in g}, "y")
      >>> if importlib.util.find_spec("geff") is not None:  # the optional extra
      ...     import geff
      ...     geff.write(g, "cells.geff", axis_names=["t", "y", "x"], axis_types=["time", "space", "space"],
      ...                overwrite=True)
      ...     table = read_geff("cells.geff")
      ... else:  # what read_geff does with the graph it reads
      ...     table = table_from_track_graph(g, time="t", space=["y", "x"])
      >>> table.cells(), table.parent.tolist()
      (['0', '2', '3'], ['', '', '0', '0'])
    """
    owner = "read_geff"
    if not isinstance(path, (str, os.PathLike)):
        raise fail(owner, f"path must be the path of a GEFF zarr (str or pathlib.Path), got {type(path).__name__}.",
                   TypeError)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or folder (expected a GEFF zarr).")
    try:
        import geff
    except ImportError:
        raise ImportError("read_geff: reading GEFF files needs the geff package: pip install geff") from None
    try:
        graph, meta = geff.read(str(path))
    except Exception as e:  # geff and zarr raise several types for files they cannot read
        raise ValueError(f"{path}: cannot read as GEFF ({type(e).__name__}: {e}).") from None
    axes = list(meta.axes or [])
    times = [a.name for a in axes if a.type == "time"]
    space = [a.name for a in axes if a.type == "space"] or None
    if not times:
        props = set(meta.node_props_metadata or {})
        if "t" not in props:
            raise ValueError(f"{path}: the metadata names no time axis and the nodes have no 't' property; "
                             "write the file with axis_types=[..., 'time', ...].")
        times = ["t"]
    tracklet = (meta.track_node_props or {}).get("tracklet")
    name = os.path.basename(os.path.normpath(str(path)))
    return table_from_track_graph(graph, time=times[0], space=space, tracklet=tracklet,
                                  minutes_per_frame=minutes_per_frame, embryo=name if embryo is None else embryo,
                                  source=str(path), strict=strict)
