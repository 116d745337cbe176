"""The cellular Potts model (CPM) as a rule: cells are regions of a lattice of cell ids that grow
and shrink by copying their id into neighbouring sites, with Metropolis-Hastings probabilities set
by the Hamiltonian of `automata.potts_energy` (re-exported here: `PottsParams`, `energy`,
`pseudo_log_likelihood`, `cell_volumes`, `cell_surfaces`).

References: F. Graner & J. A. Glazier, Phys. Rev. Lett. 69, 2013 (1992),
doi:10.1103/PhysRevLett.69.2013; J. A. Glazier & F. Graner, Phys. Rev. E 47, 2128 (1993),
doi:10.1103/PhysRevE.47.2128.

`Potts` is the rule (one step is one Monte Carlo step, exact detailed balance; see its docstring
for the parallel update and why it is exact); `rollout_with_log_prob` also returns the
log-probability of the Metropolis decisions, for score-function gradients; `pseudo_log_likelihood`
is what fits to observed lattices use. `automata.potts_sharding` splits one lattice over devices.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import check_int, concrete, fail
from automata.engine import check_num_steps, check_step_inputs, step_key
from automata.lattice import Lattice
from automata.potts_energy import (
    PottsParams,
    _check_mask,
    _energy_change,
    _float_dtype,
    _labels,
    _surface_changes,
    cell_surfaces,
    cell_volumes,
    check_kinds,
    check_lattice,
    check_params,
    energy,
    pseudo_log_likelihood,
)
from automata.relax import bernoulli_log_prob
from automata.rule import Rule
from automata.state import LatticeState

__all__ = [
    "Potts",
    "PottsParams",
    "cell_surfaces",
    "cell_volumes",
    "energy",
    "pseudo_log_likelihood",
    "rollout_with_log_prob",
]


# ---------------------------------------------------------------------------- the sampler
def _to_blocks(x: jax.Array, p: int) -> jax.Array:
    """`(n_0, .., n_d)` -> `(p,) * d + (n_0 / p, ..)`: entry `[o, k]` is site `o + p k`."""
    d = x.ndim
    m = [n // p for n in x.shape]
    y = x.reshape([s for mi in m for s in (mi, p)])
    return y.transpose([2 * a + 1 for a in range(d)] + [2 * a for a in range(d)])


def _from_blocks(xb: jax.Array, d: int) -> jax.Array:
    p, m = xb.shape[0], xb.shape[d:]
    y = xb.transpose([i for a in range(d) for i in (d + a, a)])
    return y.reshape([mi * p for mi in m])


def _face_links(d: int):
    """Face offsets (`+-e_a`) and, for each pair of faces on different axes, the edge offset
    between them: the graph whose pieces give the topological number T4 (2D) or T6 (3D)."""
    faces = []
    for a in range(d):
        for s in (-1, 1):
            off = [0] * d
            off[a] = s
            faces.append(tuple(off))
    links = [(i, j, tuple(fi + gi for fi, gi in zip(f, g)))
             for i, f in enumerate(faces) for j, g in enumerate(faces)
             if i < j and np.argmax(np.abs(f)) != np.argmax(np.abs(g))]
    return faces, links


def _pieces(labels_at, c, d: int) -> jax.Array:
    """How many face-connected pieces of id `c`, among a site's face and edge neighbours, touch the
    site through a face (Bertrand & Malandain's T4/T6, doi:10.1016/0167-8655(94)90012-4).
    `labels_at(offset)` gives the neighbours' ids at an offset."""
    faces, links = _face_links(d)
    inside = [labels_at(f) == c for f in faces]
    big = len(faces)
    lab = [jnp.where(inside[i], i, big) for i in range(len(faces))]
    joined = [(i, j, inside[i] & inside[j] & (labels_at(e) == c)) for i, j, e in links]
    for _ in range(len(faces) - 1):
        new = list(lab)
        for i, j, on in joined:
            new[i] = jnp.minimum(new[i], jnp.where(on, lab[j], big))
            new[j] = jnp.minimum(new[j], jnp.where(on, lab[i], big))
        lab = new
    return sum((inside[i] & (lab[i] == i)).astype(jnp.int32) for i in range(len(faces)))


def _mix32(h: jax.Array) -> jax.Array:
    """MurmurHash3's 32-bit finaliser: a bijection of uint32 that mixes every bit into every bit."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def _site_bits(index: jax.Array, words: jax.Array, stream: int) -> jax.Array:
    """uint32 random bits, one per site, from the sites' global indices (uint32):
    `mix(mix(2 * index + stream ^ words[0]) + words[1])`, a keyed counter-based hash (two rounds of
    MurmurHash3's finaliser). The same words give the same bits wherever a lattice is split or
    in whatever order its sites are visited.

    Example:
      >>> w = jnp.asarray([1, 2], jnp.uint32)
      >>> index = jnp.arange(12, dtype=jnp.uint32)
      >>> bits = _site_bits(index, w, 0)
      >>> bool(jnp.all(bits[5:] == _site_bits(index[5:], w, 0))), bool(jnp.all(bits != _site_bits(index, w, 1)))
      (True, True)
    """
    return _mix32(_mix32((index * jnp.uint32(2) + jnp.uint32(stream)) ^ words[0]) + words[1])


def _block_index(p: int, m, rest_shape, row0) -> jax.Array:
    """Global indices (uint32) of a lattice's sites in the block layout of `_to_blocks`, made in
    that layout (no transpose): entry `[o, k]` is the index of site `o + p k`, on a lattice whose
    axes after the first are `rest_shape` and whose rows start at `row0`."""
    d = len(m)
    sizes = (None,) + tuple(rest_shape)
    index = jnp.zeros((p,) * d + tuple(m), jnp.uint32)
    stride = 1
    for a in reversed(range(d)):
        o = jnp.arange(p).reshape([-1 if b == a else 1 for b in range(2 * d)])
        k = jnp.arange(m[a]).reshape([-1 if b == d + a else 1 for b in range(2 * d)])
        coord = o + p * k + (row0 if a == 0 else 0)
        index = index + coord.astype(jnp.uint32) * jnp.uint32(stride)
        if a > 0:
            stride *= sizes[a]
    return index


def _uniform_index(bits: jax.Array, n: int) -> jax.Array:
    """`floor(bits * n / 2^32)` for uint32 `bits`: an index in 0..n-1, uniform to n / 2^32."""
    hi, lo = bits >> 16, bits & 0xFFFF
    n = jnp.uint32(n)
    return ((hi * n + ((lo * n) >> 16)) >> 16).astype(jnp.int32)


class _Local:
    """Per-cell reductions and block halos on one device (`automata.potts_sharding` has the
    version for a lattice split over devices)."""

    row0 = 0

    def __init__(self, lattice: Lattice, spacing: int):
        self.lattice, self.spacing = lattice, spacing

    def cell_sum(self, v):
        return v

    def cell_max(self, v):
        return v

    def varying(self, v):
        return v

    def pad(self, arr, fill, d: int):
        """Pad the last `d` (block) axes by one block on each side, as the boundary says."""
        pads = [(0, 0)] * (arr.ndim - d) + [(1, 1)] * d
        if self.lattice.boundary == "wrap":
            return jnp.pad(arr, pads, mode="wrap")
        return jnp.pad(arr, pads, constant_values=fill)

    def inside(self, shift, m):
        """True where block `k + shift` (per axis) is on the lattice: not the wall beyond an edge."""
        out = True
        for a, (s, n) in enumerate(zip(shift, m)):
            k = jnp.arange(n) + s
            ok = (k >= 0) & (k < n)
            out = out & ok.reshape([-1 if b == a else 1 for b in range(len(m))])
        return jnp.broadcast_to(out, m)

    def surfaces(self, x, num):
        return cell_surfaces(self.lattice, x, num)


def _sweep(rule: "Potts", lattice: Lattice, x: jax.Array, key, comm, global_rows: int, tally: bool = True):
    """One Monte Carlo step on the ids `x` (`lattice.shape`, int32; for a shard, its own rows).

    Returns `(x, log_prob, stats)`: the new ids, the summed log-probability of the Metropolis
    decisions taken, and counts of the attempts by outcome. With `tally=False` the last two are
    not computed (None): a plain rollout needs neither.
    """
    params, kinds, p, d = rule.params, rule.kinds, rule.spacing, lattice.ndim
    dtype = _float_dtype(params)
    num = kinds.shape[0]
    fill = int(lattice.fill)
    z = lattice.num_neighbours
    offsets = list(lattice.offsets)
    extra = []
    if rule.connectivity:
        faces, links = _face_links(d)
        extra = [o for o in faces + [e for _, _, e in links] if o not in offsets]
    all_offsets = offsets + extra
    index = {o: i for i, o in enumerate(all_offsets)}

    m = tuple(n // p for n in x.shape)
    # Sites hold their id and its kind packed together, `id << kind_bits | kind`: equal ids stay
    # equal, and the kinds of neighbours are read without a table look-up.
    kind_bits = max(1, int(np.ceil(np.log2(params.num_kinds))))
    kind_mask = (1 << kind_bits) - 1
    packed_fill = (fill << kind_bits) | kinds[fill]
    xbp = comm.pad(_to_blocks((x << kind_bits) | kinds[x], p), packed_fill, d)
    frozen = rule.mask is not None or lattice.boundary == "fixed"
    if frozen:
        free = jnp.ones(x.shape, bool) if rule.mask is None else jnp.asarray(rule.mask, bool)
        fbp = comm.pad(_to_blocks(free, p), False, d)
    else:
        fbp = None

    volume = comm.cell_sum(cell_volumes(x, num))
    surface = None
    if params.has_surface:
        surface = comm.cell_sum(comm.surfaces(x, num))
    temperature = jnp.asarray(params.temperature, dtype)
    num_active = (global_rows // p) * int(np.prod(m[1:]))
    index_bits = max(1, int(np.ceil(np.log2(num_active))))
    site_index = ((comm.row0 // p + jnp.arange(m[0]))[:, None] * int(np.prod(m[1:]))
                  + jnp.arange(int(np.prod(m[1:])))[None, :]).reshape(m).astype(jnp.uint32)

    # Two random words per site and MCS: a counter-based hash of the site's global index, keyed
    # by two words of this MCS's key, so that shards draw the same ones (a keyed stream per site
    # costs a quarter of threefry's time on CPUs, where it was a third of an MCS in 2D).
    # The sites' indices are made in the block layout, so the bits need no reordering.
    words = jax.random.bits(jax.random.fold_in(key, 0), (2,), jnp.uint32)
    colour_words = jax.random.bits(jax.random.fold_in(key, 1), (p**d,), jnp.uint32)
    block_index = _block_index(p, m, x.shape[1:], comm.row0)
    dbits, ubits = (_site_bits(block_index, words, i) for i in range(2))

    def own(arr, phase):
        return jax.lax.dynamic_index_in_dim(arr.reshape((p**d,) + m), _flat(phase), 0, keepdims=False)

    def _flat(phase):
        out = phase[0]
        for q in phase[1:]:
            out = out * p + q
        return out

    def slab(arr, phase, shift):
        start = tuple(phase) + tuple(1 + s for s in shift)
        return jax.lax.dynamic_slice(arr, start, (1,) * d + m).reshape(m)

    def body(carry, cls):
        xbp, volume, surface, logp, stats = carry
        o = [jnp.asarray(v, jnp.int32) for v in jnp.unravel_index(cls, (p,) * d)]
        ph = {off: ([(oi + di) % p for oi, di in zip(o, off)], [(oi + di) // p for oi, di in zip(o, off)])
              for off in all_offsets}
        zero = [jnp.int32(0)] * d
        cur = slab(xbp, o, zero)
        nb_all = [slab(xbp, *ph[off]) for off in all_offsets]
        nb = jnp.stack(nb_all[:z])
        if frozen:
            own_free = slab(fbp, o, zero)
            nbfree = jnp.stack([slab(fbp, *ph[off]) for off in offsets])
        else:
            own_free = jnp.ones(m, bool)
            nbfree = jnp.ones((z,) + m, bool)

        direction = _uniform_index(own(dbits, o), z)
        uniform = (own(ubits, o) >> 8).astype(dtype) * (2.0**-24)
        # Priorities need only be independent of the state: a hash of the site and the colour's draw.
        word = colour_words[cls]
        priority = ((_mix32(site_index ^ word) >> (index_bits + 1)) << index_bits | site_index).astype(jnp.int32)

        # The chosen neighbour, by selection (a gather along the neighbour axis is slower on CPUs).
        b, b_free = nb_all[0], nbfree[0]
        for j in range(1, z):
            b = jnp.where(direction == j, nb_all[j], b)
            b_free = jnp.where(direction == j, nbfree[j], b_free)
        id_a, id_b = cur >> kind_bits, b >> kind_bits
        proposed = own_free & b_free & (b != cur)
        n_a = jnp.sum((nb == cur) & nbfree, axis=0)
        n_b = jnp.sum((nb == b) & nbfree, axis=0)
        eligible = proposed
        if rule.detailed_balance:
            # The reverse copy needs a neighbour of the losing id to copy from.
            eligible = eligible & (n_a > 0)
        if rule.connectivity:
            at = lambda off: nb_all[index[off]]  # noqa: E731
            pieces_a, pieces_b = _pieces(at, cur, d), _pieces(at, b, d)
            if rule.detailed_balance:
                # Symmetric: the site must touch one piece of each cell, before and after alike.
                veto = ((cur != 0) & (pieces_a != 1)) | ((b != 0) & (pieces_b != 1))
            else:
                veto = ((cur != 0) & (pieces_a >= 2)) | ((b != 0) & (pieces_b == 0))
            eligible = eligible & ~veto
        # At most one copy per cell: the eligible attempt of highest priority on each cell wins.
        # Whether an attempt is eligible, and which cells it touches, is the same before and after
        # the copy, so this choice keeps detailed balance (see Potts).
        key_ = jnp.where(eligible, priority, -1)
        best = jnp.full((num,), -1, jnp.int32).at[id_a].max(key_).at[id_b].max(key_)
        best = comm.cell_max(best)
        win = eligible & ((cur == 0) | (best[id_a] == key_)) & ((b == 0) | (best[id_b] == key_))

        inside = None
        if surface is not None and lattice.boundary == "fixed":
            inside = jnp.stack([comm.inside(ph[off][1], m) for off in offsets])
        sa = sb = None
        if surface is not None:
            sa, sb = surface[id_a], surface[id_b]
        dh = _energy_change(params, cur, b, nb, cur & kind_mask, b & kind_mask, nb & kind_mask, volume[id_a],
                            volume[id_b], sa, sb, z, dtype, inside)
        log_ratio = -dh / temperature
        if rule.detailed_balance:
            log_ratio = log_ratio + jnp.log(jnp.maximum(n_a, 1).astype(dtype) / jnp.maximum(n_b, 1).astype(dtype))
        p_accept = jnp.exp(jnp.minimum(log_ratio, 0.0))
        accept = win & (uniform < jax.lax.stop_gradient(p_accept))
        if not rule.detailed_balance:
            # A cell never leaves the lattice: its last site is not taken.
            accept = accept & ((cur == 0) | (volume[id_a] > 1))

        new = jnp.where(accept, b, cur)
        padded = comm.pad(new, packed_fill, d)
        xbp = jax.lax.dynamic_update_slice(xbp, padded.reshape((1,) * d + padded.shape), tuple(o) + (0,) * d)
        gain = accept.astype(jnp.int32)
        volume = volume + comm.cell_sum(jnp.zeros((num,), jnp.int32).at[id_a].add(-gain).at[id_b].add(gain))
        if surface is not None:
            da, db = _surface_changes(cur, b, nb, z, inside)
            surface = surface + comm.cell_sum(
                jnp.zeros((num,), jnp.int32).at[id_a].add(gain * da).at[id_b].add(gain * db))
        if tally:
            # Attempts that did not win take no decision; a neutral p keeps their (unused) gradient finite.
            p_decided = jnp.where(win, p_accept, 0.5)
            logp = logp + jnp.sum(jnp.where(win, bernoulli_log_prob(accept, p_decided), 0.0))
            counts = jnp.stack([jnp.sum(proposed), jnp.sum(eligible), jnp.sum(win), jnp.sum(accept)])
            stats = stats + counts.astype(jnp.int32)
        return (xbp, volume, surface, logp, stats), None

    order = jax.random.permutation(jax.random.fold_in(key, p**d + 1), p**d)
    tallies = (comm.varying(jnp.zeros((), dtype)), comm.varying(jnp.zeros((4,), jnp.int32))) if tally else (None, None)
    (xbp, _, _, logp, stats), _ = jax.lax.scan(body, (xbp, volume, surface) + tallies, order, unroll=bool(rule.unroll))
    inner = (slice(None),) * d + tuple(slice(1, mi + 1) for mi in m)
    x = _from_blocks(xbp[inner] >> kind_bits, d)
    return x, logp, stats


class Potts(Rule):
    """The cellular Potts model as a rule: one step is one Monte Carlo step (MCS).

    The state `x` holds cell ids, shape `(*lattice.shape, 1)` and an integer dtype: 0 the medium,
    1..N cells, `kinds[id]` the kind of each (the Hamiltonian is in `automata.potts_energy`).

    **A copy attempt** at site i picks one of its `z` neighbours j uniformly (the lattice's
    neighbourhood; a site outside `mask` or beyond a fixed edge is a wall: never copied from, so
    that draw is refused) and proposes `s_i <- s_j`. It is taken with the Metropolis-Hastings
    probability `min(1, exp(-dH / T) * n_old / n_new)`, where `n_new` and `n_old` count the
    neighbours of i that may be copied from and hold the proposed and the current id: the
    proposal chooses an id with probability `n / z`, so this ratio makes every copy and its
    reverse balance exactly (`detailed_balance=True`). With `detailed_balance=False` it is the
    textbook CPM rule `min(1, exp(-dH / T))` (Graner & Glazier 1992), which is not exactly
    reversible, and a copy that would remove a cell's last site is refused. In the exact mode a
    cell can never lose its last site either, since the reverse copy would have nothing to copy
    from: no cell ever leaves the lattice.

    **One Monte Carlo step** makes as many attempts as there are sites: every site makes exactly
    one, sub-lattice by sub-lattice. The sites are coloured by their coordinates modulo
    `spacing` (`spacing ** ndim` colours, visited in a fresh random order each MCS), and all
    sites of one colour attempt at once. Sites of one colour are at least `spacing` apart on
    some axis, farther than the neighbourhood's radius (and the connectivity check's one site),
    so no site reads what another changes and the contact energy changes add up. Concurrent
    copies that touch the same cell would still interact through its volume and surface (each
    would be priced against a volume the other changes), so **at most one copy per cell is
    attempted per colour**: among the attempts that propose a change, each cell keeps the one of
    highest random priority and the others are refused (the medium, which has no volume term,
    takes any number). Which attempts propose a change, and which cells they touch, is the same
    in a state and in the state the copy leads to, so this choice is symmetric and each colour's
    update satisfies detailed balance with respect to `exp(-H / T)`; visiting the colours one
    after another keeps that distribution stationary. The chain explores the states with the same
    set of ids present (ids never vanish). Attempts refused by the per-cell choice slow the
    dynamics (not the distribution) when the colours are dense against the cells: with cells of
    side 8 and spacing 4, 66% of the attempts that could change something lose it in 2D and 85%
    in 3D; with spacing 8, 28% and 40% (benchmarks/potts.py). A larger spacing costs more colours
    per MCS (each a pass with a fixed overhead), so choose it of the order of a cell's diameter;
    `sweep` reports the counts.

    **Connectivity** (`connectivity=True`): cells are kept face-connected (4-connected in 2D,
    6-connected in 3D) as far as the site's 3x3(x3) block shows. A copy is refused when the
    losing cell's sites among the face and edge neighbours of the site fall into two or more
    face-connected pieces that touch the site through a face (it would pinch the cell; the
    topological number T4 / T6 of Bertrand & Malandain 1994, doi:10.1016/0167-8655(94)90012-4),
    or when the gaining cell has no face neighbour there (a copy across a diagonal of a Moore
    neighbourhood would start a new piece). This is the standard local approximation of a global
    connectivity check: it stops every local pinch, but a cell can still come apart through
    moves that are each locally harmless. In the exact mode the rule is made symmetric, as
    detailed balance needs: the site must touch exactly one such piece of the losing and of the
    gaining cell (the same condition for a copy and its reverse), so a cell that is already in
    pieces keeps its pieces. The medium is never checked.

    Args:
      params: a `PottsParams` over K kinds (trainable).
      kinds: int `(N + 1,)`, the kind of each cell id; `kinds[0] = 0` (the medium), cells 1..K-1.
      mask: optional boolean array of `lattice.shape`, True where cells may move; sites outside
        it keep their id, are never copied from, and count in the energy with their ids (e.g. an
        eggshell, or a wall of its own id and kind).
      spacing: period of the sub-lattice colouring, > the lattice radius and at least 2; every
        lattice axis must be a multiple of it.
      connectivity: apply the local connectivity veto.
      detailed_balance: exact Metropolis-Hastings (True) or the textbook CPM acceptance (False).
      unroll: compile the colours of one MCS as straight-line code rather than a loop. The same
        states, faster on CPUs (1.42x at 256x256 with 16 colours, benchmarks/potts.py), but
        compiling takes five times longer (10 s for 16 colours there, minutes for 3D's 64 or
        more): for long runs of a fixed rule.

    Gradients: the ids are discrete. `pseudo_log_likelihood` fits parameters to an observed
    lattice; `rollout_with_log_prob` gives the log-probability of the Metropolis decisions for
    score-function estimators (`automata.relax.score_function_surrogate`).

    Sharding: `automata.potts_sharding.sharded_potts_rollout` splits one lattice over devices;
    `automata.sharding.sharded_rollout` refuses this rule (a cell's volume is a sum over the whole
    lattice).

    Example:
      >>> import jax, jax.numpy as jnp, automata
      >>> from automata.potts import Potts, PottsParams
      >>> lat = automata.Lattice((16, 16), "moore")
      >>> x = jnp.zeros((16, 16, 1), jnp.int32).at[4:8, 4:8].set(1).at[8:12, 8:12].set(2)
      >>> params = PottsParams(contact=jnp.array([[0.0, 4.0], [4.0, 2.0]]), lambda_volume=1.0,
      ...                      target_volume=16.0, temperature=2.0)
      >>> rule = Potts(params, kinds=jnp.array([0, 1, 1]), spacing=4)
      >>> final, _ = automata.rollout(rule, lat, x, key=jax.random.key(0), num_steps=20, record=False)
      >>> final.x.shape, sorted(set(final.x.ravel().tolist()))
      ((16, 16, 1), [0, 1, 2])
    """

    params: PottsParams
    kinds: jax.Array
    mask: jax.Array | None = None
    spacing: int = struct.field(pytree_node=False, default=4)
    connectivity: bool = struct.field(pytree_node=False, default=False)
    detailed_balance: bool = struct.field(pytree_node=False, default=True)
    unroll: bool = struct.field(pytree_node=False, default=False)
    stochastic = True

    def __post_init__(self):
        # Only the configuration is checked here: array leaves are also rebuilt by jax (as tracers,
        # or as gradients), and are checked at the entry points, in `check`.
        if isinstance(self.kinds, (list, tuple, np.ndarray)):
            object.__setattr__(self, "kinds", jnp.asarray(np.asarray(self.kinds)))
        if isinstance(self.mask, (list, tuple, np.ndarray)):
            object.__setattr__(self, "mask", jnp.asarray(np.asarray(self.mask)))
        object.__setattr__(self, "spacing", check_int(self.spacing, "spacing", 2, owner="Potts",
                                                      hint="It is the period of the sub-lattice colouring."))
        for name in ("connectivity", "detailed_balance", "unroll"):
            if not isinstance(getattr(self, name), bool):
                raise fail("Potts", f"{name} must be True or False, got {getattr(self, name)!r}.", TypeError)

    @property
    def num_labels(self) -> int:
        """N + 1, the number of cell ids including the medium."""
        return int(jnp.shape(self.kinds)[0])

    def reach(self, lattice: Lattice) -> int:
        return max(lattice.radius, 1)

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        check_params(self.params, owner="Potts")
        check_kinds(self.kinds, self.params.num_kinds, owner="Potts")
        if lattice.sharded:
            raise fail("Potts", "the CPM cannot run under automata.sharding.sharded_rollout: a cell's volume "
                       "is a sum over the whole lattice. Use automata.potts_sharding.sharded_potts_rollout.")
        check_lattice(lattice, owner="Potts", spacing=self.spacing)
        if self.spacing <= lattice.radius:
            raise fail("Potts", f"spacing must exceed the lattice radius {lattice.radius} so that sites updated "
                       f"together are not neighbours, got spacing={self.spacing}.")
        kind_bits = max(1, int(np.ceil(np.log2(self.params.num_kinds))))
        if self.num_labels > 2 ** (31 - kind_bits):
            raise fail("Potts", f"at most {2 ** (31 - kind_bits)} cell ids fit with {self.params.num_kinds} kinds "
                       f"(sites hold an id and its kind in one int32), got {self.num_labels}.")
        if lattice.boundary == "fixed" and not 0 <= int(lattice.fill) < self.num_labels:
            raise fail("Potts", f"lattice.fill (the id of the wall beyond a 'fixed' edge) must be a cell id in "
                       f"0..{self.num_labels - 1}, got {lattice.fill}.")
        _labels(lattice, state.x, owner="Potts", num_labels=self.num_labels)
        _check_mask(self.mask, lattice, owner="Potts")
        if self.mask is not None and concrete(self.mask) is not None and not np.any(concrete(self.mask)):
            raise fail("Potts", "mask is False everywhere, so no site may move; mark the sites cells may "
                       "occupy with True.")

    def sweep(self, lattice: Lattice, x: jax.Array, key: jax.Array, *, tally: bool = True):
        """One MCS on ids `x` (`lattice.shape` or with a trailing 1): `(x, log_prob, stats)`.

        `log_prob` is the summed log-probability of the Metropolis decisions taken (accept or
        refuse, for the attempts that won their cells), differentiable in `params`; `stats` counts
        the attempts that proposed a change, were eligible (not vetoed), won their cells and were
        accepted, int32 `(4,)`; with `tally=False` both are None and are not computed (the same
        new ids). No input checks (use `automata.step`/`rollout` for those).
        """
        trailing = x.ndim == lattice.ndim + 1
        ids = x[..., 0] if trailing else x
        new, logp, stats = _sweep(self, lattice, ids.astype(jnp.int32), key, _Local(lattice, self.spacing),
                                  lattice.shape[0], tally)
        new = new.astype(x.dtype)
        return (new[..., None] if trailing else new), logp, stats

    def __call__(self, lattice: Lattice, state: LatticeState, *, key) -> jax.Array:
        return self.sweep(lattice, state.x, key, tally=False)[0]


@functools.partial(jax.jit, static_argnames=("num_steps", "record"))
def _rollout_log_prob(rule, lattice, state, key, *, num_steps, record):
    def body(carry, t):
        x, logp = carry
        new, lp, _ = rule.sweep(lattice, x, step_key(key, t))
        return (new, logp + lp), (new if record else None, lp)

    ts = state.t + jnp.arange(num_steps, dtype=state.t.dtype)
    dtype = _float_dtype(rule.params)
    (x, _), (xs, logps) = jax.lax.scan(body, (state.x, jnp.zeros((), dtype)), ts)
    final = LatticeState(x=x, t=state.t + num_steps)
    traj = LatticeState(x=xs, t=ts + 1) if record else None
    return final, traj, logps


def rollout_with_log_prob(rule: Potts, lattice: Lattice, state, *, key: jax.Array, num_steps: int,
                          record: bool = False):
    """`automata.rollout` of a `Potts` rule that also returns each MCS's log-probability.

    The states are exactly those of `automata.rollout(rule, lattice, state, key=key, ...)` (the
    same step keys). `log_prob[t]` sums, over the attempts of MCS t that won their cells, the log
    of the probability of the Metropolis decision taken (`log p` if accepted, `log(1 - p)` if
    refused): the only part of the trajectory's probability that depends on `rule.params`. With
    `automata.relax.score_function_surrogate(log_prob.sum(), loss)` it gives unbiased
    (REINFORCE) gradients of an expected loss of the trajectory.

    Returns:
      `(final_state, trajectory, log_prob)`; `trajectory` is None unless `record`; `log_prob` has
      shape `(num_steps,)`.

    Example:
      >>> import jax, jax.numpy as jnp, automata
      >>> from automata.potts import Potts, PottsParams, rollout_with_log_prob
      >>> lat = automata.Lattice((8, 8), "von_neumann")
      >>> x = jnp.zeros((8, 8, 1), jnp.int32).at[2:6, 2:6].set(1)
      >>> rule = Potts(PottsParams(contact=jnp.array([[0.0, 1.0], [1.0, 0.0]]), lambda_volume=1.0,
      ...                          target_volume=16.0), kinds=jnp.array([0, 1]), spacing=2)
      >>> final, _, log_prob = rollout_with_log_prob(rule, lat, x, key=jax.random.key(0), num_steps=3)
      >>> log_prob.shape, bool((log_prob <= 0).all())  # differentiate it in rule.params with jax.grad
      ((3,), True)
    """
    if not isinstance(rule, Potts):
        raise fail("rollout_with_log_prob", f"rule must be an automata.potts.Potts, got {type(rule).__name__}.",
                   TypeError)
    state = check_step_inputs(rule, lattice, state, key)
    num_steps = check_num_steps(num_steps)
    return _rollout_log_prob(rule, lattice, state, key, num_steps=num_steps, record=bool(record))
