"""Where an imported module lives (project file, installed distribution or standard library), found without importing it."""
from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durapipe.fingerprint.modules import ImportRef

_INSTALLED_PARTS = {"site-packages", "dist-packages"}


@dataclass
class Resolution:
    """What one import brings in: project source files, and top-level names of modules from outside the project."""

    files: list[Path] = field(default_factory=list)
    external: set[str] = field(default_factory=set)
    # Every path whose existence decided the outcome, with the answer (is it a file, a folder):
    # a module created, removed or replaced there (shadowing another) changes the resolution.
    probed: dict[Path, bool] = field(default_factory=dict)
    # Top-level names looked up on the interpreter's import path (outside the project's folders),
    # with what was found: `spec_signature(top)`.
    specs: dict[str, list[Any] | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ProjectLayout:
    """The project's root and the folders absolute imports search inside it, in order."""

    root: Path
    search: tuple[Path, ...]
    probed: tuple[tuple[Path, bool], ...] = ()

    @classmethod
    def for_file(cls, source_file: Path, root: Path) -> ProjectLayout:
        """The layout seen by code in `source_file`: its own folder first (as for a script), then the root."""
        root = root.resolve()
        folders = [source_file.resolve().parent, root, root / "src"]
        folders += [Path(entry).resolve() for entry in sys.path if entry and _is_project_path(Path(entry).resolve(), root)]
        probed: dict[Path, bool] = {}
        unique = tuple(dict.fromkeys(folder for folder in folders if is_dir(folder, probed)))
        return cls(root=root, search=unique, probed=tuple(probed.items()))

    def contains(self, path: Path) -> bool:
        """True when `path` is the user's own source, not an installed or interpreter file."""
        return _is_project_path(path, self.root)


def resolve_import(ref: ImportRef, importer: Path, layout: ProjectLayout) -> Resolution:
    """The project files and external modules that executing the import `ref` in `importer` loads."""
    resolution = Resolution()
    parts = ref.module.split(".") if ref.module else []
    if ref.level:
        base = importer.resolve().parent
        for _ in range(ref.level - 1):
            base = base.parent
        _add_package_init(base, resolution)
    else:
        top = parts[0]
        base = _find_in_project(top, layout, resolution)
        if base is None:
            if not _is_stdlib(top):
                resolution.external.add(top)
            return resolution
        base = base.parent
    if ref.name:
        # `from package import name` loads the submodule `name` when there is one.
        parts = [*parts, ref.name]
    _walk_parts(base, parts, resolution)
    # A relative import may climb out of the project; only the project's own files are source.
    resolution.files = [path for path in resolution.files if layout.contains(path)]
    return resolution


def _walk_parts(base: Path, parts: list[str], resolution: Resolution) -> None:
    folder = base
    for part in parts:
        package = folder / part
        module = folder / f"{part}.py"
        # Python's order: a package with __init__.py, then a module file, then a namespace folder.
        if is_file(package / "__init__.py", resolution.probed):
            _add_package_init(package, resolution)
            folder = package
        elif is_file(module, resolution.probed):
            resolution.files.append(module)
            return
        elif is_dir(package, resolution.probed):
            folder = package
        else:
            return  # an attribute of the previous module, not a module of its own


def _add_package_init(folder: Path, resolution: Resolution) -> None:
    init = folder / "__init__.py"
    if is_file(init, resolution.probed):
        resolution.files.append(init)


def _find_in_project(top: str, layout: ProjectLayout, resolution: Resolution) -> Path | None:
    # Returns the package folder or module file named `top` inside the project, following
    # Python's order: a regular package or module anywhere on the path beats a namespace folder.
    probed = resolution.probed
    for folder in layout.search:
        if is_file(folder / top / "__init__.py", probed):
            return folder / top
        if is_file(folder / f"{top}.py", probed):
            return folder / f"{top}.py"
    if _is_stdlib(top):
        return None
    spec = _find_spec(top)
    resolution.specs[top] = spec_signature(top)
    if spec is not None and spec.origin and spec.has_location:
        origin = Path(spec.origin).resolve()
        if layout.contains(origin):
            return origin.parent if origin.name == "__init__.py" else origin
        return None
    locations = [Path(entry).resolve() for entry in (spec.submodule_search_locations or [])] if spec else []
    locations += [folder / top for folder in layout.search if is_dir(folder / top, probed)]
    return next((location for location in locations if layout.contains(location)), None)


def is_file(path: Path, probed: dict[Path, bool]) -> bool:
    """Whether `path` is a file (following symlinks), noting the question and its answer in `probed`."""
    answer = path.is_file()
    probed[path] = answer
    if answer:
        probed.setdefault(path.parent, True)  # its folder replaced by a symlink moves the module
    return answer


def is_dir(path: Path, probed: dict[Path, bool]) -> bool:
    """Whether `path` is a folder (following symlinks), noting the question and its answer in `probed`."""
    answer = path.is_dir()
    probed[path] = answer
    return answer


def spec_signature(top: str) -> list[Any] | None:
    """What the interpreter's import path finds for the top-level name `top`: its origin and search locations."""
    spec = _find_spec(top)
    if spec is None:
        return None
    return [spec.origin, bool(spec.has_location), [str(entry) for entry in (spec.submodule_search_locations or [])]]


@functools.cache
def _find_spec(top: str) -> importlib.machinery.ModuleSpec | None:
    # find_spec of a top-level name runs no module code (only dotted names import their parents);
    # it finds modules an editable install maps into the project through an import hook.
    # Remembered for the process, as the installed distributions are (see distributions_of).
    try:
        return importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None


def _is_stdlib(top: str) -> bool:
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


def _is_project_path(path: Path, root: Path) -> bool:
    if not path.is_relative_to(root):
        return False
    if _INSTALLED_PARTS & set(path.parts):
        return False
    # A virtual environment kept inside the project folder is not the user's code.
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        prefix_path = Path(prefix).resolve()
        if prefix_path != root and prefix_path.is_relative_to(root) and path.is_relative_to(prefix_path):
            return False
    return True


def distributions_of(top: str) -> dict[str, str]:
    """Installed distribution name -> version for an external top-level module ("not installed" when absent)."""
    names = _module_distributions().get(top)
    if not names:
        return {top: "not installed" if _find_spec(top) is None else "unknown"}
    return {name: _version(name) for name in dict.fromkeys(names)}


def _module_distributions() -> dict[str, list[str]]:
    from durapipe.cache.distributions import in_this_process

    return in_this_process()[0]


def _version(distribution: str) -> str:
    # The names come from the distributions map, so the versions beside it know each one.
    from durapipe.cache.distributions import in_this_process

    return in_this_process()[1].get(distribution, "unknown")
