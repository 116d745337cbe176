"""Boards and reference steps shared by the tests of neurosym.explain (not a test module)."""


import jax
import jax.numpy as jnp
import numpy as np

import automata

SIDE = 48


def random_board(key, density, side=SIDE):
    return np.asarray(jax.random.bernoulli(key, density, (side, side)), np.int64)


def rollout_boards(rule, x0, num_steps, lattice=None):
    """Consecutive boards (num_steps + 1, H, W) from automata.rollout, the start included."""
    lattice = lattice or automata.Lattice(x0.shape)
    x = jnp.asarray(x0, jnp.uint8)[..., None]
    _, traj = automata.rollout(rule, lattice, automata.LatticeState(x=x), num_steps=num_steps)
    return np.concatenate([np.asarray(x0)[None], np.asarray(traj.x[..., 0])]).astype(np.int64)


def step_board(rule, x, lattice=None):
    lattice = lattice or automata.Lattice(x.shape)
    state = automata.LatticeState(x=jnp.asarray(x, jnp.uint8)[..., None])
    return np.asarray(automata.step(rule, lattice, state).x[..., 0]).astype(np.int64)


def flip(key, x, p):
    return np.asarray(x ^ np.asarray(jax.random.bernoulli(key, p, x.shape)), np.int64)


def life_fn(centre, neighbours):
    n = neighbours.sum(-1)
    return np.where(centre == 1, (n == 2) | (n == 3), n == 3)


def north(centre, neighbours):
    return neighbours[:, 1]  # offsets order: NW, N, NE, W, E, SW, S, SE
