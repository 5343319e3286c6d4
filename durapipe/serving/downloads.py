"""Downloads over the HTTP API: a body streamed from the store with its length, or the one byte range asked for.

The response is a StreamedHttpResponse: the serve front sends it chunk by chunk, so a download of any size
holds a chunk or two in memory; the Azure Functions worker holds a response body whole, so there a download
is read into memory (a Range request keeps that to the range).
"""
from __future__ import annotations

import json
import re
import tempfile
import zipfile
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Mapping

import azure.functions as func

from durapipe.core.errors import shown
from durapipe.host.streamed_response import StreamedHttpResponse

if TYPE_CHECKING:
    from durapipe.store.base import Store

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
READ_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Download:
    """A file to send: its name, its size, and how to read `length` bytes of it from `start` as chunks."""

    name: str
    size: int
    read: Callable[[int, int], Iterator[bytes]]


class UnsatisfiableRange(Exception):
    """The Range header asks only for bytes past the end."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte, inclusive, of the one range `header` asks for in `size` bytes; None to send them all
    (no header, another unit, several ranges or a malformed one, which RFC 9110 lets a server ignore);
    UnsatisfiableRange when it starts past the end (or asks for the last 0 bytes)."""
    found = _RANGE.fullmatch((header or "").strip())
    if found is None or not (found.group(1) or found.group(2)):
        return None
    first, last = found.group(1), found.group(2)
    if not first:  # a suffix: the last N bytes
        if int(last) == 0 or size == 0:
            raise UnsatisfiableRange()
        return max(0, size - int(last)), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise UnsatisfiableRange()
    return start, min(end, size - 1)


def download_response(download: Download, range_header: str | None, *, mimetype: str, charset: str | None = None,
                      headers: Mapping[str, str] | None = None) -> func.HttpResponse:
    """200 with the whole file, 206 with the range asked for, or 416 naming the size; each says it takes ranges."""
    sent = {"Accept-Ranges": "bytes", **(headers or {})}
    try:
        span = byte_range(range_header, download.size)
    except UnsatisfiableRange:
        message = (f"The range {shown((range_header or '').strip(), 60)} asks for bytes past the end of "
                   f"{download.name}, which has {download.size} bytes.")
        return func.HttpResponse(json.dumps({"error": message}), status_code=416, mimetype="application/json",
                                 headers={**sent, "Content-Range": f"bytes */{download.size}"})
    if span is None:
        return StreamedHttpResponse(lambda: download.read(0, download.size), download.size, mimetype=mimetype,
                                    charset=charset, headers=sent)
    start, end = span
    return StreamedHttpResponse(lambda: download.read(start, end - start + 1), end - start + 1, status_code=206,
                                mimetype=mimetype, charset=charset,
                                headers={**sent, "Content-Range": f"bytes {start}-{end}/{download.size}"})


def artifact_file(store: Store, name: str, ref: dict[str, Any]) -> Download:
    """A file artifact as a Download read from the store (checked to be stored, with its size, before)."""
    from durapipe.store.artifacts import artifact_chunks, check_stored_artifact

    check_stored_artifact(store, ref)
    return Download(name, ref["size"], lambda start, length: artifact_chunks(store, ref, start, length))


def folder_zip(store: Store, name: str, ref: dict[str, Any]) -> Download:
    """A folder artifact as a zip of its files, written to a temporary file (every file verified as it is read)."""
    from durapipe.store.artifacts import artifact_chunks, artifact_manifest

    manifest = artifact_manifest(store, ref)
    archive_file = tempfile.TemporaryFile(prefix="durapipe-download-", suffix=".zip")
    try:
        with zipfile.ZipFile(archive_file, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, info in sorted(manifest["files"].items()):
                part = {"hash": info["hash"], "kind": "file", "size": info["size"]}
                with archive.open(path, "w", force_zip64=info["size"] >= zipfile.ZIP64_LIMIT) as entry:
                    for chunk in artifact_chunks(store, part):
                        entry.write(chunk)
        size = archive_file.seek(0, 2)
    except BaseException:
        archive_file.close()
        raise
    return Download(f"{name}.zip", size, lambda start, length: _file_range(archive_file, start, length))


def _file_range(stream: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    # The zip is sent once: its temporary file (already unlinked) is closed when the last chunk is out.
    with stream:
        stream.seek(start)
        left = length
        while left > 0 and (chunk := stream.read(min(READ_SIZE, left))):
            left -= len(chunk)
            yield chunk

