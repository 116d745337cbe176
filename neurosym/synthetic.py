"""Synthetic embryos: a founder-lineage division simulation rendered as a labelled image.

`simulate_embryo` grows a C. elegans-like embryo from one P0 cell on a 2D lattice with
`rules.simulate` (the founder table P0 -> AB + P1, ..., P3 -> D + P4, `Shove` placement so the
embryo stays compact, lognormal cell cycles), renders its cells with `neurosym.render`, and
draws each cell's expression of one marker gene per founder lineage. Every cell's kind, its
contacts and its expression are known exactly, so a learned encoder can be trained and scored
against ground truth, with or without rules and priors.

Example:
  >>> import jax
  >>> e = simulate_embryo(jax.random.key(0), lattice_shape=(12, 12), num_cells=24)
  >>> e.image.shape, e.kinds.shape[0] == e.num_labels, set(e.kind_names) >= {"AB", "E"}
  ((72, 72), True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from automata.lattice import Lattice
from rules.celegans import FOUNDERS, SIMULATION_PERIODS, founder_table
from rules.division import CellCycle, DivisionModel, Shove, simulate
from rules.population import Population
from neurosym.render import Microscope, population_labels, render

__all__ = ["FOUNDERS", "Embryo", "marker_profiles", "simulate_embryo"]

# FOUNDERS (AB, MS, E, C, D, P4), from `rules.celegans`, is the alphabet of kinds of a synthetic embryo.


@dataclass(frozen=True)
class Embryo:
    """A rendered synthetic embryo.

    Attributes:
      image: `(H, W)` float32 image.
      labels: `(H, W)` int32 label image (0 = background).
      kinds: `(num_labels,)` founder index of each label (into `kind_names`), -1 for the
        background and for labels absent from the image.
      expression: `(num_labels, num_genes)` marker expression of each label (NaN where absent).
      neighbours: `(num_labels, m)` contacts of each label on the lattice, padded with -1 (the
        `neighbours=` argument of `rules.logic.Constraint`).
      kind_names: the alphabet (`FOUNDERS`); genes: the marker names.
    """

    image: np.ndarray
    labels: np.ndarray
    kinds: np.ndarray
    expression: np.ndarray
    neighbours: np.ndarray
    kind_names: tuple[str, ...]
    genes: tuple[str, ...]

    @property
    def num_labels(self) -> int:
        return int(self.kinds.shape[0])

    @property
    def present(self) -> np.ndarray:
        """`(num_labels,)` booleans: labels that are cells in the image."""
        return self.kinds >= 0


def marker_profiles(kind_names=FOUNDERS) -> dict:
    """One marker gene per kind: `{kind: {gene: mean expression}}`, 1 for its own marker, else 0."""
    genes = tuple(f"{k.lower()}-marker" for k in kind_names)
    return {k: {g: float(i == j) for j, g in enumerate(genes)} for i, k in enumerate(kind_names)}


def simulate_embryo(
    key: jax.Array,
    *,
    lattice_shape=(16, 16),
    num_cells: int = 48,
    site_pixels: int = 6,
    microscope: Microscope | None = None,
    expression_noise: float = 0.6,
    max_steps: int = 400,
) -> Embryo:
    """Grow one embryo to about `num_cells` founder-lineage cells and render it.

    Args:
      key: PRNG key.
      lattice_shape: 2D lattice (sites); each cell takes one site.
      num_cells: stop at the first 4-minute step with at least this many cells (all progenitors
        P0 ... P3 and EMS have divided by then for `num_cells >= 16`).
      site_pixels: pixels per site in the image.
      microscope: imaging model for the six founder kinds; default `Microscope.nuclei(6)`.
      expression_noise: standard deviation of the Gaussian noise on marker expression.
      max_steps: give up after this many minutes of simulated time.
    """
    if len(lattice_shape) != 2:
        raise ValueError(f"lattice_shape must be 2D (rows, cols), got {lattice_shape}.")
    if num_cells > 0.6 * np.prod(lattice_shape):
        raise ValueError(
            f"{num_cells} cells do not fit comfortably on a {lattice_shape} lattice; use at most "
            f"{int(0.6 * np.prod(lattice_shape))} cells or a bigger lattice."
        )
    ks, kl, kr, ke = jax.random.split(key, 4)
    lat = Lattice(tuple(lattice_shape), neighbourhood="von_neumann", boundary="fixed")
    table = founder_table()
    names = table.names
    centre = [s // 2 for s in lattice_shape]
    capacity = int(2 * num_cells + 8)
    pop = Population.create(lat, [centre], [names.index("P0")], capacity=capacity)
    period = np.array([SIMULATION_PERIODS[n] for n in names])
    model = DivisionModel(table=table, cycle=CellCycle(period=jnp.asarray(period), cv=0.1), placement=Shove(), dt=1.0)
    # Chunks of a few steps compile once and reproduce an uncut run (step keys fold in t).
    final, chunk = pop, 4
    while int(final.num_alive) < num_cells:
        if int(final.t) >= max_steps:
            raise ValueError(
                f"The embryo reached only {int(final.num_alive)} cells in {max_steps} minutes; "
                "raise max_steps."
            )
        final, _ = simulate(model, lat, final, key=ks, num_steps=chunk)
    labels, slot_kinds = population_labels(lat, final, site_pixels, key=kl, jitter=0.5)
    slot_kinds = np.asarray(slot_kinds)
    founder_of = np.array([FOUNDERS.index(n) if n in FOUNDERS else -1 for n in names])
    kinds = np.where(slot_kinds >= 0, founder_of[np.clip(slot_kinds, 0, None)], -1)
    kinds[0] = -1
    m = Microscope.nuclei(num_kinds=len(FOUNDERS)) if microscope is None else microscope
    render_kinds = jnp.asarray(np.where(kinds >= 0, kinds, -1), jnp.int32)
    image = render(labels, render_kinds, m, key=kr)
    # marker expression: own marker ~ 1, others ~ 0, Gaussian noise
    num_labels = kinds.shape[0]
    genes = tuple(f"{k.lower()}-marker" for k in FOUNDERS)
    onehot = np.eye(len(FOUNDERS))[np.clip(kinds, 0, None)]
    expression = onehot + expression_noise * np.asarray(jax.random.normal(ke, onehot.shape))
    expression[kinds < 0] = np.nan
    # contacts: lattice neighbours of each cell's site
    pos = np.asarray(final.position)
    alive = np.asarray(final.alive)
    site_of = {tuple(pos[i]): i + 1 for i in np.flatnonzero(alive)}
    nbrs = np.full((num_labels, lat.num_neighbours), -1, np.int32)
    for site, label in site_of.items():
        found = [site_of.get(tuple(np.add(site, off))) for off in lat.offsets]
        found = sorted(f for f in found if f is not None)
        nbrs[label, : len(found)] = found
    return Embryo(np.asarray(image), np.asarray(labels), kinds.astype(np.int32), expression.astype(np.float32),
                  nbrs, FOUNDERS, genes)
