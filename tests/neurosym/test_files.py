import os
import stat

import pytest

from neurosym.files import atomic_path


def test_atomic_path_replaces_whole_files_with_normal_permissions(tmp_path):
    target = tmp_path / "sub" / "out.json"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("new")
    assert target.read_text() == "new"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_atomic_path_keeps_the_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_staged_folder_appears_only_when_complete(tmp_path):
    from neurosym.files import staged_folder

    out = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError):
        with staged_folder(out) as tmp:
            (tmp / "half.png").write_text("x")
            raise RuntimeError("failed while writing")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its missing parents
    with staged_folder(out) as tmp:
        (tmp / "a.json").write_text("{}")
    assert [p.name for p in out.iterdir()] == ["a.json"]
    with staged_folder(out) as tmp:  # into an existing folder: files replaced, others kept
        (tmp / "b.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["a.json", "b.json"]
    assert [p.name for p in out.parent.iterdir()] == ["out"]
