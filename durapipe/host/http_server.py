"""The serve HTTP server: the app's HTTP routes behind the function key and the durable rpc endpoints behind
the durable extension's system key, on 127.0.0.1."""
from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

import azure.functions as func

from durapipe.host.app_loader import FunctionInfo, LoadedApp
from durapipe.host.function_key import KEY_COOKIE, key_matches
from durapipe.host.rpc import RPC_PREFIX

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024
DEFAULT_ROUTE_PREFIX = "api"
KEY_HEADER = "x-functions-key"
SIGN_IN = ("A valid function key is required: open this address with ?code=KEY added (the key `durapipe serve` "
           "printed at start, also in .durapipe/host/keys.json), or send it in the x-functions-key header.")
REQUEST_TIMEOUT_S = 60
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
    """A ThreadingHTTPServer on 127.0.0.1 serving routes and rpc endpoints; every request needs its key.

    Key first, then everything else, whatever the method: a request without the right key gets 401
    whatever its path, so a caller without the key learns nothing about which routes exist. Routes
    take the function key; the durable rpc endpoints take only the system key (as on Azure, where
    they are the extension's webhooks), which function code gets through its client binding.
    """

    def __init__(self, routes: list[Route], prefix: str, key: str, invoke: Callable[[FunctionInfo, Any], Any],
                 rpc_handle: Callable[[str, str, dict[str, str], bytes], Response], port: int = 7071,
                 max_body: int = MAX_BODY_BYTES, system_key: str | None = None) -> None:
        self.routes = routes
        self.prefix = f"/{prefix}/" if prefix else "/"
        self.key = key
        # Without a system key of its own, the rpc endpoints are refused to every caller.
        self.system_key = system_key
        self.invoke = invoke
        self.rpc_handle = rpc_handle
        self.max_body = max_body
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> "HttpServer":
        """Start serving in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="durapipe-serve-http",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop accepting requests and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def route_url(self, route: Route) -> str:
        """The URL a route is served at (its template, parameters unfilled)."""
        return f"{self.base_url}{self.prefix}{route.template.strip('/')}"

    # -- request handling (called by the handler, one thread per request) -------------------------

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

    def call(self, route: Route, request: func.HttpRequest) -> Response:
        """Invoke the route's function; its exception becomes a generic 500 (the traceback goes to the log)."""
        try:
            result = self.invoke(route.function, request)
        except Exception:
            incident = uuid.uuid4().hex
            log.exception("function %s failed (incident %s)", route.function.name, incident)
            return _json(500, f"The function {route.function.name!r} failed; the server log has the details.",
                         incident=incident)
        return _response(route.function.name, result)


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


def _response(name: str, result: Any) -> Response:
    if isinstance(result, func.HttpResponse):
        headers = {k: v for k, v in result.headers.items()}
        if not any(k.lower() == "content-type" for k in headers) and result.mimetype:
            headers["Content-Type"] = result.mimetype + (f"; charset={result.charset}" if result.charset else "")
        return result.status_code, headers, result.get_body() or b""
    if result is None:
        return 204, {}, b""
    if isinstance(result, (str, bytes)):
        body = result.encode() if isinstance(result, str) else result
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, body
    log.error("function %s returned a %s, not an HttpResponse", name, type(result).__name__)
    return _json(500, f"The function {name!r} did not return an HTTP response.")


def _handler_for(server: HttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = REQUEST_TIMEOUT_S

        def _serve(self) -> None:
            try:
                status, headers, payload = self._answer()
            except Exception:  # a server bug must not leak a traceback to the caller
                log.exception("serving %s %s failed", self.command, self.path.split("?")[0])
                status, headers, payload = _json(500, "The local host failed to serve the request.")
                self.close_connection = True
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _answer(self) -> Response:
            url = urlsplit(self.path)
            pairs = parse_qsl(url.query, keep_blank_values=True)
            query = {k: v for k, v in pairs}
            if url.path.startswith(RPC_PREFIX):
                if not server.authorized(self.headers, query, server.system_key or ""):
                    self.close_connection = True  # the body is never read
                    return _json(401, "The durable endpoints need the durable extension's system key; "
                                      "a function key is not accepted there.")
            elif not server.authorized(self.headers, query):
                self.close_connection = True  # the body is never read
                return _unauthorized(self.headers.get("Accept"))
            body = self._body()
            if isinstance(body, tuple):
                return body
            if url.path.startswith(RPC_PREFIX):
                return server.rpc_handle(self.command, url.path[len(RPC_PREFIX):], query, body)
            if not url.path.startswith(server.prefix):
                return _json(404, f"No function serves {url.path}.")
            found = server.find(self.command, url.path[len(server.prefix):].strip("/"))
            if found is None:
                return _json(404, f"No function serves {self.command} {url.path}.")
            route, params = found
            request = func.HttpRequest(self.command, self._url(url), headers=self._headers(),
                                       params=_joined(pairs), route_params=params, body=body)
            return server.call(route, request)

        def _body(self) -> bytes | Response:
            if self.headers.get("Transfer-Encoding"):
                self.close_connection = True
                return _json(411, "Send the body with a Content-Length header (chunked bodies are not accepted).")
            if len(self.headers.get_all("Content-Length") or []) > 1:
                # Two lengths are how a request is smuggled past a proxy that reads the other one.
                self.close_connection = True
                return _json(400, "The request has more than one Content-Length header; send one.")
            text = self.headers.get("Content-Length") or "0"
            if not text.isdigit():
                self.close_connection = True
                return _json(400, "The Content-Length header is not a number.")
            length = int(text)
            if length > server.max_body:
                self.close_connection = True
                return _json(413, f"The request body is {length} bytes; the limit is {server.max_body}.")
            if not length:
                return b""
            try:
                body = self.rfile.read(length)
            except TimeoutError:
                self.close_connection = True
                return _json(408, f"The request body did not arrive within {REQUEST_TIMEOUT_S} seconds.")
            if len(body) < length:
                self.close_connection = True
                return _json(400, f"The request body has {len(body)} bytes, fewer than its Content-Length "
                                  f"header of {length} announces.")
            return body

        def _url(self, url: Any) -> str:
            # The SDK rebuilds management URLs on the request's origin: use the address the caller used.
            host = self.headers.get("Host") or ""
            origin = host if _HOST_HEADER.match(host) else f"127.0.0.1:{server.port}"
            return f"http://{origin}{self.path}"

        def _headers(self) -> dict[str, str]:
            joined: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                joined[key] = f"{joined[key]}, {value}" if key in joined else value
            return joined

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def __getattr__(self, name: str) -> Any:
            # Every other method (TRACE, CONNECT, PROPFIND, ...) is served the same way: key check
            # first, then no route matches it (404), instead of the base class's unkeyed 501.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # Requests too malformed to reach _serve (bad request line, headers too long): a JSON
            # sentence like every other answer, never the base class's HTML page.
            self.close_connection = True
            self.request_version = self.protocol_version  # a status line even when the version was unreadable
            reason = (message or self.responses.get(code, ("Bad request",))[0]).rstrip(".")
            payload = json.dumps({"error": f"The request is malformed: {reason}."}).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                    self.wfile.write(payload)
            except OSError:
                pass  # the caller has gone

        def log_message(self, format: str, *args: Any) -> None:
            # Request lines may carry ?code=<key>: never let the key reach a log.
            log.debug("%s %s", self.address_string(), _CODE_IN_QUERY.sub(r"\1***", format % args))

    return Handler


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    # The Functions host hands repeated query parameters to the worker joined with ','.
    params: dict[str, str] = {}
    for name, value in pairs:
        params[name] = f"{params[name]},{value}" if name in params else value
    return params
