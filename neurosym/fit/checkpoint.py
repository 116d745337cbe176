"""Checkpoints of a fit: its state, loss histories, initial parameters and key in one `.npz`.

Written atomically (a temporary file renamed over the old one) as the flattened pytrees with
their tree structure, shapes and dtypes; no pickle.
"""

from __future__ import annotations

import json
import zipfile

import jax
import jax.numpy as jnp
import numpy as np

from neurosym.files import atomic_path

__all__ = ["VERSION", "check_compatible", "load_checkpoint", "restore", "save_checkpoint"]

VERSION = 1


def _savable(x: np.ndarray) -> np.ndarray:
    # .npz without pickle holds only numpy's own dtypes; bfloat16 & co. travel as raw bits.
    return x if x.dtype.kind in "biufc" else x.view(np.dtype(f"u{x.dtype.itemsize}"))


def _signature(tree) -> dict:
    leaves, treedef = jax.tree.flatten(tree)
    return {
        "treedef": str(treedef),
        "shapes": [list(np.shape(x)) for x in leaves],
        "dtypes": [str(jnp.result_type(x)) for x in leaves],
    }


def save_checkpoint(path: str, state, history: dict, init_params, meta: dict) -> None:
    """Write `state`, `history` (name -> array), `init_params` and `meta` (JSON) to `path`.

    Example:
      >>> import pathlib, tempfile
      >>> p = str(pathlib.Path(tempfile.mkdtemp()) / "c.npz")
      >>> save_checkpoint(p, {"w": np.ones(2)}, {"loss": np.zeros((0, 1))}, {"w": np.ones(2)}, {})
      >>> load_checkpoint(p)[0]["version"]
      1
    """
    state = jax.device_get(state)
    arrays = {}
    for i, leaf in enumerate(jax.tree.leaves(state)):
        arrays[f"state_{i}"] = _savable(np.asarray(leaf))
    for i, leaf in enumerate(jax.tree.leaves(jax.device_get(init_params))):
        arrays[f"init_{i}"] = _savable(np.asarray(leaf))
    for name, values in history.items():
        arrays[f"history_{name}"] = np.asarray(values, np.float64)
    meta = dict(meta, version=VERSION, state=_signature(state), init=_signature(init_params))
    arrays["meta"] = np.array(json.dumps(meta))
    # Written next to the target and renamed: a reader sees the old file or the new one.
    with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def load_checkpoint(path: str) -> tuple[dict, dict]:
    """`(meta, arrays)` of a checkpoint, or a `ValueError` saying what to do instead."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise ValueError(
            f"Cannot read the checkpoint {path}: {err}. It is not a checkpoint written by "
            "neurosym.fit, or it is damaged; delete it, choose another checkpoint path, or pass "
            "resume=False to overwrite it."
        ) from err
    if meta.get("version") != VERSION:
        raise ValueError(
            f"The checkpoint {path} has format version {meta.get('version')}, this neurosym.fit "
            f"reads version {VERSION}; pass resume=False to start afresh."
        )
    return meta, arrays


def restore(arrays: dict, prefix: str, like, signature: dict):
    """The pytree shaped like `like` from the arrays saved under `prefix`."""
    leaves, treedef = jax.tree.flatten(like)
    out = []
    for i, (leaf, dtype) in enumerate(zip(leaves, signature["dtypes"])):
        out.append(np.asarray(arrays[f"{prefix}_{i}"]).view(jnp.dtype(dtype)))
    return jax.tree.unflatten(treedef, out)


def check_compatible(path: str, meta: dict, expected: dict, state_like, init_like) -> None:
    """Refuse to resume a checkpoint written by a fit with other settings or structures."""
    for name in ("num_starts", "estimator", "num_samples"):
        if meta.get(name) != expected[name]:
            raise ValueError(
                f"The checkpoint {path} was written by a fit with {name}={meta.get(name)!r}, but "
                f"this fit has {name}={expected[name]!r}. Use the same settings to resume, another "
                "checkpoint path, or resume=False to start afresh."
            )
    if meta.get("key") != expected["key"]:
        raise ValueError(
            f"The checkpoint {path} was written by a fit with another key; pass the same key to "
            "resume it exactly, or use another checkpoint path (or resume=False) for a new fit."
        )
    for label, saved, now in (
        ("parameter", meta["init"], _signature(init_like)),
        ("optimizer-state", meta["state"], _signature(state_like)),
    ):
        if saved["treedef"] != now["treedef"]:
            raise ValueError(
                f"The checkpoint {path} holds a different {label} structure than this fit:\n"
                f"  saved: {saved['treedef']}\n  now:   {now['treedef']}\n"
                "Resume with the same parameters and optimizer, or use another checkpoint path "
                "(or resume=False) for a new fit."
            )
        if saved["shapes"] != now["shapes"] or saved["dtypes"] != now["dtypes"]:
            raise ValueError(
                f"The checkpoint {path} holds {label} arrays of other shapes or dtypes than this "
                f"fit: saved {list(zip(map(tuple, saved['shapes']), saved['dtypes']))}, now "
                f"{list(zip(map(tuple, now['shapes']), now['dtypes']))}. Resume with parameters of "
                "the same shapes, or use another checkpoint path (or resume=False)."
            )
