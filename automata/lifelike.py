"""Life-like rules: two-state outer-totalistic automata named by a birth/survival ("B/S") string."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from automata._checks import check_int, concrete
from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState

_EXPECTED_FORM = (
    'a "B<birth>/S<survive>" string of neighbour counts such as "B3/S23", "B36/S23", "B2/S" '
    'or "B3678/S34678"; for counts above 9 separate them with commas, e.g. "B5,6,7/S4,5,6,10" '
    '(the survive/birth form "23/3" is also accepted)'
)


def _parse_counts(text: str, spec: str) -> tuple[int, ...]:
    if not text:
        return ()
    items = text.split(",") if "," in text else list(text)
    counts = []
    for item in items:
        item = item.strip()
        if not (item.isascii() and item.isdigit()):
            raise ValueError(
                f"Cannot read the neighbour counts {text!r} in the rule {spec!r}: {item!r} is not "
                f"a non-negative integer. Expected {_EXPECTED_FORM}."
            )
        counts.append(int(item))
    return tuple(sorted(set(counts)))


@functools.lru_cache(maxsize=None)
def parse_rule(spec: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Parse a B/S rule string into sorted `(birth, survive)` tuples of neighbour counts.

    Args:
      spec: `"B3/S23"` (case-insensitive), `"S23/B3"`, the older survive/birth form `"23/3"`, or
        comma-separated counts for neighbourhoods larger than 9 (`"B5,6,7/S4,5,6"`).

    Returns:
      `(birth, survive)`: a dead site with a count in `birth` becomes alive; a live site with a
      count in `survive` stays alive.

    Example:
      >>> parse_rule("B36/S23")
      ((3, 6), (2, 3))
    """
    if not isinstance(spec, str):
        raise TypeError(
            f"A Life-like rule is {_EXPECTED_FORM}; got {type(spec).__name__} {spec!r}."
        )
    parts = spec.strip().upper().split("/")
    if len(parts) != 2:
        raise ValueError(
            f"Cannot read the rule {spec!r}: expected {_EXPECTED_FORM}, with exactly one '/'."
        )
    first, second = (p.strip() for p in parts)
    if first.startswith("B") and second.startswith("S"):
        b_text, s_text = first[1:], second[1:]
    elif first.startswith("S") and second.startswith("B"):
        s_text, b_text = first[1:], second[1:]
    elif not first[:1].isalpha() and not second[:1].isalpha():
        s_text, b_text = first, second
    else:
        raise ValueError(f"Cannot read the rule {spec!r}: expected {_EXPECTED_FORM}.")
    return _parse_counts(b_text, spec), _parse_counts(s_text, spec)


def format_rule(birth: tuple[int, ...], survive: tuple[int, ...]) -> str:
    """The canonical B/S string: digits run together when every count is below 10, else commas."""
    sep = "," if any(c > 9 for c in birth + survive) else ""
    return f"B{sep.join(map(str, birth))}/S{sep.join(map(str, survive))}"


# ---------------------------------------------------------------------------- bit-packed path
# The packed path stores 32 sites of a row in one uint32 word (bit b of word j is column
# 32 * j + b) and counts neighbours with bitwise adders, so one word operation advances 32 sites.
# The words are kept as a (words per row, rows) array: with the rows on the last axis XLA's
# CPU backend vectorises the step along the long axis, which on large lattices is faster than
# rows first.

_WORD = 32
_ONES = np.uint32(0xFFFFFFFF)


def _packable(lattice: Lattice, shape: tuple[int, ...]) -> bool:
    return (
        lattice.ndim == 2
        and lattice.neighbourhood == "moore"
        and lattice.radius == 1
        and not lattice.sharded
        and (lattice.boundary != "fixed" or lattice.fill in (0.0, 1.0))
        and lattice.shape[1] % _WORD == 0
        and len(shape) == 3
        and shape[-1] == 1
    )


def _pack(x: jax.Array) -> jax.Array:
    """`(H, W, 1)` site values -> `(W // 32, H)` uint32 words, a site alive when nonzero.

    Word `[k, i]` holds sites `32 k ... 32 k + 31` of row `i` (site `32 k + b` in bit `b`): the
    rows run along the last axis (why: the comment above).
    """
    h, w = x.shape[0], x.shape[1]
    bits = (x[..., 0] != 0).astype(jnp.uint32).reshape(h, w // _WORD, _WORD)
    return jnp.sum(bits << jnp.arange(_WORD, dtype=jnp.uint32), axis=-1, dtype=jnp.uint32).T


def _unpack(words: jax.Array) -> jax.Array:
    """`(K, H)` uint32 words -> `(H, 32 * K, 1)` uint8 values in {0, 1}."""
    k, h = words.shape
    bits = (words.T[..., None] >> jnp.arange(_WORD, dtype=jnp.uint32)) & jnp.uint32(1)
    return bits.astype(jnp.uint8).reshape(h, k * _WORD, 1)


def _edges(lattice: Lattice, w: jax.Array, axis: int, mirror_before, mirror_after):
    """The slabs of words just beyond the two edges of `w` along `axis`, by the boundary.

    `mirror_before` / `mirror_after` are those slabs under `"reflect"`.
    """
    n = w.shape[axis]
    first = jax.lax.slice_in_dim(w, 0, 1, axis=axis)
    last = jax.lax.slice_in_dim(w, n - 1, n, axis=axis)
    if lattice.boundary == "wrap":
        return last, first
    if lattice.boundary == "reflect":
        return mirror_before, mirror_after
    fill = jnp.full_like(first, _ONES if lattice.fill else 0)
    return fill, fill


def _along(lattice: Lattice, w: jax.Array, axis: int, mirror_before, mirror_after):
    """Words at index i - 1 and i + 1 along `axis`, with the boundary beyond the two edges.

    `mirror_before` / `mirror_after` are the slabs beyond the edges under `"reflect"`.
    """
    n = w.shape[axis]
    edge_before, edge_after = _edges(lattice, w, axis, mirror_before, mirror_after)
    before = jnp.concatenate([edge_before, jax.lax.slice_in_dim(w, 0, n - 1, axis=axis)], axis=axis)
    after = jnp.concatenate([jax.lax.slice_in_dim(w, 1, n, axis=axis), edge_after], axis=axis)
    return before, after


def _full_add(a, b, c):
    t = a ^ b
    return t ^ c, (a & b) | (t & c)


def _half_add(a, b):
    return a ^ b, a & b


@functools.lru_cache(maxsize=None)
def _synthesise(birth: tuple[int, ...], survive: tuple[int, ...]):
    """A small bitwise expression for next(alive, n3 n2 n1 n0), n the 4-bit neighbour count.

    Counts 9..15 cannot occur on the 8-neighbour lattice and are left free; the expression is the
    cheapest Shannon expansion over all 120 variable orders, with shared sub-expressions counted
    once.
    """
    names = ("a", "n3", "n2", "n1", "n0")

    def value(assign):
        a, n = assign[0], assign[1] * 8 + assign[2] * 4 + assign[3] * 2 + assign[4]
        if n > 8:
            return None
        return int(n in (survive if a else birth))

    best = None
    for order in itertools.permutations(range(5)):
        table = []
        for bits in itertools.product((0, 1), repeat=5):
            assign = [0] * 5
            for var, bit in zip(order, bits):
                assign[var] = bit
            table.append(value(assign))
        expr = _expand(tuple(names[v] for v in order), tuple(table), {})
        cost = _cost(expr, set())
        if best is None or cost < best[0]:
            best = (cost, expr)
    return best[1]


def _mux(x, hi, lo):
    if hi == lo:
        return lo
    if hi == ("const", 1) and lo == ("const", 0):
        return x
    if hi == ("const", 0) and lo == ("const", 1):
        return ("not", x)
    if hi == ("const", 1):
        return ("or", x, lo)
    if hi == ("const", 0):
        return ("and", ("not", x), lo)
    if lo == ("const", 0):
        return ("and", x, hi)
    if lo == ("const", 1):
        return ("or", ("not", x), hi)
    if hi == ("not", lo) or lo == ("not", hi):
        return ("xor", lo, x)
    return ("xor", lo, ("and", x, ("xor", hi, lo)))


def _expand(order, table, memo):
    key = (len(order), table)
    if key in memo:
        return memo[key]
    known = {v for v in table if v is not None}
    if len(known) <= 1:
        out = ("const", known.pop() if known else 0)
    else:
        half = len(table) // 2
        lo, hi = table[:half], table[half:]
        if all(p is None or q is None or p == q for p, q in zip(lo, hi)):
            out = _expand(order[1:], tuple(p if p is not None else q for p, q in zip(lo, hi)), memo)
        else:
            rest = order[1:]
            out = _mux(("var", order[0]), _expand(rest, hi, memo), _expand(rest, lo, memo))
    memo[key] = out
    return out


def _cost(expr, seen):
    if expr[0] in ("const", "var") or expr in seen:
        return 0
    seen.add(expr)
    return 1 + sum(_cost(e, seen) for e in expr[1:])


def _evaluate(expr, env, cache):
    if expr in cache:
        return cache[expr]
    op = expr[0]
    if op == "const":
        out = jnp.full_like(env["a"], _ONES if expr[1] else 0)
    elif op == "var":
        out = env[expr[1]]
    elif op == "not":
        out = ~_evaluate(expr[1], env, cache)
    else:
        a, b = _evaluate(expr[1], env, cache), _evaluate(expr[2], env, cache)
        out = a & b if op == "and" else a | b if op == "or" else a ^ b
    cache[expr] = out
    return out


def _packed_step(lattice: Lattice, birth, survive, w: jax.Array) -> jax.Array:
    """One step on `(W // 32, H)` words (see `_pack`)."""
    one, top = jnp.uint32(1), jnp.uint32(_WORD - 1)
    # The rows beyond the top and bottom edges joined on first; every row's sums are then
    # computed once and the rows above and below read as slices.
    before, after = _edges(lattice, w, 1, w[:, :1], w[:, -1:])
    w = jnp.concatenate([before, w, after], axis=1)
    # Horizontal neighbours: shift within the word and carry in the edge bit of the adjacent word.
    # Under "reflect" the site beyond column 0 repeats column 0 (bit 0 of word 0), and likewise
    # at the far edge.
    prev, nxt = _along(lattice, w, 0, w[:1] << top, w[-1:] >> top)
    west = (w << one) | (prev >> top)
    east = (w >> one) | (nxt << top)
    # Each row's three-site sum as two bit planes; the middle row excludes the site itself.
    s0, s1 = _full_add(west, w, east)
    m0, m1 = _half_add(west[:, 1:-1], east[:, 1:-1])
    up0, down0, up1, down1 = s0[:, :-2], s0[:, 2:], s1[:, :-2], s1[:, 2:]
    # 3 + 3 + 2 <= 8 neighbours: add the three 2-bit numbers into a 4-bit count n3 n2 n1 n0.
    n0, c0 = _full_add(up0, down0, m0)
    t, c1 = _full_add(up1, down1, m1)
    n1, c2 = _half_add(t, c0)
    n2, n3 = _half_add(c1, c2)
    env = {"a": w[:, 1:-1], "n0": n0, "n1": n1, "n2": n2, "n3": n3}
    return _evaluate(_synthesise(birth, survive), env, {})


# ---------------------------------------------------------------------------- the rule


def _count_dtype(lattice: Lattice):
    return jnp.uint8 if lattice.num_neighbours <= 255 else jnp.int32


def _alive_lattice(lattice: Lattice) -> Lattice:
    """The lattice on which alive flags are summed: a fixed edge is alive when `fill != 0`."""
    if lattice.boundary == "fixed" and lattice.fill not in (0.0, 1.0):
        return lattice.replace(fill=1.0)
    return lattice


def _member(n: jax.Array, counts: tuple[int, ...]) -> jax.Array:
    out = jnp.zeros(n.shape, bool)
    for c in counts:
        out = out | (n == c)
    return out


def _check_binary(rule: str, x) -> None:
    """Refuse a concrete state whose sites are not all 0 or 1 (traced states pass)."""
    values = concrete(x)
    if values is None or values.dtype == np.bool_:
        return
    bad = values[(values != 0) & (values != 1)]
    if bad.size:
        raise ValueError(
            f"LifeLike({rule!r}): state.x must hold 0 (dead) or 1 (alive) at every site; found "
            f"{bad.size} other value(s), e.g. {np.unique(bad)[:5].tolist()}. Threshold or map it "
            "first, e.g. (x > 0.5).astype(jnp.uint8)."
        )


class LifeLike(Rule):
    """A Life-like rule: two states, next state from the site and the number of live neighbours.

    A dead site becomes alive when its live-neighbour count is in `birth`; a live site stays
    alive when the count is in `survive`; every other site becomes (or stays) dead. Conway's
    Game of Life is `"B3/S23"` (Gardner 1970, Scientific American 223(4):120); the B/S notation
    covers the whole family (e.g. HighLife `"B36/S23"`, whose replicator Bell found in 1994).

    Works on any lattice: 1D, 2D or 3D, any neighbourhood and boundary; the count is
    `lattice.neighbour_sum` of the live flags. Sites hold 0 (dead) or 1 (alive); the state has
    one channel, shape `(*lattice.shape, 1)`, any real or boolean dtype, and the next values are
    0 or 1 in that dtype. `step` and `rollout` refuse a concrete state holding any other value
    (such as 5 or 0.5); inside `jit`, where values are not known, a nonzero site counts as
    alive. Under `boundary="fixed"` the sites beyond the edge are alive when
    `lattice.fill` is nonzero.

    Rollouts on 2D Moore radius-1 lattices whose width (last axis) is a multiple of 32 run
    bit-packed (32 sites per uint32 word, neighbours counted with bitwise adders) under any
    boundary (`fixed` with fill 0 or 1); the result is identical to the site-by-site step.

    Args:
      rule: the B/S string, see `parse_rule` (`"B3/S23"`, `"B2/S"`, `"B5,6,7/S4,5,6"`, ...).

    Example:
      >>> import jax.numpy as jnp, automata
      >>> from automata.lifelike import LifeLike
      >>> lat = automata.Lattice((8, 8))
      >>> x = jnp.zeros((8, 8, 1), jnp.uint8).at[3, 2:5, 0].set(1)  # a blinker
      >>> rule = LifeLike("b3/s23")
      >>> str(rule), rule.birth, rule.survive
      ('B3/S23', (3,), (2, 3))
      >>> final, _ = automata.rollout(rule, lat, automata.LatticeState(x=x), num_steps=2)
      >>> bool((final.x == x).all())
      True
    """

    rule: str = struct.field(pytree_node=False)

    def __post_init__(self):
        birth, survive = parse_rule(self.rule)
        object.__setattr__(self, "rule", format_rule(birth, survive))

    @property
    def birth(self) -> tuple[int, ...]:
        """Neighbour counts at which a dead site becomes alive, sorted."""
        return parse_rule(self.rule)[0]

    @property
    def survive(self) -> tuple[int, ...]:
        """Neighbour counts at which a live site stays alive, sorted."""
        return parse_rule(self.rule)[1]

    def __str__(self) -> str:
        return self.rule

    def table(self, num_neighbours: int = 8) -> np.ndarray:
        """The rule as a `(2, num_neighbours + 1)` uint8 table `T[centre, live neighbours]`.

        `T[0, n]` is 1 when a dead site with `n` live neighbours is born, `T[1, n]` when a live
        one survives; the form outer-totalistic rule tables and count-based relaxations use.

        Args:
          num_neighbours: neighbours of a site (8 for a radius-1 Moore lattice; see
            `Lattice.num_neighbours`), at least the largest count of the rule.

        Example:
          >>> LifeLike("B3/S23").table().tolist()
          [[0, 0, 0, 1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0, 0]]
        """
        top = max(self.birth + self.survive, default=0)
        k = check_int(num_neighbours, "num_neighbours", top, owner=f"LifeLike({self.rule!r}).table")
        out = np.zeros((2, k + 1), np.uint8)
        out[0, list(self.birth)] = 1
        out[1, list(self.survive)] = 1
        return out

    def check(self, lattice: Lattice, state: LatticeState) -> None:
        super().check(lattice, state)
        x = state.x
        if x.ndim != lattice.ndim + 1 or x.shape[-1] != 1:
            raise ValueError(
                f"LifeLike({self.rule!r}) needs one channel, state.x of shape "
                f"{lattice.shape + (1,)}; got {tuple(x.shape)}. Add the channel axis with "
                "x[..., None]."
            )
        if not (jnp.issubdtype(x.dtype, jnp.number) or x.dtype == jnp.bool_) or jnp.issubdtype(
            x.dtype, jnp.complexfloating
        ):
            raise TypeError(f"LifeLike needs real or boolean site values, got dtype {x.dtype}.")
        _check_binary(self.rule, x)
        top = max(self.birth + self.survive, default=0)
        if top > lattice.num_neighbours:
            raise ValueError(
                f"LifeLike({self.rule!r}) uses a neighbour count of {top}, but a site of this "
                f"lattice ({lattice.ndim}D, {lattice.neighbourhood!r} radius {lattice.radius}) "
                f"has only {lattice.num_neighbours} neighbours. Use counts up to "
                f"{lattice.num_neighbours} or a larger neighbourhood."
            )

    def __call__(self, lattice: Lattice, state: LatticeState, *, key=None) -> jax.Array:
        x = state.x
        alive = (x != 0).astype(_count_dtype(lattice))
        n = _alive_lattice(lattice).neighbour_sum(alive)
        nxt = jnp.where(alive != 0, _member(n, self.survive), _member(n, self.birth))
        return nxt.astype(x.dtype)

    # The packed representation is used only where `_packable` holds; elsewhere the carry is
    # the site array itself and each step is `__call__`.
    def encode(self, lattice: Lattice, x: jax.Array):
        if _packable(lattice, x.shape):
            return _pack(x)
        return x

    def step_encoded(self, lattice: Lattice, carry, t, key):
        if carry.ndim == lattice.ndim:
            return _packed_step(lattice, self.birth, self.survive, carry)
        return self(lattice, LatticeState(x=carry, t=t), key=key)

    def decode(self, lattice: Lattice, carry) -> jax.Array:
        if carry.ndim == lattice.ndim:
            return _unpack(carry)
        return carry


#: Named Life-like rules as B/S strings.
PRESETS: dict[str, str] = {
    "life": "B3/S23",
    "highlife": "B36/S23",
    "seeds": "B2/S",
    "day_and_night": "B3678/S34678",
}

#: Conway's Game of Life (Gardner 1970).
LIFE = LifeLike(PRESETS["life"])
#: HighLife, which has a self-replicating pattern (Bell 1994).
HIGHLIFE = LifeLike(PRESETS["highlife"])
#: Seeds: every live site dies; explosive growth (Silverman).
SEEDS = LifeLike(PRESETS["seeds"])
#: Day & Night, symmetric under swapping live and dead (Thompson 1997).
DAY_AND_NIGHT = LifeLike(PRESETS["day_and_night"])
