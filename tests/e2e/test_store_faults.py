"""A whole run with storage faults injected in front of Azurite (tests/fault_proxy.py): flaky storage is
ridden out; an outage fails the run with a sentence, and after recovery `resume` completes it, reusing every
committed step; nothing is ever half-committed."""
from __future__ import annotations

import json
import re
import subprocess
import uuid

import pytest

from durapipe.store.url import open_store
from tests.e2e.conftest import DURAPIPE, Project, new_project, step_statuses
from tests.e2e.projects import SEQUENCE, SEQUENCE_STEPS
from tests.e2e.test_resume import _wait_for

EXIT_TIMEOUT_S = 90


def _check_nothing_half_committed(project: Project, azurite: str) -> list[dict]:
    """Every step record parses and names outputs that are stored; read past the proxy."""
    store = open_store(f"{azurite}/{project.store_url.rsplit('/', 1)[1]}")
    records = [json.loads(store.get(key)) for key in store.list("steps/")]
    for record in records:
        for ref in record["outputs"].values():
            assert store.exists(f"artifacts/{ref['hash']}"), record
    return records


@pytest.mark.parametrize("mode", ["503", "reset"])
def test_a_run_on_flaky_storage_completes_with_one_record_per_step(fault_proxy, azurite, tmp_path, mode):
    project = new_project(tmp_path / "project", f"{fault_proxy.url}/faults{uuid.uuid4().hex[:16]}", SEQUENCE)
    fault_proxy.set(mode, fail_every=4)  # one request in four fails; the client's retries ride it out

    ran = project.run("flow.py:sequence")

    requests = fault_proxy.requests
    fault_proxy.set("pass")
    assert ran.code == 0, ran.stderr
    assert ran.json["status"] == "completed"
    assert requests >= 20, "too few requests went through the proxy to prove anything"
    assert len(_check_nothing_half_committed(project, azurite)) == len(SEQUENCE_STEPS)


def test_a_run_failed_by_an_outage_resumes_after_recovery_reusing_what_it_committed(fault_proxy, azurite, tmp_path):
    project = new_project(tmp_path / "project", f"{fault_proxy.url}/faults{uuid.uuid4().hex[:16]}", SEQUENCE)
    stderr_path = tmp_path / "run.stderr"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen([str(DURAPIPE), "run", "flow.py:sequence", "--store", project.store_url],
                                   cwd=project.root, env=project.env, stdout=subprocess.DEVNULL, stderr=stderr)
    _wait_for(lambda: project.ends()["s2"] == 1 and project.starts()["s3"] == 1, "s3 started", process)
    fault_proxy.set("503")  # the store goes down while s3 runs
    process.wait(timeout=EXIT_TIMEOUT_S)
    fault_proxy.set("pass")

    assert process.returncode != 0
    errors = [line for line in stderr_path.read_text().splitlines() if line.startswith("error:")]
    assert "Traceback" not in stderr_path.read_text() and len(errors) == 1, stderr_path.read_text()
    assert errors[0].rstrip().endswith("."), errors
    committed = {r["step"] for r in _check_nothing_half_committed(project, azurite)}
    assert {"s1", "s2"} <= committed and "s4" not in committed, committed
    run_id = re.search(r"^run (\S+) started", stderr_path.read_text(), re.MULTILINE).group(1)

    resumed = project.cli("resume", run_id)

    assert resumed.code == 0, resumed.stderr
    assert resumed.json["status"] == "completed"
    assert step_statuses(resumed.json)["s1"] == "reused" and step_statuses(resumed.json)["s2"] == "reused"
    starts = project.starts()
    assert starts["s1"] == starts["s2"] == starts["s4"] == 1, starts
    assert len(_check_nothing_half_committed(project, azurite)) == len(SEQUENCE_STEPS)


def test_a_run_whose_index_write_fails_completes_with_a_warning_and_the_next_plan_repairs_the_index(
        fault_proxy, azurite, tmp_path):
    container = f"faults{uuid.uuid4().hex[:16]}"
    project = new_project(tmp_path / "project", f"{fault_proxy.url}/{container}", SEQUENCE)
    fault_proxy.set("503", only=("PUT", "/index/steps/"))  # every write of the step index fails, nothing else

    ran = project.run("flow.py:sequence")

    failed_writes = fault_proxy.requests
    fault_proxy.set("pass")
    assert failed_writes >= 1, "the index write never went through the proxy"
    assert ran.code == 0, ran.stderr
    assert ran.json["status"] == "completed"
    warnings = [line for line in ran.stderr.splitlines() if "index/steps/sequence.json" in line]
    assert len(warnings) == 1 and warnings[0].rstrip().endswith("repairs the index."), ran.stderr
    assert "Traceback" not in ran.stderr
    store = open_store(f"{azurite}/{container}")
    assert not store.exists("index/steps/sequence.json")

    planned = project.cli("plan", "flow.py:sequence")

    assert planned.code == 0, planned.stderr
    index = json.loads(store.get("index/steps/sequence.json"))
    assert set(index["entries"]) == {s["fingerprint"] for s in ran.json["steps"].values()}


def test_a_run_whose_lineage_index_write_fails_completes_with_a_warning_and_lineage_still_finds_the_step(
        fault_proxy, azurite, tmp_path):
    container = f"faults{uuid.uuid4().hex[:16]}"
    project = new_project(tmp_path / "project", f"{fault_proxy.url}/{container}", SEQUENCE)
    fault_proxy.set("503", only=("PUT", "/index/producers/"))  # every write of the lineage index fails

    ran = project.run("flow.py:sequence")

    failed_writes = fault_proxy.requests
    fault_proxy.set("pass")
    assert failed_writes >= 1, "the lineage index write never went through the proxy"
    assert ran.code == 0, ran.stderr
    assert ran.json["status"] == "completed"
    warnings = [line for line in ran.stderr.splitlines() if "lineage index" in line]
    assert len(warnings) == 1 and warnings[0].rstrip().endswith("searching the run records instead."), ran.stderr
    assert "Traceback" not in ran.stderr
    last = ran.json["steps"][SEQUENCE_STEPS[-1]]["outputs"]
    digest = next(iter(last.values()))["hash"]

    traced = project.cli("lineage", f"artifact:{digest}")

    assert traced.code == 0, traced.stderr
    produced_by = traced.json["produced_by"]
    assert produced_by["run_id"] == ran.json["run_id"] and produced_by["step"] == SEQUENCE_STEPS[-1], traced.json


def test_resume_json_during_an_outage_prints_one_json_error_and_fails(fault_proxy, tmp_path):
    project = new_project(tmp_path / "project", f"{fault_proxy.url}/faults{uuid.uuid4().hex[:16]}", SEQUENCE)
    stderr_path = tmp_path / "run.stderr"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen([str(DURAPIPE), "run", "flow.py:sequence", "--store", project.store_url],
                                   cwd=project.root, env=project.env, stdout=subprocess.DEVNULL, stderr=stderr)
    _wait_for(lambda: project.ends()["s1"] == 1 and project.starts()["s2"] == 1, "s2 started", process)
    fault_proxy.set("503")  # the store goes down while s2 runs, and stays down for the resume
    process.wait(timeout=EXIT_TIMEOUT_S)
    assert process.returncode != 0
    run_id = re.search(r"^run (\S+) started", stderr_path.read_text(), re.MULTILINE).group(1)

    resumed = project.cli("resume", run_id)

    fault_proxy.set("pass")
    assert resumed.code != 0, resumed.stdout
    assert isinstance(resumed.json, dict), (resumed.stdout, resumed.stderr)
    error = resumed.json.get("error")
    assert isinstance(error, str) and error.rstrip().endswith(".") and "\n" not in error, resumed.json
    assert resumed.json.get("status") != "completed" and "Traceback" not in resumed.stderr
