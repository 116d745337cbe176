"""Test-wide setup: several host CPU devices so sharded code is exercised without a GPU."""

import os

# Must be set before JAX initialises its backends.
_flag = "--xla_force_host_platform_device_count=4"
if _flag.split("=")[0] not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _flag).strip()
os.environ.setdefault("MPLBACKEND", "Agg")
