"""Imports go one way: automata <- rules <- neurosym, and heavy libraries stay in their layer."""

import ast
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

# package -> top-level modules it must never import
FORBIDDEN = {
    "automata": {"rules", "neurosym", "sympy", "optax", "matplotlib", "networkx"},
    "rules": {"neurosym", "optax", "matplotlib"},
    "neurosym": set(),
}
FORBIDDEN_SUBMODULES = {"automata": {"flax.nnx", "flax.linen"}, "rules": {"flax.nnx", "flax.linen"}}


def imported_modules(path: pathlib.Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_direction(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module, line in imported_modules(path):
            top = module.split(".")[0]
            if top in FORBIDDEN[package] or any(
                module == m or module.startswith(m + ".") for m in FORBIDDEN_SUBMODULES.get(package, ())
            ):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not bad, "layering violated (automata <- rules <- neurosym):\n" + "\n".join(bad)


def test_importing_automata_loads_no_upper_layer():
    code = (
        "import sys, automata; "
        "bad = [m for m in ('rules', 'neurosym', 'sympy', 'optax', 'matplotlib') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""
