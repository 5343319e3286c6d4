"""A run whose host is killed (SIGKILL) resumes with `durapipe resume`; completed steps do not run again."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time

from tests.e2e.conftest import DURAPIPE, Project, step_statuses
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


def test_killed_run_resumes_without_rerunning_completed_steps(store_url, make_project):
    project = make_project(store_url, pipeline=SEQUENCE)
    run_id = _start_and_kill_after_two_steps(project)
    assert project.ends()["s3"] == 0, "s3 finished before the kill; the test would prove nothing"

    code, summary, stderr = project.cli("resume", run_id)

    assert code == 0, stderr
    assert summary["run_id"] == run_id
    assert summary["status"] == "completed"
    assert set(step_statuses(summary).values()) <= {"ran", "reused"}
    starts, ends = project.starts(), project.ends()
    assert starts["s1"] == starts["s2"] == 1, starts
    assert 1 <= starts["s3"] <= 2, starts
    assert starts["s4"] == 1, starts
    assert all(ends[name] == 1 for name in SEQUENCE_STEPS), ends


def test_resumed_run_is_recorded_as_completed(store_url, make_project):
    project = make_project(store_url, pipeline=SEQUENCE)
    run_id = _start_and_kill_after_two_steps(project)
    assert project.cli("resume", run_id).code == 0

    code, rows, stderr = project.cli("runs", "list")

    assert code == 0, stderr
    assert [(row["run_id"], row["status"]) for row in rows] == [(run_id, "completed")]
