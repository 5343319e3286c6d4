"""A store in a local folder: every write is a temp file renamed (or hard-linked) into place."""
from __future__ import annotations

import fcntl
import os
import stat as stat_module
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from durapipe.core.errors import NotFoundError, StoreError
from durapipe.store.base import CHUNK_SIZE, KeyInfo, Store, check_key, check_prefix, check_range

_TEMP_PREFIX = "."  # keys never start with '.', so temp files can never be listed as keys


class LocalStore(Store):
    """A store rooted at a local folder; safe for concurrent writers in many processes."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().absolute()
        with self._errors("open", None):
            self.root.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def describe(self) -> str:
        return f"local folder {self.root}"

    def get(self, key: str) -> bytes:
        path = self._path(key)
        with self._errors("read", key):
            with open(path, "rb") as stream:
                return stream.read()

    def get_with_etag(self, key: str) -> tuple[bytes, str]:
        path = self._path(key)
        with self._errors("read", key):
            with open(path, "rb") as stream:
                # An open file keeps its version: a writer renames a new file into place, never writes in it.
                info = os.fstat(stream.fileno())
                return stream.read(), _etag(info)

    def etags(self, keys: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        # Plain strings, not Path objects: a plan checks a few thousand keys at once.
        root, root_present = os.path.join(str(self.root), ""), False
        for key in keys:
            try:
                info = os.stat(root + check_key(key))
            except (FileNotFoundError, NotADirectoryError) as error:
                if not root_present:
                    # An absent key is left out, but only from a store that is there (else an outage raises).
                    with self._errors("stat", key):
                        if not self.root.is_dir():
                            raise error
                    root_present = True
                continue
            except OSError as error:
                with self._errors("stat", key):
                    raise error
            if stat_module.S_ISREG(info.st_mode):
                found[key] = _etag(info)
        return found

    def read_chunks(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        with self._errors("read", key):
            stream = open(path, "rb")
        return self._iter_file(stream, key)

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        check_range(key, start, length)
        path = self._path(key)
        with self._errors("read", key):
            stream = open(path, "rb")
        stream.seek(start)
        return self._iter_file(stream, key, length)

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> bool:
        return self.put_with_etag(key, data, if_absent=if_absent, if_match=if_match) is not None

    def put_with_etag(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> str | None:
        written: list[str] = []

        def fill(out: BinaryIO) -> None:
            out.write(data)
            out.flush()
            # The file keeps its inode and mtime when it is linked or renamed into place: this is its etag there.
            written.append(_etag(os.fstat(out.fileno())))

        if if_match is not None:
            done = self._write_if_match(key, fill, if_match)
        else:
            done = self._write(key, fill, if_absent)
        return written[0] if done else None

    def _write_if_match(self, key: str, fill, etag: str) -> bool:
        """Replace `key` only while its etag is `etag`."""
        path = self._path(key)
        with self._errors("write", key, reading=False):
            path.parent.mkdir(parents=True, exist_ok=True)
            return _while_etag(path, etag, lambda: self._write(key, fill, False))

    def upload_stream(self, key: str, stream: BinaryIO, size: int, *, if_absent: bool = False) -> bool:
        return self._write(key, lambda out: _copy_exactly(stream, out, size, key), if_absent)

    def exists(self, key: str) -> bool:
        path = self._path(key)
        try:
            with self._errors("check", key):
                return stat_module.S_ISREG(os.stat(path).st_mode)
        except NotFoundError:
            return False

    def stat(self, key: str) -> KeyInfo:
        path = self._path(key)
        with self._errors("stat", key):
            info = os.stat(path)
        if not stat_module.S_ISREG(info.st_mode):
            raise NotFoundError(f"The key {key!r} is not in the {self.describe()}.")
        return KeyInfo(
            size=info.st_size,
            etag=_etag(info),
            modified=datetime.fromtimestamp(info.st_mtime_ns / 1e9, tz=timezone.utc),
        )

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            with self._errors("delete", key):
                os.unlink(path)
        except NotFoundError:
            pass

    def delete_if_match(self, key: str, etag: str) -> bool:
        path = self._path(key)
        with self._errors("delete", key, reading=False):
            if not path.parent.is_dir():
                if self.root.is_dir():
                    return False  # never stored; a missing store folder is an outage, raised below
                raise FileNotFoundError(self.root)
            return _while_etag(path, etag, lambda: _unlinked(path))

    def list(self, prefix: str = "") -> Iterator[str]:
        check_prefix(prefix)
        # Walk only the deepest folder the prefix names in full, then filter by the rest.
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        top = self.root / folder if folder else self.root
        keys: list[str] = []
        with self._errors("list", prefix, reading=False):
            if not self.root.is_dir():
                raise FileNotFoundError(self.root)
            if not top.is_dir():
                return iter(())
            for dirpath, dirnames, filenames in os.walk(top, onerror=_raise):
                dirnames[:] = [d for d in dirnames if not d.startswith(_TEMP_PREFIX)]
                relative = Path(dirpath).relative_to(self.root).as_posix()
                base = "" if relative == "." else relative + "/"
                keys.extend(
                    base + name for name in filenames
                    if not name.startswith(_TEMP_PREFIX) and (base + name).startswith(prefix)
                )
        return iter(sorted(keys))

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _write(self, key: str, fill, if_absent: bool) -> bool:
        path = self._path(key)
        with self._errors("write", key, reading=False):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX + path.name[:40] + ".", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as out:
                    fill(out)
                    out.flush()
                    # A crash must never leave a renamed but empty file that reads as a valid record.
                    os.fsync(out.fileno())
                if not if_absent:
                    os.replace(temp, path)
                    return True
                try:
                    # link() fails when the name exists, atomically, across processes: one writer wins.
                    os.link(temp, path)
                    return True
                except FileExistsError:
                    return False
            finally:
                _unlink_missing_ok(temp)

    def _iter_file(self, stream: BinaryIO, key: str, limit: int | None = None) -> Iterator[bytes]:
        left = limit
        with stream, self._errors("read", key):
            while chunk := stream.read(CHUNK_SIZE if left is None else min(CHUNK_SIZE, left)):
                yield chunk
                if left is not None:
                    left -= len(chunk)

    @contextmanager
    def _errors(self, action: str, key: str | None, *, reading: bool = True) -> Iterator[None]:
        """Turn OS errors into NotFoundError (a key missing from a present store) or StoreError."""
        try:
            yield
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as error:
            root_ok = self.root.is_dir()
            if reading and key is not None and root_ok:
                raise NotFoundError(f"The key {key!r} is not in the {self.describe()}.") from error
            reason = "part of its path is held by another key" if root_ok else "the store folder is missing or is not a folder"
            raise StoreError(f"Could not {action} {_what(action, key)} in the {self.describe()}: {reason}.") from error
        except OSError as error:
            raise StoreError(
                f"Could not {action} {_what(action, key)} in the {self.describe()}: {error.strerror or error}."
            ) from error


def _etag(info: os.stat_result) -> str:
    # Every write renames a new file into place, so the inode alone changes on each write; mtime and size guard reuse.
    return f'"{info.st_ino:x}-{info.st_mtime_ns:x}-{info.st_size:x}"'


def _what(action: str, key: str | None) -> str:
    if key is None:
        return "the store"
    return f"the keys under {key!r}" if action == "list" else f"the key {key!r}"


def _copy_exactly(source: BinaryIO, out: BinaryIO, size: int, key: str) -> None:
    remaining = size
    while remaining > 0:
        chunk = source.read(min(CHUNK_SIZE, remaining))
        if not chunk:
            raise StoreError(f"The upload of {key!r} ended after {size - remaining} of {size} bytes.")
        out.write(chunk)
        remaining -= len(chunk)


def _while_etag(path: Path, etag: str, then: Callable[[], bool]) -> bool:
    """`then()` while the file at `path` has `etag`, else False. Conditional writers and deleters of one key
    serialise on its lock file, so a replace and a delete never interleave."""
    with open(path.parent / f"{_TEMP_PREFIX}{path.name}.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            try:
                if _etag(os.stat(path)) != etag:
                    return False
            except FileNotFoundError:
                return False
            return then()
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _unlinked(path: Path) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def _unlink_missing_ok(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _raise(error: OSError) -> None:
    raise error
