"""Where durapipe's caches keep their files: a project's `.durapipe/cache/`, or the user's cache folder."""
from __future__ import annotations

from pathlib import Path

from durapipe.core.paths import STATE_FOLDER, user_cache_folder


def in_project(root: Path | str, name: str) -> Path:
    """`name` (a file or folder) in the cache folder of the project whose root is `root`."""
    return Path(root) / STATE_FOLDER / "cache" / name


def for_user(name: str) -> Path:
    """`name` (a file or folder) in durapipe's per-user cache folder, shared by every project."""
    return user_cache_folder() / name
