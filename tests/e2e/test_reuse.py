"""A second identical run reuses every step; the runs it leaves are listed and shown as run printed them."""
from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import CliResult, Project, new_project, step_statuses
from tests.e2e.projects import CHAIN_STEPS

TARGET = "flow.py:chain"


@pytest.fixture(scope="module")
def twice_run(module_store_url, tmp_path_factory) -> dict[str, Any]:
    """One project run twice without changes: both results and the execution log after each."""
    project = new_project(tmp_path_factory.mktemp("reuse") / "project", module_store_url)
    first = project.run(TARGET)
    after_first = project.log_lines()
    second = project.run(TARGET)
    return {"project": project, "first": first, "second": second,
            "after_first": after_first, "after_second": project.log_lines()}


def test_first_run_runs_every_step(twice_run):
    first: CliResult = twice_run["first"]
    assert first.code == 0, first.stderr
    assert step_statuses(first.json) == {name: "ran" for name in CHAIN_STEPS}


def test_second_identical_run_reuses_every_step_and_executes_none(twice_run):
    second: CliResult = twice_run["second"]
    assert second.code == 0, second.stderr
    assert second.json["status"] == "completed"
    assert step_statuses(second.json) == {name: "reused" for name in CHAIN_STEPS}
    assert twice_run["after_second"] == twice_run["after_first"], "a reused step executed"
    assert second.json["outputs"] == twice_run["first"].json["outputs"]


def test_runs_list_shows_runs_newest_first(twice_run):
    project: Project = twice_run["project"]

    code, rows, stderr = project.cli("runs", "list")

    assert code == 0, stderr
    assert [row["run_id"] for row in rows] == [twice_run["second"].json["run_id"], twice_run["first"].json["run_id"]]
    for row in rows:
        assert row["pipeline"] == "chain"
        assert row["status"] == "completed"
        assert row["started"]
    assert rows[0]["started"] >= rows[1]["started"]


@pytest.mark.parametrize("which", ["first", "second"])
def test_runs_show_prints_what_run_printed(twice_run, which):
    project: Project = twice_run["project"]
    printed = twice_run[which].json

    code, shown, stderr = project.cli("runs", "show", printed["run_id"])

    assert code == 0, stderr
    assert shown["run_id"] == printed["run_id"]
    assert shown["status"] == printed["status"]
    assert step_statuses(shown) == step_statuses(printed)
    assert shown == printed
