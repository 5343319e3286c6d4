"""A run whose host is killed (SIGKILL) resumes with `durapipe resume`; completed steps do not run again."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from typing import Any

import pytest

from tests.e2e.conftest import DURAPIPE, Project, new_project, step_statuses
from tests.e2e.projects import SEQUENCE, SEQUENCE_STEPS

START_TIMEOUT_S = 60.0


def _wait_for(predicate, what: str, process: subprocess.Popen, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError(f"durapipe run exited ({process.returncode}) before {what}")
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _start_and_kill_after_two_steps(project: Project) -> str:
    """Start `durapipe run`, SIGKILL its whole process group once s1 and s2 are done; the run id."""
    stderr_path = project.root / "run.stderr"
    argv = [str(DURAPIPE), "run", "flow.py:sequence"] + (["--store", project.store_url] if project.store_url else [])
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(argv, cwd=project.root, env=project.env, stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True)
    try:
        # s3 starting means s1 and s2 finished and the orchestrator moved on.
        _wait_for(lambda: project.ends()["s2"] == 1 and project.starts()["s3"] == 1, "s3 started", process)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    found = re.search(r"^run (\S+) started", stderr_path.read_text(), re.MULTILINE)
    assert found, stderr_path.read_text()
    return found.group(1)


@pytest.fixture(scope="module")
def killed_and_resumed(module_store_url, tmp_path_factory) -> dict[str, Any]:
    """A sequence run killed with SIGKILL after two of its four steps, then resumed."""
    project = new_project(tmp_path_factory.mktemp("resume") / "project", module_store_url, SEQUENCE)
    run_id = _start_and_kill_after_two_steps(project)
    starts_at_kill, ends_at_kill = project.starts(), project.ends()
    resumed = project.cli("resume", run_id)
    return {"project": project, "run_id": run_id, "starts_at_kill": starts_at_kill, "ends_at_kill": ends_at_kill,
            "resumed": resumed}


def test_killed_run_resumes_to_completion(killed_and_resumed):
    assert killed_and_resumed["ends_at_kill"]["s3"] == 0, "s3 finished before the kill; the test would prove nothing"
    code, summary, stderr = killed_and_resumed["resumed"]
    assert code == 0, stderr
    assert summary["run_id"] == killed_and_resumed["run_id"]
    assert summary["status"] == "completed"
    assert set(step_statuses(summary).values()) <= {"ran", "reused"}


def test_resume_does_not_rerun_steps_completed_before_the_kill(killed_and_resumed):
    project: Project = killed_and_resumed["project"]
    starts, ends = project.starts(), project.ends()
    assert starts["s1"] == starts["s2"] == 1, starts
    assert 1 <= starts["s3"] <= 2, starts  # s3 was running at the kill: it may start again
    assert starts["s4"] == 1, starts
    assert all(ends[name] == 1 for name in SEQUENCE_STEPS), ends


def test_resumed_run_is_listed_as_completed(killed_and_resumed):
    project: Project = killed_and_resumed["project"]

    code, rows, stderr = project.cli("runs", "list")

    assert code == 0, stderr
    assert [(row["run_id"], row["status"]) for row in rows] == [(killed_and_resumed["run_id"], "completed")]


def test_runs_show_of_resumed_run_matches_what_resume_printed(killed_and_resumed):
    project: Project = killed_and_resumed["project"]

    code, shown, stderr = project.cli("runs", "show", killed_and_resumed["run_id"])

    assert code == 0, stderr
    assert shown == killed_and_resumed["resumed"].json


def test_resume_of_an_unknown_run_exits_2(make_project):
    result = make_project().cli("resume", "chain-20000101-000000-abcdef", as_json=False)

    assert result.code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
