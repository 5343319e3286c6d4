"""A host owns the runs it drives: its workers die with it, and no other process resumes a run it still drives."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from tests.e2e.conftest import DURAPIPE, Project, new_project
from tests.e2e.projects import LONG_STEP

START_TIMEOUT_S = 60.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def _start_long_run(project: Project) -> tuple[subprocess.Popen, str, int]:
    """`durapipe run` of the long step, once the step is running: (process, run id, worker pid)."""
    stderr_path = project.root / "run.stderr"
    argv = [str(DURAPIPE), "run", "flow.py:long_flow"] + (["--store", project.store_url] if project.store_url else [])
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(argv, cwd=project.root, env=project.env, stdout=subprocess.DEVNULL,
                                   stderr=stderr, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not any(p[:2] == ["long", "pid"] for p in project.log_lines()):
        assert process.poll() is None and time.monotonic() < deadline, stderr_path.read_text()
        time.sleep(0.05)
    worker = next(int(p[2]) for p in project.log_lines() if p[:2] == ["long", "pid"])
    run_id = re.search(r"^run (\S+) started", stderr_path.read_text(), re.MULTILINE).group(1)
    return process, run_id, worker


@pytest.fixture
def long_run(tmp_path):
    project = new_project(tmp_path / "project", None, LONG_STEP)
    process, run_id, worker = _start_long_run(project)
    yield project, process, run_id, worker
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_the_workers_die_when_their_host_is_killed(long_run):
    _, process, _, worker = long_run
    process.send_signal(signal.SIGKILL)  # the host only, not its process group
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker), "the step kept running after its host was killed"


def test_resume_of_a_run_whose_host_is_alive_is_refused(long_run):
    project, process, run_id, _ = long_run
    refused = project.cli("resume", run_id)
    assert refused.code == 2 and "still being run by another durapipe process" in refused.stderr
    assert process.poll() is None
    assert project.starts()["long"] == 1


def test_runs_list_tells_a_live_run_from_an_interrupted_one(long_run):
    project, process, run_id, _ = long_run
    live = {r["run_id"]: r for r in project.cli("runs", "list").json}
    assert live[run_id]["status"] == "running" and live[run_id]["liveness"] == "live"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    after = {r["run_id"]: r for r in project.cli("runs", "list").json}
    assert after[run_id]["liveness"] == "interrupted"
    assert "interrupted" in project.cli("runs", "list", as_json=False).stdout


def test_a_killed_hosts_scratch_is_swept_by_the_next_host(long_run):
    from tests.e2e.projects import CHAIN

    project, process, _, _ = long_run
    scratch = project.root / ".durapipe" / "host" / "scratch"
    left = [p for p in scratch.iterdir() if p.is_dir()]
    assert any(q.name.startswith("durapipe-long-") for p in left for q in p.iterdir())
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    project.write("quick.py", CHAIN)
    assert project.run("quick.py:chain").code == 0
    assert not any(p.exists() for p in left)
    assert list(scratch.iterdir()) == []
