"""Pieces the benchmark scripts share: the run's metadata."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform as host_platform
import sys

import jax

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
