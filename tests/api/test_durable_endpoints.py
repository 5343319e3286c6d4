"""The durable endpoints of the real app: only the system key opens them, and a raw run request is checked."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from durapipe.local.rpc import RPC_PREFIX
from tests.api.conftest import KEY, SYSTEM_KEY, App
from tests.serve.conftest import call, wait_for


def _rpc(app: App) -> str:
    return app.api.removesuffix("/api") + RPC_PREFIX


def _raw_request(run_id: str, **changes) -> bytes:
    from durapipe.service import served_catalog, served_run_request
    from tests.api.conftest import EXAMPLE_PROJECT

    catalog = served_catalog(EXAMPLE_PROJECT, env={})
    request = served_run_request(catalog, catalog.get("retrain"), {}, {}, run_id=run_id, trigger={"kind": "http"})
    return json.dumps({**request, **changes}).encode()


def _start_raw(app: App, run_id: str, body: bytes, key: str = SYSTEM_KEY) -> tuple[int, object]:
    status, _, answer = call("POST", f"{_rpc(app)}orchestrators/pipeline_run/{run_id}?code={key}", body,
                             {"content-type": "application/json"})
    return status, answer


def _ended(app: App, run_id: str) -> dict:
    url = f"{_rpc(app)}instances/{run_id}?code={SYSTEM_KEY}"
    return wait_for(lambda: (s := call("GET", url)[2])["runtimeStatus"] in ("Completed", "Failed") and s,
                    timeout=120, interval=0.2)


def test_a_raw_run_request_with_the_function_key_is_refused(app):
    status, answer = _start_raw(app, "raw-function-key", _raw_request("raw-function-key"), key=KEY)
    assert status == 401 and "system key" in answer["error"]


def test_a_raw_run_request_naming_a_host_path_copies_nothing_into_the_store(app):
    secret = Path("/etc/passwd").read_bytes()
    body = _raw_request("raw-host-path", inputs={"raw": {"path": "/etc/passwd"}}, trigger={"kind": "cli"})
    status, _ = _start_raw(app, "raw-host-path", body)
    assert status == 202
    state = _ended(app, "raw-host-path")
    assert state["runtimeStatus"] == "Failed" and "path on the host" in str(state["output"])
    assert not app.store.exists(f"artifacts/{hashlib.sha256(secret).hexdigest()}")


@pytest.mark.parametrize("target", ["models/breast_cancer/champion.json", "steps/" + "0" * 64 + ".json"])
def test_a_raw_run_request_delivering_onto_durapipes_records_writes_nothing(app, target):
    run_id = f"raw-deliver-{hashlib.sha256(target.encode()).hexdigest()[:8]}"
    before = {k: app.store.stat(k).etag for k in app.store.list("")}
    status, _ = _start_raw(app, run_id, _raw_request(run_id, deliver={"metrics": target}))
    assert status == 202
    state = _ended(app, run_id)
    assert state["runtimeStatus"] == "Failed" and "delivery key" in str(state["output"])
    after = {k: app.store.stat(k).etag for k in app.store.list("")}
    assert {k: v for k, v in after.items() if k in before} == before and target not in after


def test_a_run_started_over_http_hands_out_no_system_key(app, trained):
    assert SYSTEM_KEY not in json.dumps(trained["started"])


def test_a_planning_failure_reaches_the_client_as_one_sentence(app):
    body = _raw_request("raw-plan-fails", inputs={"raw": {"path": "/etc/passwd"}})
    assert _start_raw(app, "raw-plan-fails", body)[0] == 202
    _ended(app, "raw-plan-fails")
    status, view = app.get("/runs/raw-plan-fails")
    assert status == 200 and view["status"] == "failed"
    print(repr(view["error"]))
    assert "Traceback" not in view["error"] and 'File "' not in view["error"] and "\n" not in view["error"]
    assert "path on the host" in view["error"] and view["error"].endswith(".")
