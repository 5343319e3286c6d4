"""Remote steps on Azure ML through the real azure-ai-ml client, against the local double of its REST API."""
from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from textwrap import dedent
from typing import Any, Iterator

import pytest

from durapipe.engine.remote_step import collect_step, poll_step, submit_step
from durapipe.engine.run_step import StepFailed
from durapipe.load.targets import load_target
from durapipe.store.records import write_run_record
from durapipe.store.artifacts import put_artifact, read_artifact_bytes
from durapipe.store.url import open_store

FLOW = dedent('''\
    import time
    from durapipe import Input, Output, pipeline, step

    @step(compute="azureml:gpu-cluster")
    def doubles(src: Input, out: Output, k: int = 2):
        print("doubling on azure ml", k)
        out.write_text(src.read_text() * k)

    @step(compute="azureml:gpu-cluster")
    def breaks(out: Output):
        print("about to break on azure ml")
        raise RuntimeError("azure ml failure")

    @step(compute="azureml:gpu-cluster")
    def waits(out: Output, marker: str = ""):
        time.sleep(4)
        open(marker, "w").write("late")

    @pipeline
    def remote(src: Input, marker: str = ""):
        doubles(src=src)
        breaks()
        waits(marker=marker)
    ''')


@pytest.fixture(params=["local", "azurite"])
def flow(request: pytest.FixtureRequest, tmp_path: Path, azureml_settings: dict[str, str]) -> Iterator[dict[str, Any]]:
    """A project whose steps run on the double's cluster, its spec, a store (local folder or Azurite) and one input."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'remote'\n")
    module = f"azml_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(FLOW)
    spec = load_target(f"{root / module}.py:remote").spec.to_json()
    store = (open_store(str(tmp_path / "store")) if request.param == "local"
             else open_store(request.getfixturevalue("blob_store_url")()))
    (tmp_path / "src.txt").write_text("ab")
    yield {"root": root, "spec": spec, "store": store, "src": put_artifact(store, tmp_path / "src.txt"),
           "marker": tmp_path / "late"}
    sys.modules.pop(module, None)


def _task(flow: dict[str, Any], step: str, run_id: str) -> dict[str, Any]:
    spec_step = next(s for s in flow["spec"]["steps"] if s["name"] == step)
    inputs = {"src": flow["src"]} if step == "doubles" else {}
    return {"schema": 1, "run_id": run_id, "pipeline": "remote", "step": spec_step,
            "params": {"marker": str(flow["marker"])}, "code_root": str(flow["root"]), "inputs": inputs,
            "force": False}


def _until_done(flow: dict[str, Any], task: dict[str, Any], submitted: dict[str, Any], limit_s: float = 60) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        polled = poll_step(flow["store"], task, submitted)
        if polled["done"]:
            return polled
        time.sleep(0.2)
    raise AssertionError(f"the Azure ML job {submitted['job_id']} did not end within {limit_s:.0f}s")


def test_a_step_runs_as_an_azure_ml_command_job_and_its_outputs_come_back_through_the_store(flow, azureml_double):
    run_id = f"r-{uuid.uuid4().hex[:8]}"
    task = _task(flow, "doubles", run_id)
    submitted = submit_step(flow["store"], task)
    assert submitted["status"] == "submitted" and submitted["compute"] == "azureml:gpu-cluster"
    assert _until_done(flow, task, submitted)["status"] == "succeeded"
    result = collect_step(flow["store"], task, submitted)
    assert read_artifact_bytes(flow["store"], result["outputs"]["out"]) == b"ab" * 2
    assert "doubling on azure ml 2" in read_artifact_bytes(flow["store"], result["log"]).decode()
    [created] = azureml_double.calls("PUT", rf"/workspaces/durapipe-ws/jobs/{submitted['job_id']}\?")
    assert created.body["properties"]["computeId"].endswith("/workspaces/durapipe-ws/computes/gpu-cluster")
    assert created.body["properties"]["environmentId"].endswith("/environments/durapipe-runtime/versions/1")
    assert created.authorization == "Bearer azureml-double-token"
    again = submit_step(flow["store"], _task(flow, "doubles", f"{run_id}-again"))
    assert again["status"] == "reused" and again["result"]["outputs"] == result["outputs"]
    assert not azureml_double.calls("PUT", rf"/jobs/durapipe-{run_id}-again")


def test_a_failed_azure_ml_job_fails_its_step_with_the_job_logs_stored(flow):
    task = _task(flow, "breaks", f"r-{uuid.uuid4().hex[:8]}")
    submitted = submit_step(flow["store"], task)
    assert _until_done(flow, task, submitted)["status"] == "failed"
    with pytest.raises(StepFailed, match=r"RuntimeError: azure ml failure \(log artifact ([0-9a-f]{12})\)") as failure:
        collect_step(flow["store"], task, submitted)
    prefix = str(failure.value).rsplit("log artifact ", 1)[1][:12]
    [key] = list(flow["store"].list(f"artifacts/{prefix}"))
    log = flow["store"].get(key).decode()
    assert "about to break on azure ml" in log and "RuntimeError: azure ml failure" in log


@pytest.mark.parametrize("flow", ["local"], indirect=True)  # what a cancel does is the same for either store
def test_an_azure_ml_job_of_a_canceled_run_is_canceled(flow, azureml_double):
    run_id = f"r-{uuid.uuid4().hex[:8]}"
    record = {"schema": 1, "run_id": run_id, "pipeline": "remote", "status": "running", "steps": {}, "outputs": {}}
    write_run_record(flow["store"], record)
    task = _task(flow, "waits", run_id)
    submitted = submit_step(flow["store"], task)
    deadline = time.monotonic() + 30
    while azureml_double.jobs[submitted["job_id"]].status != "Running" and time.monotonic() < deadline:
        time.sleep(0.1)
    write_run_record(flow["store"], {**record, "status": "canceled"})
    assert _until_done(flow, task, submitted, limit_s=15)["status"] == "stopped"
    assert azureml_double.calls("POST", rf"/jobs/{submitted['job_id']}/cancel\?")
    time.sleep(5)
    assert not flow["marker"].exists()
