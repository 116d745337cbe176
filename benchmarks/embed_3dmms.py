"""Make the embedded named segmentation series (`neurosym/_data/celegans_3dmms/`) from the
3DMMS embryo in ../shared/data/celegans_3dmms_named (MIT, Cao et al. 2019).

Each odd time point's label volume is downsampled by 4 per axis with
`neurosym.symbolise.potts_state(fill_gap=True)`: the one-voxel membrane between cells is first
given to the cells on either side, then each 4x4x4 block takes its majority label, and no cell
vanishes. The labels keep their numbers, so `label_names.json` (cut to the labels present)
names them as in the source. Each odd time point's raw membrane volume is resampled onto the
same grid (`neurosym.founders.resample_image`, by the ratio of the two volumes' shapes) and
stored as uint8 `memb_T###.npz` (key `membrane`).

Usage:
  python benchmarks/embed_3dmms.py [--source ../shared/data/celegans_3dmms_named]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

from neurosym.founders.cells import resample_image
from neurosym.symbolise import potts_state

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "neurosym" / "_data" / "celegans_3dmms"
FACTOR = 4
TIMES = range(1, 66, 2)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default=str(ROOT.parent / "shared" / "data" / "celegans_3dmms_named"))
    args = p.parse_args(argv)
    src = Path(args.source)
    if not (src / "label_names.json").exists():
        raise SystemExit(f"embed_3dmms: {src} does not hold the 3DMMS series (label_names.json); pass --source")
    names = {int(k): v for k, v in json.loads((src / "label_names.json").read_text()).items()}
    OUT.mkdir(parents=True, exist_ok=True)
    present = set()
    for t in TIMES:
        labels = np.load(src / f"seg_T{t:03d}.npz")["seg"]
        sites, ids = potts_state(labels, FACTOR, fill_gap=True)
        seg = ids[sites].astype(np.uint16)
        present |= set(np.unique(seg).tolist()) - {0}
        np.savez_compressed(OUT / f"seg_T{t:03d}.npz", seg=seg)
        membrane = np.load(src / f"memb_T{t:03d}.npz")["membrane"]
        image = resample_image(membrane, labels.shape, FACTOR)
        assert image.shape == seg.shape, (image.shape, seg.shape)
        np.savez_compressed(OUT / f"memb_T{t:03d}.npz", membrane=np.clip(np.round(image), 0, 255).astype(np.uint8))
        print(f"T{t:03d}: {seg.shape}, {len(ids) - 1} cells")
    kept = {str(k): names[k] for k in sorted(present)}
    (OUT / "label_names.json").write_text(json.dumps(kept, indent=0) + "\n")
    shutil.copy(src / "LICENSE_3DMMS_MIT.txt", OUT / "LICENSE_3DMMS_MIT.txt")
    print(f"wrote {len(TIMES)} time points and {len(kept)} names to {OUT}")


if __name__ == "__main__":
    main()
