"""Contact areas between the cells of a label volume whose cells are parted by a thin membrane gap.

Segmentations drawn from membrane images often keep the membrane itself as background (0), so
neighbouring cells never share a voxel face: they face each other across one or two voxels of 0.
A contact is counted along straight lines of voxels parallel to an axis:

  A *contact face* is a maximal run of 0 to `gap` background voxels along one axis with a voxel
  of one cell at one end and a voxel of a different cell at the other.

Each contact face counts one unit of contact area, the area of a voxel face normal to that axis
(the product of the other axes' spacing; 1 without spacing). With `gap=0` only cells that share
a voxel face touch (as in `neurosym.symbolise.contact_graph`). A run of background is maximal, so
one line through a membrane counts once, however thick the membrane is, and a run longer than
`gap` (the outside of the embryo, a cavity) counts nothing. Each contact face starts at a face of
each of its two cells, so a cell's total contact area never exceeds its surface area
(`neurosym.io.geometry`): both are voxel-face counts, comparable with each other (an oblique
membrane is counted in steps along each axis, as voxel surfaces are).
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any, Mapping

import networkx as nx
import numpy as np

from automata._checks import check_int
from neurosym._labels import check_label_image, check_spacing

__all__ = ["MAX_GAP", "Contacts", "contact_areas"]

MAX_GAP = 8
"""The widest membrane gap, in voxels, that contacts are counted across."""


@dataclass(frozen=True, eq=False)
class Contacts:
    """Which cells face each other across a membrane gap, and over what area.

    Attributes:
      pairs: (K, 2) int64 label pairs, the smaller label first, in ascending order.
      faces: (K,) int64 number of contact faces of each pair (see the module's definition).
      area: (K,) float64 contact area: the faces weighted by their face areas in physical units
        (equal to `faces` without spacing; a length in 2D).
      gap: the widest gap (voxels of background) a contact was counted across.
      spacing: (D,) physical voxel size along each axis (ones without spacing).

    Example:
      >>> lab = np.array([[1, 0, 2, 2],
      ...                 [1, 0, 0, 2]])
      >>> c = contact_areas(lab, gap=1)
      >>> c.pairs.tolist(), c.faces.tolist()
      ([[1, 2]], [1])
      >>> contact_areas(lab, gap=2).faces.tolist()
      [2]
    """

    pairs: np.ndarray
    faces: np.ndarray
    area: np.ndarray
    gap: int
    spacing: np.ndarray
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("pairs", "faces", "area", "spacing"):
            getattr(self, name).flags.writeable = False
        object.__setattr__(self, "meta", types.MappingProxyType(dict(self.meta)))

    def __len__(self) -> int:
        return self.pairs.shape[0]

    def __repr__(self) -> str:
        return f"Contacts({len(self)} pairs, gap={self.gap})"

    def area_between(self, a: int, b: int) -> float:
        """Contact area between labels `a` and `b` (0.0 if they do not touch).

        Example:
          >>> contact_areas(np.array([[1, 0, 2]]), gap=1).area_between(2, 1)
          1.0
        """
        lo, hi = min(int(a), int(b)), max(int(a), int(b))
        hit = np.flatnonzero((self.pairs[:, 0] == lo) & (self.pairs[:, 1] == hi))
        return float(self.area[hit[0]]) if hit.size else 0.0

    def total(self, labels) -> np.ndarray:
        """Total contact area of each of `labels` with all other cells, (N,) float64.

        Example:
          >>> contact_areas(np.array([[1, 0, 2, 0, 3]]), gap=1).total([1, 2, 3]).tolist()
          [1.0, 2.0, 1.0]
        """
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        ends = self.pairs.reshape(-1)
        area = np.repeat(self.area, 2)
        order = np.argsort(ends, kind="stable")
        ends, area = ends[order], area[order]
        out = np.zeros(labels.shape[0])
        if ends.size:
            summed = np.add.reduceat(area, np.flatnonzero(np.r_[True, ends[1:] != ends[:-1]]))
            uniq = np.unique(ends)
            where = np.searchsorted(uniq, labels)
            found = (where < uniq.size) & (uniq[np.minimum(where, uniq.size - 1)] == labels)
            out[found] = summed[where[found]]
        return out

    def graph(self, names: Mapping[int, str] | None = None) -> nx.Graph:
        """The contact graph: one node per label that touches another, an edge per touching pair
        with attributes `area` and `faces`. With `names` ({label: name}) the nodes are names
        and each node keeps its `label`. (`CellGeometry.graph` also holds the cells that touch
        nothing, with their volumes.)

        Example:
          >>> g = contact_areas(np.array([[1, 0, 2]]), gap=1).graph({1: "ABa", 2: "ABp"})
          >>> list(g.edges(data="area")), g.nodes["ABa"]["label"]
          ([('ABa', 'ABp', 1.0)], 1)
        """
        g = nx.Graph(gap=self.gap)
        node = (lambda v: v) if names is None else (lambda v: names[v])
        for (a, b), f, s in zip(self.pairs.tolist(), self.faces.tolist(), self.area.tolist()):
            g.add_node(node(a), label=a)
            g.add_node(node(b), label=b)
            g.add_edge(node(a), node(b), area=s, faces=f)
        return g


def check_gap(gap, *, owner: str) -> int:
    """`gap` as an int in 0..`MAX_GAP`, or a clear error."""
    return check_int(gap, "gap", 0, maximum=MAX_GAP, owner=owner,
                     hint="The widest membrane, in voxels of background, that cells touch across: "
                          "1 for a one-voxel membrane, 2 to also bridge its diagonal steps.")


def check_volume(labels, *, owner: str, name: str = "labels") -> np.ndarray:
    """A 2D or 3D integer label volume (0 = background) as a numpy array, or a clear error."""
    return check_label_image(np.asarray(labels), name=name, ndims=(2, 3), owner=owner,
                             axes_hint="Pass one time point, e.g. labels[t].")


def compact_labels(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The volume with labels renumbered 1..N (0 stays 0) and the (N,) int64 sorted labels.

    `ids[index - 1]` is the label of compact index `index`. Uses a lookup table when the labels
    are dense enough (e.g. uint16 volumes), else sorting.

    Example:
      >>> idx, ids = compact_labels(np.array([[0, 7], [3, 7]]))
      >>> idx.tolist(), ids.tolist()
      ([[0, 2], [1, 2]], [3, 7])
    """
    flat = lab.reshape(-1)
    top = int(flat.max()) if flat.size else 0
    if top <= max(4 * flat.size, 1 << 16):
        counts = np.bincount(flat.astype(np.intp, copy=False), minlength=top + 1)
        ids = np.flatnonzero(counts[1:]) + 1
        dtype = np.int32 if ids.size < 2**31 - 1 else np.int64
        lut = np.zeros(top + 1, dtype)
        lut[ids] = np.arange(1, ids.size + 1, dtype=dtype)
        return np.ascontiguousarray(lut[lab]), ids.astype(np.int64)
    uniq, inverse = np.unique(lab, return_inverse=True)
    has_bg = uniq[0] == 0
    idx = inverse.reshape(lab.shape) + (0 if has_bg else 1)
    return np.ascontiguousarray(idx, dtype=np.int64), uniq[1:] if has_bg else uniq


def _line(ndim: int, axis: int, start: int, stop: int | None):
    return tuple(slice(start, stop) if k == axis else slice(None) for k in range(ndim))


def contact_faces(idx: np.ndarray, gap: int):
    """Per axis, the compact index pairs `(a, b)` of every contact face of a compactly labelled
    volume (see the module's definition): a list of `(a, b)` int arrays, one entry per axis,
    `a != b`, both > 0, `a` the cell at the lower end of the run.

    Only voxels where a cell ends along the axis are visited: each walks up to `gap` voxels of
    background to the next cell voxel.
    """
    idx = np.ascontiguousarray(idx)
    flat = idx.reshape(-1)
    out = []
    for axis in range(idx.ndim):
        n = idx.shape[axis]
        stride = int(np.prod(idx.shape[axis + 1:], dtype=np.int64))
        lo, hi = idx[_line(idx.ndim, axis, 0, n - 1)], idx[_line(idx.ndim, axis, 1, None)]
        # A cell voxel whose next voxel along the axis is not the same cell.
        ends = np.nonzero((lo > 0) & (lo != hi))
        pos = np.ravel_multi_index(ends, idx.shape).astype(np.int64)
        along = ends[axis].astype(np.int64)
        a = flat[pos]
        b = flat[pos + stride]
        touch = b > 0
        parts_a, parts_b = [a[touch]], [b[touch]]
        open_ = ~touch
        pos, along, a = pos[open_], along[open_], a[open_]
        for g in range(1, gap + 1):
            inside = along + g + 1 < n
            pos, along, a = pos[inside], along[inside], a[inside]
            b = flat[pos + (g + 1) * stride]
            hit = b > 0
            keep = hit & (b != a)
            parts_a.append(a[keep])
            parts_b.append(b[keep])
            pos, along, a = pos[~hit], along[~hit], a[~hit]
        out.append((np.concatenate(parts_a), np.concatenate(parts_b)))
    return out


def pair_counts(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct unordered pairs of compact indices in 1..n and how often each occurs:
    `(pairs (K, 2) with lo < hi, counts (K,))`, pairs in ascending order."""
    lo = np.minimum(a, b).astype(np.int64)
    hi = np.maximum(a, b).astype(np.int64)
    key = lo * (n + 1) + hi
    if (n + 1) ** 2 <= 1 << 24:
        counts = np.bincount(key, minlength=(n + 1) ** 2)
        uniq = np.flatnonzero(counts)
        counts = counts[uniq]
    else:
        uniq, counts = np.unique(key, return_counts=True)
    return np.stack([uniq // (n + 1), uniq % (n + 1)], axis=1), counts.astype(np.int64)


def contacts_of_compact(idx: np.ndarray, ids: np.ndarray, gap: int, sp: np.ndarray) -> Contacts:
    """`Contacts` of a compactly labelled volume `idx` with labels `ids` (see `compact_labels`)."""
    n = ids.size
    keys, faces, area = [], [], []
    for axis, (a, b) in enumerate(contact_faces(idx, gap)):
        pairs, counts = pair_counts(a, b, n)
        keys.append(pairs)
        faces.append(counts)
        area.append(counts * (np.prod(sp) / sp[axis]))
    allpairs = np.concatenate(keys) if keys else np.zeros((0, 2), np.int64)
    if allpairs.shape[0]:
        key = allpairs[:, 0] * (n + 1) + allpairs[:, 1]
        uniq, where = np.unique(key, return_inverse=True)
        where = where.reshape(-1)
        f = np.bincount(where, weights=np.concatenate(faces), minlength=uniq.size).astype(np.int64)
        s = np.bincount(where, weights=np.concatenate(area), minlength=uniq.size)
        pairs = np.stack([ids[uniq // (n + 1) - 1], ids[uniq % (n + 1) - 1]], axis=1)
    else:
        pairs, f, s = np.zeros((0, 2), np.int64), np.zeros(0, np.int64), np.zeros(0)
    return Contacts(pairs=pairs.astype(np.int64), faces=f, area=s.astype(np.float64), gap=gap,
                    spacing=np.array(sp, np.float64))


def contact_areas(labels, *, gap: int = 2, spacing=None) -> Contacts:
    """Contact areas between the cells of a 2D or 3D label volume, across a membrane gap.

    A contact face is a maximal run of 0 to `gap` background voxels along one axis between a
    voxel of one cell and a voxel of another; each counts the area of a voxel face normal to
    that axis (module docstring). Fully vectorised: one pass of shifted comparisons per axis and
    gap width, then a count per label pair.

    Args:
      labels: (Y, X) or (Z, Y, X) integer label volume, 0 = background and membrane.
      gap: the widest membrane, in voxels, that cells touch across (0..8). 1 bridges a
        one-voxel membrane normal to an axis; 2 also bridges the two-voxel runs where a
        one-voxel membrane is oblique to the grid (the default).
      spacing: physical voxel size, one number per axis or one for all (default 1).

    Returns:
      a `Contacts`: label pairs, contact faces and areas.

    Raises:
      TypeError, ValueError: for a label volume that is not 2D or 3D integers >= 0, a gap out of
        range or a bad spacing.

    Example:
      >>> lab = np.zeros((3, 4, 7), int)
      >>> lab[:, :, :3] = 1; lab[:, :, 4:] = 2   # two boxes, a one-voxel membrane at x = 3
      >>> c = contact_areas(lab, gap=1, spacing=(2.0, 1.0, 1.0))
      >>> c.pairs.tolist(), c.faces.tolist(), c.area.tolist()
      ([[1, 2]], [12], [24.0])
    """
    lab = check_volume(labels, owner="contact_areas")
    gap = check_gap(gap, owner="contact_areas")
    sp = check_spacing(spacing, lab.ndim, owner="contact_areas")
    idx, ids = compact_labels(lab)
    return contacts_of_compact(idx, ids, gap, sp)
