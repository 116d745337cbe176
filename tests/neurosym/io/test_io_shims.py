"""The old import paths `neurosym.data` and `neurosym.datasets` give the same objects as `neurosym.io`."""

import neurosym.io as nio
from neurosym import data, datasets
from rules import celegans


def test_every_old_name_is_the_new_object():
    for name in data.__all__:
        new = getattr(nio, name, None) or getattr(celegans, name)
        assert getattr(data, name) is new, name
    for name in datasets.__all__:
        assert getattr(datasets, name) is getattr(nio, name), name
    # Names the notebooks, benchmarks and the command import from the old paths.
    for name in ("CellTable", "LineageWarning", "lineage", "cycle_lengths", "cycle_length_samples", "read",
                 "read_tracks", "FOUNDERS", "FOUNDER_RULES", "founder_of", "sulston_parent"):
        assert hasattr(data, name), name
    for name in ("DEFAULT_CELEGANS", "load_celegans", "list_celegans", "describe_celegans"):
        assert hasattr(datasets, name), name


def test_the_founder_names_agree_with_the_founder_rules():
    for mother, daughters in data.FOUNDER_RULES.items():
        assert {data.sulston_parent(d) for d in daughters} == {mother}
    assert data.founder_of("Ealp") == "E"
