"""Rebuild the encoder weights that ship with devosym, each exactly as its metadata records.

Usage (from the repository root):

  python benchmarks/pretrain.py                          # rebuild every shipped file in place
  python benchmarks/pretrain.py nuclei2d --out-dir /tmp/weights
  python benchmarks/pretrain.py membrane2d --steps 2 --batch 2 --lattice 4 --features 4 8 --out-dir /tmp/w

Every value of a run comes from the recipe stored in the shipped file's metadata (style, layout,
lattice side, steps, batch, seed, pixels per site, features, learning rate), so the defaults are
the recorded ones; an option overrides one value of it. A file written by this script records
under "recipe" the recipe it ran, under "command" the command line and under "commit" the git
commit of the code (with "dirty" when the working tree had changes outside the weights folder). Files written before this
script carry their recipe in their note only; it is read from there (the layout and lattice
they do not name were the defaults then: scattered cells on a 12x12 lattice).

The recipes rebuild the same training; the weights match the shipped ones bit for bit only with
the code and the JAX version that made them, on the same kind of machine.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the checkout this script lives in, not another installed copy
    sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from neurosym.encoder import pretrain, pretrained_names, pretrained_path, read_metadata, save_weights  # noqa: E402
from neurosym.render import LAYOUTS  # noqa: E402

#: The entries of a recipe, with the type each is read as.
FIELDS = {"style": str, "layout": str, "lattice": int, "steps": int, "batch": int, "seed": int,
          "site_pixels": int, "features": list, "learning_rate": float}

_LEGACY_NOTE = re.compile(
    r"pre-trained on rendered (?P<style>\w+) images(?: \((?P<layout>\w+) layout, (?P<lattice>\d+)x\d+ lattice\))?, "
    r"(?P<steps>\d+) steps of (?P<batch>\d+) images, seed (?P<seed>\d+)"
)


def recipe_of(path) -> dict:
    """The recipe a weight file records: its "recipe" entry, or else the one in its note."""
    meta = read_metadata(path)
    if "recipe" in meta:
        return {name: meta["recipe"][name] for name in FIELDS}
    found = _LEGACY_NOTE.search(meta.get("note", ""))
    if found is None:
        raise ValueError(f"{path}: its metadata records no recipe (note: {meta.get('note', '')!r}).")
    return dict(
        style=found["style"], layout=found["layout"] or "scattered", lattice=int(found["lattice"] or 12),
        steps=int(found["steps"]), batch=int(found["batch"]), seed=int(found["seed"]), site_pixels=8,
        features=list(meta["config"]["features"]), learning_rate=2e-3,
    )


#: Where the shipped weights live: rebuilding one in place must not mark the next one's code dirty.
WEIGHTS = "neurosym/_weights"


def _git(*args) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def build(name: str, recipe: dict, out_dir: Path, command: str) -> Path:
    """Train one encoder by `recipe` and write it to `out_dir / f"{name}.npz"` with its metadata."""
    result = pretrain(
        recipe["style"], num_steps=recipe["steps"], key=jax.random.key(recipe["seed"]), batch=recipe["batch"],
        lattice_shape=(recipe["lattice"],) * 2, site_pixels=recipe["site_pixels"],
        features=tuple(recipe["features"]), learning_rate=recipe["learning_rate"], layout=recipe["layout"],
        progress=True,
    )
    accuracy = float(np.mean(result.aux_history["accuracy"][-50:]))
    side = recipe["lattice"]
    note = (f"pre-trained on rendered {recipe['style']} images ({recipe['layout']} layout, {side}x{side} lattice), "
            f"{recipe['steps']} steps of {recipe['batch']} images, seed {recipe['seed']}; "
            f"per-cell accuracy on the last 50 fresh batches {accuracy:.3f}")
    commit = _git("rev-parse", "HEAD")
    metadata = dict(recipe=recipe, command=command, commit=commit,
                    dirty=None if commit is None else bool(_git("status", "--porcelain", "--", ".", f":!{WEIGHTS}")),
                    accuracy=accuracy)
    path = save_weights(result.encoder, out_dir / f"{name}.npz", note=note, metadata=metadata)
    print(f"{note}\nwrote {path}", flush=True)
    return path


def _parser(names) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"shipped weights to rebuild: {', '.join(names)} (default: all)")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="folder to write NAME.npz into (default: the package's neurosym/_weights)")
    p.add_argument("--style", choices=("nuclei", "membrane"))
    p.add_argument("--layout", choices=LAYOUTS)
    for flag in ("lattice", "steps", "batch", "seed", "site_pixels"):
        p.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=int)
    p.add_argument("--features", type=int, nargs="+")
    p.add_argument("--learning-rate", dest="learning_rate", type=float)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    names = pretrained_names()
    parser = _parser(names)
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in names]
    if unknown:
        parser.error(f"no shipped weights named {', '.join(unknown)}; choose from {', '.join(names)}")
    command = shlex.join(["python", "benchmarks/pretrain.py", *argv])
    for name in args.names or names:
        source = pretrained_path(name)
        recipe = recipe_of(source)
        recipe.update({k: getattr(args, k) for k in FIELDS if getattr(args, k) is not None})
        out_dir = source.parent if args.out_dir is None else args.out_dir
        out_dir.mkdir(parents=True, exist_ok=True)
        build(name, recipe, out_dir, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
