"""Where the current project and its local state folder (`.durapipe/`) are."""
from __future__ import annotations

from pathlib import Path

STATE_FOLDER = ".durapipe"
_PROJECT_MARKERS = ("pyproject.toml", ".git")


def find_project_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above `start` (default: cwd) holding pyproject.toml or .git, else `start`."""
    here = Path(start if start is not None else Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in _PROJECT_MARKERS):
            return folder
    return here


def state_dir(start: str | Path | None = None) -> Path:
    """The project's local state folder (the default local store, caches, journals)."""
    return find_project_root(start) / STATE_FOLDER
