"""Editing a helper module re-runs the step that uses it and its downstream, and plan/explain say why."""
from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Project, new_project, step_statuses
from tests.e2e.projects import CHAIN_STEPS

TARGET = "flow.py:chain"


@pytest.fixture(scope="module")
def helper_edited(module_store_url, tmp_path_factory) -> dict[str, Any]:
    """Run, edit helper.py (used by `transform` only) so its output changes, plan, run again."""
    project = new_project(tmp_path_factory.mktemp("changes") / "project", module_store_url)
    first = project.run(TARGET)
    assert first.code == 0, first.stderr
    starts_before = project.starts()
    project.edit("helper.py", "text.upper()", "text.upper() + '?'")
    plan = project.cli("plan", TARGET)
    second = project.run(TARGET)
    return {"project": project, "first": first, "plan": plan, "second": second,
            "new_starts": project.starts() - starts_before}


def test_editing_a_helper_reruns_its_step_and_downstream_only(helper_edited):
    second = helper_edited["second"]
    assert second.code == 0, second.stderr
    assert step_statuses(second.json) == {"source": "reused", "transform": "ran", "finish": "ran", "side": "reused"}
    assert dict(helper_edited["new_starts"]) == {"transform": 1, "finish": 1}
    assert second.json["outputs"]["finish"] != helper_edited["first"].json["outputs"]["finish"]


def test_plan_names_the_step_that_would_run_and_the_changed_file(helper_edited):
    code, plan, stderr = helper_edited["plan"]
    assert code == 0, stderr
    actions = {row["step"]: row["action"] for row in plan["steps"]}
    assert actions["source"] == actions["side"] == "reuse"
    assert actions["transform"] == "run"
    transform = next(row for row in plan["steps"] if row["step"] == "transform")
    assert any("helper.py" in change for change in transform["changes"]), transform


def test_plan_runs_nothing(helper_edited):
    # The second run executed transform exactly once, so planning did not execute it.
    assert helper_edited["new_starts"]["transform"] == 1


def test_explain_names_the_edited_helper_file(helper_edited):
    project: Project = helper_edited["project"]
    run_id = helper_edited["second"].json["run_id"]

    code, explained, stderr = project.cli("explain", run_id, "transform")

    assert code == 0, stderr
    assert explained["status"] == "ran"
    assert explained["previous_run"] == helper_edited["first"].json["run_id"]
    assert any("helper.py" in change["description"] for change in explained["changes"]), explained


def test_explain_as_text_names_the_edited_helper_file(helper_edited):
    project: Project = helper_edited["project"]
    run_id = helper_edited["second"].json["run_id"]

    result = project.cli("explain", run_id, "transform", as_json=False)

    assert result.code == 0, result.stderr
    assert "helper.py" in result.stdout


def test_explain_says_a_reused_step_was_reused(helper_edited):
    project: Project = helper_edited["project"]

    code, explained, stderr = project.cli("explain", helper_edited["second"].json["run_id"], "side")

    assert code == 0, stderr
    assert explained["status"] == "reused"
    assert explained["changes"] == []
