"""neurosym.explain as a package: every public name of the former module still imports from it."""

import neurosym
from neurosym import explain

FORMER_NAMES = (
    "Attribution", "Equation", "Fidelity", "LifeLikeFit", "RuleTable", "attribute", "extract_rule",
    "fidelity", "polynomial_library", "recover_life_like", "rule_table", "sparse_regression",
    "NOISE_GRID", "NEIGHBOURHOODS",
)


def test_former_public_names_import_from_the_package():
    for name in FORMER_NAMES:
        assert getattr(explain, name) is not None
    assert set(FORMER_NAMES) <= set(explain.__all__)
    assert neurosym.explain is explain


def test_every_exported_name_exists_once():
    assert len(explain.__all__) == len(set(explain.__all__))
    for name in explain.__all__:
        assert hasattr(explain, name)
    assert explain.rule_table is explain.tabulate_rule
