"""A canceled run's view over real HTTP keeps its steps: what ran stays ran, the rest did not run."""
from __future__ import annotations

import json
import textwrap
from typing import Any, Iterator

import pytest

from tests.http_api.conftest import start_app, wait_for_run
from tests.host.serve.conftest import wait_for

FLOWS = '''
import time
from pathlib import Path

from durapipe import Input, Output, pipeline, step


@step
def first(made: Output, salt: str = ""):
    made.write_text("made " + salt)


@step(cache=False)
def waits(made: Input, opened: Output, gate: str):
    deadline = time.monotonic() + 120
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    opened.write_text(made.read_text())


@step(cache=False)
def after(opened: Input, done: Output):
    done.write_text(opened.read_text() + " and done")


@pipeline
def gated(gate: str, salt: str = ""):
    return {"done": after(opened=waits(made=first(salt=salt).made, gate=gate).opened).done}
'''

DEFINITIONS = '''
from flows import gated

from durapipe import Definitions

defs = Definitions(pipelines=[gated])
'''


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One serve of a project with a gated pipeline, over a local folder store."""
    tmp = tmp_path_factory.mktemp("cancel-view")
    project = tmp / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.durapipe]\ndefinitions = "project_defs:defs"\n')
    (project / "flows.py").write_text(textwrap.dedent(FLOWS))
    (project / "project_defs.py").write_text(textwrap.dedent(DEFINITIONS))
    app = start_app(tmp, str(tmp / "store"), project=project)
    yield {"app": app, "tmp": tmp}
    assert app.stop() == 0


def test_a_canceled_runs_view_keeps_the_steps_that_ran_and_shows_the_rest_not_run(served):
    app, gate = served["app"], served["tmp"] / "gate"
    status, started = app.post("/pipelines/gated/runs", json.dumps({"parameters": {"gate": str(gate)}}).encode())
    assert status == 202, started
    run_id = started["run_id"]

    def waiting_at_the_gate() -> dict | None:
        view = app.get(f"/runs/{run_id}")[1]
        assert view.get("status") in ("pending", "running"), view
        steps = view.get("steps", {})
        ready = steps.get("first", {}).get("status") == "ran" and steps.get("waits", {}).get("status") == "running"
        return view if ready else None
    try:
        wait_for(waiting_at_the_gate, timeout=120, interval=0.2)
        status, answer = app.post(f"/runs/{run_id}/cancel")
        assert status == 202, answer
        run = wait_for_run(app, started["status_url"])
    finally:
        gate.write_text("open")
    assert run["status"] == "canceled"
    assert {name: step["status"] for name, step in run["steps"].items()} == {
        "first": "ran", "waits": "not_run", "after": "not_run"}
    assert run["steps"]["first"]["started"] and run["steps"]["first"]["finished"]
    record = json.loads(app.store.get(f"runs/{run_id}.json"))
    assert record["status"] == "canceled"
    assert {name: step["status"] for name, step in record["steps"].items()} == {
        "first": "ran", "waits": "not_run", "after": "not_run"}
