"""The bridge from imaging to rules: readers, embedded data, symbolise, fit, plots, the command.

Modules:
  `neurosym.io`          readers (CD tables, AceTree archives, track tables, label images), the
                         cell table, lineage graphs with founder checks, `check_fittable`, and
                         the embedded C. elegans embryos (`load_celegans`, `list_celegans`);
  `neurosym.symbolise`   label images and nuclei tables -> features, contact graph, population;
  `neurosym.fit`         the optax fitting loop (multi-start, estimators as objects, checkpoints,
                         sweeps), the division model fitted to an embryo's lineage
                         (`neurosym.fit.lineage`) and the `neurosym fit`/`simulate` jobs;
  `neurosym.tissue`      the cellular Potts model fitted to named 3D segmentations, division axes,
                         contact prediction and its scores; the `neurosym tissue` jobs;
  `neurosym.growing`     training a growing neural CA to a picture;
  `neurosym.render`      simulated lattices and populations -> microscopy-like images with labels;
  `neurosym.encoder`     a Flax NNX image encoder (per-cell kinds from images and label images),
                         its heads, losses, weights and the one training loop;
  `neurosym.constraints` rule, lineage, temporal and gene-expression losses on predicted kinds;
  `neurosym.perception`  states and a Life-like rule learned from unlabelled image sequences;
  `neurosym.synthetic`   synthetic founder-lineage embryos rendered with exact kinds;
  `neurosym.explain`     learned rules back to symbols: B/S strings, rule tables, sympy logic,
                         sparse regression, and which rule explains each transition;
  `neurosym.plots`       figures; `neurosym.files` atomic files and strict JSON;
  `neurosym.demo`        the engine tour; `neurosym.cli` the `neurosym` command.

`neurosym.data`, `neurosym.datasets`, `neurosym.lineage_fit` and `neurosym.pretrain` are the
earlier homes of names that now live in `io`, `fit.lineage` and `encoder`; they still re-export
them.

Modules are imported on first use so that `import neurosym` stays light.
"""

import importlib

__all__ = [
    "cli", "constraints", "data", "datasets", "demo", "encoder", "explain", "files", "fit", "growing", "io", "lineage_fit",
    "perception", "plots", "pretrain", "progress", "render", "symbolise", "synthetic", "targets", "tissue",
]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"neurosym.{name}")
    raise AttributeError(f"module 'neurosym' has no attribute {name!r}")
