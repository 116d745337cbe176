"""The package re-exports: every name of the former flat modules still imports from its old path."""

import importlib

import neurosym.encoder as package

OLD_ENCODER = ["Encoder", "TrainResult", "WEIGHTS_VERSION", "cell_accuracy", "cell_cross_entropy", "check_inputs",
               "load_pretrained", "load_weights", "pool_cells", "pretrained_names", "reuse_compiled_steps",
               "save_weights", "train"]
OLD_PRETRAIN = ["EMBRYO_KINDS", "POSITIONS", "STAIN_KINDS", "outer_probability", "pretrain", "with_kinds"]
HOMES = {"model": ["Encoder", "check_inputs", "check_kinds", "pool_cells"],
         "heads": ["EMBRYO_KINDS", "POSITIONS", "STAIN_KINDS", "outer_probability", "with_kinds"],
         "losses": ["cell_accuracy", "cell_cross_entropy"],
         "train": ["TrainResult", "reuse_compiled_steps", "train", "train_params"],
         "pretraining": ["STYLES", "pretrain"],
         "weights": ["WEIGHTS_VERSION", "load_pretrained", "load_weights", "pretrained_names", "pretrained_path",
                     "read_metadata", "save_weights"]}


def test_every_public_name_has_one_home_and_is_re_exported():
    assert sorted(package.__all__) == sorted(n for names in HOMES.values() for n in names)
    for module, names in HOMES.items():
        home = importlib.import_module(f"neurosym.encoder.{module}")
        assert sorted(home.__all__) == sorted(names)
        for name in names:
            assert getattr(package, name) is getattr(home, name)


def test_old_import_paths_keep_working():
    import neurosym.pretrain as old_pretrain

    assert set(OLD_ENCODER) <= set(package.__all__)
    assert sorted(old_pretrain.__all__) == sorted(OLD_PRETRAIN)
    for name in OLD_PRETRAIN:
        assert getattr(old_pretrain, name) is getattr(package, name)
    assert callable(package.train) and package.train.__module__ == "neurosym.encoder.train"
