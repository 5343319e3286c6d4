"""`durapipe rerun` and `durapipe outputs` through the real command, over every store."""
from __future__ import annotations

from tests.e2e.conftest import step_statuses
from tests.e2e.projects import READ_RAW

TARGET = "flow.py:read_raw"


def _first_run(project) -> dict:
    project.write("raw.csv", "one")
    project.cli("data", "register", "raw", "raw.csv")
    done = project.run(TARGET, "--input", "raw=data:raw")
    assert done.code == 0, done.stderr
    return done.json


def test_a_rerun_with_unchanged_code_reuses_every_step_on_the_same_input_version(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    first = _first_run(project)
    project.write("raw.csv", "a newer version")
    project.cli("data", "register", "raw", "raw.csv")
    again = project.cli("rerun", first["run_id"])
    assert again.code == 0, again.stderr
    assert step_statuses(again.json) == {"count": "reused"} and again.json["outputs"] == first["outputs"]
    assert again.json["trigger"]["rerun_of"] == first["run_id"]
    assert again.json["trigger"]["inputs"]["raw"]["version"] == 1


def test_rerun_plan_names_the_code_change_and_runs_nothing(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    first = _first_run(project)
    project.edit("flow.py", "str(len(f.read()))", "str(len(f.read()) + 1)")
    planned = project.cli("rerun", first["run_id"], "--plan")
    assert planned.code == 0, planned.stderr
    [row] = planned.json["steps"]
    assert row["action"] == "run" and row["same_as_original"] is False
    assert any("flow.py" in change for change in row["changes"])
    assert project.starts()["count"] == 1


def test_outputs_lists_and_writes_a_runs_outputs(make_project, store_url, tmp_path):
    project = make_project(store_url, READ_RAW)
    first = _first_run(project)
    listed = project.cli("outputs", first["run_id"])
    written = project.cli("outputs", first["run_id"], "count", "--to", str(tmp_path / "out"))
    assert [(o["name"], o["hash"]) for o in listed.json] == [("count", first["outputs"]["count"]["hash"])]
    assert written.code == 0 and (tmp_path / "out" / "count").read_text() == "3"


def test_outputs_of_an_unknown_output_name_is_a_usage_error(make_project, store_url):
    project = make_project(store_url, READ_RAW)
    first = _first_run(project)
    done = project.cli("outputs", first["run_id"], "nope", as_json=False)
    assert done.code == 2 and done.stderr.strip() == (f"error: Run {first['run_id']} has no output 'nope'; "
                                                      "its outputs are: count.")
