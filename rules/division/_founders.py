"""The C. elegans founder names under their old home, `rules.division`; they live in
`rules.celegans`. Read lazily, because `rules.celegans` builds its table from this package."""


def __getattr__(name):
    """`C_ELEGANS_FOUNDERS` and `c_elegans_founders` of `rules.division`, from `rules.celegans`."""
    if name in ("C_ELEGANS_FOUNDERS", "c_elegans_founders"):
        from rules import celegans

        return celegans.BLASTOMERES if name == "C_ELEGANS_FOUNDERS" else celegans.founder_table
    raise AttributeError(f"module 'rules.division' has no attribute {name!r}")
