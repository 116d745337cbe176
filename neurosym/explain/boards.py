"""Boards, pairs of boards and function outputs, checked and read as integer states.

A board is a 2D array of state indices (0/1 for binary rules), numpy or JAX, without the
channel axis of an `automata.LatticeState` (`state.x[..., 0]`). Neighbourhoods are the radius-1
Moore (8 neighbours) and von Neumann (4) ones, neighbours in the order of
`automata.Lattice((3, 3), neighbourhood).offsets`. These helpers are shared by the modules of
`neurosym.explain`; they are not re-exported from the package.

Example:
  >>> import numpy as np
  >>> [a.shape for a in as_pairs(np.zeros((3, 4, 4), int), "demo", num_states=2)[0]]
  [(4, 4), (4, 4)]
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np

from automata._checks import check_choice, fail
from automata.lattice import BOUNDARIES, Lattice

#: The neighbourhoods `neurosym.explain` reads: radius 1 on a 2D board.
NEIGHBOURHOODS = ("moore", "von_neumann")


def neighbourhood_offsets(neighbourhood, owner: str) -> tuple[tuple[int, int], ...]:
    """Neighbour offsets `(row, column)` of a radius-1 2D neighbourhood, or a clear error.

    Example:
      >>> len(neighbourhood_offsets("von_neumann", "demo"))
      4
    """
    if neighbourhood not in NEIGHBOURHOODS:
        raise fail(
            owner,
            "neighbourhood must be 'moore' (8 neighbours) or 'von_neumann' (4), both of radius 1 "
            f"on a 2D board; got {neighbourhood!r}.",
        )
    return Lattice((3, 3), neighbourhood).offsets


def check_boundary(boundary, owner: str) -> str:
    """`boundary` if `automata.Lattice` knows it (`"wrap"`, `"fixed"`, `"reflect"`), else an error."""
    return check_choice(boundary, "boundary", BOUNDARIES, owner=owner, hint="(as for automata.Lattice)")


def is_array(x) -> bool:
    """True for numpy and JAX arrays."""
    return isinstance(x, (np.ndarray, jax.Array))


def _as_2d(x, owner: str, where: str, name: str) -> np.ndarray:
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{owner}: {where}: {name} is not an array ({type(x).__name__}).") from err
    if x.ndim != 2:
        fix = (
            "Drop the channel axis of an automata state with x[..., 0]."
            if x.ndim == 3 and x.shape[-1] == 1
            else "Pass one (H, W) board per entry."
        )
        raise ValueError(
            f"{owner}: {where}: {name} must be a 2D board (H, W); got shape {x.shape}. {fix}"
        )
    if not (x.dtype == np.bool_ or np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(
            f"{owner}: {where}: {name} must hold numbers (bool, int or float); got dtype {x.dtype}."
        )
    return x


def as_board(x, owner: str, where: str, name: str, num_states: int | None) -> np.ndarray:
    """A 2D board of integer states as int64, or a clear error naming where it came from.

    Args:
      x: the board.
      owner: the public function, named first in errors.
      where, name: where the board came from (`"pair 0"`, `"board_t"`), for errors.
      num_states: states allowed (`0..num_states - 1`), or None for any non-negative integer.
    """
    x = _as_2d(x, owner, where, name)
    if x.dtype == np.bool_:
        return x.astype(np.int64)
    values = np.unique(x)
    if num_states is not None:
        bad = values[(values < 0) | (values > num_states - 1) | (values != np.round(values))]
        if bad.size:
            allowed = "binary (0/1 or bool)" if num_states == 2 else f"states 0..{num_states - 1}"
            fix = (
                "Threshold it first, e.g. (board > 0.5).astype(int)."
                if num_states == 2
                else "Map it to state indices first."
            )
            raise ValueError(
                f"{owner}: {where}: {name} must be {allowed}; found the value(s) "
                f"{bad[:5].tolist()}. {fix}"
            )
    else:
        bad = values[~np.isfinite(values) | (values != np.round(values)) | (values < 0)]
        if bad.size:
            raise ValueError(
                f"{owner}: {where}: {name} must hold non-negative integer states; found the "
                f"value(s) {bad[:5].tolist()}. Round or threshold it first."
            )
    return x.astype(np.int64)


def _pair_list(transitions, owner: str) -> list:
    if is_array(transitions):
        arr = np.asarray(transitions)
        if arr.ndim != 3 or arr.shape[0] < 2:
            raise ValueError(
                f"{owner}: an array of boards must have shape (T, H, W) with T >= 2 consecutive "
                f"boards; got shape {arr.shape}. Pass a list of (board_t, board_t_plus_1) pairs, "
                "or stack the boards on a leading axis (drop a channel axis with x[..., 0])."
            )
        return [(arr[t], arr[t + 1]) for t in range(arr.shape[0] - 1)]
    if (
        isinstance(transitions, tuple)
        and len(transitions) == 2
        and all(is_array(b) and np.ndim(b) == 2 for b in transitions)
    ):
        return [transitions]
    try:
        return list(transitions)
    except TypeError as err:
        raise TypeError(
            f"{owner}: transitions must be a list of (board_t, board_t_plus_1) pairs or a "
            f"(T, H, W) array of consecutive boards; got {type(transitions).__name__}."
        ) from err


def as_pairs(transitions, owner: str, num_states: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """`(board_t, board_t_plus_1)` int64 pairs from a list of pairs, one pair, or a `(T, H, W)` array."""
    pairs = _pair_list(transitions, owner)
    if not pairs:
        raise ValueError(
            f"{owner}: got no transitions; pass at least one (board_t, board_t_plus_1) pair."
        )
    out = []
    for i, pair in enumerate(pairs):
        if is_array(pair) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(
                f"{owner}: pair {i} is not a (board_t, board_t_plus_1) pair (got "
                f"{type(pair).__name__}). Pass a list of 2-tuples of boards, or a (T, H, W) array."
            )
        where = f"pair {i}"
        a = as_board(pair[0], owner, where, "board_t", num_states)
        b = as_board(pair[1], owner, where, "board_t_plus_1", num_states)
        if a.shape != b.shape:
            raise ValueError(
                f"{owner}: pair {i}: board_t has shape {a.shape} but board_t_plus_1 has shape "
                f"{b.shape}; both boards of a pair are the same lattice at two times, so their "
                "shapes must match."
            )
        out.append((a, b))
    return out


def as_boards(boards, owner: str) -> np.ndarray:
    """`(B, H, W)` int64 boards from one `(H, W)` board or a stack of them."""
    arr = np.asarray(boards)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(
            f"{owner}: boards must be one (H, W) board or a (B, H, W) stack; got shape {arr.shape}. "
            "Drop a channel axis with x[..., 0]."
        )
    return np.stack([as_board(b, owner, f"board {i}", "board", None) for i, b in enumerate(arr)])


def _scores_to_states(out: np.ndarray, num_states: int | None, owner: str, what: str) -> np.ndarray:
    if num_states is not None and out.shape[-1] != num_states:
        raise ValueError(
            f"{owner}: {what} returned scores for {out.shape[-1]} states (shape {out.shape}), "
            f"but num_states={num_states}. Pass num_states={out.shape[-1]}."
        )
    return np.argmax(out, axis=-1).astype(np.int64)


def to_states(out, num_states: int | None, shape: tuple[int, ...], owner: str, what: str) -> np.ndarray:
    """A function's output as int64 states of `shape`.

    Accepted: `shape` of bool or integer states; `shape` of floats, rounded to the nearest state
    (so a probability of state 1 above 1/2 gives 1); `shape + (1,)` likewise; or
    `shape + (S,)` scores (logits or probabilities), the state with the largest score.

    Example:
      >>> to_states(np.array([0.2, 0.7]), 2, (2,), "demo", "fn").tolist()
      [0, 1]
    """
    try:
        out = np.asarray(out)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{owner}: {what} returned {type(out).__name__}, not an array.") from err
    scores = "" if num_states is None else f" or scores of shape {shape + (num_states,)}"
    if out.shape == shape + (1,):
        out = out[..., 0]
    if out.ndim == len(shape) + 1 and out.shape[:-1] == shape and out.shape[-1] > 1:
        return _scores_to_states(out, num_states, owner, what)
    if out.shape != shape:
        raise ValueError(
            f"{owner}: {what} returned shape {out.shape}; expected next states of shape {shape}"
            f"{scores}."
        )
    if out.dtype == np.bool_:
        return out.astype(np.int64)
    if not (np.issubdtype(out.dtype, np.integer) or np.issubdtype(out.dtype, np.floating)):
        raise TypeError(f"{owner}: {what} returned dtype {out.dtype}; expected numbers or booleans.")
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{owner}: {what} returned non-finite values (nan or inf).")
    states = np.rint(out).astype(np.int64)
    top = None if num_states is None else num_states - 1
    bad = states[(states < 0) | (states > top)] if top is not None else states[states < 0]
    if bad.size:
        allowed = f"0..{top}" if top is not None else "non-negative integers"
        raise ValueError(
            f"{owner}: {what} gave the state(s) {np.unique(bad)[:5].tolist()} outside {allowed}. "
            "Return next states, a probability of state 1 (binary rules)"
            f"{scores}, or raise num_states."
        )
    return states


def check_lattice(lattice, owner: str) -> Lattice | None:
    """`lattice` if it is None or a 2D radius-1 Moore or von Neumann `automata.Lattice`."""
    if lattice is None:
        return None
    if not isinstance(lattice, Lattice):
        raise TypeError(
            f"{owner}: lattice must be an automata.Lattice or None; got {type(lattice).__name__}."
        )
    if lattice.ndim != 2 or lattice.radius != 1 or lattice.neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(
            f"{owner}: lattice must be 2D with a radius-1 'moore' or 'von_neumann' neighbourhood; "
            f"got {lattice.ndim}D, {lattice.neighbourhood!r}, radius {lattice.radius}."
        )
    return lattice


def check_lattice_shape(lattice: Lattice | None, shape, owner: str) -> None:
    """Refuse a lattice whose shape is not the boards' `shape`."""
    if lattice is not None and lattice.shape != tuple(shape):
        raise ValueError(
            f"{owner}: the lattice has shape {lattice.shape} but the boards are {tuple(shape)}; "
            f"build automata.Lattice({tuple(shape)}, ...) (or pass lattice=None)."
        )


def fold_key(key, *data):
    """`key` folded with each of `data` in turn, or None when `key` is None."""
    if key is None:
        return None
    for d in data:
        key = jax.random.fold_in(key, d)
    return key
