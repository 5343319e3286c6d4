"""The store protocol every backend implements, and the validation of store keys."""
from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator

from durapipe.core.errors import InvalidNameError, NotFoundError
from durapipe.core.files import write_file_atomically

CHUNK_SIZE = 4 * 1024 * 1024
MAX_KEY_LENGTH = 1024
# Control characters and backslashes never reach a key: they confuse paths, logs and URLs.
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True)
class KeyInfo:
    """What a store knows about one stored key."""

    size: int
    etag: str
    modified: datetime


def check_key(key: object) -> str:
    """Return `key` when it is a relative '/'-separated store key, else raise InvalidNameError."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidNameError(f"The store key {key!r} is not valid: it must be 1 to {MAX_KEY_LENGTH} characters.")
    _check_key_text(key, key)
    return key


def check_prefix(prefix: object) -> str:
    """Return `prefix` when it is '' or the start of a valid key, else raise InvalidNameError."""
    if not isinstance(prefix, str) or len(prefix) > MAX_KEY_LENGTH:
        raise InvalidNameError(f"The store prefix {prefix!r} is not valid: it must be a string of at most {MAX_KEY_LENGTH} characters.")
    if prefix:
        # A prefix may end with '/' (a folder) or stop mid-name.
        _check_key_text(prefix[:-1] if prefix.endswith("/") else prefix, prefix)
    return prefix


def _check_key_text(text: str, shown: str) -> None:
    if _FORBIDDEN_CHARS.search(text):
        raise InvalidNameError(f"The store key {shown!r} is not valid: it contains a control character or a backslash.")
    for part in text.split("/"):
        if not part:
            raise InvalidNameError(f"The store key {shown!r} is not valid: it must be relative, with no empty part between '/'.")
        if part.startswith("."):
            # Leading dots would allow '.' and '..' and would collide with the local store's temp files.
            raise InvalidNameError(f"The store key {shown!r} is not valid: no part may start with '.'.")


class Store(ABC):
    """A flat key -> bytes store; outages raise StoreError, never look like a missing key."""

    @property
    @abstractmethod
    def url(self) -> str:
        """The URL `open_store` reopens this store from, without any secret."""

    @abstractmethod
    def describe(self) -> str:
        """A short human description of where this store keeps its data."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes under `key`; raises NotFoundError when absent."""

    @abstractmethod
    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> bool:
        """Store `data` under `key`; return False (and write nothing) when if_absent and it exists, or when
        `if_match` is given and the stored etag differs (or the key is gone)."""

    @abstractmethod
    def put_with_etag(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> str | None:
        """As `put`, returning the etag of exactly the version written; None (and nothing written) when the condition fails."""

    @abstractmethod
    def get_with_etag(self, key: str) -> tuple[bytes, str]:
        """The bytes under `key` and the etag of exactly that version (for `put(if_match=...)`); raises NotFoundError when absent."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether `key` is stored."""

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """The stored keys starting with `prefix`, sorted."""

    @abstractmethod
    def stat(self, key: str) -> KeyInfo:
        """Size, etag and modification time of `key`; raises NotFoundError when absent."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; succeeds when it is already gone."""

    @abstractmethod
    def delete_if_match(self, key: str, etag: str) -> bool:
        """Remove `key` only while its etag is `etag`; False (and nothing removed) when it changed or is gone."""

    @abstractmethod
    def read_chunks(self, key: str) -> Iterator[bytes]:
        """The bytes under `key` as a stream of chunks; raises NotFoundError when absent."""

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        """`length` bytes of `key` from offset `start` (fewer where it ends first) as a stream of chunks; raises
        NotFoundError when absent. This default reads past what precedes `start`; a store overrides it to seek."""
        check_range(key, start, length)
        return _sliced(self.read_chunks(key), start, length)

    @abstractmethod
    def upload_stream(self, key: str, stream: BinaryIO, size: int, *, if_absent: bool = False) -> bool:
        """Store exactly `size` bytes read from `stream` under `key`, streamed; if_absent as in put."""

    def etags(self, keys: list[str]) -> dict[str, str]:
        """The current etag of each of `keys` that is stored (absent keys left out), in as few requests as the store allows."""
        found: dict[str, str] = {}
        for key in keys:
            try:
                found[key] = self.stat(key).etag
            except NotFoundError:
                continue
        return found

    def get_version(self, key: str, etag: str) -> bytes | None:
        """The bytes of the version `etag` of `key`, or None when `key` holds another version or none."""
        try:
            return b"".join(self._version_chunks(key, etag))
        except (NotFoundError, _OtherVersion):
            return None

    def download_version(self, key: str, etag: str, path: str | os.PathLike[str]) -> bool:
        """Write the version `etag` of `key` to `path`, streamed, and return True; False, writing nothing, when
        `key` holds another version or none."""
        try:
            write_file_atomically(Path(path), self._version_chunks(key, etag))
        except (NotFoundError, _OtherVersion):
            return False
        return True

    def _version_chunks(self, key: str, etag: str) -> Iterator[bytes]:
        # Read, then check: a writer in place (a file copied into a folder store) changes the etag as it writes,
        # and every write changes it, so the same etag before and after the read means nothing was written between.
        if self.stat(key).etag != etag:
            raise _OtherVersion()
        yield from self.read_chunks(key)
        if self.stat(key).etag != etag:
            raise _OtherVersion()

    def upload_file(self, key: str, path: str | os.PathLike[str], *, if_absent: bool = False) -> bool:
        """Store the file at `path` under `key`, streamed; if_absent as in put."""
        with open(path, "rb") as stream:
            return self.upload_stream(key, stream, os.fstat(stream.fileno()).st_size, if_absent=if_absent)

    def download_file(self, key: str, path: str | os.PathLike[str]) -> None:
        """Write `key` to `path`, streamed; `path` is replaced whole or left untouched."""
        write_file_atomically(Path(path), self.read_chunks(check_key(key)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


def check_range(key: str, start: int, length: int) -> None:
    """Refuse a byte range of `key` that starts or runs negative."""
    if start < 0 or length < 0:
        raise ValueError(f"A range of the key {key!r} starts at {start} for {length} bytes; neither may be negative.")


def _sliced(chunks: Iterator[bytes], start: int, length: int) -> Iterator[bytes]:
    skip, left = start, length
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        piece = chunk[skip:skip + left]
        skip, left = 0, left - len(piece)
        if piece:
            yield piece
        if not left:
            return


class _OtherVersion(Exception):
    """A read by etag found another version of the key (or saw it change while reading)."""
