"""Which source a process compiled: the user's modules are compiled from bytes whose hash is kept.

A long-lived process (a template that forks steps) may have imported a module before the user
edited it. Recording the hash of the exact bytes each module was compiled from lets a step check,
before it runs, that the code in memory is the code on disk, which is what its fingerprint names.
"""
from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from durapipe.core.file_signature import FileSignature, settled

_INSTALLED_PARTS = {"site-packages", "dist-packages"}
_DURAPIPE = Path(__file__).resolve().parents[1]

# source path -> sha256 of the bytes it was compiled from, in this process
compiled: dict[str, str] = {}
# source path -> its signature when its bytes last matched; a change of any part re-hashes it.
# ctime cannot be set back by a program, so an edit is always seen.
_matched_at: dict[str, FileSignature] = {}


def is_user_source(path: str | Path) -> bool:
    """True for a .py file of the user's own (not installed, not the interpreter's, not durapipe's)."""
    path = Path(path)
    if path.suffix != ".py" or _INSTALLED_PARTS & set(path.parts):
        return False
    resolved = path.resolve()
    if resolved.is_relative_to(_DURAPIPE):
        return False
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    return not any(resolved.is_relative_to(Path(prefix).resolve()) for prefix in prefixes)


class _RecordingLoader(importlib.machinery.SourceFileLoader):
    # Compiles from source every time: a cached .pyc may match the source's mtime and size yet
    # hold another edit (same size, same second), and then the hash would name code not running.
    def get_code(self, fullname: str) -> Any:
        path = self.get_filename(fullname)
        data = self.get_data(path)
        compiled[str(Path(path).resolve())] = hashlib.sha256(data).hexdigest()
        return compile(data, path, "exec", dont_inherit=True)


class _RecordingFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.origin or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return spec
        if not is_user_source(spec.origin):
            return spec
        loader = _RecordingLoader(fullname, spec.origin)
        return importlib.util.spec_from_file_location(
            fullname, spec.origin, loader=loader, submodule_search_locations=spec.submodule_search_locations)


_finder = _RecordingFinder()


def record_user_sources() -> None:
    """Forget the user's modules already imported, and record the source of every one imported from now on."""
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if name != "__main__" and filename and is_user_source(filename):
            del sys.modules[name]
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def changed_sources() -> list[str]:
    """The user's source files whose bytes on disk differ from those this process compiled."""
    changed = []
    for path, digest in compiled.items():
        signature = FileSignature.of(path)
        if signature is None:
            changed.append(path)
            continue
        if _matched_at.get(path) == signature:
            continue
        try:
            current = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            current = None
        if current != digest:
            changed.append(path)
        elif settled(signature, time.time()):  # else an edit within the same tick could hide behind it
            _matched_at[path] = signature
    return changed
