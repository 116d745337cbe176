"""Pieces the benchmark scripts share: the run's metadata and the label-efficiency tables."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform as host_platform
import sys

import jax
import numpy as np

PACKAGES = ("jax", "jaxlib", "flax", "optax", "numpy", "sympy", "devosym")


def version(dist: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def run_meta(argv=None, *, packages=PACKAGES) -> dict:
    """Where and when a benchmark ran: platform, devices, host, Python and package versions,
    date, arguments, XLA flags and the load average at the start (add `load_average_at_end`
    with `os.getloadavg()` when the run ends)."""
    dev = jax.devices()[0]
    return {
        "platform": jax.default_backend(), "device": getattr(dev, "device_kind", str(dev)),
        "num_devices": jax.device_count(), "host_cpus": os.cpu_count(), "host": host_platform.platform(),
        "python": sys.version.split()[0], "versions": {name: version(name) for name in packages},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv[1:] if argv is None else list(argv),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "load_average_at_start": list(os.getloadavg()),
    }


def label_masks(present, order, budgets, *, say=print):
    """`(n, mask)` for each budget `n` that fits: `mask` (shaped like the boolean `present`) marks
    the cells `argwhere(present)[order[:n]]`. Budgets above the number of cells are skipped, with
    a line through `say`."""
    cells = np.argwhere(np.asarray(present))
    for n in budgets:
        if n > len(cells):
            say(f"skipping {n} labels: only {len(cells)} training cells")
            continue
        mask = np.zeros(np.shape(present), bool)
        for idx in cells[order[:n]]:
            mask[tuple(idx)] = True
        yield n, mask


def label_efficiency(rows) -> list[dict]:
    """For each accuracy that "labels only" reaches with N cells, the fewest labelled cells with
    which "labels + rules" reaches it, and the ratio. `rows` are dicts with `labels`, `rules`
    (bool) and `accuracy`. At the smallest budget run the ratio is a lower bound (fewer labels
    were not tried)."""
    off = {r["labels"]: r["accuracy"] for r in rows if not r["rules"]}
    on = {r["labels"]: r["accuracy"] for r in rows if r["rules"]}
    efficiency = []
    for n_off, a in sorted(off.items()):
        reach = [n for n, b in sorted(on.items()) if b >= a]
        if reach:
            efficiency.append(dict(labels_without_rules=n_off, accuracy=a, labels_with_rules=reach[0],
                                   ratio=n_off / reach[0], lower_bound=reach[0] == min(on)))
    return efficiency


def print_label_tables(rows, efficiency) -> None:
    """Markdown tables: accuracy and rule satisfaction per budget, then the label efficiency."""
    print("\n| labelled cells | accuracy, labels only | accuracy, + rules | rules satisfied, labels only | rules satisfied, + rules |")
    print("|---|---|---|---|---|")
    for n in sorted({r["labels"] for r in rows if not r["rules"]}):
        r0 = next(r for r in rows if r["labels"] == n and not r["rules"])
        r1 = next(r for r in rows if r["labels"] == n and r["rules"])
        print(f"| {n} | {r0['accuracy']:.3f} | {r1['accuracy']:.3f} | {r0['rule_satisfaction']:.3f} | {r1['rule_satisfaction']:.3f} |")
    print("\n| accuracy (labels only) | labels, labels only | labels, + rules | ratio |")
    print("|---|---|---|---|")
    for e in efficiency:
        bound = " (at least: smallest budget)" if e["lower_bound"] else ""
        print(f"| {e['accuracy']:.3f} | {e['labels_without_rules']} | {e['labels_with_rules']} | {e['ratio']:.1f}x{bound} |")
