"""Every docstring example in the three packages runs and prints what it shows.

One test per module, found by walking the packages, so a new module's examples are run without
being listed anywhere. A module whose examples train a model is marked slow.
"""

import doctest
import importlib
import pathlib
import pkgutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("automata", "rules", "neurosym")
# Modules whose examples take more than a few seconds (they train or fit something).
SLOW = {"automata.potts", "automata.potts_energy", "automata.potts_sharding", "neurosym.encoder", "neurosym.fit", "neurosym.founders.composition", "neurosym.growing", "neurosym.lineage_fit", "neurosym.perception", "neurosym.pretrain", "neurosym.tissue.fit", "neurosym.tissue.report", "rules.division.meanfield"}
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _modules():
    names = []
    for package in PACKAGES:
        names.append(package)
        path = [str(ROOT / package)]
        names += [m.name for m in pkgutil.walk_packages(path, prefix=f"{package}.")]
    return sorted(names)


def _param(name):
    slow = any(name == s or name.startswith(s + ".") for s in SLOW)
    return pytest.param(name, id=name, marks=pytest.mark.slow if slow else ())


MODULES = _modules()


def test_every_package_module_is_found():
    assert {"automata.engine", "rules.celegans", "neurosym.files"} <= set(MODULES)


# Every package module's examples run in this one test module: free their programs after each.
@pytest.mark.usefixtures("free_compiled_programs_after")
@pytest.mark.parametrize("name", [_param(n) for n in MODULES])
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, name) if t.examples]
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        # Only the module's own objects, not names it re-exports from elsewhere.
        if test.filename is not None and pathlib.Path(test.filename).resolve() != pathlib.Path(module.__file__).resolve():
            continue
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (output above)"
