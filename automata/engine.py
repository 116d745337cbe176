"""Pure drivers: one step, and a `lax.scan` rollout of many steps."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from automata._checks import check_int
from automata.lattice import Lattice
from automata.rule import Rule
from automata.state import LatticeState, as_state


def check_step_inputs(rule, lattice, state, key) -> LatticeState:
    """The checks `step` and `rollout` run on their inputs; returns `state` as a `LatticeState`.

    Refuses a `rule` that is not an `automata.Rule`, a `lattice` that is not a `Lattice`, a
    batched step counter, a stochastic rule without a key and a key that is not a PRNG key, and
    runs `rule.check(lattice, state)`. Other drivers (e.g. `automata.sharding`) call it too, so
    every entry point refuses the same inputs with the same words.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> state = check_step_inputs(automata.LIFE, automata.Lattice((4, 4)), jnp.zeros((4, 4, 1)), None)
      >>> int(state.t)
      0
    """
    if not isinstance(rule, Rule):
        raise TypeError(
            f"rule must be an automata.Rule (e.g. automata.LifeLike('B3/S23')), got "
            f"{type(rule).__name__}."
        )
    if not isinstance(lattice, Lattice):
        raise TypeError(
            f"lattice must be an automata.Lattice, got {type(lattice).__name__}. "
            "Build one with automata.Lattice(shape, neighbourhood=..., boundary=...)."
        )
    state = as_state(state)
    if jnp.ndim(state.t) != 0:
        raise ValueError(
            f"state.t must be a scalar step counter, got shape {jnp.shape(state.t)}. "
            "For a batch of states, jax.vmap (or jax.lax.map) over step/rollout."
        )
    rule.check(lattice, state)
    if rule.stochastic and key is None:
        raise ValueError(
            f"{type(rule).__name__} is stochastic and needs a PRNG key: pass "
            "key=jax.random.key(0) (any seed)."
        )
    if key is not None and not (
        hasattr(key, "dtype")
        and (jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or key.shape[-1:] == (2,))
    ):
        raise TypeError(
            f"key must be a JAX PRNG key such as jax.random.key(0), got {type(key).__name__}."
        )
    return state


def check_num_steps(num_steps, *, hint: str = "") -> int:
    """`num_steps` as a Python int >= 1 (a static number of steps), or a clear error."""
    return check_int(num_steps, "num_steps", 1, hint=hint)


def step_key(key, t):
    """The key of the step at counter `t`: `fold_in(key, t)`, or None for deterministic rules."""
    return None if key is None else jax.random.fold_in(key, t)


@jax.jit
def _step(rule, lattice, state, key):
    x = rule(lattice, state, key=step_key(key, state.t))
    return LatticeState(x=x.astype(state.x.dtype), t=state.t + 1)


def step(rule: Rule, lattice: Lattice, state: LatticeState, *, key: jax.Array | None = None) -> LatticeState:
    """Advance `state` by one step of `rule` on `lattice`.

    The step's randomness is `jax.random.fold_in(key, state.t)`; deterministic rules need no key.

    Example:
      >>> import jax.numpy as jnp, automata
      >>> lat = automata.Lattice((8, 8))
      >>> x = jnp.zeros((8, 8, 1), jnp.uint8).at[3, 2:5, 0].set(1)  # a blinker
      >>> s1 = automata.step(automata.LifeLike("B3/S23"), lat, automata.LatticeState(x=x))
      >>> int(s1.x[2:5, 3, 0].sum())
      3
    """
    state = check_step_inputs(rule, lattice, state, key)
    return _step(rule, lattice, state, key)


@functools.partial(jax.jit, static_argnames=("num_steps", "record", "checkpoint"))
def _rollout(rule, lattice, state, key, length, *, num_steps, record, checkpoint):
    def advance(carry, t):
        return rule.step_encoded(lattice, carry, t, step_key(key, t))

    if checkpoint:
        advance = jax.checkpoint(advance)

    def body(c, i):
        carry, t = c
        if length is None:
            new, t_new = advance(carry, t), t + 1
        else:
            active = i < length
            new = jax.lax.cond(active, advance, lambda c, _: c, carry, t)
            t_new = t + active.astype(t.dtype)
        out = rule.decode(lattice, new).astype(state.x.dtype) if record else None
        return (new, t_new), out

    (carry, t), xs = jax.lax.scan(
        body, (rule.encode(lattice, state.x), state.t), jnp.arange(num_steps)
    )
    final = LatticeState(x=rule.decode(lattice, carry).astype(state.x.dtype), t=t)
    if not record:
        return final, None
    ts = state.t + 1 + jnp.arange(num_steps, dtype=state.t.dtype)
    if length is not None:
        ts = jnp.minimum(ts, state.t + length)
    return final, LatticeState(x=xs, t=ts)


def rollout(
    rule: Rule,
    lattice: Lattice,
    state: LatticeState,
    *,
    key: jax.Array | None = None,
    num_steps: int,
    record: bool = True,
    checkpoint: bool = False,
    length: int | jax.Array | None = None,
) -> tuple[LatticeState, LatticeState | None]:
    """Run `num_steps` steps of `rule` as one `lax.scan`.

    Args:
      rule, lattice, state: as for `step`.
      key: PRNG key for stochastic rules; step `t` uses `fold_in(key, t)`.
      num_steps: static number of steps (an upper bound when `length` is given).
      record: if True, also return the trajectory.
      checkpoint: rematerialise each step in the backward pass (`jax.checkpoint`), trading
        compute for memory in long differentiated rollouts.
      length: optional dynamic number of steps to actually take (`0 <= length <= num_steps`).
        Varying it does not recompile; steps past `length` leave the state unchanged.

    Returns:
      `(final_state, trajectory)`: the trajectory holds the state after each step stacked on a
      leading axis of length `num_steps` (so `trajectory.x[-1] == final_state.x`), or `None`
      when `record=False`.

    Batches: a rollout takes one lattice's state; run a batch with `jax.vmap` (all lattices
    side by side) or `jax.lax.map` (one after another). For small lattices, and on a GPU,
    vmap is the one to use: it fills the device. On a CPU with large lattices, lax.map is
    often faster, because one lattice's step then stays in cache; time both on your case.

    Example:
      >>> import jax, jax.numpy as jnp, automata
      >>> lat = automata.Lattice((16, 16))
      >>> x = jax.random.bernoulli(jax.random.key(0), 0.3, (16, 16, 1)).astype(jnp.uint8)
      >>> final, traj = automata.rollout(automata.LifeLike("B3/S23"), lat,
      ...                                automata.LatticeState(x=x), num_steps=10)
      >>> traj.x.shape
      (10, 16, 16, 1)
    """
    state = check_step_inputs(rule, lattice, state, key)
    num_steps = check_num_steps(
        num_steps, hint=" For a number of steps that changes between calls, pass "
        "num_steps=<upper bound> and length=<steps to take>."
    )
    if length is not None:
        if isinstance(length, (int,)) and not 0 <= length <= num_steps:
            raise ValueError(
                f"length must lie in [0, num_steps={num_steps}], got {length}."
            )
        length = jnp.asarray(length, jnp.int32)
    return _rollout(
        rule, lattice, state, key, length,
        num_steps=num_steps, record=bool(record), checkpoint=bool(checkpoint),
    )
