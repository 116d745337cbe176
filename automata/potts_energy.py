"""The cellular Potts Hamiltonian: its parameters, the energy of a lattice of cell ids, the change
of energy when one site changes, and the pseudo-likelihood of its Gibbs measure (for fits).

The lattice holds integer cell ids: 0 is the medium, 1..N are cells. Each id has a kind
(`kinds[id]`; kind 0 is the medium's, cells have kinds 1..K-1). The Hamiltonian is

    H = sum over neighbour pairs (i, j) with s_i != s_j of J[kind(s_i), kind(s_j)]
      + sum over cells c of lambda_V[kind c] (V_c - V_target[kind c])^2
      + sum over cells c of lambda_S[kind c] (S_c - S_target[kind c])^2      (optional)

(F. Graner & J. A. Glazier, Phys. Rev. Lett. 69, 2013 (1992), doi:10.1103/PhysRevLett.69.2013),
with the lattice's neighbourhood (Moore or von Neumann, any radius) for the pairs. `V_c` is the
number of sites of cell c and `S_c` its surface: the number of (site of c, neighbour not in c)
pairs, counted over the same neighbourhood (a square cell of side 4 has S = 16 on a von Neumann
lattice and 44 on a Moore one: 8 edge sites with 3 outside neighbours, 4 corners with 5). The
medium has no volume or surface term. Beyond a `"fixed"` edge lies a wall of cell id
`lattice.fill`: bonds to it count once, from the inside, and for the surface of the cell inside
only (the wall's sites are not lattice sites). The sampler is `automata.potts.Potts`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import concrete, fail
from automata.lattice import Lattice
from automata.state import LatticeState

__all__ = [
    "PottsParams",
    "cell_surfaces",
    "cell_volumes",
    "energy",
    "pseudo_log_likelihood",
]

NEIGHBOURHOODS = ("moore", "von_neumann")
BOUNDARIES = ("wrap", "fixed")


# ---------------------------------------------------------------------------- parameters
class PottsParams(struct.PyTreeNode):
    """Parameters of the CPM Hamiltonian, per kind (kind 0 is the medium); all trainable.

    Attributes:
      contact: `J`, shape `(K, K)`, symmetric: the energy of one bond between sites of two
        different cells of kinds `a` and `b` (`J[0, k]` is a cell's bond with the medium).
        Bonds inside a cell carry no energy.
      lambda_volume: volume stiffness, a scalar or shape `(K,)`, >= 0 (the medium's entry is
        ignored).
      target_volume: target volume in sites, a scalar or shape `(K,)`, >= 0.
      lambda_surface: surface stiffness, a scalar or shape `(K,)`, >= 0; None (the default)
        leaves the surface term out.
      target_surface: target surface in neighbour bonds, as `target_volume`; given together with
        `lambda_surface`.
      temperature: `T` > 0, in energy units: a copy that raises H by `dH` is taken with
        probability `exp(-dH / T)`.

    Example:
      >>> import jax.numpy as jnp
      >>> params = PottsParams(contact=jnp.array([[0.0, 8.0], [8.0, 2.0]]), lambda_volume=1.0,
      ...                      target_volume=25.0, temperature=4.0)
      >>> params.num_kinds
      2
    """

    contact: jax.Array
    lambda_volume: jax.Array = 0.0
    target_volume: jax.Array = 0.0
    lambda_surface: jax.Array | None = None
    target_surface: jax.Array | None = None
    temperature: jax.Array = 1.0

    @property
    def num_kinds(self) -> int:
        """`K`, the number of kinds including the medium (`contact.shape[0]`)."""
        return int(jnp.shape(self.contact)[0])

    @property
    def has_surface(self) -> bool:
        """True when the surface term is on."""
        return self.lambda_surface is not None


def check_params(params, *, owner: str) -> PottsParams:
    """Refuse `params` of the wrong type, shape or (when known now) value, naming the fix."""
    if not isinstance(params, PottsParams):
        raise fail(owner, f"params must be an automata.potts.PottsParams, got {type(params).__name__}.",
                   TypeError)
    shape = jnp.shape(params.contact)
    if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 1:
        raise fail(owner, f"params.contact must be a square (K, K) matrix over the K kinds (kind 0 the "
                   f"medium), got shape {shape}.")
    k = shape[0]
    if (params.lambda_surface is None) != (params.target_surface is None):
        raise fail(owner, "params.lambda_surface and params.target_surface must be given together "
                   "(or both left None to drop the surface term).")
    fields = ["lambda_volume", "target_volume", "temperature"]
    fields += ["lambda_surface", "target_surface"] if params.has_surface else []
    for name in ["contact"] + fields:
        value = getattr(params, name)
        if not jnp.issubdtype(jnp.result_type(value), jnp.number) or jnp.issubdtype(jnp.result_type(value), jnp.complexfloating):
            raise fail(owner, f"params.{name} must hold real numbers, got dtype {jnp.result_type(value)}.",
                       TypeError)
        if name in ("contact", "temperature"):
            continue
        if jnp.shape(value) not in ((), (k,)):
            raise fail(owner, f"params.{name} must be a scalar or have one entry per kind ({k},), got "
                       f"shape {jnp.shape(value)}.")
    if jnp.shape(params.temperature) != ():
        raise fail(owner, f"params.temperature must be a scalar, got shape {jnp.shape(params.temperature)}.")
    contact = concrete(params.contact)
    if contact is not None:
        if not np.all(np.isfinite(contact)):
            raise fail(owner, "params.contact must hold finite numbers, got NaN or infinite entries.")
        if not np.allclose(contact, contact.T, rtol=1e-6, atol=1e-6):
            i, j = np.unravel_index(np.argmax(np.abs(contact - contact.T)), contact.shape)
            raise fail(owner, f"params.contact must be symmetric (a bond a-b is a bond b-a), but "
                       f"J[{i}, {j}] = {contact[i, j]} and J[{j}, {i}] = {contact[j, i]}; use "
                       "(J + J.T) / 2.")
    for name in fields:
        value = concrete(getattr(params, name))
        if value is None:
            continue
        positive = name == "temperature"
        bad = ~np.isfinite(value) | ((value <= 0) if positive else (value < 0))
        if np.any(bad):
            raise fail(owner, f"params.{name} must be {'positive' if positive else 'non-negative'} and "
                       f"finite, got {value}.")
    return params


def _per_kind(value, k: int, dtype) -> jax.Array:
    """A scalar or `(k,)` parameter as a `(k,)` array with the medium's entry set to zero."""
    value = jnp.broadcast_to(jnp.asarray(value, dtype), (k,))
    return value * (jnp.arange(k) != 0).astype(dtype)


def _float_dtype(params: PottsParams):
    leaves = [params.contact, params.lambda_volume, params.target_volume, params.temperature]
    dtype = jnp.result_type(*[jnp.asarray(v) for v in leaves])
    return dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)


def check_kinds(kinds, num_kinds: int, *, owner: str) -> jax.Array:
    """`kinds` as an int32 `(num_cells + 1,)` array with `kinds[0] == 0`, or a clear error."""
    dtype = jnp.result_type(kinds) if hasattr(kinds, "dtype") else np.asarray(kinds).dtype
    if not jnp.issubdtype(dtype, jnp.integer):
        raise fail(owner, f"kinds must be integers (the kind of each cell id, kinds[0] = 0 for the "
                   f"medium), got dtype {dtype}.", TypeError)
    if len(jnp.shape(kinds)) != 1 or jnp.shape(kinds)[0] < 1:
        raise fail(owner, f"kinds must be a 1-D array with one kind per cell id 0..N, got shape "
                   f"{jnp.shape(kinds)}.")
    value = concrete(kinds)
    if value is not None:
        if value[0] != 0:
            raise fail(owner, f"kinds[0] must be 0: cell id 0 is the medium, got kinds[0] = {value[0]}.")
        bad = (value[1:] < 1) | (value[1:] >= num_kinds)
        if np.any(bad):
            c = int(np.argmax(bad)) + 1
            raise fail(owner, f"kinds must give every cell id 1..N a kind in 1..{num_kinds - 1} (kind 0 is "
                       f"the medium's; params.contact has {num_kinds} kinds), got kinds[{c}] = {value[c]}.")
    return jnp.asarray(kinds, jnp.int32)


# ---------------------------------------------------------------------------- geometry checks
def check_lattice(lattice, *, owner: str, spacing: int | None = None) -> Lattice:
    """Refuse lattices the CPM here does not run on, with the fix."""
    if not isinstance(lattice, Lattice):
        raise fail(owner, f"lattice must be an automata.Lattice, got {type(lattice).__name__}.", TypeError)
    if lattice.neighbourhood not in NEIGHBOURHOODS:
        raise fail(owner, f"lattice.neighbourhood must be 'moore' or 'von_neumann' (the bonds of the "
                   f"Hamiltonian and the copy targets), got {lattice.neighbourhood!r}.")
    if lattice.boundary not in BOUNDARIES:
        raise fail(owner, f"lattice.boundary must be 'wrap' or 'fixed' (a wall of cell id "
                   f"lattice.fill), got {lattice.boundary!r}.")
    if lattice.ndim not in (2, 3):
        raise fail(owner, f"lattice must be 2D or 3D, got {lattice.ndim} axes.")
    if lattice.boundary == "fixed" and lattice.fill != int(lattice.fill):
        raise fail(owner, f"lattice.fill must be a whole cell id (the id of the wall beyond a 'fixed' "
                   f"edge, e.g. 0 for medium), got {lattice.fill}.")
    if any(n <= lattice.radius for n in lattice.shape):
        raise fail(owner, f"every lattice axis must be longer than the radius {lattice.radius}, got "
                   f"shape {lattice.shape}.")
    if spacing is not None:
        bad = [n for n in lattice.shape if n % spacing]
        if bad:
            raise fail(owner, f"every lattice axis must be a multiple of spacing={spacing} (the period of "
                       f"the sub-lattices updated together), got shape {lattice.shape}. Use spacing="
                       f"{math.gcd(*lattice.shape)} or a lattice of shape "
                       f"{tuple(-(-n // spacing) * spacing for n in lattice.shape)}.")
    return lattice


def _labels(lattice: Lattice, x, *, owner: str, num_labels: int | None) -> jax.Array:
    """Cell ids of shape `lattice.shape` from `x` of shape `(*lattice.shape, 1)` or `lattice.shape`."""
    x = jnp.asarray(x)
    shp = tuple(x.shape)
    if shp == lattice.shape + (1,):
        x = x[..., 0]
    elif shp != lattice.shape:
        raise fail(owner, f"state.x must hold one cell id per site, shape {lattice.shape + (1,)}, got {shp}.")
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise fail(owner, f"state.x must hold integer cell ids (0 the medium, 1..N cells), got dtype "
                   f"{x.dtype}; convert with x.astype(jnp.int32).", TypeError)
    value = concrete(x)
    if value is not None and num_labels is not None and value.size:
        lo, hi = int(value.min()), int(value.max())
        if lo < 0 or hi >= num_labels:
            raise fail(owner, f"state.x must hold cell ids in 0..{num_labels - 1} (kinds has one entry per "
                       f"id), got ids from {lo} to {hi}.")
    return x.astype(jnp.int32)


def _check_mask(mask, lattice: Lattice, *, owner: str):
    if mask is None:
        return None
    if not hasattr(mask, "shape"):
        mask = np.asarray(mask)
    if tuple(mask.shape) != lattice.shape:
        raise fail(owner, f"mask must be a boolean array of the lattice's shape {lattice.shape} (True where "
                   f"cells may move), got shape {tuple(mask.shape)}.")
    if mask.dtype != bool:
        raise fail(owner, f"mask must be boolean (True where cells may move), got dtype {mask.dtype}.",
                   TypeError)
    return mask


# ---------------------------------------------------------------------------- energy pieces
def cell_volumes(x: jax.Array, num_labels: int) -> jax.Array:
    """Number of sites of each cell id 0..num_labels-1 (int32; entry 0 the medium's).

    Example:
      >>> cell_volumes(jnp.array([[0, 1], [1, 2]]), 3).tolist()
      [1, 2, 1]
    """
    return jnp.zeros((num_labels,), jnp.int32).at[jnp.ravel(x)].add(1)


def _neighbour_labels(lattice: Lattice, x: jax.Array) -> jax.Array:
    """Ids at the lattice's offsets, shape `(num_neighbours, *lattice.shape)`; wall beyond a fixed edge."""
    return jnp.moveaxis(lattice.replace(fill=float(int(lattice.fill))).neighbours(x), lattice.ndim, 0)


def cell_surfaces(lattice: Lattice, x: jax.Array, num_labels: int) -> jax.Array:
    """Surface of each cell id: its (site, neighbour of another id) pairs over the lattice's
    neighbourhood (int32, shape `(num_labels,)`).

    Example:
      >>> import automata
      >>> lat = automata.Lattice((8, 8), "moore")
      >>> x = jnp.zeros((8, 8), jnp.int32).at[2:6, 2:6].set(1)
      >>> cell_surfaces(lat, x, 2).tolist()  # a 4 x 4 square: 8 edge sites x 3 + 4 corners x 5
      [44, 44]
    """
    x = jnp.asarray(x, jnp.int32)
    unlike = jnp.sum(_neighbour_labels(lattice, x) != x, axis=0)
    return jnp.zeros((num_labels,), jnp.int32).at[jnp.ravel(x)].add(jnp.ravel(unlike))


def _delta_energy(params: PottsParams, kinds, a, b, nb, volume, surface, z: int, dtype, inside=None):
    """`H(after) - H(before)` when a site of id `a` takes id `b`, with the site's neighbours' ids `nb`
    (neighbour axis first) and the cells' current `volume` and `surface`; 0 where `a == b`.
    `inside` (like `nb`, or None for all) marks neighbours that are lattice sites rather than the
    wall beyond a fixed edge: the wall's own bonds are not part of any surface.
    """
    sa = sb = None
    if params.has_surface:
        sa, sb = surface[a], surface[b]
    return _energy_change(params, a, b, nb, kinds[a], kinds[b], kinds[nb], volume[a], volume[b], sa, sb, z,
                          dtype, inside)


def _energy_change(params: PottsParams, a, b, nb, ka, kb, knb, va, vb, sa, sb, z: int, dtype, inside=None):
    """`_delta_energy` with the kinds (`ka`, `kb`, `knb`), volumes and surfaces of the ids given.

    `a`, `b` and `nb` need only compare equal where the ids are equal (the sampler passes ids
    packed with their kinds). The contact change is written with kind counts,
    `sum_k n_k (J[kb, k] - J[ka, k])` less the like-id bonds, so that J is read per kind rather
    than per neighbour; for a few kinds, by selection rather than gathers (faster on CPUs).
    """
    k = params.num_kinds
    contact = jnp.asarray(params.contact, dtype)
    same_a, same_b = jnp.sum(nb == a, axis=0), jnp.sum(nb == b, axis=0)
    lam, target = _per_kind(params.lambda_volume, k, dtype), _per_kind(params.target_volume, k, dtype)
    if k <= 8:
        def pick(kind, values):
            out = values[0]
            for j in range(1, k):
                out = jnp.where(kind == j, values[j], out)
            return out

        count = [jnp.sum(knb == j, axis=0).astype(dtype) for j in range(k)]
        row = [sum(count[i] * contact[j, i] for i in range(k)) for j in range(k)]
        diag = [contact[j, j] for j in range(k)]
        e_b = pick(kb, row) - same_b * pick(kb, diag)
        e_a = pick(ka, row) - same_a * pick(ka, diag)
        per = lambda values, kind: pick(kind, [values[j] for j in range(k)])  # noqa: E731
    else:
        count = jnp.stack([jnp.sum(knb == j, axis=0) for j in range(k)], axis=-1).astype(dtype)
        e_b = jnp.sum(count * contact[kb], axis=-1) - same_b * contact[kb, kb]
        e_a = jnp.sum(count * contact[ka], axis=-1) - same_a * contact[ka, ka]
        per = lambda values, kind: values[kind]  # noqa: E731
    dh = e_b - e_a
    va, vb = va.astype(dtype), vb.astype(dtype)
    # lambda ((V - 1 - T)^2 - (V - T)^2) for the loser, lambda ((V + 1 - T)^2 - (V - T)^2) for the gainer.
    dh = dh + per(lam, ka) * (1 - 2 * (va - per(target, ka))) + per(lam, kb) * (1 + 2 * (vb - per(target, kb)))
    if params.has_surface:
        lam_s = _per_kind(params.lambda_surface, k, dtype)
        target_s = _per_kind(params.target_surface, k, dtype)
        sa = sa.astype(dtype) - per(target_s, ka)
        sb = sb.astype(dtype) - per(target_s, kb)
        # The site's bonds to a's sites become surface of a; its other bonds stop being a's.
        da, db = _surface_changes(a, b, nb, z, inside)
        da, db = da.astype(dtype), db.astype(dtype)
        dh = dh + per(lam_s, ka) * (da * (2 * sa + da)) + per(lam_s, kb) * (db * (2 * sb + db))
    return jnp.where(a == b, jnp.zeros((), dtype), dh)


def _surface_changes(a, b, nb, z: int, inside=None):
    """Changes of the surfaces of `a` and `b` when a site goes from `a` to `b` (int arrays)."""
    same_a, same_b = jnp.sum(nb == a, axis=0), jnp.sum(nb == b, axis=0)
    if inside is None:
        in_a, in_b = same_a, same_b
    else:
        in_a, in_b = jnp.sum((nb == a) & inside, axis=0), jnp.sum((nb == b) & inside, axis=0)
    # The site's bonds stop (a) or start (b) counting from the site; the neighbours' bonds to the
    # site start counting for a's sites and stop for b's.
    return (same_a - z) + in_a, (z - same_b) - in_b


def energy(params: PottsParams, lattice: Lattice, state, kinds) -> jax.Array:
    """The Hamiltonian H of a lattice of cell ids (see the module docstring), a float scalar.

    Args:
      params: a `PottsParams` over K kinds.
      lattice: 2D or 3D, Moore or von Neumann, `"wrap"` or `"fixed"` (beyond the edge: id
        `lattice.fill`).
      state: a `LatticeState` or array of cell ids, shape `(*lattice.shape, 1)` or `lattice.shape`.
      kinds: int `(N + 1,)`, the kind of each cell id, `kinds[0] = 0`.

    Example:
      >>> import automata
      >>> lat = automata.Lattice((4, 4), "von_neumann")
      >>> x = jnp.zeros((4, 4), jnp.int32).at[1:3, 1:3].set(1)
      >>> p = PottsParams(contact=jnp.array([[0.0, 1.0], [1.0, 0.0]]), lambda_volume=1.0,
      ...                 target_volume=3.0)
      >>> float(energy(p, lat, x, jnp.array([0, 1])))  # 8 bonds to the medium, (4 - 3)^2
      9.0
    """
    owner = "potts.energy"
    check_params(params, owner=owner)
    check_lattice(lattice, owner=owner)
    kinds = check_kinds(kinds, params.num_kinds, owner=owner)
    x = _labels(lattice, state.x if isinstance(state, LatticeState) else state, owner=owner,
                num_labels=kinds.shape[0])
    dtype = _float_dtype(params)
    num = kinds.shape[0]
    k = params.num_kinds
    contact = jnp.asarray(params.contact, dtype)
    nb = _neighbour_labels(lattice, x)
    inside = _inside(lattice)
    # Bonds inside the lattice are seen from both ends (weight 1/2), bonds to the wall once.
    weight = jnp.where(inside, 0.5, 1.0).astype(dtype)
    bonds = jnp.where(nb != x, contact[kinds[x], kinds[nb]], 0.0) * weight
    h = jnp.sum(bonds)
    volume = cell_volumes(x, num).astype(dtype)
    cell_kind = kinds
    lam, target = _per_kind(params.lambda_volume, k, dtype), _per_kind(params.target_volume, k, dtype)
    h = h + jnp.sum(lam[cell_kind] * (volume - target[cell_kind]) ** 2)
    if params.has_surface:
        surface = cell_surfaces(lattice, x, num).astype(dtype)
        lam_s = _per_kind(params.lambda_surface, k, dtype)
        target_s = _per_kind(params.target_surface, k, dtype)
        h = h + jnp.sum(lam_s[cell_kind] * (surface - target_s[cell_kind]) ** 2)
    return h


def _inside(lattice: Lattice) -> jax.Array:
    """`(num_neighbours, *shape)`: True where the neighbour at that offset is a lattice site."""
    if lattice.boundary == "wrap":
        return jnp.ones((lattice.num_neighbours,) + lattice.shape, bool)
    ones = jnp.ones(lattice.shape, jnp.int32)
    return jnp.moveaxis(lattice.replace(fill=0.0).neighbours(ones), lattice.ndim, 0) == 1


def _free_neighbours(lattice: Lattice, mask) -> jax.Array:
    """`(num_neighbours, *shape)`: True where the neighbour may be copied from (a masked-in site)."""
    if mask is None:
        return _inside(lattice)
    free = jnp.asarray(mask, jnp.int32)
    return jnp.moveaxis(lattice.replace(fill=0.0).neighbours(free), lattice.ndim, 0) == 1


# ---------------------------------------------------------------------------- pseudo-likelihood
def pseudo_log_likelihood(params: PottsParams, state, lattice: Lattice, kinds, *, mask=None,
                          reduce: str = "sum") -> jax.Array:
    """Besag's log pseudo-likelihood of an observed lattice of cell ids under the CPM's Gibbs
    measure `exp(-H / T)`: `sum_i log p(s_i | the other sites)`.

    Each site's conditional is taken over the ids a copy could give it: its own id and those of
    its neighbours that may be copied from (masked-in sites),

        p(s_i | rest) = exp(-H(s_i) / T) / sum over candidate ids l of exp(-H(l) / T),

    where `H(l)` is the energy with site i set to l and everything else as observed (contact,
    volume and surface terms all included; J. Besag, J. R. Stat. Soc. D 24, 179 (1975),
    doi:10.2307/2987782). It is differentiable in every field of `params` (J, the lambdas, the
    targets and T; but `exp(-H / T)` is unchanged when H and T scale together, so fix one scale,
    e.g. T, when fitting). The connectivity veto of `Potts` is not part of the measure. A
    site deep inside a cell (no other candidate) contributes 0; sites outside `mask` none.

    Args:
      params: a `PottsParams` over K kinds.
      state: a `LatticeState` or array of cell ids, shape `(*lattice.shape, 1)` or `lattice.shape`.
      lattice: as for `Potts`.
      kinds: int `(N + 1,)`, the kind of each cell id, `kinds[0] = 0`.
      mask: optional boolean array of `lattice.shape`: True where cells may move (as for `Potts`).
      reduce: `"sum"` (a scalar) or `"none"` (one value per site, shape `lattice.shape`).

    Example:
      >>> import jax, automata
      >>> lat = automata.Lattice((8, 8))
      >>> x = jnp.zeros((8, 8), jnp.int32).at[2:6, 2:6].set(1)
      >>> p = PottsParams(contact=jnp.array([[0.0, 2.0], [2.0, 0.0]]), lambda_volume=0.5,
      ...                 target_volume=16.0, temperature=1.0)
      >>> g = jax.grad(pseudo_log_likelihood)(p, x, lat, jnp.array([0, 1]))
      >>> bool(g.contact[0, 1] > 0)  # a costlier boundary favours compact cells such as this square
      True
    """
    owner = "pseudo_log_likelihood"
    check_params(params, owner=owner)
    check_lattice(lattice, owner=owner)
    kinds = check_kinds(kinds, params.num_kinds, owner=owner)
    mask = _check_mask(mask, lattice, owner=owner)
    if reduce not in ("sum", "none"):
        raise fail(owner, f"reduce must be 'sum' or 'none', got {reduce!r}.")
    x = _labels(lattice, state.x if isinstance(state, LatticeState) else state, owner=owner,
                num_labels=kinds.shape[0])
    dtype = _float_dtype(params)
    num, z = kinds.shape[0], lattice.num_neighbours
    nb = _neighbour_labels(lattice, x)
    free = _free_neighbours(lattice, mask)
    volume = cell_volumes(x, num)
    surface = cell_surfaces(lattice, x, num) if params.has_surface else None
    cand = jnp.concatenate([x[None], nb], axis=0)  # (z + 1, *shape)
    valid = jnp.concatenate([jnp.ones((1,) + lattice.shape, bool), free], axis=0)
    # An id counts once, however many neighbours hold it: drop repeats of an earlier valid one.
    earlier = jnp.asarray(np.tril(np.ones((z + 1, z + 1), bool), -1)).reshape((z + 1, z + 1) + (1,) * lattice.ndim)
    dup = jnp.any((cand[:, None] == cand[None, :]) & earlier & valid[None, :], axis=1)
    valid = valid & ~dup
    inside = _inside(lattice)[:, None] if lattice.boundary == "fixed" else None
    dh = _delta_energy(params, kinds, x[None], cand, nb[:, None], volume, surface, z, dtype, inside)
    temperature = jnp.asarray(params.temperature, dtype)
    logits = jnp.where(valid, -dh / temperature, -jnp.inf)
    logp = -jax.nn.logsumexp(logits, axis=0)  # the own id's logit is 0
    if mask is not None:
        logp = jnp.where(jnp.asarray(mask), logp, 0.0)
    return jnp.sum(logp) if reduce == "sum" else logp
