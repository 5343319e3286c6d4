"""Under `durapipe serve`, canceling a run stops its step running as a job on a real local Ray head."""
from __future__ import annotations

import json
import textwrap
import time
from typing import Any, Iterator

import pytest

from tests.http_api.conftest import start_app
from tests.host.serve.conftest import wait_for

PIPELINES = '''
import time
from pathlib import Path

from durapipe import Output, pipeline, step

MARKS = Path("{marks}")


@step(compute="ray:{address}")
def waits(out: Output) -> None:
    (MARKS / "started").write_text("started")
    time.sleep(12)
    (MARKS / "finished").write_text("finished")


@pipeline
def long_remote() -> None:
    waits()
'''

DEFINITIONS = '''
from flows import long_remote

from durapipe import Definitions

defs = Definitions(pipelines=[long_remote])
'''


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, ray_head: str) -> Iterator[dict[str, Any]]:
    """One serve of a project whose one step runs on the Ray head, over a local folder store."""
    tmp = tmp_path_factory.mktemp("remote-cancel")
    project, marks = tmp / "project", tmp / "marks"
    project.mkdir()
    marks.mkdir()
    (project / "pyproject.toml").write_text('[tool.durapipe]\ndefinitions = "project_defs:defs"\n')
    # The job runs on the cluster, in the Ray worker's environment: the marks folder is written in.
    flows = PIPELINES.replace("{address}", ray_head).replace("{marks}", str(marks))
    (project / "flows.py").write_text(textwrap.dedent(flows))
    (project / "project_defs.py").write_text(textwrap.dedent(DEFINITIONS))
    app = start_app(tmp, str(tmp / "store"), project=project)
    yield {"app": app, "marks": marks, "ray": ray_head}
    assert app.stop() == 0


def _job_status(address: str, job_name_prefix: str) -> list[str]:
    from ray.job_submission import JobSubmissionClient

    jobs = JobSubmissionClient(address).list_jobs()
    return [str(j.status.value) for j in jobs if (j.submission_id or "").startswith(job_name_prefix)]


def test_canceling_a_run_stops_its_remote_job_and_the_step_never_finishes(served):
    app, marks = served["app"], served["marks"]
    status, started = app.post("/pipelines/long_remote/runs", json.dumps({}).encode())
    assert status == 202, started
    run_id = started["run_id"]
    def begun() -> bool | None:
        if (marks / "started").exists():
            return True
        view = app.get(f"/runs/{run_id}")[1]
        assert view.get("status") in ("pending", "running"), view  # it ended before its step began
        return None
    wait_for(begun, timeout=120, interval=0.2)
    status, answer = app.post(f"/runs/{run_id}/cancel")
    assert status == 202, answer
    prefix = f"durapipe-{run_id}-waits"[:110]
    stopped = wait_for(lambda: [s for s in _job_status(served["ray"], prefix) if s in ("STOPPED", "FAILED")] or None,
                       timeout=60, interval=0.5)
    assert stopped
    time.sleep(13)  # past the 12 s the step would sleep, counted from when it started
    assert not (marks / "finished").exists()
    assert app.get("/pipelines")[0] == 200
