"""Files a step reads are part of its fingerprint: traced while it runs, checked when the next run plans.

A helper that opens `config.json` is code: change the file and the step runs again, on either
store; the commit carries what the step read with its content hashes, `explain` names the file.
Declared `reads=` and `env=` cover what tracing cannot see.
"""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from textwrap import dedent
from typing import Any, Iterator

import pytest

from durapipe.engine.plan import make_plan
from durapipe.engine.request import build_run_request
from durapipe.engine.run_step import run_step
from durapipe.load.targets import load_target
from durapipe.store.artifacts import read_artifact_bytes
from durapipe.store.records import find_step_record

FLOW = dedent('''\
    import json
    import os
    import subprocess
    from pathlib import Path
    from durapipe import Output, pipeline, step

    ROOT = Path(__file__).parent

    def horizon():
        return json.load(open(ROOT / "config.json"))["horizon"]

    @step
    def forecast(out: Output):
        out.write_text(str(horizon()))

    @step(reads=["lookup/", "model.cfg"], env=["REGION"])
    def declared(out: Output):
        # What tracing cannot see: a child process reads the files, the result depends on a variable.
        text = subprocess.run(["cat", str(ROOT / "model.cfg"), *sorted(str(p) for p in (ROOT / "lookup").iterdir())],
                              capture_output=True, text=True, check=True).stdout
        out.write_text(text + os.environ.get("REGION", "-"))

    @step
    def writes_a_note(out: Output):
        (ROOT / "note.txt").write_text("written by the step")
        out.write_text(open(ROOT / "note.txt").read())

    @step(compute="azureml:gpu-cluster")
    def remote_forecast(out: Output):
        out.write_text(str(horizon()))

    @pipeline
    def plan_it():
        return {"out": forecast().out}

    @pipeline
    def with_declared():
        return {"out": declared().out}

    @pipeline
    def with_note():
        return {"out": writes_a_note().out}

    @pipeline
    def remotely():
        return {"out": remote_forecast().out}
    ''')


@pytest.fixture
def project(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A project whose step `forecast` reads config.json through a helper, and whose `declared` declares its reads."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'reads'\n")
    module = f"reads_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(FLOW)
    (root / "config.json").write_text(json.dumps({"horizon": 4}))
    (root / "model.cfg").write_text("depth=3\n")
    (root / "lookup").mkdir()
    (root / "lookup" / "a.txt").write_text("a\n")
    yield {"root": root, "module": module}
    sys.modules.pop(module, None)


def _request(project: dict[str, Any], pipeline: str) -> dict[str, Any]:
    spec = load_target(f"{project['root'] / project['module']}.py:{pipeline}").spec.to_json()
    return build_run_request(spec, {}, {}, run_id=f"r-{uuid.uuid4().hex[:8]}", code_root=str(project["root"]),
                             trigger={"kind": "cli"})


def _run(store: Any, project: dict[str, Any], pipeline: str = "plan_it") -> tuple[str, str, Any]:
    """Plan the pipeline's one step and run it as the orchestrator would: (status, output text, plan)."""
    request = _request(project, pipeline)
    plan = make_plan(store, request)
    step = request["spec"]["steps"][0]
    result = plan.steps[0].reused or run_step(store, {
        "schema": 1, "run_id": request["run_id"], "pipeline": request["spec"]["name"], "step": step, "params": {},
        "code_root": str(project["root"]), "inputs": {}, "force": False})
    return result["status"], read_artifact_bytes(store, result["outputs"]["out"]).decode(), plan


def _set_horizon(project: dict[str, Any], value: int) -> None:
    (project["root"] / "config.json").write_text(json.dumps({"horizon": value}) + " " * value)


def test_a_step_runs_again_when_a_file_its_helper_read_changed(store, project):
    assert _run(store, project)[:2] == ("ran", "4")
    assert _run(store, project)[:2] == ("reused", "4")
    _set_horizon(project, 8)
    status, text, plan = _run(store, project)
    assert (status, text) == ("ran", "8")
    assert plan.steps[0].reason == "file config.json changed since its result was committed"
    assert _run(store, project)[:2] == ("reused", "8")


def test_the_commit_holds_each_file_the_step_read_with_its_content_hash(store, project):
    status, _, _ = _run(store, project)
    result = run_step(store, {"schema": 1, "run_id": "again", "pipeline": "plan_it", "params": {}, "inputs": {},
                              "step": _request(project, "plan_it")["spec"]["steps"][0],
                              "code_root": str(project["root"]), "force": False})
    record = find_step_record(store, result["fingerprint"])
    from durapipe.store.hashing import hash_file

    assert record["components"]["reads"] == {"config.json": hash_file(project["root"] / "config.json")}


def test_the_activity_does_not_reuse_a_commit_whose_read_file_changed(store, project):
    # The activity's own reuse check (a step task delivered without planning, a retry) checks the files too.
    task = {"schema": 1, "run_id": "r1", "pipeline": "plan_it", "params": {}, "inputs": {}, "force": False,
            "step": _request(project, "plan_it")["spec"]["steps"][0], "code_root": str(project["root"])}
    first = run_step(store, task)
    _set_horizon(project, 8)
    second = run_step(store, {**task, "run_id": "r2"})
    assert second["status"] == "ran" and second["fingerprint"] == first["fingerprint"]
    assert read_artifact_bytes(store, second["outputs"]["out"]) == b"8"
    assert read_artifact_bytes(store, run_step(store, {**task, "run_id": "r3"})["outputs"]["out"]) == b"8"


def test_a_file_changed_back_and_forth_never_gives_a_stale_result(store, project):
    for value in (4, 8, 4, 8):
        _set_horizon(project, value)
        assert _run(store, project)[1] == str(value)


def test_explain_names_the_file_that_changed(store, project):
    from durapipe.fingerprint.explain import explain

    _run(store, project)
    old = _run(store, project)[2]
    _set_horizon(project, 8)
    plan = make_plan(store, _request(project, "plan_it"), recall=False)
    changes = [c.describe() for c in explain(old.steps[0].reused["components"], plan.steps[0].components)]
    assert len(changes) == 1 and changes[0].startswith("file config.json changed (content ")


def test_declared_reads_and_environment_variables_are_part_of_the_fingerprint(store, project, monkeypatch):
    monkeypatch.setenv("REGION", "west")
    assert _run(store, project, "with_declared")[:2] == ("ran", "depth=3\na\nwest")
    assert _run(store, project, "with_declared")[0] == "reused"
    (project["root"] / "lookup" / "b.txt").write_text("b\n")
    assert _run(store, project, "with_declared")[:2] == ("ran", "depth=3\na\nb\nwest")
    (project["root"] / "model.cfg").write_text("depth=4\n")
    assert _run(store, project, "with_declared")[:2] == ("ran", "depth=4\na\nb\nwest")
    monkeypatch.setenv("REGION", "east")
    status, text, plan = _run(store, project, "with_declared")
    assert (status, text) == ("ran", "depth=4\na\nb\neast")


def test_a_file_the_step_writes_in_the_project_is_not_one_it_read(store, project):
    status, _, _ = _run(store, project, "with_note")
    assert status == "ran"
    request = _request(project, "with_note")
    record = find_step_record(store, make_plan(store, request).steps[0].fingerprint)
    assert record["components"]["reads"] == {}


@pytest.mark.parametrize("store", ["local"], indirect=True)
def test_with_tracing_off_a_commit_records_no_reads(store, project, monkeypatch):
    monkeypatch.setenv("DURAPIPE_TRACE_READS", "0")
    _run(store, project)
    record = find_step_record(store, make_plan(store, _request(project, "plan_it")).steps[0].fingerprint)
    assert "reads" not in record["components"]


@pytest.mark.parametrize("reads, env, message", [
    (["../secrets.txt"], None, r"reads names '\.\./secrets\.txt'; each must be a file or folder inside the project"),
    (["/etc/passwd"], None, r"reads names '/etc/passwd'"),
    ("model.cfg", None, r"reads must be a list of paths relative to the project root"),
    (None, ["9LIVES"], r"env names '9LIVES', which is not an environment variable name"),
    (None, "REGION", r"env must be a list of environment variable names"),
], ids=["outside", "absolute", "not-a-list", "bad-name", "env-not-a-list"])
def test_a_bad_declaration_is_refused_at_its_line(reads, env, message):
    from durapipe import step
    from durapipe.core.errors import DefinitionError

    with pytest.raises(DefinitionError, match=r"In @step at .*test_read_files\.py:\d+: " + message):
        @step(reads=reads, env=env)
        def helper():
            pass


@pytest.mark.parametrize("store", ["local"], indirect=True)  # the commit goes through the store as above
def test_a_remote_step_records_the_files_it_read_where_it_ran(store, project, azureml_settings):
    import time

    from durapipe.engine.remote_step import collect_step, poll_step, submit_step

    task = {"schema": 1, "run_id": "r1", "pipeline": "remotely", "params": {}, "inputs": {}, "force": False,
            "step": _request(project, "remotely")["spec"]["steps"][0], "code_root": str(project["root"])}
    submitted = submit_step(store, task)
    while not poll_step(store, task, submitted)["done"]:
        time.sleep(0.2)
    result = collect_step(store, task, submitted)
    assert read_artifact_bytes(store, result["outputs"]["out"]) == b"4"
    from durapipe.store.hashing import hash_file

    reads = find_step_record(store, result["fingerprint"])["components"]["reads"]
    assert reads == {"config.json": hash_file(project["root"] / "config.json")}
    assert submit_step(store, {**task, "run_id": "r2"})["status"] == "reused"
    _set_horizon(project, 8)
    assert submit_step(store, {**task, "run_id": "r3"})["status"] == "submitted"
