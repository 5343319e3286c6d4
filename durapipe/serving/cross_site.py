"""The refusals that keep a page of another origin from changing anything: its requests, and bodies not declared JSON.

A browser sends the key cookie with every request to the host, whichever page made it (other ports of
127.0.0.1 are the same site, so SameSite=Strict does not stop it), and a form or a `no-cors` fetch may
post a text/plain body that parses as JSON. Such a request can never carry the `x-functions-key` header
(a custom header needs a CORS preflight, which is never granted) and always carries `Origin` or
`Sec-Fetch-Site` in a browser that sets the cookie.
"""
from __future__ import annotations

from typing import Mapping
from urllib.parse import urlsplit

from durapipe.core.errors import shown
from durapipe.host.function_key import KEY_COOKIE
from durapipe.serving.service import RequestError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEY_HEADER = "x-functions-key"
JSON_TYPE = "application/json"
_DEFAULT_PORTS = {"http": 80, "https": 443}
CROSS_ORIGIN = ("A request that changes something must come from this app's own pages (origin {own}) or carry "
                "the key in the x-functions-key header; this one came from {came}.")
NOT_JSON = "The request body must be JSON sent with Content-Type: application/json, not {given}."


def refuse_cross_site(method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
    """Raise RequestError 403 for a state-changing request a page of another origin may have forged, 415 for a
    body not declared application/json; return for everything else (`headers` keyed in lower case)."""
    if method.upper() in SAFE_METHODS:
        return
    _refuse_other_origins(url, headers)
    if body:
        given = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if given != JSON_TYPE:
            raise RequestError(415, NOT_JSON.format(given=given or "no Content-Type"))


def _refuse_other_origins(url: str, headers: Mapping[str, str]) -> None:
    if headers.get(KEY_HEADER):
        return  # sent by whoever holds the key: no page of another origin can add this header
    own = _origin(url)
    origin = headers.get("origin")
    if origin is not None:
        if own is None or _origin(origin) != own:
            raise RequestError(403, CROSS_ORIGIN.format(own=_shown(own), came=f"origin {shown(origin)}"))
        return
    site = headers.get("sec-fetch-site")
    if site is not None:
        if site.strip().lower() != "same-origin":
            raise RequestError(403, CROSS_ORIGIN.format(own=_shown(own), came=f"a {shown(site, 30)} page"))
        return
    if _has_key_cookie(headers.get("cookie")):
        # A browser that says nowhere where a request comes from cannot be trusted with the cookie.
        raise RequestError(403, CROSS_ORIGIN.format(own=_shown(own), came="a page that does not say its origin"))
    # Neither header and no cookie: not a browser (curl, a script); the host checked its key.


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of a URL or an Origin header, the port made explicit; None when it has none
    (an opaque origin such as 'null')."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if not scheme or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme)


def _shown(origin: tuple[str, str, int | None] | None) -> str:
    if origin is None:
        return "unknown"
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else "")


def _has_key_cookie(header: str | None) -> bool:
    return any(part.strip().split("=", 1)[0].strip() == KEY_COOKIE for part in (header or "").split(";"))
