"""Adhesion from a game: a spatial game's payoff matrix as the contact energies `J` of the
cellular Potts model.

Strategy `i` of the game (`rules.games.payoffs`, row = focal player, column = opponent) becomes
cell kind `i + 1` of the CPM (`automata.potts.PottsParams`, kind 0 the medium). The sign
convention: a higher payoff for a contact is a stronger adhesion, which is a lower bond energy,

    J[i + 1, j + 1] = offset - scale * (A[i, j] + A[j, i]) / 2,

symmetrised because a bond is shared by both cells (the CPM's `J` must be symmetric) and each
cell of a contact collects its own payoff from it. The medium's row and column are `medium`
(one number, or one per strategy) and `J[0, 0] = 0`. By default `offset = scale * max((A +
A.T) / 2)`, so the most rewarding contact costs 0 and every cell-cell `J >= 0`, and the medium
bond costs as much as the least rewarding cell-cell contact, so cells do not prefer the medium to
any neighbour. Cell sorting follows the surface tensions `gamma[a, b] = J[a, b] - (J[a, a] +
J[b, b]) / 2` (Glazier & Graner 1993, doi:10.1103/PhysRevE.47.2128).

The map is differentiable in the payoffs, so a fit of `J` can be a fit of a game.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from automata._checks import check_finite_array, check_numbers, concrete, fail
from rules.games.payoffs import check_payoff

__all__ = ["payoff_to_contact"]


def payoff_to_contact(payoff, *, scale=1.0, offset=None, medium=None) -> jax.Array:
    """The CPM contact energies `J`, shape `(n + 1, n + 1)`, of an `(n, n)` payoff matrix.

    Args:
      payoff: `(n, n)` payoff matrix (e.g. `rules.games.prisoners_dilemma(1.9)`).
      scale: energy units per payoff unit, > 0 (a scalar).
      offset: energy of a contact of payoff 0 (a scalar); default `scale * max` of the
        symmetrised payoffs.
      medium: `J` of a cell with the medium, a scalar or `(n,)` one per strategy; default the
        largest cell-cell `J`.

    Returns:
      Symmetric `(n + 1, n + 1)` float `J` with kind 0 the medium, for
      `automata.potts.PottsParams(contact=J, ...)`.

    Example:
      >>> from rules import games
      >>> payoff_to_contact(games.stag_hunt(4.0, 3.0, 1.0)).tolist()
      [[0.0, 2.0, 2.0], [2.0, 0.0, 2.0], [2.0, 2.0, 1.0]]
    """
    owner = "payoff_to_contact"
    a = check_payoff(payoff, owner)
    sym = (a + a.T) / 2
    check_numbers(scale, "scale", minimum=0.0, open_minimum=True, owner=owner)
    if jnp.ndim(scale) != 0:
        raise fail(owner, f"scale must be a scalar, got shape {jnp.shape(scale)}.")
    if offset is None:
        offset = scale * jnp.max(sym)
    else:
        check_numbers(offset, "offset", owner=owner)
        if jnp.ndim(offset) != 0:
            raise fail(owner, f"offset must be a scalar, got shape {jnp.shape(offset)}.")
    cells = offset - scale * sym
    n = a.shape[0]
    if medium is None:
        medium = jnp.max(cells)
    else:
        if jnp.shape(medium) not in ((), (n,)):
            raise fail(owner, f"medium must be a scalar or have one entry per strategy ({n},), got shape "
                       f"{jnp.shape(medium)}.")
        if concrete(medium) is not None:
            check_finite_array(jnp.asarray(medium, jnp.result_type(float)), "medium", owner=owner)
    dtype = cells.dtype
    edge = jnp.broadcast_to(jnp.asarray(medium, dtype), (n,))
    top = jnp.concatenate([jnp.zeros((1,), dtype), edge])
    return jnp.concatenate([top[None, :], jnp.concatenate([edge[:, None], cells], axis=1)], axis=0)
