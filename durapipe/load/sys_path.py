"""The import path for a project's code: its folder first, and no module of another project under the same name."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from durapipe.core.paths import find_project_root

# Folders this process put on sys.path for pipeline files, with the modules imported from each; when
# another folder's file is loaded they are forgotten, so two `pipeline.py` in two folders never mix.
_file_roots: dict[Path, set[str]] = {}
# Project roots whose Definitions this process loaded, with the modules imported from each: forgotten
# when code outside that project is loaded, so another project's `helpers` is never the one found.
_project_roots: dict[Path, set[str]] = {}


def put_first(folder: Path | str) -> None:
    """Put `folder` first on sys.path, moving it there when it is already on it."""
    entry = str(folder)
    if entry in sys.path:
        sys.path.remove(entry)
    # First, so the project's modules win over same-named installed ones.
    sys.path.insert(0, entry)


def make_current_root(folder: Path) -> None:
    """Put `folder` first on the import path, forgetting the modules of any other pipeline folder or project."""
    for old in [r for r in _file_roots if r != folder]:
        _forget(_file_roots, old)
    for old in [r for r in _project_roots if not folder.is_relative_to(r)]:
        _forget(_project_roots, old)
    put_first(folder)
    _file_roots.setdefault(folder, set())
    importlib.invalidate_caches()


def make_current_project(root: Path) -> None:
    """Put project `root` first on the import path, forgetting the modules of other projects and of pipeline
    folders outside it."""
    for old in [r for r in _project_roots if r != root]:
        _forget(_project_roots, old)
    for old in [r for r in _file_roots if not r.is_relative_to(root)]:
        _forget(_file_roots, old)
    put_first(root)
    _project_roots.setdefault(root, set())
    importlib.invalidate_caches()


def remember_project_modules(root: Path, before: set[str]) -> None:
    """Count the modules imported since `before` from `root` as that project's (see make_current_project)."""
    _remember(_project_roots.setdefault(root, set()), root, before)


def _forget(roots: dict[Path, set[str]], folder: Path) -> None:
    for key in roots.pop(folder):
        sys.modules.pop(key, None)
    if str(folder) in sys.path:
        sys.path.remove(str(folder))


def remember_modules(folder: Path, before: set[str]) -> None:
    """Count the modules imported since `before` from `folder` as that pipeline folder's (see make_current_root)."""
    _remember(_file_roots.setdefault(folder, set()), folder, before)


def _remember(roots: set[str], folder: Path, before: set[str]) -> None:
    inside = str(folder) + os.sep
    for key in set(sys.modules) - before:
        filename = getattr(sys.modules[key], "__file__", None)
        # Found through the folder's own sys.path entry: no need to resolve (one stat per part of the path).
        if filename and (filename.startswith(inside) or Path(filename).resolve().is_relative_to(folder)):
            roots.add(key)


def forget_other_project(top_level: str, root: Path) -> None:
    """Drop the modules of another project when one of them holds `top_level`, the name this project imports."""
    cached = sys.modules.get(top_level)
    path = getattr(cached, "__file__", None)
    if not path or Path(path).resolve().is_relative_to(root):
        return
    other = find_project_root(Path(path))
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and "site-packages" not in file and Path(file).resolve().is_relative_to(other):
            del sys.modules[name]
