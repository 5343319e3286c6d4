"""`durapipe serve` resumes only the unfinished runs of its own store; a run of another store waits for `resume`."""
from __future__ import annotations

import subprocess

from durapipe.store.local import LocalStore
from durapipe.store.records import read_run_record
from tests.e2e.conftest import DURAPIPE, new_project, step_statuses
from tests.e2e.projects import SEQUENCE, SEQUENCE_STEPS, TRAIN_PYPROJECT
from tests.e2e.test_resume import _start_and_kill_after_two_steps
from tests.host.serve.conftest import read_banner, stop_process


def test_serve_leaves_a_run_of_another_store_for_resume_which_resumes_it_on_its_own_store(tmp_path):
    store_a, store_b = LocalStore(tmp_path / "store-a"), LocalStore(tmp_path / "store-b")
    project = new_project(tmp_path / "project", store_a.url, SEQUENCE)
    project.write("defs.py", "from durapipe import Definitions\nfrom flow import sequence\n\n"
                             "defs = Definitions(pipelines=[sequence])\n")
    project.write("pyproject.toml", TRAIN_PYPROJECT)  # [tool.durapipe] definitions = "defs:defs", for serve
    run_id = _start_and_kill_after_two_steps(project)
    starts_at_kill, ends_at_kill = project.starts(), project.ends()
    assert ends_at_kill["s3"] == 0, "s3 finished before the kill; the test would prove nothing"

    errors = tmp_path / "serve.err"
    serve = subprocess.Popen([str(DURAPIPE), "serve", "--port", "0", "--store", str(store_b.root)],
                             cwd=project.root, env=project.env, stdout=subprocess.PIPE, stderr=open(errors, "w"),
                             text=True)
    try:
        banner = read_banner(serve, errors)
    finally:
        assert stop_process(serve) == 0, errors.read_text()
    assert f"left run {run_id} for `durapipe resume`: it ran on store {store_a.url}" in banner, banner
    assert not any(line.startswith("resumed") for line in banner), banner
    assert (project.starts(), project.ends()) == (starts_at_kill, ends_at_kill)  # serve ran nothing of it
    assert read_run_record(store_a, run_id)["status"] == "running"
    assert not [key for key in store_b.list() if run_id in key]

    code, summary, stderr = project.cli("resume", run_id)
    assert code == 0, stderr
    assert summary["run_id"] == run_id and summary["status"] == "completed"
    assert set(step_statuses(summary).values()) <= {"ran", "reused"}
    starts, ends = project.starts(), project.ends()
    assert starts["s1"] == starts["s2"] == 1, starts  # resumed from the journal: nothing done runs again
    assert all(ends[name] == 1 for name in SEQUENCE_STEPS), ends
    assert read_run_record(store_a, run_id)["status"] == "completed"
