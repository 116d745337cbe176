"""Division of a cell of a cell-id lattice (the cellular Potts model's) by a plane through its
centre.

A cell is the set of sites holding its id (`automata.potts`: 0 is the medium, 1..N are cells).
`divide_cell` cuts it by the plane through its centroid (the mean of its sites' coordinates)
with a given unit normal `n`: the sites `s` with `(s - centroid) . n > 0` take the daughter's new
id, the others keep the mother's id (sites on the plane, within 1e-4 site, stay with the mother).
If one side of the plane would be empty (a thin or oddly shaped cell), the cell is split by its
median projection instead: the `floor(V / 2)` sites of largest `(s - centroid) . n` (ties broken
by site order) take the new id. A cell of one site cannot be split and is left as it is. This is the
usual division of the cellular Potts model: through the centre of mass, perpendicular to a chosen
axis.

`divide_cells` divides several cells at once, each with its own normal and new id; both are
pure functions of arrays and run under `jax.jit` and `jax.vmap`. The median split sorts the
lattice once per cell, so it runs (under `jit`, as a `lax.cond` branch) only when some cell needs
it; under an outer `vmap` both branches run. Dividing 8 cells of a random 64^3 lattice of 16 ids
takes about 35 ms under `jit` on a busy 2-core CPU (0.66 s when the sort always ran).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from automata._checks import concrete, fail

__all__ = ["divide_cell", "divide_cells"]

_ON_PLANE = 1e-4


def _coords(shape) -> list[jax.Array]:
    return [jnp.broadcast_to(jnp.arange(n, dtype=jnp.float32).reshape([-1 if b == a else 1
                                                                      for b in range(len(shape))]), shape)
            for a, n in enumerate(shape)]


def _displacements(mask: jax.Array, periodic: bool) -> list[jax.Array]:
    """Per axis, each site's displacement from the centroid of the sites in `mask` (on a periodic
    lattice: from the circular mean, by the minimum image)."""
    shape = mask.shape
    w = mask.astype(jnp.float32)
    count = jnp.maximum(jnp.sum(w), 1.0)
    out = []
    for n, c in zip(shape, _coords(shape)):
        if periodic:
            angle = 2 * jnp.pi * c / n
            mean = jnp.arctan2(jnp.sum(w * jnp.sin(angle)), jnp.sum(w * jnp.cos(angle)))
            centre = mean * n / (2 * jnp.pi)
            out.append(jnp.mod(c - centre + n / 2, n) - n / 2)
        else:
            out.append(c - jnp.sum(w * c) / count)
    return out


def _plane_split(x: jax.Array, cell, normal: jax.Array, periodic: bool):
    """`(mask of the cell, projections on the normal, plane daughter mask, plane split usable)`."""
    mask = x == cell
    disp = _displacements(mask, periodic)
    proj = sum(normal[a] * disp[a] for a in range(x.ndim))
    size = jnp.sum(mask)
    # Sites on the plane up to float32 rounding (1e-4 site) stay with the mother.
    plane = mask & (proj > _ON_PLANE)
    upper = jnp.sum(plane)
    return mask, proj, plane, (upper > 0) & (upper < size)


def _median_split(mask: jax.Array, proj: jax.Array) -> jax.Array:
    """Rank the sites by projection (non-members first, ties by site order); the top
    floor(size / 2) members take the new id."""
    size = jnp.sum(mask)
    flat = jnp.where(mask, proj, -jnp.inf).ravel()
    order = jnp.argsort(flat, stable=True)
    rank = jnp.zeros(flat.shape, jnp.int32).at[order].set(jnp.arange(flat.size, dtype=jnp.int32))
    return mask & (rank.reshape(mask.shape) >= flat.size - size // 2)


def _daughter_masks(x, cells, normals, periodic):
    """`(M, *x.shape)` daughter masks; the sort of the median split runs only when some cell
    needs it (a real branch under `jit`; under an outer `vmap` both branches run)."""
    mask, proj, plane, ok = jax.vmap(lambda c, n: _plane_split(x, c, n, periodic))(cells, normals)
    ok = ok | (cells <= 0)

    def fallback(_):
        median = jax.vmap(_median_split)(mask, proj)
        return jnp.where(ok.reshape((-1,) + (1,) * x.ndim), plane, median)

    masks = jax.lax.cond(jnp.all(ok), lambda _: plane, fallback, None)
    return masks & (cells > 0).reshape((-1,) + (1,) * x.ndim)


def _check(x, normals, owner: str):
    if not hasattr(x, "dtype") or not jnp.issubdtype(x.dtype, jnp.integer):
        raise fail(owner, f"x must be an integer lattice of cell ids (0 the medium, 1..N cells), got "
                   f"{type(x).__name__} {getattr(x, 'dtype', '')}.", TypeError)
    if x.ndim not in (2, 3):
        raise fail(owner, f"x must be a 2D or 3D lattice of cell ids, got shape {x.shape}.")
    if jnp.shape(normals)[-1] != x.ndim:
        raise fail(owner, f"normal must have one component per lattice axis ({x.ndim}), got shape "
                   f"{jnp.shape(normals)}.")
    value = concrete(normals)
    if value is not None:
        norms = np.linalg.norm(np.asarray(value, float).reshape(-1, x.ndim), axis=-1)
        if not np.all(np.isfinite(norms)) or np.any(norms == 0):
            raise fail(owner, "normal must be a finite nonzero vector (it is normalised here), got "
                       f"{value.tolist()}.")


def _check_ids(x, cells, new_ids, owner: str):
    xv, cv, nv = concrete(x), concrete(cells), concrete(new_ids)
    if cv is not None and np.any(np.asarray(cv) < 0):
        raise fail(owner, f"cell ids must be >= 1 (0 is the medium), got {np.asarray(cv).tolist()}.")
    if nv is not None:
        nv = np.atleast_1d(nv)
        live = np.ones(nv.shape, bool) if cv is None else np.atleast_1d(cv) > 0
        if np.any(nv[live] < 1):
            raise fail(owner, f"new ids must be >= 1 (0 is the medium), got {nv.tolist()}.")
        if len(set(nv[live].tolist())) < int(live.sum()):
            raise fail(owner, f"new ids must be distinct, got {nv[live].tolist()}.")
        if xv is not None:
            taken = sorted(set(nv[live].tolist()) & set(np.unique(xv).tolist()))
            if taken:
                raise fail(owner, f"new ids must not be on the lattice already (the daughter would merge "
                           f"with that cell), but {taken} are; use ids above {int(xv.max())}.")
    if cv is not None:
        cv = np.atleast_1d(cv)
        live = cv[cv > 0]
        if len(set(live.tolist())) < live.size:
            raise fail(owner, f"cells must be distinct, got {live.tolist()}.")


def divide_cell(x: jax.Array, cell, normal, new_id, *, periodic: bool = False) -> jax.Array:
    """Divide `cell` by the plane through its centroid with normal `normal`.

    Args:
      x: `(n_0, n_1)` or `(n_0, n_1, n_2)` int lattice of cell ids (0 medium).
      cell: the id of the cell to divide (>= 1; an id absent from `x` changes nothing).
      normal: `(D,)` normal of the plane (normalised here; only its direction matters).
      new_id: the daughter's id, given to the sites on the positive side (`(s - centroid) . n > 0`);
        it must not be on the lattice yet.
      periodic: True for a lattice that wraps around (`Lattice(boundary="wrap")`): the centroid is
        the circular mean and displacements take the minimum image.

    Returns:
      The new lattice, same shape and dtype. Both daughters are non-empty for a cell of two sites
      or more (the median split takes over when the plane leaves one side empty); all other sites
      are unchanged.

    Example:
      >>> x = jnp.zeros((6, 6), jnp.int32).at[1:5, 1:5].set(1)
      >>> y = divide_cell(x, 1, jnp.array([1.0, 0.0]), 2)
      >>> y[:, 2].tolist()  # the rows below the centre (row 2.5) go to cell 2
      [0, 1, 1, 2, 2, 0]
    """
    owner = "divide_cell"
    _check(x, normal, owner)
    value = concrete(cell)
    if value is not None and (np.ndim(value) != 0 or value < 1):
        raise fail(owner, f"cell must be one cell id >= 1 (0 is the medium), got {value.tolist()}.")
    _check_ids(x, cell, new_id, owner)
    return _divide(x, jnp.asarray(cell), jnp.asarray(normal), jnp.asarray(new_id), periodic)


def _divide(x, cell, normal, new_id, periodic):
    normal = normal.astype(jnp.float32)
    normal = normal / jnp.linalg.norm(normal)
    daughter = _daughter_masks(x, cell[None], normal[None], periodic)[0]
    return jnp.where(daughter, new_id.astype(x.dtype), x)


def divide_cells(x: jax.Array, cells, normals, new_ids, *, periodic: bool = False) -> jax.Array:
    """Divide several cells at once, each by the plane through its centroid with its own normal.

    The same as calling `divide_cell` for each cell in turn (the cells are distinct, so one
    division does not move another's centroid), computed in one vectorised pass. Entries with
    `cells == 0` are padding and divide nothing, so a fixed number of slots serves any number of
    divisions under `jax.jit`.

    Args:
      x: `(n_0, n_1)` or `(n_0, n_1, n_2)` int lattice of cell ids (0 medium).
      cells: `(M,)` ids of the cells to divide (distinct), 0 for an unused slot.
      normals: `(M, D)` plane normals.
      new_ids: `(M,)` ids of the daughters (distinct, not yet on the lattice).
      periodic: as for `divide_cell`.

    Returns:
      The new lattice, same shape and dtype.

    Example:
      >>> x = jnp.zeros((4, 8), jnp.int32).at[:, :4].set(1).at[:, 4:].set(2)
      >>> y = divide_cells(x, jnp.array([1, 2, 0]), jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]),
      ...                  jnp.array([3, 4, 0]))
      >>> y.tolist()
      [[1, 1, 1, 1, 2, 2, 4, 4], [1, 1, 1, 1, 2, 2, 4, 4], [3, 3, 3, 3, 2, 2, 4, 4], [3, 3, 3, 3, 2, 2, 4, 4]]
    """
    owner = "divide_cells"
    _check(x, normals, owner)
    cells, normals, new_ids = jnp.asarray(cells), jnp.asarray(normals), jnp.asarray(new_ids)
    if cells.ndim != 1 or new_ids.shape != cells.shape or normals.shape != cells.shape + (x.ndim,):
        raise fail(owner, f"cells (M,), normals (M, {x.ndim}) and new_ids (M,) must agree, got shapes "
                   f"{cells.shape}, {normals.shape} and {new_ids.shape}.")
    _check_ids(x, cells, new_ids, owner)
    return _divide_many(x, cells, normals, new_ids, periodic)


def _divide_many(x, cells, normals, new_ids, periodic):
    normals = normals.astype(jnp.float32)
    normals = normals / jnp.maximum(jnp.linalg.norm(normals, axis=-1, keepdims=True), 1e-30)
    masks = _daughter_masks(x, cells, normals, periodic)
    # The masks are disjoint (distinct cells), so at most one slot writes each site.
    which = jnp.argmax(masks, axis=0)
    hit = jnp.any(masks, axis=0)
    return jnp.where(hit, new_ids.astype(x.dtype)[which], x)
