"""Finding a pipeline's project root."""
from __future__ import annotations

from durapipe.core.paths import find_project_root


def test_the_nearest_folder_with_pyproject_toml_is_the_root(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "pipelines").mkdir()
    assert find_project_root(tmp_path / "pipelines" / "retrain.py") == tmp_path.resolve()


def test_a_git_folder_marks_the_root(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_project_root(tmp_path / "a" / "b" / "p.py") == tmp_path.resolve()


def test_without_markers_the_files_own_folder_is_the_root(tmp_path):
    folder = tmp_path / "lonely"
    folder.mkdir()
    (folder / "p.py").write_text("")
    assert find_project_root(folder / "p.py") == folder.resolve()


def test_a_marker_created_after_a_lookup_is_seen_by_the_next_one(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    assert find_project_root(inner / "f.py") == tmp_path.resolve()
    (tmp_path / "a" / "pyproject.toml").write_text("")
    assert find_project_root(inner / "f.py") == (tmp_path / "a").resolve()


def test_a_marker_removed_after_a_lookup_is_seen_by_the_next_one(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".git").mkdir()
    assert find_project_root(tmp_path / "a") == (tmp_path / "a").resolve()
    (tmp_path / "a" / ".git").rmdir()
    assert find_project_root(tmp_path / "a") == tmp_path.resolve()
