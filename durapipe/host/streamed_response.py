"""An HTTP response whose body is read in chunks as it is sent: the serve front streams it; the Azure Functions
worker, which holds every response body whole, reads it with get_body()."""
from __future__ import annotations

from typing import Callable, Iterator, Mapping

import azure.functions as func


class StreamedHttpResponse(func.HttpResponse):
    """An HttpResponse of `length` bytes that `chunks()` yields when the response is sent (never before)."""

    def __init__(self, chunks: Callable[[], Iterator[bytes]], length: int, *, status_code: int = 200,
                 headers: Mapping[str, str] | None = None, mimetype: str | None = None,
                 charset: str | None = None) -> None:
        super().__init__(None, status_code=status_code, headers=headers, mimetype=mimetype, charset=charset)
        self._chunks = chunks
        self.length = length

    def chunks(self) -> Iterator[bytes]:
        """The body, chunk by chunk, read from its source now; raises when the source fails or is corrupt."""
        return self._chunks()

    def get_body(self) -> bytes:
        """The whole body (how a host that cannot stream reads it)."""
        return b"".join(self._chunks())
