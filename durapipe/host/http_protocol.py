"""aiohttp's connection handler, held to the serve front's rules for what never reaches a request handler.

- Any method token is a method, as in http.server: aiohttp's C parser (llhttp) refuses names it does not
  know (BREW) before the key check could answer, so connections parse with aiohttp's pure-Python parser.
- A request too malformed to parse gets the front's JSON sentence, never aiohttp's text page, and never
  an echo of its request line (it may carry `?code=KEY`).
- A client that half-closes has sent all it will: a body short of its Content-Length ends there, so the
  handler answers 400 rather than the connection being dropped unanswered.

It relies on aiohttp internals (RequestHandler, its `_parser`, the parser's `_payload_parser`): the
dependency is pinned below aiohttp 4, and tests/host/serve/test_http.py exercises each rule.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import (BadHttpMethod, BadStatusLine, ContentLengthError, HttpProcessingError,
                                     InvalidHeader, LineTooLong, TransferEncodingError)
from aiohttp.http_parser import HttpRequestParserPy
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

log = logging.getLogger(__name__)


def malformed_sentence(exc: BaseException | None) -> str:
    """What is wrong with a request the parser refused, in one sentence that quotes none of it."""
    text = getattr(exc, "message", "") or ""
    if "Content-Length" in text and "Duplicate" in text:
        # Two lengths are how a request is smuggled past a proxy that reads the other one.
        return "The request has more than one Content-Length header; send one."
    if isinstance(exc, InvalidHeader) and "Content-Length" in text:
        return "The Content-Length header is not a number."
    if isinstance(exc, ContentLengthError):
        return "The request body is shorter than its Content-Length header announces."
    if isinstance(exc, TransferEncodingError) or "Transfer-Encoding" in text:
        return "The request's Transfer-Encoding cannot be read; send the body with a Content-Length header."
    if isinstance(exc, LineTooLong):
        return f"The request is malformed: a line of it is longer than {exc.args[1] if len(exc.args) > 1 else 'the limit'} bytes."
    if isinstance(exc, BadHttpMethod):
        return "The request is malformed: its method is not a valid token."
    if isinstance(exc, BadStatusLine):
        return "The request is malformed: its request line is not METHOD TARGET HTTP/1.x."
    if isinstance(exc, InvalidHeader):
        return "The request is malformed: a header of it is not valid."
    return "The request is malformed: it is not an HTTP/1.x request this server can read."


class FrontConnection(RequestHandler):
    """One client connection of the serve front (see the module docstring for what it changes)."""

    def __init__(self, manager: web.Server, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._parser = HttpRequestParserPy(
            self, self._loop, self._read_bufsize, max_line_size=self.max_line_size,
            max_field_size=self.max_field_size, max_headers=self.max_headers,
            payload_exception=RequestPayloadError, auto_decompress=False)

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # Part of a response went out: the connection cannot carry an answer any more.
            raise ConnectionError("the response was already under way")
        if isinstance(exc, HttpProcessingError) or status != 500:
            log.debug("refused a malformed request (%s)", type(exc).__name__ if exc else status)
            sentence = malformed_sentence(exc)
        else:
            log.error("serving a request failed", exc_info=exc)
            sentence = "The local host failed to serve the request."
        response = web.Response(status=status, body=json.dumps({"error": sentence}).encode(),
                                content_type="application/json")
        response.force_close()
        return response

    def eof_received(self) -> bool:
        body = getattr(self._parser, "_payload_parser", None)
        if body is not None:
            body.payload.feed_eof()  # nothing more will come: a short body ends here
        self.close()  # answer what was asked, then close
        return True  # keep the sending half open for that answer


class FrontServer(web.Server):
    """aiohttp's low-level server, its connections FrontConnections."""

    def __call__(self) -> RequestHandler:
        return FrontConnection(self, loop=self._loop, **self._kwargs)
