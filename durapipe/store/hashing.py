"""Streamed content hashing of files and folders, and a cache so an unchanged file is hashed once."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from durapipe.cache import folders
from durapipe.cache.sqlite import open_cache_database
from durapipe.core.canonical import canonical_json, sha256_text
from durapipe.core.errors import UsageError
from durapipe.core.file_signature import FileSignature, settled
from durapipe.core.paths import find_project_root

READ_SIZE = 1024 * 1024


def hash_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks into one reused buffer."""
    digest = hashlib.sha256()
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as stream:
        while size := stream.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


@dataclass(frozen=True)
class HashedPath:
    """A hashed file or folder: its artifact ref, and for a folder its manifest and files."""

    hash: str
    kind: str
    size: int
    manifest: dict[str, Any] | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def ref(self) -> dict[str, Any]:
        """The artifact reference {"hash", "kind", "size"} recorded in step and run records."""
        return {"hash": self.hash, "kind": self.kind, "size": self.size}

    def manifest_json(self) -> str:
        """The canonical manifest text whose sha256 is this folder's hash."""
        if self.manifest is None:
            raise UsageError(f"The artifact {self.hash} is a file; only a folder has a manifest.")
        return canonical_json(self.manifest)


def hash_path(path: str | os.PathLike[str], cache: "HashCache | None" = None) -> HashedPath:
    """Hash a file (sha256 of its bytes) or a folder (sha256 of its canonical manifest)."""
    root = Path(path)
    try:
        info = root.stat()
    except FileNotFoundError:
        raise UsageError(f"Cannot hash {str(root)!r}: it does not exist.") from None
    if stat.S_ISREG(info.st_mode):
        return HashedPath(hash=_hash_one(root, info, cache), kind="file", size=info.st_size)
    if not stat.S_ISDIR(info.st_mode):
        raise UsageError(f"Cannot hash {str(root)!r}: it is neither a file nor a folder.")
    entries: dict[str, dict[str, Any]] = {}
    files: dict[str, Path] = {}
    for relative, file_path, file_info in _walk_files(root):
        entries[relative] = {"hash": _hash_one(file_path, file_info, cache), "size": file_info.st_size}
        files[relative] = file_path
    manifest = {"files": entries}
    return HashedPath(
        hash=sha256_text(canonical_json(manifest)),
        kind="dir",
        size=sum(entry["size"] for entry in entries.values()),
        manifest=manifest,
        files=files,
    )


def _walk_files(root: Path):
    """Yield (relative posix path, path, stat) for every file under root, following symlinks, sorted."""
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=_raise):
        folder_info = os.stat(dirpath)
        if (folder_info.st_dev, folder_info.st_ino) in seen:
            raise UsageError(f"Cannot hash {str(root)!r}: the folder {dirpath!r} is reached twice (a symlink loop).")
        seen.add((folder_info.st_dev, folder_info.st_ino))
        dirnames.sort()
        for name in sorted(filenames):
            file_path = Path(dirpath) / name
            info = file_path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise UsageError(f"Cannot hash {str(file_path)!r}: it is not a regular file.")
            yield file_path.relative_to(root).as_posix(), file_path, info


def _hash_one(path: Path, info: os.stat_result, cache: "HashCache | None") -> str:
    if cache is None:
        return hash_file(path)
    known = cache.lookup(path, info)
    if known is not None:
        return known
    digest = hash_file(path)
    # Remember only when the file did not change while we read it (nor moved to another device),
    # and changed long enough ago that its signature vouches for what we read.
    after = path.stat()
    signature = FileSignature.of_stat(after)
    if signature == FileSignature.of_stat(info) and after.st_dev == info.st_dev and settled(signature, time.time()):
        cache.remember(path, after, digest)
    return digest


class HashCache:
    """(absolute path, size, mtime_ns, ctime_ns, inode) -> sha256, in sqlite; safe across threads and processes.

    Its own sqlite table, not JSON entries: one row per file of every hashed input, looked up one by
    one while hashing and written by many step processes at once.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else folders.in_project(find_project_root(), "hashes.sqlite")
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._pid = 0

    def lookup(self, path: str | os.PathLike[str], info: os.stat_result) -> str | None:
        """The remembered hash of the file at `path` when `info` still matches, else None."""
        signature = FileSignature.of_stat(info)
        with self._lock:
            row = self._connect().execute(
                "SELECT hash FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ? AND ctime_ns = ? AND inode = ?",
                (str(Path(path).absolute()), signature.size, signature.mtime_ns, signature.ctime_ns, signature.inode),
            ).fetchone()
        return row[0] if row else None

    def remember(self, path: str | os.PathLike[str], info: os.stat_result, digest: str) -> None:
        """Record that the file at `path`, as described by `info`, hashes to `digest`."""
        signature = FileSignature.of_stat(info)
        with self._lock:
            self._connect().execute(
                "INSERT OR REPLACE INTO hashes (path, size, mtime_ns, ctime_ns, inode, hash) VALUES (?, ?, ?, ?, ?, ?)",
                (str(Path(path).absolute()), signature.size, signature.mtime_ns, signature.ctime_ns, signature.inode,
                 digest),
            )

    def close(self) -> None:
        """Close the database connection (it reopens on next use)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _connect(self) -> sqlite3.Connection:
        # A connection must not cross a fork: a child process opens its own.
        if self._connection is None or self._pid != os.getpid():
            self._connection, self._pid = open_cache_database(self.path, _HASHES_TABLE), os.getpid()
        return self._connection


_HASHES_TABLE = ("CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                 "ctime_ns INTEGER, inode INTEGER, hash TEXT)")


def _raise(error: OSError) -> None:
    raise error
