"""Predict the named contact graph of a later time point by simulating the cellular Potts model.

From the observed lattice at time t (cell ids and their names), `predict_contacts`:

1. divides the cells that the division schedule says divide before the later time point
   (`division_schedule`: the cells at t whose descendants, not themselves, are named at t + k),
   each by a plane through its centroid (`rules.tissue.divide_cells`) normal to an axis drawn
   from a per-kind `rules.tissue.DivisionAxes` (uniform when none is given), and names the
   daughters from that axis (`rules.tissue.daughter_names` in a body frame, e.g.
   `neurosym.tissue.body_frame`); a cell whose descendants at t + k are two rounds down divides
   again, its daughters likewise;
2. runs the CPM (`automata.potts.Potts`, exact Metropolis, temperature 1) for
   `mcs_per_time * num_times` Monte Carlo steps, with each kind's target volume the mean volume
   of its cells after the divisions (`neurosym.tissue.target_volumes`) and, with `confine`, the
   medium held fixed (the embryo's outline);
3. returns the simulated lattice, the names of its cells and its named contact graph (cells
   touching across a face: `neurosym.io.contact_areas(..., gap=0)`).

All divisions happen at the start of the interval. The baselines use the same functions:
`persistence_contacts` (every daughter inherits its mother's contacts, sisters touch, nothing
else changes), `uniform_adhesion` (the same CPM with one contact energy for every pair of cell
kinds and one for every kind with the medium), and `axes=None` (uniformly random axes).
Score the result with `neurosym.tissue.score_contacts`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Mapping

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np

import automata
from automata._checks import check_int, check_key, fail
from automata.potts import Potts, PottsParams
from automata.potts_energy import check_params
from neurosym.io.contacts import contact_areas
from neurosym.tissue.fit import NEIGHBOURHOODS, target_volumes
from neurosym.tissue.kinds import KIND_NAMES, founder_kind, kinds_of
from rules.celegans import sulston_generation, sulston_parent
from rules.tissue import DivisionAxes, daughter_names, divide_cells

__all__ = ["Prediction", "division_schedule", "persistence_contacts", "predict_contacts", "uniform_adhesion"]


def _ancestor_in(name: str, present: set[str]) -> str | None:
    parent = sulston_parent(name)
    while parent is not None and parent not in present:
        parent = sulston_parent(parent)
    return parent


def division_schedule(names_now, names_later) -> dict[str, tuple[str, ...]]:
    """Which cells present now divide before the later time point, and into which named cells.

    A cell named later but not now is a descendant of its nearest ancestor (by Sulston names)
    that is named now; each such ancestor divides. A cell named later whose ancestors are all
    absent now has no mother to come from and is left out.

    Args:
      names_now, names_later: the cell names at the two time points.

    Returns:
      {mother named now: (its descendants named later, sorted)}.

    Example:
      >>> division_schedule(["ABa", "ABp", "EMS"], ["ABal", "ABar", "ABp", "MS", "E"])
      {'ABa': ('ABal', 'ABar'), 'EMS': ('E', 'MS')}
    """
    now = set(_names(names_now, "names_now", "division_schedule"))
    out: dict[str, list[str]] = {}
    for name in _names(names_later, "names_later", "division_schedule"):
        if name in now:
            continue
        mother = _ancestor_in(name, now)
        if mother is not None:
            out.setdefault(mother, []).append(name)
    return {m: tuple(sorted(d)) for m, d in sorted(out.items())}


def _names(names, what: str, owner: str) -> list[str]:
    if isinstance(names, str):
        raise fail(owner, f"{what} must be a sequence of cell names, got the single string {names!r}.", TypeError)
    names = list(names)
    bad = [n for n in names if not isinstance(n, str) or sulston_generation(n) is None]
    if bad:
        raise fail(owner, f"{what} must be C. elegans Sulston names (e.g. 'ABpl', 'MSa', 'P2'), got {bad[:3]}.")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise fail(owner, f"{what} must be distinct, got {dup} more than once.")
    return names


def _is_descendant(name: str, ancestor: str) -> bool:
    while name is not None:
        if name == ancestor:
            return True
        name = sulston_parent(name)
    return False


def _still_divides(cell: str, targets: tuple[str, ...]) -> bool:
    """Whether a (simulated) cell must divide again to reach the generation of the targets: its
    own observed descendants if its name is among their ancestors, else all of its mother's."""
    g = sulston_generation(cell)
    own = [t for t in targets if _is_descendant(t, cell)]
    return any(sulston_generation(t) > g for t in (own or targets))


@dataclasses.dataclass(frozen=True, eq=False)
class Prediction:
    """A simulated later time point.

    Attributes:
      sites: the simulated int32 lattice of cell ids (0 the medium), the input's shape.
      names: the name of each id 1..N.
      graph: the named contact graph (edges with `area`, in lattice faces).
      divisions: the divisions made, as `(mother, first daughter, second daughter)`.
      num_mcs: Monte Carlo steps run.

    Example:
      >>> p = Prediction(np.array([[1, 2]], np.int32), ("ABa", "ABp"), nx.Graph(), (), 0)
      >>> p.names[1]
      'ABp'
    """

    sites: np.ndarray
    names: tuple
    graph: nx.Graph
    divisions: tuple
    num_mcs: int


def uniform_adhesion(params: PottsParams, kinds=None) -> PottsParams:
    """`params` with differential adhesion removed: every contact between cell kinds costs the mean
    of their `J`, every contact with the medium the mean of the medium's `J`.

    Args:
      params: `PottsParams` (e.g. a `TissueFit.params`).
      kinds: the cell kinds to average over (e.g. `TissueFit.free_kinds`); default all, 1..K-1.

    Example:
      >>> p = PottsParams(contact=jnp.array([[0.0, 1.0, 3.0], [1.0, 2.0, 4.0], [3.0, 4.0, 6.0]]))
      >>> uniform_adhesion(p).contact.tolist()
      [[0.0, 2.0, 2.0], [2.0, 4.0, 4.0], [2.0, 4.0, 4.0]]
    """
    check_params(params, owner="uniform_adhesion")
    j = np.asarray(params.contact, np.float64)
    k = j.shape[0]
    kinds = list(range(1, k)) if kinds is None else [int(a) for a in kinds]
    if not kinds or any(not 1 <= a < k for a in kinds):
        raise fail("uniform_adhesion", f"kinds must be cell kinds in 1..{k - 1}, got {kinds}.")
    cell = np.mean([j[a, b] for a in kinds for b in kinds])
    medium = np.mean([j[0, a] for a in kinds])
    out = np.full((k, k), cell)
    out[0, :] = out[:, 0] = medium
    out[0, 0] = j[0, 0]
    return params.replace(contact=jnp.asarray(out, jnp.asarray(params.contact).dtype))


def _check_lattice_names(sites, names, owner: str):
    sites = np.asarray(sites)
    if sites.ndim not in (2, 3) or not np.issubdtype(sites.dtype, np.integer):
        raise fail(owner, f"sites must be a 2D or 3D integer lattice of cell ids, got shape {sites.shape} and "
                   f"dtype {sites.dtype}.", TypeError)
    names = _names(names, "names", owner)
    if sites.min(initial=0) < 0 or sites.max(initial=0) != len(names):
        raise fail(owner, f"names must name every cell id 1..N of sites, one name each: got {len(names)} names "
                   f"and ids up to {int(sites.max(initial=0))}.")
    return sites.astype(np.int32), names


@functools.partial(jax.jit, static_argnames=("ndim",))
def _sample_axes(axes, keys, kinds, *, ndim):
    """One unit axis per slot: from `axes` (per kind), or uniform when `axes` is None."""
    if axes is None:
        v = jax.vmap(lambda k: jax.random.normal(k, (ndim,)))(keys)
        return v / jnp.linalg.norm(v, axis=-1, keepdims=True)
    return jax.vmap(axes.sample)(keys, kinds)


_divide = jax.jit(divide_cells)


@functools.partial(jax.jit, static_argnames=("lattice", "num_steps", "spacing"))
def _simulate(params, kinds, mask, x, key, *, lattice, num_steps, spacing):
    rule = Potts(params, kinds=kinds, mask=mask, spacing=spacing)
    final, _ = automata.rollout(rule, lattice, x[..., None], key=key, num_steps=num_steps, record=False)
    return final.x[..., 0]


def predict_contacts(sites, names, names_later, params: PottsParams | None, *, key, axes: DivisionAxes | None = None,
                     frame: Mapping | None = None, mcs_per_time: int = 10, num_times: int = 1,
                     neighbourhood: str = "von_neumann", spacing: int = 4, confine: bool = True) -> Prediction:
    """Simulate from the observed lattice at t to t + `num_times` and predict its named contacts.

    Args:
      sites: 2D or 3D int lattice of cell ids at t, 0 the medium, ids 1..N all present.
      names: the Sulston name of each id 1..N.
      names_later: the names at the later time point; they give the division schedule
        (`division_schedule`), not the daughters' names, which come from the axes.
      params: `PottsParams` over `KIND_NAMES` (e.g. `fit_potts(...).params`; its target volumes
        are replaced as the module docstring says); None divides without simulating (0 MCS).
      key: PRNG key (axes and Metropolis decisions).
      axes: per-kind axis distributions, rows indexed as `KIND_NAMES`; None: uniform axes.
      frame: body axes in lattice coordinates for naming (`rules.tissue.daughter_names`);
        default the coordinate axes.
      mcs_per_time: Monte Carlo steps per time point.
      num_times: time points between the observation and the prediction (k).
      neighbourhood: as the fit used ("von_neumann" or "moore").
      spacing: the sampler's colouring period (`automata.potts.Potts`); the lattice is padded
        with medium to a multiple of it.
      confine: hold the medium fixed, as `fit_potts` does.

    Returns:
      a `Prediction`.

    Example:
      >>> x = np.zeros((8, 8), np.int32); x[1:7, 1:4] = 1; x[1:7, 4:7] = 2
      >>> axes = DivisionAxes(mean=jnp.tile(jnp.array([[1.0, 0.0]]), (8, 1)), concentration=jnp.full(8, 1e3))
      >>> p = predict_contacts(x, ["ABa", "ABp"], ["ABaa", "ABap", "ABp"], None, key=jax.random.key(0), axes=axes)
      >>> p.names, sorted(p.graph.edges)
      (('ABap', 'ABp', 'ABaa'), [('ABap', 'ABaa'), ('ABap', 'ABp'), ('ABp', 'ABaa')])
    """
    owner = "predict_contacts"
    x, names = _check_lattice_names(sites, names, owner)
    later = _names(names_later, "names_later", owner)
    key = check_key(key, owner=owner)
    mcs_per_time = check_int(mcs_per_time, "mcs_per_time", 0, owner=owner)
    num_times = check_int(num_times, "num_times", 1, owner=owner)
    spacing = check_int(spacing, "spacing", 2, owner=owner)
    if neighbourhood not in NEIGHBOURHOODS:
        raise fail(owner, f"neighbourhood must be one of {NEIGHBOURHOODS}, got {neighbourhood!r}.")
    if params is not None:
        check_params(params, owner=owner)
        if params.num_kinds != len(KIND_NAMES):
            raise fail(owner, f"params must be over the {len(KIND_NAMES)} kinds {KIND_NAMES} (as fit_potts "
                       f"gives them), got {params.num_kinds} kinds.")
    if axes is not None:
        axes.check(owner=owner)
        if axes.num_kinds != len(KIND_NAMES) or axes.ndim != x.ndim:
            raise fail(owner, f"axes must have one row per kind of {KIND_NAMES} and {x.ndim} components "
                       f"(the lattice's dimension), got mean of shape {tuple(axes.mean.shape)}.")
    schedule = division_schedule(names, later)

    names = list(names)
    root = {n: n for n in names}  # each cell's ancestor at t
    divisions = []
    key_axes, key_sim = jax.random.split(key)
    for round_ in itertools.count():
        todo = [i + 1 for i, n in enumerate(names) if root[n] in schedule and _still_divides(n, schedule[root[n]])]
        if not todo or round_ > 8:
            break
        # Fixed slot counts (powers of two, cells 0 for unused slots) so that the compiled
        # division and sampling are reused across calls.
        slots = max(4, 1 << int(np.ceil(np.log2(len(todo)))))
        cells = np.zeros(slots, np.int32)
        cells[:len(todo)] = todo
        kinds = np.zeros(slots, np.int32)
        kinds[:len(todo)] = [KIND_NAMES.index(founder_kind(names[c - 1])) for c in todo]
        keys = jax.random.split(jax.random.fold_in(key_axes, round_), slots)
        normals = np.asarray(_sample_axes(axes, keys, jnp.asarray(kinds), ndim=x.ndim))
        new_ids = np.zeros(slots, np.int32)
        new_ids[:len(todo)] = np.arange(len(names) + 1, len(names) + 1 + len(todo))
        x = np.asarray(_divide(jnp.asarray(x), jnp.asarray(cells), jnp.asarray(normals), jnp.asarray(new_ids)))
        normals = normals[:len(todo)]
        for cell, normal in zip(todo, normals):
            mother = names[cell - 1]
            first, second = daughter_names(mother, normal, frame)
            names[cell - 1] = second
            names.append(first)
            root[first] = root[second] = root[mother]
            divisions.append((mother, first, second))

    num_mcs = 0 if params is None else mcs_per_time * num_times
    if num_mcs:
        kinds = kinds_of(names)
        capacity = 1 << int(np.ceil(np.log2(kinds.shape[0] + 1)))
        padded_kinds = np.pad(kinds, (0, capacity - kinds.shape[0]), constant_values=1)
        sim_params = params.replace(target_volume=jnp.asarray(target_volumes(x, kinds, len(KIND_NAMES)), jnp.float32),
                                    temperature=jnp.asarray(1.0, jnp.float32))
        shape = x.shape
        grown = np.pad(x, [(0, (-n) % spacing) for n in shape])
        lattice = automata.Lattice(grown.shape, neighbourhood, boundary="fixed", fill=0.0)
        mask = jnp.asarray(grown > 0) if confine else jnp.ones(grown.shape, bool)
        out = _simulate(sim_params, jnp.asarray(padded_kinds), mask, jnp.asarray(grown), key_sim, lattice=lattice,
                        num_steps=num_mcs, spacing=spacing)
        x = np.asarray(out)[tuple(slice(0, n) for n in shape)].astype(np.int32)
    graph = contact_areas(x, gap=0).graph({i + 1: n for i, n in enumerate(names)})
    return Prediction(sites=x, names=tuple(names), graph=graph, divisions=tuple(divisions), num_mcs=num_mcs)


def persistence_contacts(graph: nx.Graph, names_later) -> nx.Graph:
    """The persistence baseline: the contact graph at t carried to the later time point.

    A cell that does not divide keeps its contacts; the descendants of a dividing cell (as
    `division_schedule` names them) each inherit all of its contacts, an inherited area split
    evenly among the descendant pairs; the descendants of one cell touch each other with the
    mother's mean contact area. Cells absent later lose their contacts.

    Args:
      graph: the named contact graph at t (edges with `area`).
      names_later: the names at the later time point.

    Example:
      >>> g = nx.Graph(); g.add_edge("ABa", "ABp", area=4.0); g.add_edge("ABa", "EMS", area=2.0)
      >>> h = persistence_contacts(g, ["ABal", "ABar", "ABp", "EMS"])
      >>> sorted((a, b, d) for a, b, d in h.edges(data="area"))[:3]
      [('ABal', 'ABar', 3.0), ('ABal', 'ABp', 2.0), ('ABal', 'EMS', 1.0)]
    """
    owner = "persistence_contacts"
    if not isinstance(graph, nx.Graph):
        raise fail(owner, f"graph must be a networkx Graph of named cells with an 'area' per edge, got "
                   f"{type(graph).__name__}.", TypeError)
    now = _names(list(graph.nodes), "graph's nodes", owner)
    later = set(_names(names_later, "names_later", owner))
    schedule = division_schedule(now, later)
    desc = {n: schedule.get(n, (n,) if n in later else ()) for n in now}
    out = nx.Graph()
    for a, b, area in graph.edges(data="area"):
        if area is None:
            raise fail(owner, f"graph: the contact ({a!r}, {b!r}) has no 'area'.")
        da, db = desc[a], desc[b]
        for u in da:
            for v in db:
                prev = out.get_edge_data(u, v, {"area": 0.0})["area"]
                out.add_edge(u, v, area=prev + float(area) / (len(da) * len(db)))
    for mother, kids in schedule.items():
        areas = [float(d) for _, _, d in graph.edges(mother, data="area")]
        mean = float(np.mean(areas)) if areas else 1.0
        for u, v in itertools.combinations(kids, 2):
            out.add_edge(u, v, area=mean)
    return out
