"""Code closures remembered across processes, keyed by the (size, mtime_ns, ctime_ns, inode) of every file and folder they read."""
from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import sqlite3
import stat
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from durapipe.cache import folders
from durapipe.cache.sqlite import open_cache_database, while_locked
from durapipe.core.canonical import canonical_json, sha256_text
from durapipe.core import file_signature
from durapipe.core.file_signature import FileSignature, settled

# Bump when what a closure holds, or how it is derived, changes (the analyser's own source counts too).
FORMAT = 4
_TABLE = "CREATE TABLE IF NOT EXISTS closures (key TEXT PRIMARY KEY, value TEXT)"
_ANALYSER = ("code.py", "modules.py", "resolve.py", "scopes.py", "syntax.py", "closure_cache.py")

# A path's FileSignature from lstat, or None for a missing path.
Signature = FileSignature | None


def path_signature(path: str) -> Signature:
    """What identifies one version of the file or folder entry at `path` (a symlink itself, not its target)."""
    return FileSignature.of(path, follow_symlinks=False)


# (type bits following symlinks, type bits of the entry itself, its inode), or None when missing.
Entry = tuple[int, int, int] | None


def entry_signature(path: str) -> Entry:
    """What a path is (file, folder, symlink), without its times: whether a module exists there."""
    try:
        own = os.lstat(path)
    except OSError:
        return None
    try:
        target = stat.S_IFMT(os.stat(path).st_mode)
    except OSError:
        target = 0  # a dangling symlink
    return (target, stat.S_IFMT(own.st_mode), own.st_ino)


# While planning, the signatures read so far, by path: the closures of a project's steps share most
# of what they read (a helper module, the import path's probes), and one lstat each is enough. A
# context variable, so a step fingerprinted on another thread meanwhile reads its files afresh.
_snapshot: contextvars.ContextVar[tuple[dict[str, Signature], dict[str, Entry]] | None] = \
    contextvars.ContextVar("durapipe_signature_snapshot", default=None)


@contextlib.contextmanager
def signature_snapshot() -> Iterator[None]:
    """Within the block (on this thread), each path's signature is read once: the plan checks one moment's files."""
    token = _snapshot.set(_snapshot.get() or ({}, {}))
    try:
        yield
    finally:
        _snapshot.reset(token)


_UNREAD = object()


def _unchanged(recorded: dict[str, Any], seen: dict[str, Any] | None, signature_of: Any) -> bool:
    # Every path of `recorded` still has its signature; with a snapshot, each path is read once a plan.
    if seen is None:
        return all(signature_of(path) == signature for path, signature in recorded.items())
    for path, signature in recorded.items():
        found = seen.get(path, _UNREAD)
        if found is _UNREAD:
            found = seen[path] = signature_of(path)
        if found != signature:
            return False
    return True


@dataclass
class Dependencies:
    """What one closure's analysis read (files, with their times) and probed (paths tested for a module)."""

    files: dict[str, Signature]
    entries: dict[str, Entry]
    consistent: bool = True

    @classmethod
    def of(cls, files: set[str], probed: dict[str, bool]) -> Dependencies:
        """The signatures now of `files` and of the `probed` paths (path -> whether a module or folder was found)."""
        entries = {path: entry_signature(path) for path in sorted(probed)}
        # A path created or removed while the analysis ran disagrees with its answer: not trusted.
        consistent = all(((entry is not None and entry[0] in (stat.S_IFREG, stat.S_IFDIR)) == probed[path])
                         for path, entry in entries.items())
        return cls({path: path_signature(path) for path in sorted(files)}, entries, consistent)

    def settled(self, moment: float) -> bool:
        """True when an equal signature later will vouch for equal content (nothing changed too recently)."""
        return self.consistent and all(settled(signature, moment) for signature in self.files.values())

    def unchanged(self) -> bool:
        """True when every file and probed path still has its recorded signature."""
        snapshot = _snapshot.get()
        files, entries = snapshot if snapshot is not None else (None, None)
        return _unchanged(self.files, files, path_signature) and _unchanged(self.entries, entries, entry_signature)

    def to_json(self) -> dict[str, Any]:
        """The signatures as JSON."""
        return {"files": {path: signature and signature.to_json() for path, signature in self.files.items()},
                "entries": self.entries}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Dependencies:
        """Signatures read back from `to_json`; ValueError when one is not a signature."""
        files = {path: FileSignature.from_json(signature) for path, signature in (value.get("files") or {}).items()}
        entries = {path: tuple(entry) if entry is not None else None
                   for path, entry in (value.get("entries") or {}).items()}
        return cls(files, entries)


class ClosureCache:
    """closure key -> (closure, signatures of what it read), in sqlite under the project's .durapipe/cache/."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._pid = 0
        self._broken = False
        self._rows: dict[str, str] | None = None

    @classmethod
    def for_project(cls, root: Path | str) -> ClosureCache:
        """The cache of the project at `root` (one object per project and process)."""
        key = str(root)  # a plan asks once a step: no Path is built for a project already open
        cache = _by_project.get(key)
        if cache is None:
            cache = _by_project[key] = cls(folders.in_project(root, "closures.sqlite"))
        return cache

    def lookup(self, key: str) -> dict[str, Any] | None:
        """The remembered closure under `key` when nothing it read has changed since, else None."""
        found = self.lookup_with_deps(key)
        return None if found is None else found[0]

    def lookup_with_deps(self, key: str) -> tuple[dict[str, Any], Dependencies] | None:
        """`lookup`, with the signatures the closure was remembered with (read once, for both)."""
        if self._rows is None or self._pid != os.getpid():
            # One query for every closure of the project: a plan looks up one per step.
            rows = self._run(lambda c: c.execute("SELECT key, value FROM closures").fetchall())
            self._rows = dict(rows or [])
        text = self._rows.get(key)
        if text is None:
            return None
        try:
            value = json.loads(text)
            deps = Dependencies.from_json(value["deps"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return (value, deps) if deps.unchanged() else None

    def remember(self, key: str, closure: dict[str, Any], deps: Dependencies) -> None:
        """Record `closure` under `key` with the signatures of what it read and probed (all settled)."""
        value = json.dumps({**closure, "deps": deps.to_json()}, sort_keys=True)
        self._run(lambda c: c.execute("INSERT OR REPLACE INTO closures (key, value) VALUES (?, ?)", (key, value)))
        if self._rows is not None:
            self._rows[key] = value

    def _run(self, action: Any) -> Any:
        # A cache that cannot be opened or written (a read-only app folder) only costs speed:
        # every closure is then derived from source, as without a cache.
        if self._broken:
            return None
        try:
            if self._connection is None or self._pid != os.getpid():
                self._connection, self._pid = open_cache_database(self.path, _TABLE), os.getpid()
            connection = self._connection
            return while_locked(lambda: action(connection), self.path)
        except (OSError, sqlite3.Error):
            self._broken = True
            return None


_by_project: dict[str, ClosureCache] = {}
_analyser_hash: list[str] = []


def closure_key(path: str, qualname: str, root: str, line: int | None) -> str:
    """The cache key of one step function's closure, as seen by this interpreter from the project's import folders."""
    # The rest of the import path counts through the lookups recorded with the closure (its "specs").
    return sha256_text(canonical_json([FORMAT, analyser_hash(), sys.version, path, qualname, root, line,
                                       _import_folders(tuple(sys.path), root, os.getcwd())]))


@functools.lru_cache(maxsize=16)
def _import_folders(path: tuple[str, ...], root: str, cwd: str) -> list[str]:
    # The entries of the import path inside the project (relative entries by the working folder).
    return [entry for entry in path if entry and os.path.abspath(entry).startswith(root)]


def analyser_hash() -> str:
    """sha256 of the analyser's own source: a new durapipe never trusts closures an older one derived."""
    if not _analyser_hash:
        folder = Path(__file__).parent
        # And what a recorded signature means: a closure is remembered under its files' signatures.
        parts = [(folder / name).read_bytes() for name in _ANALYSER] + [Path(file_signature.__file__).read_bytes()]
        _analyser_hash.append(sha256_text("\0".join(part.decode("utf-8", "replace") for part in parts)))
    return _analyser_hash[0]


def now() -> float:
    """The wall clock that file timestamps are compared with."""
    return time.time()
