"""A second identical run reuses every step; the runs it leaves are listed and shown as run printed them."""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import CliResult, Project, new_project, step_statuses
from tests.e2e.projects import CHAIN_STEPS

TARGET = "flow.py:chain"


@pytest.fixture(scope="module")
def repeated_runs(module_store_url, tmp_path_factory) -> dict[str, Any]:
    """One project run three times without changes (the third as text): results and the execution log."""
    project = new_project(tmp_path_factory.mktemp("reuse") / "project", module_store_url)
    first = project.run(TARGET)
    after_first = project.log_lines()
    second = project.run(TARGET)
    after_second = project.log_lines()
    third = project.cli("run", TARGET, as_json=False)
    return {"project": project, "first": first, "second": second, "third": third,
            "after_first": after_first, "after_second": after_second}


def test_first_run_runs_every_step(repeated_runs):
    first: CliResult = repeated_runs["first"]
    assert first.code == 0, first.stderr
    assert step_statuses(first.json) == {name: "ran" for name in CHAIN_STEPS}


def test_second_identical_run_reuses_every_step_and_executes_none(repeated_runs):
    second: CliResult = repeated_runs["second"]
    assert second.code == 0, second.stderr
    assert second.json["status"] == "completed"
    assert step_statuses(second.json) == {name: "reused" for name in CHAIN_STEPS}
    assert repeated_runs["after_second"] == repeated_runs["after_first"], "a reused step executed"
    assert second.json["outputs"] == repeated_runs["first"].json["outputs"]


def test_identical_run_says_that_nothing_ran(repeated_runs):
    third = repeated_runs["third"]
    assert third.code == 0, third.stderr
    assert "All 4 steps were reused; nothing ran." in third.stdout
    assert repeated_runs["project"].log_lines() == repeated_runs["after_first"]


def test_runs_list_shows_runs_newest_first(repeated_runs):
    project: Project = repeated_runs["project"]

    code, rows, stderr = project.cli("runs", "list")

    assert code == 0, stderr
    third_id = re.search(r"^run (\S+) started", repeated_runs["third"].stderr, re.MULTILINE).group(1)
    assert [row["run_id"] for row in rows] == [
        third_id, repeated_runs["second"].json["run_id"], repeated_runs["first"].json["run_id"]]
    for row in rows:
        assert row["pipeline"] == "chain"
        assert row["status"] == "completed"
        assert row["started"]
    assert rows[0]["started"] >= rows[1]["started"] >= rows[2]["started"]


@pytest.mark.parametrize("which", ["first", "second"])
def test_runs_show_prints_what_run_printed(repeated_runs, which):
    project: Project = repeated_runs["project"]
    printed = repeated_runs[which].json

    code, shown, stderr = project.cli("runs", "show", printed["run_id"])

    assert code == 0, stderr
    assert shown["run_id"] == printed["run_id"]
    assert shown["status"] == printed["status"]
    assert step_statuses(shown) == step_statuses(printed)
    assert shown == printed
