"""Where a pipeline's project starts: the folder whose files count as the user's own code."""
from __future__ import annotations

from pathlib import Path

_MARKERS = ("pyproject.toml", ".git")


def find_project_root(path: Path | str) -> Path:
    """The nearest folder at or above `path`'s folder holding pyproject.toml or .git, else that folder itself."""
    start = Path(path).resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in _MARKERS):
            return candidate
    return folder
