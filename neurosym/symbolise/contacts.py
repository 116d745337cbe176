"""Contact graphs: which cells of a label image touch across a face, and over what area."""

from __future__ import annotations

import networkx as nx
import numpy as np

from neurosym.symbolise._inputs import check_labels, check_spacing, index_labels

__all__ = ["contact_graph", "graph_of_labels"]


def contact_graph(labels, *, spacing=None) -> nx.Graph:
    """Which cells touch: a graph over label ids with an edge for every shared face.

    Two labels touch when pixels of each are face neighbours (4-connectivity in 2D,
    6-connectivity in 3D); corner contacts do not count. Background (0) is not a node.

    Args:
      labels: integer label image, 2D or 3D (1D works too), 0 = background.
      spacing: physical pixel size along each axis, used for the edges' `area`.

    Returns:
      `networkx.Graph` with one node per label id (attribute `index`: the row in
      `cell_features` and the population slot), isolated cells included, and one edge per
      touching pair with attributes `faces` (number of touching pixel-face pairs) and `area`
      (their physical area: faces times the face area, equal to `faces` without spacing; a
      length in 2D).

    Example:
      >>> labels = np.array([[1, 1, 2],
      ...                    [3, 3, 2]])
      >>> g = contact_graph(labels)
      >>> sorted(g.edges(data="faces"))
      [(1, 2, 1), (1, 3, 2), (2, 3, 1)]
    """
    lab = check_labels(labels)
    sp = check_spacing(spacing, lab.ndim, owner="contact_graph")
    _, ids, _ = index_labels(lab, owner="contact_graph")
    return graph_of_labels(lab, ids, sp)


def _touching_pairs(lab: np.ndarray, top: int, axis: int):
    """Distinct `(lo, hi)` label pairs that touch across `axis`, and how many faces each shares."""
    ndim = lab.ndim
    a = lab[tuple(slice(0, -1) if k == axis else slice(None) for k in range(ndim))]
    b = lab[tuple(slice(1, None) if k == axis else slice(None) for k in range(ndim))]
    touch = (a != b) & (a > 0) & (b > 0)
    a, b = a[touch].astype(np.int64), b[touch].astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    if top < 2**31:  # lo * (top + 1) + hi fits in int64: one key per pair
        uniq, counts = np.unique(lo * (top + 1) + hi, return_counts=True)
        uniq = np.stack([uniq // (top + 1), uniq % (top + 1)], axis=1)
    else:
        uniq, counts = np.unique(np.stack([lo, hi], 1), axis=0, return_counts=True)
    return uniq.reshape(-1, 2), counts


def graph_of_labels(lab: np.ndarray, ids: np.ndarray, sp: np.ndarray) -> nx.Graph:
    """`contact_graph` of a checked label image with its sorted label `ids` and `(D,)` spacing.

    Example:
      >>> sorted(graph_of_labels(np.array([[1, 2]]), np.array([1, 2]), np.ones(2)).edges)
      [(1, 2)]
    """
    pair_keys, pair_faces, pair_area = [], [], []
    for axis in range(lab.ndim):
        uniq, counts = _touching_pairs(lab, int(ids[-1]), axis)
        pair_keys.append(uniq)
        pair_faces.append(counts)
        pair_area.append(counts * (np.prod(sp) / sp[axis]))
    edges, where = np.unique(np.concatenate(pair_keys), axis=0, return_inverse=True)
    where = where.reshape(-1)
    faces = np.bincount(where, weights=np.concatenate(pair_faces), minlength=len(edges)).astype(np.int64)
    area = np.bincount(where, weights=np.concatenate(pair_area), minlength=len(edges))
    graph = nx.Graph()
    graph.add_nodes_from((int(i), {"index": k}) for k, i in enumerate(ids.tolist()))
    graph.add_edges_from(
        (int(u), int(v), {"faces": int(f), "area": float(s)})
        for (u, v), f, s in zip(edges.tolist(), faces.tolist(), area.tolist())
    )
    return graph
