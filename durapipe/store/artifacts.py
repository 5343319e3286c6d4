"""Content-addressed artifacts (files and folders) on any store, verified on every read.

A read that finds content not matching its hash (or a folder missing a file) moves the bad object
aside to `quarantine/` before it raises: the artifact is then absent, so the step record that names
it no longer counts (records.find_step_record), and the run that needs it has its producer make it
again (a step that reads it fails with `InputLost`, which the orchestrator rewinds); storing the same
content again uploads it afresh.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from durapipe.core.errors import IntegrityError, NotFoundError, UsageError
from durapipe.store.hashing import HashCache, hash_path
from durapipe.core.files import write_file_atomically
from durapipe.store.base import Store
from durapipe.store.keys import ARTIFACTS as ARTIFACT_PREFIX
from durapipe.store.keys import artifact_key
from durapipe.store.quarantine import quarantine

__all__ = ["ARTIFACT_PREFIX", "artifact_key"]  # re-exported from durapipe/store/keys.py
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")
KINDS = ("file", "dir")
# Manifest paths are relative and '/'-separated; backslashes and control characters never reach a disk path.
_UNSAFE_PATH_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")
# Folders upload and download their files in parallel: blob round trips dominate small files.
PARALLEL_FILES = 8


def check_ref(ref: Any) -> dict[str, Any]:
    """Return `ref` when it is a valid artifact reference {"hash", "kind", "size"}, else raise UsageError."""
    if (
        not isinstance(ref, dict)
        or not isinstance(ref.get("hash"), str)
        or not HASH_PATTERN.fullmatch(ref["hash"])
        or ref.get("kind") not in KINDS
        or not isinstance(ref.get("size"), int)
        or isinstance(ref.get("size"), bool)
        or ref["size"] < 0
    ):
        raise UsageError(f"The artifact reference {ref!r} is not valid: it needs a sha256 'hash', a 'kind' of file or dir, and a 'size'.")
    return ref


def put_artifact(store: Store, path: str | os.PathLike[str], *, cache: HashCache | None = None) -> dict[str, Any]:
    """Hash a file or folder and upload what the store lacks; return its artifact reference."""
    hashed = hash_path(path, cache)
    if hashed.kind == "file":
        _upload_verified(store, hashed.hash, Path(path), hashed.size)
        return hashed.ref
    unique = {entry["hash"]: (hashed.files[name], entry["size"]) for name, entry in hashed.manifest["files"].items()}
    with ThreadPoolExecutor(PARALLEL_FILES) as pool:
        list(pool.map(lambda item: _upload_verified(store, item[0], *item[1]), unique.items()))
    # The manifest goes last, so a stored folder artifact always has all its files.
    put_manifest_bytes(store, hashed.hash, hashed.manifest_json().encode("utf-8"))
    return hashed.ref


def put_manifest_bytes(store: Store, digest: str, data: bytes) -> None:
    """Store a folder manifest under its hash, replacing a corrupt one found there (content-addressed:
    whatever else is stored under that key is wrong)."""
    key = artifact_key(digest)
    if store.put(key, data, if_absent=True):
        return
    try:
        if store.get(key) == data:
            return
    except NotFoundError:
        pass
    else:
        quarantine(store, key, "its content does not hash to its key")
    store.put(key, data)


def get_artifact(store: Store, ref: dict[str, Any], dest: str | os.PathLike[str]) -> None:
    """Download an artifact to `dest` (a file or a folder), verifying every byte; `dest` appears whole or not at all."""
    check_ref(ref)
    dest = Path(dest)
    if ref["kind"] == "file":
        _download_verified(store, ref["hash"], ref["size"], dest)
        return
    manifest = artifact_manifest(store, ref)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"Cannot download the folder artifact {ref['hash']} to {str(dest)!r}: it already exists and is not an empty folder.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name[:40]}.", suffix=".tmp", dir=dest.parent))
    try:
        with ThreadPoolExecutor(PARALLEL_FILES) as pool:
            list(pool.map(
                lambda item: _download_verified(store, item[1]["hash"], item[1]["size"], staging / item[0]),
                manifest["files"].items(),
            ))
        os.replace(staging, dest)
    except (IntegrityError, NotFoundError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        # The folder cannot be read whole: set its manifest aside too, so the folder counts as absent
        # and its producer runs again (re-uploading the files it lacks).
        quarantine(store, artifact_key(ref["hash"]), f"a file of the folder could not be read: {exc}")
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def read_artifact_bytes(store: Store, ref: dict[str, Any]) -> bytes:
    """The verified bytes of a (small) file artifact."""
    check_ref(ref)
    if ref["kind"] != "file":
        raise UsageError(f"The artifact {ref['hash']} is a folder; read its files with get_artifact.")
    data = _get(store, ref["hash"])
    try:
        _verify(ref["hash"], hashlib.sha256(data).hexdigest(), len(data), ref["size"])
    except IntegrityError as exc:
        raise _quarantined(store, ref["hash"], exc) from None
    return data


def check_stored_artifact(store: Store, ref: dict[str, Any]) -> None:
    """Return when the file artifact `ref` is stored with its size; NotFoundError when it is not stored, IntegrityError
    (after moving it to quarantine/) when it has another size."""
    check_ref(ref)
    if ref["kind"] != "file":
        raise UsageError(f"The artifact {ref['hash']} is a folder; read its files with get_artifact.")
    try:
        stored = store.stat(artifact_key(ref["hash"])).size
    except NotFoundError:
        raise NotFoundError(f"The artifact {ref['hash']} is not in the {store.describe()}.") from None
    if stored != ref["size"]:
        raise _quarantined(store, ref["hash"], IntegrityError(
            f"The stored artifact {ref['hash']} is corrupt: it has {stored} bytes, expected {ref['size']} bytes"))


def artifact_chunks(store: Store, ref: dict[str, Any], start: int = 0, length: int | None = None) -> Iterator[bytes]:
    """`length` bytes (default: to its end) of the file artifact `ref` from offset `start`, as a stream of chunks.

    Checked before the first chunk as check_stored_artifact does. A whole read is verified as it streams: content
    not matching its hash raises IntegrityError after the last chunk, and the artifact is moved to quarantine/;
    a part is not hashed (that takes every byte), its size was checked.
    """
    check_stored_artifact(store, ref)
    key, size = artifact_key(ref["hash"]), ref["size"]
    if start == 0 and (length is None or length >= size):
        return _quarantining(store, ref["hash"], _verified(store.read_chunks(key), ref["hash"], size))
    return store.read_range(key, start, max(0, size - start) if length is None else length)


def _quarantining(store: Store, digest: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except IntegrityError as exc:
        raise _quarantined(store, digest, exc) from None


def artifact_manifest(store: Store, ref: dict[str, Any]) -> dict[str, Any]:
    """The verified manifest {"files": {relative path: {"hash", "size"}}} of a folder artifact."""
    check_ref(ref)
    if ref["kind"] != "dir":
        raise UsageError(f"The artifact {ref['hash']} is a file; only a folder has a manifest.")
    data = _get(store, ref["hash"])
    actual = hashlib.sha256(data).hexdigest()
    if actual != ref["hash"]:
        raise _quarantined(store, ref["hash"], IntegrityError(
            f"The stored manifest of folder artifact {ref['hash']} is corrupt: its content hashes to {actual}"))
    try:
        manifest = json.loads(data)
        _check_manifest(manifest)
    except (ValueError, UnicodeDecodeError, TypeError) as error:
        raise _quarantined(store, ref["hash"], IntegrityError(
            f"The stored manifest of folder artifact {ref['hash']} is not valid: {error}")) from error
    return manifest


def _quarantined(store: Store, digest: str, error: IntegrityError) -> IntegrityError:
    """Move the corrupt artifact aside and return the error to raise, saying so."""
    where = quarantine(store, artifact_key(digest), str(error))
    # Not who makes it again: a run has the step that made it do so (or says why it cannot), and a run input
    # or data version is stored afresh by whatever gives it again.
    return IntegrityError(f"{str(error).rstrip('.')}; it was moved to {where}.")


def _check_manifest(manifest: Any) -> None:
    """Reject a manifest that could write outside the destination folder or that names a bad hash."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ValueError("it has no 'files' map")
    for name, entry in manifest["files"].items():
        parts = name.split("/")
        if _UNSAFE_PATH_CHARS.search(name) or any(part in {"", ".", ".."} for part in parts):
            raise ValueError(f"the path {name!r} is not a safe relative path")
        if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str) or not HASH_PATTERN.fullmatch(entry["hash"]):
            raise ValueError(f"the entry {name!r} has no valid hash")
        if not isinstance(entry.get("size"), int) or entry["size"] < 0:
            raise ValueError(f"the entry {name!r} has no valid size")


def _get(store: Store, digest: str) -> bytes:
    try:
        return store.get(artifact_key(digest))
    except NotFoundError:
        raise NotFoundError(f"The artifact {digest} is not in the {store.describe()}.") from None


def _upload_verified(store: Store, digest: str, path: Path, size: int) -> None:
    key = artifact_key(digest)
    try:
        stored = store.stat(key).size
    except NotFoundError:
        stored = None
    if stored == size:
        return
    if stored is not None:
        # Content-addressed: a stored object of another size under this hash is corrupt; replace it.
        quarantine(store, key, f"it has {stored} bytes, expected {size}")
    with open(path, "rb") as stream:
        # Hash again while uploading: a file changed since it was hashed must not be stored under the old hash.
        store.upload_stream(key, _HashingReader(stream, digest, size, str(path)), size, if_absent=True)


def _download_verified(store: Store, digest: str, size: int, dest: Path) -> None:
    try:
        chunks = store.read_chunks(artifact_key(digest))
    except NotFoundError:
        raise NotFoundError(f"The artifact {digest} is not in the {store.describe()}.") from None
    try:
        write_file_atomically(dest, _verified(chunks, digest, size))
    except IntegrityError as exc:
        raise _quarantined(store, digest, exc) from None


def _verified(chunks: Iterator[bytes], digest: str, size: int) -> Iterator[bytes]:
    """`chunks`, then IntegrityError after the last one unless they hash to `digest` and `size`."""
    hasher, received = hashlib.sha256(), 0
    for chunk in chunks:
        hasher.update(chunk)
        received += len(chunk)
        yield chunk
    _verify(digest, hasher.hexdigest(), received, size)


def _verify(digest: str, actual: str, received: int, size: int) -> None:
    if actual != digest or received != size:
        raise IntegrityError(
            f"The stored artifact {digest} is corrupt: it has {received} bytes hashing to {actual}, "
            f"expected {size} bytes."
        )


class _HashingReader:
    """A read-only stream that fails the upload when the bytes read differ from the expected hash and size."""

    def __init__(self, stream: BinaryIO, digest: str, size: int, name: str) -> None:
        self._stream, self._digest, self._size, self._name = stream, digest, size, name
        self._hasher, self._read = hashlib.sha256(), 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._hasher.update(data)
        self._read += len(data)
        # Check when the expected length is reached: uploaders that know the length never read to EOF.
        if self._read > self._size or (self._read == self._size and self._hasher.hexdigest() != self._digest) or (
            not data and size != 0 and self._read < self._size
        ):
            raise IntegrityError(f"The file {self._name!r} changed while it was uploaded as artifact {self._digest}.")
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False
