"""Test-wide setup: several host CPU devices so sharded code is exercised without a GPU, and
compiled programs freed as the suite goes."""

import gc
import os

import pytest

# Must be set before JAX initialises its backends.
_flag = "--xla_force_host_platform_device_count=4"
if _flag.split("=")[0] not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _flag).strip()
os.environ.setdefault("MPLBACKEND", "Agg")


def free_compiled_programs():
    """Drop JAX's caches of compiled programs. Each program XLA compiles for the CPU holds
    memory mappings of its own; one process running the whole suite keeps thousands of programs
    and reaches the kernel's limit on mappings per process (vm.max_map_count, 65,530 by
    default), where the next compile aborts."""
    import jax

    jax.clear_caches()
    gc.collect()


@pytest.fixture(autouse=True, scope="module")
def _free_compiled_programs_after_each_module():
    yield
    free_compiled_programs()


@pytest.fixture
def free_compiled_programs_after():
    """For a test module that runs many unrelated programs (tests/test_doctests.py): free them
    after each test too."""
    yield
    free_compiled_programs()
