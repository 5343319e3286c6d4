"""The serve HTTP server: the app's HTTP routes behind the function key and the durable rpc endpoints behind
the durable extension's system key, on 127.0.0.1, served by aiohttp's server (durapipe/host/http_protocol.py)."""
from __future__ import annotations

import asyncio
import base64
import binascii
import html
import json
import logging
import re
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func
from aiohttp import HttpVersion11, web

from durapipe.host.app_loader import FunctionInfo, LoadedApp
from durapipe.host.function_key import KEY_COOKIE, key_matches
from durapipe.host.http_protocol import FrontServer
from durapipe.host.rpc import RPC_PREFIX
from durapipe.host.streamed_response import StreamedHttpResponse

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_ROUTE_PREFIX = "api"
KEY_HEADER = "x-functions-key"
SIGN_IN = ("A valid function key is required: open this address with ?code=KEY added (the key `durapipe serve` "
           "printed at start, also in .durapipe/host/keys.json), or send it in the x-functions-key header.")
REQUEST_TIMEOUT_S = 60
# The accept queue of the listening socket (the kernel caps it at net.core.somaxconn): a burst of
# connections waits there instead of being dropped, as with http.server's queue of 5.
LISTEN_BACKLOG = 2048
# Functions are synchronous and mostly wait (on the durable client's event loop, on the store):
# threads bound how many run at once; a request beyond them waits in the queue, it is not refused.
FUNCTION_THREADS = 32
RPC_THREADS = 16
# http.server's limits: a request line or header line of 64 KiB, 100 headers.
MAX_LINE_BYTES = 65536
MAX_HEADERS = 100
SHUTDOWN_TIMEOUT_S = 5.0
Response = tuple[int, dict[str, str], bytes]

# ASP.NET route constraints Azure Functions accepts; others match any one segment.
_CONSTRAINTS = {
    "int": r"-?\d+", "long": r"-?\d+", "float": r"-?\d+(?:\.\d+)?", "double": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?", "bool": r"(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])",
    "alpha": r"[A-Za-z]+", "guid": r"[0-9A-Fa-f]{8}-?(?:[0-9A-Fa-f]{4}-?){3}[0-9A-Fa-f]{12}",
}
_PARAM = re.compile(r"\{([^{}]+)\}")
_CODE_IN_QUERY = re.compile(r"([?&]code=)[^&\s]*")
_HOST_HEADER = re.compile(r"^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:]+\](?::\d{1,5})?$")


@dataclass(frozen=True)
class Route:
    """One HTTP-triggered function's route: its template, methods and compiled path pattern."""

    function: FunctionInfo
    template: str
    methods: frozenset[str] | None  # None: every method
    pattern: re.Pattern[str]
    params: tuple[str, ...]
    literals: int

    def match(self, path: str) -> dict[str, str] | None:
        """The route parameters when `path` (below the route prefix, no leading '/') matches, else None."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {name: unquote(found.group(f"p{i}")) for i, name in enumerate(self.params)
                if found.group(f"p{i}") is not None}


def compile_route(function: FunctionInfo, template: str, methods: list[str] | None) -> Route:
    """Compile an Azure route template ('runs/{id:int}', '{name?}', '{*rest}') into a Route."""
    parts: list[str] = []
    params: list[str] = []
    literals = 0
    segments = template.strip("/").split("/") if template.strip("/") else []
    for index, segment in enumerate(segments):
        lead = "/" if index else ""
        whole = _PARAM.fullmatch(segment)
        if whole and (whole.group(1).endswith("?") or whole.group(1).startswith("*")):
            # An optional or catch-all parameter may be absent together with its '/'.
            name, regex = _parameter(whole.group(1), len(params))
            params.append(name)
            parts.append(f"(?:{lead}{regex})?")
            continue
        pieces, last = [], 0
        for found in _PARAM.finditer(segment):
            pieces.append(re.escape(segment[last:found.start()]))
            name, regex = _parameter(found.group(1), len(params))
            params.append(name)
            pieces.append(regex)
            last = found.end()
        pieces.append(re.escape(segment[last:]))
        if not _PARAM.search(segment):
            literals += 1
        parts.append(lead + "".join(pieces))
    return Route(function, template, frozenset(m.upper() for m in methods) if methods else None,
                 re.compile("".join(parts), re.IGNORECASE), tuple(params), literals)


def _parameter(spec: str, index: int) -> tuple[str, str]:
    catch_all = spec.startswith("*")
    spec = spec.lstrip("*").rstrip("?")
    name, _, constraint = spec.partition(":")
    constraint = constraint.split("(")[0].split(":")[0].lower()
    if catch_all:
        return name, f"(?P<p{index}>.*)"
    if constraint and constraint not in _CONSTRAINTS:
        log.warning("route constraint %r is not checked by the local host; any segment matches", constraint)
    return name, f"(?P<p{index}>{_CONSTRAINTS.get(constraint, '[^/]+')})"


def app_routes(app: LoadedApp) -> list[Route]:
    """The app's HTTP routes, most specific first (more literal segments, then fewer parameters)."""
    routes = []
    for fn in app.by_trigger("httpTrigger"):
        trigger = fn.trigger
        routes.append(compile_route(fn, trigger.get("route") or fn.name, trigger.get("methods")))
    return sorted(routes, key=lambda r: (-r.literals, len(r.params), r.template))


def route_prefix(script_root: Path) -> str:
    """The route prefix from the app's host.json (extensions.http.routePrefix), default 'api'."""
    try:
        config = json.loads((Path(script_root) / "host.json").read_text())
        prefix = config.get("extensions", {}).get("http", {}).get("routePrefix", DEFAULT_ROUTE_PREFIX)
    except (OSError, ValueError, AttributeError):
        prefix = DEFAULT_ROUTE_PREFIX
    return str(prefix).strip("/")


def _json(status: int, message: str, **extra: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps({"error": message, **extra}).encode()


class HttpServer:
    """The serve HTTP front: aiohttp's server on 127.0.0.1 serving routes and rpc endpoints; every request needs its key.

    Key first, then everything else, whatever the method: a request without the right key gets 401
    whatever its path, so a caller without the key learns nothing about which routes exist. Routes
    take the function key; the durable rpc endpoints take only the system key (as on Azure, where
    they are the extension's webhooks), which function code gets through its client binding.

    Under load: the listening socket queues LISTEN_BACKLOG connections, one event loop reads every
    connection, and functions (synchronous, as the worker calls them) run on FUNCTION_THREADS threads,
    the rpc endpoints on RPC_THREADS of their own, so a function waiting on its durable client never
    holds up the rpc call it waits for. A request queues until a thread is free; none is refused.
    """

    def __init__(self, routes: list[Route], prefix: str, key: str, invoke: Callable[[FunctionInfo, Any], Any],
                 rpc_handle: Callable[[str, str, dict[str, str], bytes], Response], port: int = 7071,
                 max_body: int = MAX_BODY_BYTES, system_key: str | None = None,
                 request_timeout: float = REQUEST_TIMEOUT_S) -> None:
        self.routes = routes
        self.prefix = f"/{prefix}/" if prefix else "/"
        self.key = key
        # Without a system key of its own, the rpc endpoints are refused to every caller.
        self.system_key = system_key
        self.invoke = invoke
        self.rpc_handle = rpc_handle
        self.max_body = max_body
        self.request_timeout = request_timeout
        # Bound here, so a port in use is an OSError of the constructor (serve turns it into a sentence).
        self._socket = _listening_socket(port)
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._functions = ThreadPoolExecutor(FUNCTION_THREADS, thread_name_prefix="durapipe-http-function")
        self._rpc = ThreadPoolExecutor(RPC_THREADS, thread_name_prefix="durapipe-http-rpc")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.ServerRunner | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "HttpServer":
        """Start serving on an event loop of its own thread."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="durapipe-serve-http", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), loop).result(timeout=30)
        return self

    async def _open(self) -> None:
        server = FrontServer(self._serve, request_factory=_http11_request,
                             # An idle connection, or one whose request headers have not all arrived, is
                             # closed after this long (from its start or its previous answer): slow-loris.
                             keepalive_timeout=self.request_timeout,
                             access_log=None,  # a request line may carry ?code=KEY: no access log
                             auto_decompress=False,  # the body the function gets is the body sent
                             # A body left unread (a 401 or 413 answered from the headers) is not drained:
                             # the connection closes once answered, as http.server's did.
                             lingering_time=0,
                             max_line_size=MAX_LINE_BYTES, max_field_size=MAX_LINE_BYTES, max_headers=MAX_HEADERS)
        self._runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket, backlog=LISTEN_BACKLOG).start()

    def close(self) -> None:
        """Stop accepting requests and release the port."""
        loop, self._loop = self._loop, None
        if loop is not None and self._thread is not None:
            if self._runner is not None:
                try:
                    asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(SHUTDOWN_TIMEOUT_S + 10)
                except Exception:  # stopping goes on whatever a connection did
                    log.exception("closing the HTTP server failed")
                self._runner = None
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(timeout=10)
            self._thread = None
            loop.close()
        self._socket.close()
        self._functions.shutdown(wait=False, cancel_futures=True)
        self._rpc.shutdown(wait=False, cancel_futures=True)

    def route_url(self, route: Route) -> str:
        """The URL a route is served at (its template, parameters unfilled)."""
        return f"{self.base_url}{self.prefix}{route.template.strip('/')}"

    # -- request handling (on the server's event loop; functions on the thread pools) ---------------

    def authorized(self, headers: Any, query: dict[str, str], key: str | None = None) -> bool:
        """Whether the request carries `key` (default: the function key): x-functions-key header, `code` query,
        key cookie or Basic password."""
        key = self.key if key is None else key
        if not key:
            return False
        if key_matches(headers.get(KEY_HEADER), key) or key_matches(query.get("code"), key):
            return True
        if key_matches(_cookie(headers.get("Cookie"), KEY_COOKIE), key):
            return True
        scheme, _, credentials = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            password = base64.b64decode(credentials, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return False
        return key_matches(password, key)

    def find(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route serving `method` on `path` (below the prefix) and its parameters, or None."""
        for route in self.routes:
            params = route.match(path)
            if params is not None and (route.methods is None or method in route.methods):
                return route, params
        return None

    def call(self, route: Route, request: func.HttpRequest) -> Response | StreamedHttpResponse:
        """Invoke the route's function; its exception becomes a generic 500 (the traceback goes to the log)."""
        try:
            result = self.invoke(route.function, request)
        except Exception:
            return _failed(route.function.name)
        return _response(route.function.name, result)

    async def _serve(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            return await self._answer(request)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:  # a server bug must not leak a traceback to the caller
            log.exception("serving %s %s failed", request.method, request.path)
            return _sent(_json(500, "The local host failed to serve the request."), close=True)

    async def _answer(self, request: web.BaseRequest) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        target = request.raw_path
        url = urlsplit(target)
        pairs = parse_qsl(url.query, keep_blank_values=True)
        query = {k: v for k, v in pairs}
        if url.path.startswith(RPC_PREFIX):
            if not self.authorized(request.headers, query, self.system_key or ""):
                # The body is never read: the connection closes after the answer.
                return _sent(_json(401, "The durable endpoints need the durable extension's system key; "
                                        "a function key is not accepted there."), close=True)
        elif not self.authorized(request.headers, query):
            return _sent(_unauthorized(request.headers.get("Accept")), close=True)
        body = await self._body(request)
        if isinstance(body, tuple):
            return _sent(body, close=True)
        if url.path.startswith(RPC_PREFIX):
            answer = await loop.run_in_executor(self._rpc, self.rpc_handle, request.method,
                                                url.path[len(RPC_PREFIX):], query, body)
            return _sent(answer)
        if not url.path.startswith(self.prefix):
            return _sent(_json(404, f"No function serves {url.path}."))
        found = self.find(request.method, url.path[len(self.prefix):].strip("/"))
        if found is None:
            return _sent(_json(404, f"No function serves {request.method} {url.path}."))
        route, params = found
        function_request = func.HttpRequest(request.method, self._url(request, target), headers=_joined_headers(request),
                                            params=_joined(pairs), route_params=params, body=body)
        result = await loop.run_in_executor(self._functions, self.call, route, function_request)
        if isinstance(result, StreamedHttpResponse):
            return await self._stream(request, route.function.name, result)
        return _sent(result)

    async def _body(self, request: web.BaseRequest) -> bytes | Response:
        headers = request.headers
        if headers.get("Transfer-Encoding"):
            return _json(411, "Send the body with a Content-Length header (chunked bodies are not accepted).")
        if len(headers.getall("Content-Length", [])) > 1:
            # Two lengths are how a request is smuggled past a proxy that reads the other one.
            return _json(400, "The request has more than one Content-Length header; send one.")
        text = headers.get("Content-Length") or "0"
        if not text.isdigit():
            return _json(400, "The Content-Length header is not a number.")
        length = int(text)
        if length > self.max_body:
            return _json(413, f"The request body is {length} bytes; the limit is {self.max_body}.")
        if not length:
            return b""
        if headers.get("Expect", "").lower() == "100-continue":
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            async with asyncio.timeout(self.request_timeout):
                return await request.content.readexactly(length)
        except asyncio.IncompleteReadError as short:
            return _json(400, f"The request body has {len(short.partial)} bytes, fewer than its Content-Length "
                              f"header of {length} announces.")
        except TimeoutError:
            return _json(408, f"The request body did not arrive within {self.request_timeout:g} seconds.")

    async def _stream(self, request: web.BaseRequest, name: str, streamed: StreamedHttpResponse) -> web.StreamResponse:
        """Send a streamed body chunk by chunk; memory holds a chunk or two whatever its length."""
        headers = _sendable(_headers_of(streamed))
        if request.method == "HEAD":
            response = web.StreamResponse(status=streamed.status_code, headers=headers)
            response.content_length = streamed.length
            await response.prepare(request)
            return response
        # One thread reads every chunk of a download: chunks read on many threads would each leave their
        # freed memory in that thread's malloc arena, and the process would grow by a chunk per thread.
        reader = ThreadPoolExecutor(1, thread_name_prefix="durapipe-http-download")
        try:
            return await self._send_chunks(request, name, streamed, headers, reader)
        finally:
            reader.shutdown(wait=False)

    async def _send_chunks(self, request: web.BaseRequest, name: str, streamed: StreamedHttpResponse,
                           headers: dict[str, str], reader: ThreadPoolExecutor) -> web.StreamResponse:
        loop = asyncio.get_running_loop()

        def read_next(chunks: Iterator[bytes], previous: bytes | None) -> bytes | None:
            return None if previous is None else next(chunks, None)

        try:
            # Each chunk is sent once the next one is read: a source verified as it is read (an artifact's
            # hash) fails before its last chunk is out, so a corrupt body never arrives whole. A failure
            # before the status line is still a 500 sentence.
            chunks = await loop.run_in_executor(reader, streamed.chunks)
            chunk = await loop.run_in_executor(reader, next, chunks, None)
            following = await loop.run_in_executor(reader, read_next, chunks, chunk)
        except Exception:
            return _sent(_failed(name))
        response = web.StreamResponse(status=streamed.status_code, headers=headers)
        response.content_length = streamed.length
        sent = 0
        try:
            await response.prepare(request)
            while chunk is not None:
                sent += len(chunk)
                if sent > streamed.length:
                    raise ValueError(f"the body is longer than the {streamed.length} bytes announced")
                await response.write(chunk)
                chunk, following = following, None  # not held while the next one is read
                following = await loop.run_in_executor(reader, read_next, chunks, chunk)
            if sent != streamed.length:
                raise ValueError(f"the body ended after {sent} of the {streamed.length} bytes announced")
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:
            # The status line is out: the only way left to say "failed" is to cut the connection short.
            log.exception("function %s: its streamed response failed after %d bytes; the connection was cut",
                          name, sent)
            raise ConnectionResetError("the streamed response failed") from None
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                await loop.run_in_executor(reader, close)
        await response.write_eof()
        return response

    def _url(self, request: web.BaseRequest, target: str) -> str:
        # The SDK rebuilds management URLs on the request's origin: use the address the caller used.
        host = request.headers.get("Host") or ""
        origin = host if _HOST_HEADER.match(host) else f"127.0.0.1:{self.port}"
        return f"http://{origin}{target}"


def _listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _http11_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
    # Every answer is HTTP/1.1, as http.server's were, including the one to a request too malformed to
    # parse (aiohttp stands an HTTP/1.0 message in for it); whether the connection stays open was decided
    # from the request as sent.
    if message.version != HttpVersion11:
        message = message._replace(version=HttpVersion11)
    return web.BaseRequest(message, payload, protocol, writer, task, asyncio.get_running_loop())


def _joined_headers(request: web.BaseRequest) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def _sendable(headers: dict[str, str]) -> dict[str, str]:
    # The server frames the body itself: a function's own framing headers are dropped.
    return {name: value for name, value in headers.items()
            if name.lower() not in ("content-length", "connection", "transfer-encoding")}


def _sent(answer: Response, close: bool = False) -> web.Response:
    status, headers, payload = answer
    response = web.Response(status=status, body=payload, headers=_sendable(headers))
    if close:
        response.force_close()
    return response


def _failed(name: str) -> Response:
    incident = uuid.uuid4().hex
    log.exception("function %s failed (incident %s)", name, incident)
    return _json(500, f"The function {name!r} failed; the server log has the details.", incident=incident)


def _cookie(header: str | None, name: str) -> str | None:
    """The value of cookie `name` in a Cookie header, or None (a malformed header has none)."""
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def _unauthorized(accept: str | None) -> Response:
    """401: an HTML page saying how to sign in for a browser, the JSON error otherwise."""
    if "text/html" in (accept or ""):
        body = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in: durapipe</title>"
                "</head><body style=\"font-family: sans-serif; margin: 3em\"><h1>Sign in to durapipe</h1>"
                f"<p id=\"sign-in\">{html.escape(SIGN_IN)}</p></body></html>")
        return 401, {"Content-Type": "text/html; charset=utf-8"}, body.encode()
    return _json(401, SIGN_IN)


def _headers_of(result: func.HttpResponse) -> dict[str, str]:
    headers = {k: v for k, v in result.headers.items()}
    if not any(k.lower() == "content-type" for k in headers) and result.mimetype:
        headers["Content-Type"] = result.mimetype + (f"; charset={result.charset}" if result.charset else "")
    return headers


def _response(name: str, result: Any) -> Response | StreamedHttpResponse:
    if isinstance(result, StreamedHttpResponse):
        return result
    if isinstance(result, func.HttpResponse):
        return result.status_code, _headers_of(result), result.get_body() or b""
    if result is None:
        return 204, {}, b""
    if isinstance(result, (str, bytes)):
        body = result.encode() if isinstance(result, str) else result
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, body
    log.error("function %s returned a %s, not an HttpResponse", name, type(result).__name__)
    return _json(500, f"The function {name!r} did not return an HTTP response.")


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    # The Functions host hands repeated query parameters to the worker joined with ','.
    params: dict[str, str] = {}
    for name, value in pairs:
        params[name] = f"{params[name]},{value}" if name in params else value
    return params
