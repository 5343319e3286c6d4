"""Where the user's project is: the folder whose files count as their own code, and whose
`.durapipe/` holds the local state (the default store, caches, host journals)."""
from __future__ import annotations

from pathlib import Path

STATE_FOLDER = ".durapipe"
_MARKERS = ("pyproject.toml", ".git")


def find_project_root(path: Path | str | None = None) -> Path:
    """The nearest folder at or above `path` (a file's folder; default: cwd) holding pyproject.toml or .git, else that folder."""
    start = Path(path if path is not None else Path.cwd()).resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in _MARKERS):
            return candidate
    return folder


def state_dir(start: Path | str | None = None) -> Path:
    """The project's local state folder (the default local store, caches, journals)."""
    return find_project_root(start) / STATE_FOLDER
