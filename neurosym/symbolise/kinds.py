"""Each cell's kind (a symbol index): from its name, a table column, an array or a classifier.

Names meet a vocabulary of symbols exactly, or by prefix (the longest symbol a name starts
with, e.g. a Sulston name to its lineage founder).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from automata._checks import check_choice, fail
from neurosym.symbolise.features import CellFeatures

__all__ = ["MATCHES", "assign_kinds", "kinds_from_names", "vocabulary"]

MATCHES = ("exact", "prefix")


def vocabulary(symbols, *, owner: str) -> tuple[dict[str, int], tuple[str, ...]]:
    """`symbols` (a sequence of names, or a mapping name -> index) as `(index, vocab)`.

    `index` maps each name to its kind; `vocab[k]` is the name of kind `k` ("" for an index
    no name maps to).

    Example:
      >>> vocabulary({"E": 2, "MS": 0}, owner="to_population")
      ({'E': 2, 'MS': 0}, ('MS', '', 'E'))
    """
    if isinstance(symbols, str):
        raise fail(
            owner,
            f"symbols must be a sequence of names (or a mapping name -> index), got the single string "
            f"{symbols!r}; write ({symbols!r},) for one symbol.",
            TypeError,
        )
    if isinstance(symbols, Mapping):
        index = {str(k): int(v) for k, v in symbols.items()}
        if any(v < 0 for v in index.values()):
            raise fail(owner, f"symbols must map names to indices >= 0, got negative indices in {symbols!r}.")
        vocab = [""] * (max(index.values(), default=-1) + 1)
        for k, v in index.items():
            vocab[v] = vocab[v] or k
        return index, tuple(vocab)
    vocab = tuple(str(s) for s in symbols)
    if len(set(vocab)) != len(vocab):
        dup = sorted({s for s in vocab if vocab.count(s) > 1})
        raise fail(owner, f"symbols must be distinct, got duplicates {dup}.")
    return {s: i for i, s in enumerate(vocab)}, vocab


def kinds_from_names(names: np.ndarray, symbols, match: str, *, owner: str):
    """Kind indices `(N,)` int32 for cell `names` and the vocabulary they index.

    Without `symbols`, the distinct names in sorted order are the vocabulary.

    Example:
      >>> codes, vocab = kinds_from_names(np.array(["ABal", "P2", "ABp"]), ("AB", "P2"), "prefix",
      ...                                 owner="to_population")
      >>> codes.tolist(), vocab
      ([0, 1, 0], ('AB', 'P2'))
    """
    uniq, inv = np.unique(names.astype(str), return_inverse=True)
    if symbols is None:
        if match != "exact":
            raise fail(owner, f"match={match!r} needs symbols=(...) to match names against.")
        return inv.reshape(-1).astype(np.int32), tuple(uniq.tolist())
    index, vocab = vocabulary(symbols, owner=owner)
    codes = np.empty(uniq.size, np.int32)
    by_length = sorted(index, key=len, reverse=True)
    for j, name in enumerate(uniq.tolist()):  # loops over distinct names, not cells
        if match == "exact":
            hit = name if name in index else None
        else:
            hit = next((s for s in by_length if s and name.startswith(s)), None)
        if hit is None:
            shown = ", ".join(map(repr, vocab[:30])) + (" ..." if len(vocab) > 30 else "")
            how = "is not one of" if match == "exact" else "starts with none of"
            fix = ", or use match='prefix' to map names to lineage founders." if match == "exact" else "."
            raise fail(
                owner,
                f"Cell name {name!r} {how} the {len(vocab)} symbols: {shown}. Add it to symbols, fix the name{fix}",
            )
        codes[j] = index[hit]
    return codes[inv.reshape(-1)], vocab


def _kind_values(cells: CellFeatures, kinds, *, owner: str):
    """The raw per-cell kinds (names or numbers) asked for, and where they came from."""
    if kinds is None:
        return (None, "constant") if cells.names is None else (cells.names, "names")
    if isinstance(kinds, str):
        if kinds in ("names", "name") and cells.names is not None:
            return cells.names, "names"
        if kinds in cells.columns:
            return cells.columns[kinds], f"column {kinds!r}"
        have = (["names"] if cells.names is not None else []) + list(cells.columns)
        raise fail(
            owner,
            f"kinds={kinds!r} names no column of these cells; they have {have or 'no named columns'}. "
            "Pass kinds as an array, a classifier, or one of those names.",
        )
    if callable(kinds):
        return kinds(cells), "classifier"
    return kinds, "array"


def _kind_indices(arr: np.ndarray, vocab, source: str, *, owner: str) -> np.ndarray:
    """Numeric kinds as int32 indices, checked against the vocabulary's size."""
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0)):
            raise fail(
                owner,
                f"kinds from {source} must be integer kind indices or cell names, got dtype {arr.dtype}.",
                TypeError,
            )
    arr = arr.astype(np.int64)
    if np.any(arr < 0):
        raise fail(owner, f"kinds from {source} must be non-negative indices, got {int(arr.min())}.")
    if vocab is not None and np.any(arr >= len(vocab)):
        raise fail(
            owner,
            f"kinds from {source} must be below the number of symbols: they go up to {int(arr.max())} but "
            f"symbols has {len(vocab)} entries (0 .. {len(vocab) - 1}); add symbols or fix the kinds.",
        )
    return arr.astype(np.int32)


def assign_kinds(cells: CellFeatures, kinds=None, symbols=None, match: str = "exact", *, owner: str):
    """Kind index per cell `(N,)` int32, the vocabulary (or None) and where the kinds came from.

    Args: `kinds`, `symbols`, `match` as in `to_population`; `owner` the public function called.

    Example:
      >>> from neurosym.symbolise.points import point_features
      >>> cells = point_features([[0.0], [1.0]], names=["MS", "E"])
      >>> kind, vocab, source = assign_kinds(cells, owner="to_population")
      >>> kind.tolist(), vocab, source
      ([1, 0], ('E', 'MS'), 'names')
    """
    check_choice(match, "match", MATCHES, owner=owner)
    values, source = _kind_values(cells, kinds, owner=owner)
    n = cells.num_cells
    if values is None:
        vocab = None if symbols is None else vocabulary(symbols, owner=owner)[1]
        return np.zeros(n, np.int32), vocab, source
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise fail(owner, f"kinds from {source} must give one kind per cell, shape ({n},), got {arr.shape}.")
    if arr.dtype.kind in "USO":
        codes, vocab = kinds_from_names(arr.astype(str), symbols, match, owner=owner)
        return codes, vocab, source
    vocab = None if symbols is None else vocabulary(symbols, owner=owner)[1]
    return _kind_indices(arr, vocab, source, owner=owner), vocab, source
