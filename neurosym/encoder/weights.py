"""Encoder weights on disk: save, load, read their metadata, and the weights that ship with the package.

A weight file is an `.npz` with one array per weight (named by its path in the model, e.g.
`"down/0/conv1/kernel"`) and a JSON entry `__meta__` holding the layout `version`, the encoder's
`config` (architecture and alphabet), a free-text `note` and any further entries the writer
gave (`benchmarks/pretrain.py` records its recipe, command and commit there). Files are written
atomically. The shipped weights live in `neurosym/_weights/`; nothing is downloaded.

Example:
  >>> import tempfile, pathlib
  >>> from flax import nnx
  >>> from neurosym.encoder.model import Encoder
  >>> enc = Encoder(("a", "b"), features=(4,), rngs=nnx.Rngs(0))
  >>> path = save_weights(enc, pathlib.Path(tempfile.mkdtemp()) / "w", note="demo", metadata={"steps": 3})
  >>> read_metadata(path)["steps"], load_weights(path).kinds
  (3, ('a', 'b'))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from automata._checks import fail
from neurosym.encoder.model import Encoder, check_kinds
from neurosym.files import atomic_path

__all__ = [
    "WEIGHTS_VERSION", "load_pretrained", "load_weights", "pretrained_names", "pretrained_path",
    "read_metadata", "save_weights",
]

#: Version of the weight file layout; files of another version are refused with a clear error.
WEIGHTS_VERSION = 1

_WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "_weights"
_RESERVED = ("version", "config", "note")


def _weight_name(key_path) -> str:
    """A weight's path in the model as one string, e.g. `"down/0/conv1/kernel"`."""
    return "/".join(str(getattr(k, "key", getattr(k, "idx", k))) for k in key_path)


def save_weights(encoder: Encoder, path, *, note: str = "", metadata: dict | None = None) -> Path:
    """Write an encoder's weights, architecture and alphabet to an `.npz` file, atomically.

    Args:
      encoder: the model.
      path: the file to write (`.npz` is appended if missing).
      note: free text saved with the weights (e.g. how they were trained).
      metadata: further JSON-serialisable entries to record (e.g. the training recipe); the
        names `version`, `config` and `note` are the file's own.

    Returns:
      the path written.
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    extra = dict(metadata or {})
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise fail("save_weights", f"metadata must not use the reserved names {clash}; rename those entries.")
    meta = dict(extra, version=WEIGHTS_VERSION, config=encoder.config, note=str(note))
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise fail("save_weights", f"metadata must be JSON-serialisable with finite numbers ({err}).", TypeError) from None
    _, state = nnx.split(encoder)
    flat = jax.tree_util.tree_flatten_with_path(nnx.to_pure_dict(state))[0]
    arrays = {_weight_name(kp): np.asarray(v) for kp, v in flat}
    arrays["__meta__"] = np.frombuffer(text.encode(), dtype=np.uint8)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def _read(path: Path, owner: str) -> tuple[dict, dict]:
    if not path.is_file():
        raise fail(owner, f"path must name an encoder weight file; there is no file at {path}.", FileNotFoundError)
    with np.load(path) as data:
        if "__meta__" not in data.files:
            raise fail(owner, f"{path} is not an encoder weight file (no metadata); write one with save_weights.")
        meta = json.loads(bytes(data["__meta__"]).decode())
        arrays = {k: data[k] for k in data.files if k != "__meta__"}
    if meta.get("version") != WEIGHTS_VERSION:
        raise fail(owner, (
            f"{path} has weight layout version {meta.get('version')}, this devosym reads version "
            f"{WEIGHTS_VERSION}; re-save the weights with a matching devosym."
        ))
    return meta, arrays


def read_metadata(path) -> dict:
    """The metadata of a weight file: `version`, `config`, `note` and whatever its writer recorded.

    Args:
      path: the `.npz` file written by `save_weights`.
    """
    return _read(Path(path), "read_metadata")[0]


def load_weights(path, *, kinds: Sequence[str] | None = None) -> Encoder:
    """Load an encoder written by `save_weights`.

    Args:
      path: the `.npz` file.
      kinds: optional alphabet the caller expects; a file whose head has another alphabet is
        refused (start from its body with `neurosym.encoder.with_kinds` instead).
    """
    path = Path(path)
    meta, arrays = _read(path, "load_weights")
    config = meta["config"]
    if kinds is not None:
        kinds = check_kinds(kinds, owner="load_weights")
        if tuple(config["kinds"]) != kinds:
            raise fail("load_weights", (
                f"kinds must match the file's head: the weights in {path} have a head for the kinds "
                f"{tuple(config['kinds'])}, not {kinds}. Use the file's kinds, or train a new head "
                "for yours (with_kinds)."
            ))
    encoder = Encoder(rngs=nnx.Rngs(0), **config)
    graphdef, state = nnx.split(encoder)
    flat, treedef = jax.tree_util.tree_flatten_with_path(nnx.to_pure_dict(state))
    leaves = []
    for kp, v in flat:
        name = _weight_name(kp)
        if name not in arrays or arrays[name].shape != v.shape:
            raise fail("load_weights", f"{path} does not match the encoder it describes (weight {name!r}); the file is damaged.")
        leaves.append(jnp.asarray(arrays[name]))
    nnx.replace_by_pure_dict(state, jax.tree_util.tree_unflatten(treedef, leaves))
    return nnx.merge(graphdef, state)


def pretrained_names() -> tuple[str, ...]:
    """Names of the encoder weights that ship with the package.

    Example:
      >>> pretrained_names()
      ('membrane2d', 'nuclei2d')
    """
    if not _WEIGHTS_DIR.is_dir():
        return ()
    return tuple(sorted(p.stem for p in _WEIGHTS_DIR.glob("*.npz")))


def pretrained_path(name: str) -> Path:
    """The file of the shipped weights `name` (one of `pretrained_names()`)."""
    names = pretrained_names()
    if name not in names:
        raise fail("load_pretrained", f"name must be a shipped encoder, one of {', '.join(names) or '(none)'}; got {name!r}.")
    return _WEIGHTS_DIR / f"{name}.npz"


def load_pretrained(name: str = "nuclei2d") -> Encoder:
    """Load encoder weights that ship with the package (pre-trained on rendered cells).

    Args:
      name: one of `pretrained_names()`; `read_metadata(pretrained_path(name))` says how they
        were trained.

    Example:
      >>> load_pretrained("nuclei2d").kinds
      ('low', 'mid', 'high')
    """
    return load_weights(pretrained_path(name))
