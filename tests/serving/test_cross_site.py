"""What a state-changing request must show to be served: the app's own origin, or the key header; and a JSON body
declared as such. (tests/serving/web/test_csrf.py makes the attacks in Chromium.)"""
from __future__ import annotations

import pytest

from durapipe.serving.cross_site import refuse_cross_site
from durapipe.serving.service import RequestError

URL = "http://127.0.0.1:7071/api/pipelines/p/runs"
COOKIE = {"cookie": "durapipe_key=k"}
JSON = {"content-type": "application/json"}


def _status(headers: dict[str, str], body: bytes = b"{}", method: str = "POST", url: str = URL) -> int:
    try:
        refuse_cross_site(method, url, {**JSON, **headers}, body)
    except RequestError as exc:
        return exc.status
    return 202


@pytest.mark.parametrize("origin", ["http://127.0.0.1:7071", "HTTP://127.0.0.1:7071", "http://127.0.0.1:7071/"])
def test_the_apps_own_origin_is_served(origin):
    assert _status({**COOKIE, "origin": origin}) == 202


@pytest.mark.parametrize("origin", ["http://127.0.0.1:7072", "http://localhost:7071", "https://127.0.0.1:7071",
                                    "null", "", "http://127.0.0.1:99999", "http://evil.example"])
def test_any_other_origin_is_a_403(origin):
    assert _status({**COOKIE, "origin": origin}) == 403


def test_a_default_port_matches_its_origin_without_one():
    assert _status({"origin": "https://app.example"}, url="https://app.example:443/api/runs/r/cancel") == 202


@pytest.mark.parametrize("site, status", [("same-origin", 202), ("same-site", 403), ("cross-site", 403),
                                          ("none", 403)])
def test_without_an_origin_only_a_same_origin_fetch_is_served(site, status):
    assert _status({**COOKIE, "sec-fetch-site": site}) == status


def test_the_key_cookie_without_either_header_is_a_403():
    assert _status({"cookie": "other=1; durapipe_key=k"}) == 403


def test_a_request_without_the_cookie_or_either_header_is_served():
    assert _status({}) == 202  # curl, a script: the host has checked the key it sent


def test_the_key_header_is_served_from_any_origin():
    assert _status({**COOKIE, "x-functions-key": "k", "origin": "http://127.0.0.1:1"}) == 202


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_are_never_refused(method):
    assert _status({**COOKIE, "origin": "http://127.0.0.1:1", "content-type": "text/plain"}, method=method) == 202


@pytest.mark.parametrize("content_type", ["text/plain", "text/plain;charset=UTF-8", "multipart/form-data",
                                          "application/x-www-form-urlencoded", "application/jsonx", ""])
def test_a_body_not_declared_json_is_a_415(content_type):
    assert _status({"x-functions-key": "k", "content-type": content_type}) == 415


def test_json_with_a_charset_and_an_empty_body_of_any_type_are_served():
    assert _status({"content-type": "Application/JSON; charset=utf-8"}) == 202
    assert _status({"content-type": "text/plain"}, body=b"") == 202
