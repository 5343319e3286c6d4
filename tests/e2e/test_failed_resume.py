"""A failed run can be resumed: it runs again under its id and reuses every step it had committed."""
from __future__ import annotations

from tests.e2e.conftest import new_project, step_statuses
from tests.e2e.projects import FLAKY


def test_a_failed_run_resumes_to_completion_reusing_what_it_committed(store_url, tmp_path):
    project = new_project(tmp_path / "project", store_url, FLAKY)
    flag = tmp_path / "flag"
    flag.touch()
    project.env_extra = {"FLAKY_FLAG": str(flag)}
    failed = project.run("flow.py:flaky_flow")
    assert failed.code == 1 and failed.json["status"] == "failed"
    flag.unlink()
    resumed = project.cli("resume", failed.json["run_id"])
    assert resumed.code == 0, resumed.stderr
    assert resumed.json["run_id"] == failed.json["run_id"] and resumed.json["status"] == "completed"
    assert step_statuses(resumed.json) == {"first": "reused", "flaky": "ran"}
    assert project.starts()["first"] == 1
    listed = {r["run_id"]: r["status"] for r in project.cli("runs", "list").json}
    assert listed[failed.json["run_id"]] == "completed"
