"""The durable endpoints of the real app: only the system key opens them, and a raw run request is checked."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from durapipe.host.rpc import RPC_PREFIX
from tests.http_api.conftest import KEY, SYSTEM_KEY, App
from tests.host.serve.conftest import call, wait_for


def _rpc(app: App) -> str:
    return app.api.removesuffix("/api") + RPC_PREFIX


def _raw_request(run_id: str, **changes) -> bytes:
    from durapipe.serving.service import served_catalog, served_run_request
    from tests.http_api.conftest import EXAMPLE_PROJECT

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


# A folder of durapipe steps the served project does not hold: importing or running one leaves a mark.
OTHER_STEPS = '''\
from pathlib import Path

from durapipe import Output, step

Path(__file__).with_name("imported").touch()


@step
def pwn(out: Output):
    Path(__file__).with_name("ran").touch()
    out.write_text("x")
'''
OTHER_STEP = {"name": "pwn", "ref": "othersteps:pwn", "inputs": {}, "outputs": ["out"], "params": {},
              "options": {"retries": 0, "retry_interval": 5.0, "timeout": None, "cache": True, "version": None,
                          "compute": "local"}, "map": None}


@pytest.fixture
def other_steps(tmp_path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "othersteps.py").write_text(OTHER_STEPS)
    return folder


def test_a_raw_run_request_pointing_code_root_at_another_folder_imports_nothing_from_it(app, other_steps):
    from durapipe.model.spec import PipelineSpec

    spec = PipelineSpec.from_json({"schema": 1, "name": "other", "inputs": {}, "params": {}, "steps": [OTHER_STEP],
                                   "outputs": {"out": {"step": "pwn", "output": "out"}}}).to_json()
    body = _raw_request("raw-code-root", spec=spec, code_root=str(other_steps), inputs={})
    assert _start_raw(app, "raw-code-root", body)[0] == 202
    state = _ended(app, "raw-code-root")
    assert state["runtimeStatus"] == "Failed" and "code root" in str(state["output"])
    assert not (other_steps / "imported").exists() and not (other_steps / "ran").exists()


def test_a_raw_segment_pointing_code_root_at_another_folder_runs_nothing_from_it(app, other_steps):
    # A sub-orchestrator started directly skips planning: the step activity checks the code root itself.
    segment = {"schema": 1, "run_id": "raw-segment", "pipeline": "other", "steps": [OTHER_STEP], "params": {},
               "code_root": str(other_steps), "force": [], "max_parallel": 1, "inputs": {}, "resolved": {}}
    status, _, _ = call("POST", f"{_rpc(app)}orchestrators/pipeline_segment/raw-segment?code={SYSTEM_KEY}",
                        json.dumps(segment).encode(), {"content-type": "application/json"})
    assert status == 202
    state = _ended(app, "raw-segment")
    assert "code root" in json.dumps(state["output"])
    assert not (other_steps / "imported").exists() and not (other_steps / "ran").exists()


def _completed_run(app: App) -> str:
    status, started = app.post("/pipelines/retrain/runs", json.dumps({"parameters": {"C": 0.5}}).encode())
    assert status == 202, started
    from tests.http_api.conftest import wait_for_run
    assert wait_for_run(app, started["status_url"])["status"] == "completed"
    return started["run_id"]


def _other_params(run_id: str, c: float) -> bytes:
    request = json.loads(_raw_request(run_id))
    return json.dumps({**request, "params": {**request["params"], "C": c}}).encode()


def _record_bytes(app: App, run_id: str) -> bytes:
    return app.store.get(f"runs/{run_id}.json")


def test_a_raw_run_request_naming_another_instances_run_leaves_that_run_untouched(app):
    run_id = _completed_run(app)
    before = _record_bytes(app, run_id)
    for instance_id in ("hijack1", "hijack2"):
        body = _other_params(run_id, 2.0)
        assert _start_raw(app, instance_id, body)[0] == 202
        state = _ended(app, instance_id)
        assert state["runtimeStatus"] == "Failed" and "instance" in str(state["output"]), state["output"]
    assert _record_bytes(app, run_id) == before
    assert app.get(f"/runs/{run_id}")[1]["status"] == "completed"


def test_a_completed_run_started_again_under_its_own_id_is_not_rewritten(app):
    run_id = _completed_run(app)
    before = _record_bytes(app, run_id)
    assert _start_raw(app, run_id, _other_params(run_id, 3.0))[0] == 202
    state = wait_for(lambda: (s := call("GET", f"{_rpc(app)}instances/{run_id}?code={SYSTEM_KEY}")[2])
                     ["runtimeStatus"] == "Failed" and s, timeout=120, interval=0.2)
    assert "already" in str(state["output"]), state["output"]
    assert _record_bytes(app, run_id) == before


@pytest.mark.parametrize("instance_id", ["..", "\u2025x", ".hidden", "a..b", "-x"])
def test_an_instance_id_that_is_no_valid_run_id_is_a_400_and_starts_nothing(app, instance_id):
    from urllib.parse import quote

    status, answer = _start_raw(app, quote(instance_id, safe=""), _raw_request("some-run"))
    assert status == 400 and str(answer).count(".") >= 1 and "instance id" in json.dumps(answer), answer
    listed = call("GET", f"{_rpc(app)}instances/?code={SYSTEM_KEY}")[2]
    assert instance_id not in {i["instanceId"] for i in listed}
