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


FLAKY_MAPPED = '''
import os
from durapipe import Input, Output, pipeline, step


@step
def upper(part: Input, out: Output):
    if part.read_text() == "b" and os.path.exists(os.environ["FLAKY_FLAG"]):
        raise RuntimeError("partition b is not ready")
    out.write_text(part.read_text().upper())


@pipeline
def shout(parts: Input):
    return {"out": upper.map("part", part=parts).out}
'''


def test_a_failed_mapped_step_runs_again_when_its_run_is_resumed(tmp_path):
    project = new_project(tmp_path / "project", None, FLAKY_MAPPED)
    (project.root / "parts").mkdir()
    for name in ("a", "b"):
        project.write(f"parts/{name}.txt", name)
    flag = tmp_path / "flag"
    flag.touch()
    project.env_extra = {"FLAKY_FLAG": str(flag)}
    failed = project.run("flow.py:shout", "--input", "parts=parts")
    assert failed.code == 1 and "partition b.txt failed" in failed.json["steps"]["upper"]["error"]
    flag.unlink()
    resumed = project.cli("resume", failed.json["run_id"])
    assert resumed.code == 0, resumed.json["steps"]["upper"]["error"]
    assert resumed.json["steps"]["upper"]["partitions"] == {"total": 2, "ran": 1, "reused": 1}
