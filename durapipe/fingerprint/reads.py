"""Files a step reads: those it was seen to open while it ran (traced), and those it declares (`reads=`, `env=`).

A step's fingerprint (code, parameters, inputs, environment) selects its commit; the commit
carries `reads`, each project file the step opened with its content hash as the step left it. The
commit is reused only while every one of them still has that hash (`changed_read`): checked by file
signature, so an unchanged file costs a stat (and, in a new process, one lookup in the hash cache)
and only a changed one is read again. What a step declares is known before it runs, so it is
hashed into the fingerprint itself (`declared_component`).
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from durapipe.core.canonical import sha256_text
from durapipe.core.errors import DurapipeError
from durapipe.core.file_signature import FileSignature, settled
from durapipe.core.paths import STATE_FOLDER
from durapipe.cache import folders
from durapipe.store.hashing import HashCache, hash_path

# The component keys: `reads` is kept with the commit and checked at the next plan, never hashed into
# the fingerprint (it is known only once the step has run); `declared` is part of the fingerprint.
READS = "reads"
DECLARED = "declared"
# The hash recorded for a file that changed while the step ran: it matches no content, so the next plan runs the step.
CHANGED_WHILE_RUNNING = "changed while the step ran"
# Never a read of the step's own: durapipe's state and stores, Git's, compiled modules, installed packages.
_SKIPPED_PARTS = frozenset({STATE_FOLDER, ".git", "__pycache__", "site-packages", "dist-packages"})

# absolute path -> (signature, content hash), for settled files: a plan that checks the same
# config file for every step reads its signature once per step, and hashes it once per process.
_known: dict[str, tuple[FileSignature, str]] = {}
_caches: dict[str, HashCache | None] = {}
_lock = threading.Lock()


# While planning, each path's content hash as first checked: a plan that finds the same config file
# among the reads of a thousand steps stats it once. A context variable, as `signature_snapshot`.
_snapshot: contextvars.ContextVar[dict[str, str | None] | None] = contextvars.ContextVar(
    "durapipe_read_snapshot", default=None)


@contextlib.contextmanager
def read_snapshot() -> Iterator[None]:
    """Within the block (on this thread), each file's content is checked once: the plan checks one moment's files."""
    token = _snapshot.set(_snapshot.get() or {})
    try:
        yield
    finally:
        _snapshot.reset(token)


def declared_component(reads: Iterable[str] | None, env: Iterable[str] | None, project_root: Path) -> dict[str, Any] | None:
    """{"files": {path: content hash or None}, "env": {name: hash of its value or None}}; None when nothing is declared.

    A declared folder hashes as the manifest of every file under it; a missing path as None. A
    variable's value is kept only as its hash, so a secret never lands in a record.
    """
    reads, env = list(reads or ()), list(env or ())
    if not reads and not env:
        return None
    return {"files": {path: content_hash(project_root / path, project_root) for path in reads},
            "env": {name: None if os.environ.get(name) is None else sha256_text(os.environ[name]) for name in env}}


def changed_read(reads: dict[str, Any] | None, project_root: Path | str) -> str | None:
    """The first file of `reads` ({project-relative path: content hash}) whose content is not that hash now; else None."""
    root = str(project_root)
    for path in sorted(reads or {}):
        # Joined as text: this runs for every reused step of every plan, and a Path costs more than the lookup.
        if content_hash(os.path.join(root, path), root) != reads[path]:
            return path
    return None


def current_reads(reads: dict[str, Any] | None, project_root: Path | str) -> dict[str, str | None]:
    """The content hash now of each file of `reads` (what explaining a change compares with the commit's)."""
    return {path: content_hash(Path(project_root) / path, project_root) for path in sorted(reads or {})}


def traced_reads(opened: Iterable[str], project_root: Path | str, started_s: float,
                 skip: Iterable[Path | str] = ()) -> dict[str, str | None]:
    """{project-relative path: content hash} of the files the step `opened` (absolute paths) that are its reads.

    Left out: paths outside the project, under its state folder, `.git`, the interpreter's and
    installed packages' folders, compiled modules, and the folders of `skip` (the store, scratch).
    A file that changed after `started_s` (epoch seconds) is recorded as CHANGED_WHILE_RUNNING.
    """
    root = Path(project_root)
    outside = [os.path.abspath(p) + os.sep for p in (*skip, sys.prefix, sys.base_prefix, sys.exec_prefix)]
    started_ns = int(started_s * 1e9)
    found: dict[str, str | None] = {}
    for path in opened:
        relative = _relative(path, root)
        if relative is None or relative in found:
            continue
        if any(path.startswith(folder) for folder in outside):
            continue
        parts = relative.split("/")
        if _SKIPPED_PARTS.intersection(parts) or relative.endswith((".pyc", ".pyo")):
            continue
        signature = FileSignature.of(path)
        if signature is not None and not stat.S_ISREG(signature.kind):
            continue  # a folder listed, a device: not content the step read
        found[relative] = content_hash(path, root)
        if signature is not None and (signature.changed_ns >= started_ns or FileSignature.of(path) != signature):
            found[relative] = CHANGED_WHILE_RUNNING
    return dict(sorted(found.items()))


def _relative(path: str, root: Path) -> str | None:
    try:
        relative = Path(path).relative_to(root)
    except ValueError:
        return None
    return relative.as_posix() if relative.parts else None


def content_hash(path: Path | str, project_root: Path | str) -> str | None:
    """The sha256 of the file at `path` (a folder: of its manifest), None when it is missing or unreadable."""
    path = os.path.abspath(path)
    seen = _snapshot.get()
    if seen is not None:
        if path not in seen:
            seen[path] = _content_hash(path, project_root)
        return seen[path]
    return _content_hash(path, project_root)


def _content_hash(path: str, project_root: Path | str) -> str | None:
    signature = FileSignature.of(path)
    if signature is None:
        return None
    if stat.S_ISREG(signature.kind):
        known = _known.get(path)
        if known is not None and known[0] == signature:
            return known[1]
    try:
        digest = _hashed(path, str(project_root))
    except (DurapipeError, OSError):
        return None  # vanished or unreadable since the stat: no content to vouch for
    if stat.S_ISREG(signature.kind) and FileSignature.of(path) == signature and settled(signature, time.time()):
        _known[path] = (signature, digest)
    return digest


def _hashed(path: str, project_root: str) -> str:
    cache = _cache(project_root)
    if cache is not None:
        try:
            return hash_path(path, cache).hash
        except DurapipeError:
            raise
        except Exception:  # a cache that cannot be opened or written (a read-only app folder) only costs speed
            with _lock:
                _caches[project_root] = None
    return hash_path(path).hash


def _cache(project_root: str) -> HashCache | None:
    with _lock:
        if project_root not in _caches:
            _caches[project_root] = HashCache(folders.in_project(project_root, "hashes.sqlite"))
        return _caches[project_root]
