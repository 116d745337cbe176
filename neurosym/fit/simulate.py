"""What `neurosym simulate` runs: the stochastic division model of an embryo on a lattice.

Two models: the C. elegans founder divisions from the zygote P0 with the default periods of
`rules.celegans.SIMULATION_PERIODS`, or the whole model fitted by `neurosym fit` (its kinds per
lineage and generation, each kind's period, so the lengthening per generation, each lineage's
asynchrony and the game term), started from the fitted embryo's first cells with their clocks.
Cells get Sulston-like names: a daughter that starts a new lineage takes the lineage's name
(EMS -> MS, E), the others their mother's name plus "a" or "p".
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import networkx as nx
import numpy as np

from automata._checks import check_int, check_number
from neurosym.files import staged_folder, write_json

__all__ = ["Simulation", "cell_names", "load_fit_model", "simulate_embryo", "tissue_figure", "write_simulation"]


@dataclasses.dataclass
class Simulation:
    """A simulated embryo.

    Attributes:
      kinds: kind names; `groups`: the colour group (lineage) of each kind.
      counts: `(minutes, K)` cells of each kind after every minute.
      kind_image: `(size, size)` group index + 1 of the cell on each site (0: empty).
      graph: the lineage, nodes named like cells (`cell_names`), with `kind` and `birth`.
      settings: what was simulated (periods or the fitted model's source, minutes, seed, ...).
    """

    kinds: tuple
    groups: tuple
    counts: np.ndarray
    kind_image: np.ndarray
    graph: nx.DiGraph
    settings: dict

    def summary(self) -> dict:
        """The simulation as plain data (simulation.json)."""
        total = self.counts.sum(axis=1)
        return dict(self.settings,
                    counts=[[i + 1, int(c)] for i, c in enumerate(total)],
                    counts_by_kind={n: [int(v) for v in self.counts[:, k]] for k, n in enumerate(self.kinds)},
                    lineage_edges=[[str(a), str(b)] for a, b in self.graph.edges])


def load_fit_model(path) -> dict:
    """The fitted model (`"model"`) of a fit.json written by `neurosym fit`, or a `ValueError`."""
    try:
        spec = json.loads(pathlib.Path(path).read_text())["model"]
        if not {"kinds", "daughters", "period_min", "cv", "roots", "game", "kind_lineage"} <= set(spec):
            raise KeyError("model")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"from_fit={str(path)!r} is not a fit.json written by `neurosym fit` ({err!r}); "
                         "run `neurosym fit` first, or leave from_fit= out for the default model.") from None
    return spec


def cell_names(graph: nx.DiGraph, kind_names, kind_groups, root_names=None) -> dict:
    """Slot -> name for every cell of a simulated lineage (`rules.lineage.lineage_graph`).

    Example:
      >>> g = nx.DiGraph([(0, 1), (0, 2), (1, 3), (1, 4)])
      >>> nx.set_node_attributes(g, {0: 0, 1: 1, 2: 2, 3: 1, 4: 1}, "kind")
      >>> names = cell_names(g, ["P0", "AB", "P1"], ["P0", "AB", "P1"])
      >>> [names[i] for i in range(5)]
      ['P0', 'AB', 'P1', 'ABa', 'ABp']
    """
    names = {}
    roots = [n for n in sorted(graph.nodes) if graph.in_degree(n) == 0]
    for i, n in enumerate(roots):
        names[n] = root_names[i] if root_names is not None else kind_names[graph.nodes[n]["kind"]]
    for mother in nx.topological_sort(graph):
        kids = sorted(graph.successors(mother))
        group = kind_groups[graph.nodes[mother]["kind"]]
        new = [kind_groups[graph.nodes[k]["kind"]] for k in kids]
        for k, side, g in zip(kids, "ap", new):
            starts_lineage = g != group and new.count(g) == 1
            names[k] = g if starts_lineage else names[mother] + side
    return names


def _model(spec: dict | None, cv: float | None):
    """`(DivisionModel, kind names, groups, root kinds, root clocks, root names, settings)`."""
    from rules.celegans import SIMULATION_PERIODS, founder_table
    from rules.division import CellCycle, DifferentiationTable, DivisionModel, PayoffHazard, Shove

    if spec is None:
        table = founder_table()
        periods = {n: float(SIMULATION_PERIODS[n]) for n in table.names}
        cv = 0.1 if cv is None else check_number(cv, "cv", minimum=0.0, owner="simulate_embryo")
        cycle = CellCycle(period=np.array([periods[n] for n in table.names], np.float32), cv=cv)
        model = DivisionModel(table=table, cycle=cycle, placement=Shove(), dt=1.0)
        return (model, table.names, table.names, [table.names.index("P0")], [0.0], None,
                {"model": "founder divisions", "periods_min": periods, "cv": cv})
    if cv is not None:
        raise ValueError("cv= applies to the default model; the fitted model (from_fit=) has its own asynchrony "
                         "per lineage. Leave cv= out.")
    kinds, lineage = list(spec["kinds"]), list(spec["kind_lineage"])
    table = DifferentiationTable.from_names(kinds, {k: tuple(v) for k, v in spec["daughters"].items()})
    external = None
    if spec["game"] is not None:
        same = np.equal.outer(lineage, lineage)
        payoff = np.where(same, spec["game"]["payoff_same_lineage"], spec["game"]["payoff_other_lineage"])
        external = PayoffHazard(payoff=payoff.astype(np.float32), base_rate=spec["game"]["base_rate_per_min"],
                                selection=1.0)
    fates = {name: np.array(spec[name], np.float32) for name in ("terminal", "apoptosis") if name in spec}
    cycle = CellCycle(period=np.array(spec["period_min"], np.float32), cv=np.array(spec["cv"], np.float32), **fates)
    model = DivisionModel(table=table, cycle=cycle, external=external, placement=Shove(), dt=1.0)
    roots = spec["roots"]
    # A root whose first division came more than a period after the start has a negative clock in
    # the fit (its cycle had not begun); the lattice simulation starts it at 0.
    return (model, kinds, lineage, [kinds.index(r["kind"]) for r in roots], [max(r["clock_min"], 0.0) for r in roots],
            [r["name"] for r in roots], {"model": "fitted", "cv": "fitted per lineage"})


def simulate_embryo(spec: dict | None = None, *, minutes: int = 120, cv: float | None = None, size: int = 32,
                    capacity: int = 1024, seed: int = 0) -> Simulation:
    """Run the division model on a `size` x `size` lattice for `minutes` one-minute steps.

    Raises:
      rules.CapacityError: more cells were born than `capacity` holds.

    Args:
      spec: a fitted model (`load_fit_model`), or None for the founder divisions from P0.
      minutes: minutes to simulate, >= 1.
      cv: asynchrony of the default model (coefficient of variation of the periods, default
        0.1); the fitted model has its own.
      size: lattice side in sites; capacity: cell slots.
      seed: PRNG seed.

    Example:
      >>> sim = simulate_embryo(minutes=40, size=16, capacity=64)
      >>> int(sim.counts[-1].sum()) > 1, sorted(sim.graph.nodes)[:3]
      (True, ['AB', 'ABa', 'ABp'])
    """
    import jax

    import automata
    from rules.division import simulate
    from rules.lineage import lineage_graph
    from rules.population import CapacityError, Population

    minutes = check_int(minutes, "minutes", 1, owner="simulate_embryo")
    size = check_int(size, "size", 4, owner="simulate_embryo")
    model, kinds, groups, root_kinds, clocks, root_names, settings = _model(spec, cv)
    capacity = check_int(capacity, "capacity", len(root_kinds), owner="simulate_embryo")
    lattice = automata.Lattice((size, size), "von_neumann", boundary="fixed")
    c = size // 2
    sites = [[c, c + i - len(root_kinds) // 2] for i in range(len(root_kinds))]
    pop = Population.create(lattice, sites, root_kinds, capacity=capacity, clocks=np.asarray(clocks, np.float32))
    final, hist = simulate(model, lattice, pop, key=jax.random.key(seed), num_steps=minutes)
    if bool(final.status.overflow):
        raise CapacityError(f"capacity={capacity} cell slots were too few for {minutes} minutes (every cell ever "
                            "born needs one: the roots plus two per division); raise capacity=.")
    slots = lineage_graph(final)
    graph = nx.relabel_nodes(slots, cell_names(slots, kinds, groups, root_names))
    group_names = tuple(dict.fromkeys(groups))
    kind_group = np.array([group_names.index(g) for g in groups])
    occ, kind = np.asarray(final.occupancy), np.asarray(final.kind)
    image = np.where(occ >= 0, kind_group[kind[np.maximum(occ, 0)]] + 1, 0)
    settings.update(minutes=minutes, size=size, seed=seed)
    return Simulation(tuple(kinds), tuple(groups), np.asarray(hist.count), image, graph, settings)


def tissue_figure(sim: Simulation):
    """The final lattice coloured by lineage, with a legend of the lineages present."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    names = tuple(dict.fromkeys(sim.groups))
    colours = plt.get_cmap("tab20")(np.arange(len(names)) % 20)
    cmap = ListedColormap(np.vstack([[1.0, 1.0, 1.0, 1.0], colours]))
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    ax.imshow(sim.kind_image, cmap=cmap, vmin=0, vmax=len(names), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    present = sorted(set(np.unique(sim.kind_image)) - {0})
    ax.legend(handles=[Patch(color=colours[i - 1], label=names[i - 1]) for i in present], title="lineage",
              loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    ax.set_title(f"Simulated embryo after {sim.settings['minutes']} min: lineage of each site", fontsize=10)
    fig.tight_layout()
    return fig


def write_simulation(out, sim: Simulation, *, log=print) -> dict:
    """Write simulation.json, simulated_tissue.png and simulated_counts.png to `out`; returns the JSON."""
    from neurosym import plots

    result = sim.summary()
    total = sim.counts.sum(axis=1)
    log("drawing figures ...")
    counts = plots.curve(np.arange(1, len(total) + 1), total, xlabel="minutes", ylabel="cells",
                         title="Simulated cell count")
    tissue = tissue_figure(sim)
    with staged_folder(out) as tmp:
        plots.save(tissue, tmp / "simulated_tissue.png")
        plots.save(counts, tmp / "simulated_counts.png")
        write_json(tmp / "simulation.json", result)
    log(f"simulated {sim.settings['minutes']} minutes: {int(total[-1])} cells; wrote simulation.json and "
        f"pictures to {out}")
    return result
