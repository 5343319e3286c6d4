"""Under `durapipe serve`, as an attacker would try it: a step past its timeout, a canceled run, code edited meanwhile."""
from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.http_api.conftest import App, start_app
from tests.host.serve.conftest import wait_for

pytestmark = pytest.mark.slow  # waits out step timeouts and cancels

RUN_TIMEOUT_S = 120.0

PIPELINES = '''
import os
import time
from pathlib import Path

from helper import shout

from durapipe import Output, pipeline, step

MARKS = Path(os.environ["ISOLATION_MARKS"])


@step(timeout=2)
def oversleeps(out: Output) -> None:
    time.sleep(6)
    (MARKS / "late").write_text("late")


@pipeline
def overrun() -> dict:
    return {"out": oversleeps().out}


@step
def waits(out: Output, i: int = 0) -> None:
    (MARKS / f"started-{i}").write_text("started")
    time.sleep(8)
    (MARKS / f"finished-{i}").write_text("finished")


@pipeline
def many() -> None:
    for i in range(8):
        waits.alias(f"w{i}")(i=i)


@step
def segfaults(out: Output) -> None:
    import ctypes
    print("segfaults: before", flush=True)
    ctypes.string_at(0)


@step
def exits(out: Output) -> None:
    os._exit(7)


@pipeline
def crashes() -> None:
    segfaults(); exits()


@step
def shouts(out: Output, word: str = "x") -> None:
    out.write_text(shout(word))


@pipeline
def loud(word: str = "x") -> dict:
    return {"out": shouts(word=word).out}
'''

HELPER = '''
def shout(word):
    return word.upper() + "!"
'''

DEFINITIONS = '''
from flows import crashes, loud, many, overrun

from durapipe import Definitions

defs = Definitions(pipelines=[overrun, many, loud, crashes])
'''


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One serve of a project of misbehaving steps over a local folder store, and the folder they mark."""
    tmp = tmp_path_factory.mktemp("isolation")
    project, marks = tmp / "project", tmp / "marks"
    project.mkdir()
    marks.mkdir()
    (project / "pyproject.toml").write_text('[tool.durapipe]\ndefinitions = "project_defs:defs"\n')
    (project / "flows.py").write_text(textwrap.dedent(PIPELINES))
    (project / "helper.py").write_text(textwrap.dedent(HELPER))
    (project / "project_defs.py").write_text(textwrap.dedent(DEFINITIONS))
    app = start_app(tmp, str(tmp / "store"), project=project, extra_env={"ISOLATION_MARKS": str(marks)})
    yield {"app": app, "marks": marks, "project": project}
    assert app.stop() == 0


def _start(app: App, pipeline: str, body: dict[str, Any]) -> str:
    status, started = app.post(f"/pipelines/{pipeline}/runs", json.dumps(body).encode())
    assert status == 202, started
    return started["run_id"]


def _ended(app: App, run_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        status, view = app.get(f"/runs/{run_id}")
        return view if status == 200 and view["status"] not in ("pending", "running") else None
    return wait_for(check, timeout=RUN_TIMEOUT_S, interval=0.2)


def test_a_step_past_its_timeout_is_killed_and_never_writes_afterwards(served):
    app, marks = served["app"], served["marks"]
    begun = time.monotonic()
    view = _ended(app, _start(app, "overrun", {}))
    assert view["status"] == "failed" and "timed out after 2 seconds" in view["error"]
    assert time.monotonic() - begun < 6
    time.sleep(6)
    assert not (marks / "late").exists()
    assert app.get("/pipelines")[0] == 200  # the host serves on


def test_a_canceled_run_stops_its_running_steps_and_starts_no_queued_one(served):
    app, marks = served["app"], served["marks"]
    run_id = _start(app, "many", {})
    wait_for(lambda: list(marks.glob("started-*")) or None, timeout=RUN_TIMEOUT_S, interval=0.1)
    status, answer = app.post(f"/runs/{run_id}/cancel")
    assert status == 202, answer
    time.sleep(11)  # past the 8 s the running steps would sleep
    assert not list(marks.glob("finished-*"))
    # Only the steps already running when the cancel came (serve runs 2 at once) ever started.
    assert len(list(marks.glob("started-*"))) <= 2


def test_an_edited_helper_runs_as_edited_under_a_new_fingerprint(served):
    app, project = served["app"], served["project"]
    first = _ended(app, _start(app, "loud", {"parameters": {"word": "a"}}))
    assert app.store.get(f"artifacts/{first['outputs']['out']['hash']}") == b"A!"
    (project / "helper.py").write_text(textwrap.dedent(HELPER).replace('"!"', '"?"'))
    second = _ended(app, _start(app, "loud", {"parameters": {"word": "a"}}))
    assert second["status"] == "completed", second
    assert app.store.get(f"artifacts/{second['outputs']['out']['hash']}") == b"A?"


def test_steps_that_crash_their_processes_fail_alone_and_the_host_serves_on(served):
    app = served["app"]
    view = _ended(app, _start(app, "crashes", {}))
    assert view["status"] == "failed"
    errors = {name: step.get("error") or "" for name, step in view["steps"].items()}
    assert "signal SIGSEGV" in errors["segfaults"] and "exit code 7" in errors["exits"]
    after = _ended(app, _start(app, "loud", {"parameters": {"word": "still"}}))
    assert after["status"] == "completed"
