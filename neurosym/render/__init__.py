"""Render: lattices and populations to microscopy-like images with exact labels.

The inverse of `neurosym.symbolise`, made to train image encoders on simulated embryos: the
label image is known exactly, so every cell's kind is a free, perfect annotation.

Modules:
  `neurosym.render.labels`      `lattice_labels` (one cell per lattice site: blocks, or Voronoi
                                cells of jittered centres, with a background gap),
                                `population_labels` (the alive cells of a `rules.Population`),
                                `outer_cells` (cells on a tissue's outside);
  `neurosym.render.microscope`  `Microscope`: how cells look (nuclei or membrane stain,
                                brightness and texture per kind) and what the instrument does
                                (blur, shot and read noise, background, gain, uneven
                                illumination); presets and `Microscope.sample`;
  `neurosym.render.optics`      the instrument's effects as pure functions (blur, ramp, noise);
  `neurosym.render.image`       `render`: labels plus per-label kinds through a `Microscope` to
                                an image; pure JAX, so it jits, vmaps and runs in a training step;
  `neurosym.render.warp`        `augment`: one random affine warp of an image and its labels;
  `neurosym.render.dataset`     `render_dataset`: a batch of random lattice states rendered to
                                `(images, labels, kinds)`, scattered or as one embryo-like tissue.

Conventions: a label image holds 0 for background and `1 .. L - 1` for cells; a kinds array
`kinds` of length `L` gives the kind of label `l` as `kinds[l]` (entry 0, the background, is
ignored; -1 marks a label that does not appear). Pixel coordinates are `(row, col)` in 2D and
`(z, row, col)` in 3D; lengths are in pixels.
"""

from neurosym.render.warp import augment
from neurosym.render.dataset import LAYOUTS, render_dataset
from neurosym.render.image import render
from neurosym.render.labels import lattice_labels, outer_cells, population_labels
from neurosym.render.microscope import STYLES, Microscope

__all__ = [
    "LAYOUTS",
    "STYLES",
    "Microscope",
    "augment",
    "lattice_labels",
    "outer_cells",
    "population_labels",
    "render",
    "render_dataset",
]
