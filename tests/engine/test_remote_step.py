"""Remote steps on a real local Ray head: submitted, polled, collected through the store; failed with logs; canceled."""
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
from durapipe.store.local import LocalStore

FLOW = dedent('''\
    import time
    from durapipe import Input, Output, pipeline, step

    RAY = "ray:{address}"

    @step(compute=RAY)
    def doubles(src: Input, out: Output, k: int = 2):
        print("doubling", k)
        out.write_text(src.read_text() * k)

    @step(compute=RAY)
    def breaks(out: Output):
        print("about to break on the cluster")
        raise RuntimeError("remote failure")

    @step(compute=RAY)
    def waits(out: Output, marker: str = ""):
        time.sleep(20)
        open(marker, "w").write("late")

    @pipeline
    def remote(src: Input, marker: str = ""):
        doubles(src=src)
        breaks()
        waits(marker=marker)
    ''')


@pytest.fixture
def flow(tmp_path: Path, ray_head: str) -> Iterator[dict[str, Any]]:
    """A project whose steps run on the Ray head, its spec, a local store and one input artifact."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'remote'\n")
    module = f"remote_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(FLOW.format(address=ray_head))
    spec = load_target(f"{root / module}.py:remote").spec.to_json()
    store = LocalStore(tmp_path / "store")
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


def _until_done(flow: dict[str, Any], task: dict[str, Any], submitted: dict[str, Any], limit_s: float = 120) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        polled = poll_step(flow["store"], task, submitted)
        if polled["done"]:
            return polled
        time.sleep(0.5)
    raise AssertionError(f"the remote job {submitted['job_id']} did not end within {limit_s:.0f}s")


def test_a_remote_step_runs_on_ray_and_its_outputs_come_back_through_the_store(flow):
    task = _task(flow, "doubles", "r1")
    submitted = submit_step(flow["store"], task)
    assert submitted["status"] == "submitted"
    assert _until_done(flow, task, submitted)["status"] == "succeeded"
    result = collect_step(flow["store"], task, submitted)
    assert result["status"] == "ran"
    assert read_artifact_bytes(flow["store"], result["outputs"]["out"]) == b"ab" * 2
    assert "doubling 2" in read_artifact_bytes(flow["store"], result["log"]).decode()
    again = submit_step(flow["store"], _task(flow, "doubles", "r2"))
    assert again["status"] == "reused" and again["result"]["outputs"] == result["outputs"]


def test_a_failed_remote_step_fails_with_its_remote_logs_stored(flow):
    task = _task(flow, "breaks", "r3")
    submitted = submit_step(flow["store"], task)
    assert _until_done(flow, task, submitted)["status"] == "failed"
    with pytest.raises(StepFailed, match=r"RuntimeError: remote failure \(log artifact ([0-9a-f]{12})\)") as failure:
        collect_step(flow["store"], task, submitted)
    prefix = str(failure.value).rsplit("log artifact ", 1)[1][:12]
    [key] = list(flow["store"].list(f"artifacts/{prefix}"))
    log = flow["store"].get(key).decode()
    assert "about to break on the cluster" in log and "RuntimeError: remote failure" in log


def test_a_remote_step_of_a_canceled_run_is_stopped(flow):
    record = {"schema": 1, "run_id": "r4", "pipeline": "remote", "status": "running", "steps": {}, "outputs": {}}
    write_run_record(flow["store"], record)
    task = _task(flow, "waits", "r4")
    submitted = submit_step(flow["store"], task)
    time.sleep(3)
    write_run_record(flow["store"], {**record, "status": "canceled"})
    polled = _until_done(flow, task, submitted, limit_s=15)
    assert polled["status"] in ("stopped", "failed")
    time.sleep(20)
    assert not flow["marker"].exists()


def test_job_names_keep_partitions_apart_when_their_names_are_cut_or_replaced():
    from durapipe.engine.remote_step import job_name

    def task(partition: str) -> dict[str, Any]:
        return {"run_id": "r" * 60, "step": {"name": "score"}, "partition": {"name": partition, "ref": {}}}

    long = "p" * 100
    names = {job_name(task(p), "f" * 64) for p in ("a b.csv", "a_b.csv", long + "1", long + "2")}
    assert len(names) == 4
    assert all(len(n) <= 128 for n in names)
    assert job_name(task("a b.csv"), "f" * 64) == job_name(task("a b.csv"), "f" * 64)
    assert job_name(task("a b.csv"), "f" * 64) != job_name(task("a b.csv"), "e" * 64)
