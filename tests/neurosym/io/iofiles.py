"""Small files and tables the io tests share: a synthetic early embryo as CD rows, AceTree archives."""

import gzip
import zipfile

import numpy as np

from neurosym.io import CellTable

# A synthetic early C. elegans embryo: cell -> (first frame, last frame). Each mother's last frame
# is the one before her daughters' first, as in AceTree CD tables.
EARLY = {
    "P0": (1, 2),
    "AB": (3, 5), "P1": (3, 5),
    "ABa": (6, 15), "ABp": (6, 15), "EMS": (6, 8), "P2": (6, 9),
    "MS": (9, 15), "E": (9, 13),
    "C": (10, 15), "P3": (10, 11),
    "D": (12, 15), "P4": (12, 15),
    "Ea": (14, 15), "Ep": (14, 15),
}
# Frame 1 is minute 0 at one minute a frame, so a cycle is (daughters' first - own first) frames.
EARLY_CYCLES = {"AB": 3.0, "P1": 3.0, "EMS": 3.0, "P2": 4.0, "E": 5.0, "P3": 2.0}

CD_HEADER = "cellTime,cell,time,none,global,local,blot,cross,z,x,y,size,gweight"


def cd_rows(spans):
    rows = []
    for k, (name, (a, b)) in enumerate(spans.items()):
        for f in range(a, b + 1):
            rows.append(f"{name}:{f},{name},{f},10,-5,3,{k},0,{k % 7}.5,{100 + k},{200 + f},{20 + k},999")
    return rows


def write(path, text, gz=False):
    raw = text.encode()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def write_cd(tmp_path, spans=EARLY, name="CDembryo1.csv", gz=False, header=CD_HEADER, extra_rows=()):
    return write(tmp_path / name, "\n".join([header, *cd_rows(spans), *extra_rows]) + "\n", gz=gz)


def table_of(cells, frames, parents=None, embryo="e"):
    n = len(cells)
    return CellTable(embryo=embryo, cell=cells, time_min=np.asarray(frames, float), frame=frames,
                     x=np.zeros(n), y=np.zeros(n), z=np.zeros(n), parent=parents)


def table_from_spans(spans, parents=None):
    cells, frames, par = [], [], []
    for name, (a, b) in spans.items():
        for f in range(a, b + 1):
            cells.append(name)
            frames.append(f)
            par.append((parents or {}).get(name, ""))
    return table_of(cells, frames, par)


def nucleus(nid, pred, s1, s2, x, name, valid=1, exp=500, blot=100):
    return f"{nid}, {valid}, {pred}, {s1}, {s2}, {x}, 20, 3.0, 10, {name}, 1, 2, 3, 4, , {exp}, 25000, 0, {blot}, 0, \n"


def write_acetree(path, frames, folder="run/nuclei/", params="run/parameters/emb7-parameters"):
    with zipfile.ZipFile(path, "w") as z:
        for f, lines in frames.items():
            z.writestr(f"{folder}t{f:03d}-nuclei", "".join(lines))
        if params:
            z.writestr(params, "")
    return path


ACE = {
    1: [nucleus(1, -1, 1, 2, 10, "P1"), nucleus(2, -1, 3, -1, 50, "polar1"), nucleus(3, -1, -1, -1, 0, "", valid=0)],
    2: [nucleus(1, 1, 1, -1, 8, "EMS"), nucleus(2, 1, 2, -1, 12, "P2"), nucleus(3, 2, -1, -1, 50, "polar1"),
        nucleus(4, -1, 3, -1, 30, "")],
    3: [nucleus(1, 1, -1, -1, 7, "EMS"), nucleus(2, 2, -1, -1, 13, "P2"), nucleus(3, 4, -1, -1, 31, "")],
}
