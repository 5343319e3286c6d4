"""Where the caches keep their files."""
from __future__ import annotations

from pathlib import Path

import pytest

from durapipe.cache import folders


def test_a_project_cache_is_in_its_state_folder(tmp_path: Path) -> None:
    assert folders.in_project(tmp_path, "plans") == tmp_path / ".durapipe" / "cache" / "plans"


def test_a_user_cache_is_in_durapipe_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURAPIPE_HOME", str(tmp_path / "home"))
    assert folders.for_user("distributions") == tmp_path / "home" / "distributions"
