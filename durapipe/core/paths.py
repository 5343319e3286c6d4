"""Where the user's project is: the folder whose files count as their own code, and whose
`.durapipe/` holds the local state (the default store, caches, host journals)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Mapping

from durapipe.core.errors import UsageError
from durapipe.core.file_signature import FileSignature

STATE_FOLDER = ".durapipe"
_MARKERS = ("pyproject.toml", ".git")
# folder as given -> the resolved folders searched, nearest first, the last one the answer.
_searched: dict[str, tuple[tuple[str, ...], bool]] = {}


def library_folder() -> Path:
    """durapipe's own package folder (what a remote job ships as `durapipe`), wherever this module sits in it."""
    return Path(__file__).resolve().parent.parent


def user_cache_folder() -> Path:
    """durapipe's per-user cache folder: $DURAPIPE_HOME, else $XDG_CACHE_HOME/durapipe, else ~/.cache/durapipe."""
    home = os.environ.get("DURAPIPE_HOME")
    if home:
        return Path(home)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "durapipe"


def find_project_root(path: Path | str | None = None) -> Path:
    """The nearest folder at or above `path` (a file's folder; default: cwd) holding pyproject.toml or .git, else that folder."""
    start = os.path.abspath(path if path is not None else os.getcwd())
    given = start if os.path.isdir(start) else os.path.dirname(start)
    remembered = _searched.get(given)
    # A remembered answer is checked again (no marker has appeared below it, it still has its own):
    # a few stats, where resolving the path again costs one per part of it.
    if remembered is not None and _still_holds(*remembered):
        chain, found = remembered
        return Path(chain[-1] if found else chain[0])
    folder = Path(given).resolve()
    chain: list[str] = []
    for candidate in (folder, *folder.parents):
        chain.append(str(candidate))
        if _has_marker(str(candidate)):
            _searched[given] = (tuple(chain), True)
            return candidate
    _searched[given] = (tuple(chain), False)
    return folder


def _has_marker(folder: str) -> bool:
    return any(os.path.exists(os.path.join(folder, marker)) for marker in _MARKERS)


def _still_holds(chain: tuple[str, ...], found: bool) -> bool:
    below = chain[:-1] if found else chain
    return not any(_has_marker(folder) for folder in below) and (not found or _has_marker(chain[-1]))


def state_dir(start: Path | str | None = None) -> Path:
    """The project's local state folder (the default local store, caches, journals)."""
    return find_project_root(start) / STATE_FOLDER


DEFINITIONS_ENV = "DURAPIPE_DEFINITIONS"
PROJECT_ROOT_ENV = "DURAPIPE_PROJECT_ROOT"


def definitions_ref(root: Path, explicit: str | None = None, env: Mapping[str, str] | None = None) -> str | None:
    """Where a project's Definitions are: `explicit`, else $DURAPIPE_DEFINITIONS, else `[tool.durapipe] definitions`."""
    env = os.environ if env is None else env
    ref = explicit or env.get(DEFINITIONS_ENV)
    if ref:
        return ref
    pyproject = Path(root) / "pyproject.toml"
    if not pyproject.is_file():
        return None
    import tomllib

    try:
        table = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("durapipe", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{pyproject} is not valid TOML: {exc}.") from None
    ref = table.get("definitions")
    if ref is not None and not isinstance(ref, str):
        raise UsageError(f"[tool.durapipe] definitions in {pyproject} must be text such as \"definitions:defs\".")
    return ref


def export_project(root: Path, explicit: str | None = None) -> str:
    """Point the app (in this process and its workers) at the project `root` and its definitions; return the reference.

    Raises a UsageError saying how to declare definitions when the project has none.
    """
    ref = definitions_ref(root, explicit)
    if ref is None:
        raise UsageError(f"The project {root} declares no definitions: add [tool.durapipe] definitions = "
                         "\"definitions:defs\" to its pyproject.toml, pass --definitions module:attr, or set "
                         f"{DEFINITIONS_ENV} (`durapipe init DIR` scaffolds a project).")
    os.environ[DEFINITIONS_ENV] = ref
    os.environ[PROJECT_ROOT_ENV] = str(Path(root).resolve())
    return ref


def project_modules(root: Path) -> dict[str, tuple[str, FileSignature]]:
    """Every imported module whose file is inside the project `root`, with the signature its file had."""
    base = str(Path(root).resolve()) + os.sep
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and os.path.abspath(path).startswith(base) and "site-packages" not in path:
            signature = FileSignature.of(path)
            if signature is not None:
                found[name] = (path, signature)
    return found


def modules_changed(snapshot: dict[str, tuple[str, FileSignature]]) -> bool:
    """Whether any module file of `snapshot` changed (or went) on disk since the snapshot was taken."""
    return any(FileSignature.of(path) != seen for path, seen in snapshot.values())
