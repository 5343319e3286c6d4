"""Hostile names over HTTP and the durable endpoints: refused with a 4xx, nothing written."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from durapipe.host.rpc import RPC_PREFIX
from tests.http_api.conftest import KEY, SYSTEM_KEY, start_app
from tests.host.serve.conftest import call

NAMES = ["../x", "/etc/passwd", "%2e%2e", "..%2f..%2fx", "a\x00b", "a#b", "a?b", "a\\b", "x" * 2000, "ünï",
         "a/../../b", " "]


@pytest.fixture(scope="module", params=["local", "azurite"])
def app(request, tmp_path_factory):
    """One serve of the real app per store backend: a local folder, then a fresh Azurite container."""
    import uuid

    tmp = tmp_path_factory.mktemp(f"names-{request.param}")
    store_url = (str(tmp / "store") if request.param == "local"
                 else f"{request.getfixturevalue('azurite')}/names{uuid.uuid4().hex[:20]}")
    running = start_app(tmp, store_url)
    yield running
    assert running.stop() == 0


def _keys(app) -> list[str]:
    """Every key in the store, and every file beside it outside the host's state (nothing may land there)."""
    tmp = app.home.parent
    beside = sorted(str(p) for p in tmp.rglob("*") if p.is_file() and not p.is_relative_to(tmp / "store")
                    and not p.is_relative_to(app.home) and p.name != "serve.err")
    return sorted(app.store.list("")) + beside


@pytest.mark.parametrize("name", NAMES)
def test_a_hostile_pipeline_name_or_run_id_is_a_4xx(app, name):
    before = _keys(app)
    quoted = quote(name, safe="")
    for method, path, body in (("POST", f"/pipelines/{quoted}/runs", b"{}"), ("GET", f"/runs/{quoted}", None),
                               ("POST", f"/runs/{quoted}/cancel", b"")):
        status, _, answer = call(method, app.api + path, body, {"x-functions-key": KEY})
        assert 400 <= status < 500, (method, path, status, answer)
    assert _keys(app) == before


@pytest.mark.parametrize("name", NAMES)
def test_a_hostile_input_blob_name_is_a_400_and_writes_nothing(app, name):
    before = _keys(app)
    body = json.dumps({"inputs": {"raw": name}}).encode()
    status, _, answer = call("POST", app.api + "/pipelines/retrain/runs", body,
                             {"x-functions-key": KEY, "content-type": "application/json"})
    assert status == 400, answer
    assert _keys(app) == before


@pytest.mark.parametrize("name", NAMES)
def test_a_hostile_instance_id_on_the_durable_endpoints_is_a_4xx(app, name):
    rpc = app.api.removesuffix("/api") + RPC_PREFIX
    quoted = quote(name, safe="")
    for method, path in (("GET", f"instances/{quoted}"), ("POST", f"instances/{quoted}/terminate"),
                         ("POST", f"orchestrators/no_such_orchestrator/{quoted}")):
        status, _, answer = call(method, f"{rpc}{path}?code={SYSTEM_KEY}", b"" if method == "POST" else None)
        assert 400 <= status < 500, (method, path, status, answer)
