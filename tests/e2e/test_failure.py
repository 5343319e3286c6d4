"""A failing step fails the run with a sentence naming it; once fixed, only it and its downstream run."""
from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Project, new_project, step_statuses

TARGET = "flow.py:chain"
RAISE = '    t = started("transform")\n'
BROKEN = RAISE + '    raise ValueError("the transform is broken")\n'


@pytest.fixture(scope="module")
def failed_then_fixed(tmp_path_factory) -> dict[str, Any]:
    """A project whose `transform` raises: run it, fix flow.py, run again."""
    project: Project = new_project(tmp_path_factory.mktemp("failure") / "project", None)
    project.edit("flow.py", RAISE, BROKEN)
    failed = project.run(TARGET)
    failed_text = project.cli("run", TARGET, as_json=False)
    project.edit("flow.py", BROKEN, RAISE)
    starts_before = project.starts()
    fixed = project.run(TARGET)
    return {"project": project, "failed": failed, "failed_text": failed_text, "fixed": fixed, "new_starts": project.starts() - starts_before}


def test_failing_step_fails_the_run_with_exit_code_1(failed_then_fixed):
    failed = failed_then_fixed["failed"]
    assert failed.code == 1, failed.stderr
    assert failed.json["status"] == "failed"
    assert step_statuses(failed.json) == {"source": "ran", "transform": "failed", "finish": "not_run", "side": "ran"}


def test_failed_run_error_is_a_sentence_naming_the_step(failed_then_fixed):
    failed = failed_then_fixed["failed"]
    assert "transform" in failed.json["error"]
    assert "the transform is broken" in failed.json["error"]
    assert "\n" not in failed.json["error"]
    assert "the transform is broken" in failed.json["steps"]["transform"]["error"]
    assert "Traceback" not in failed.stderr


def test_fixed_step_reruns_with_everything_before_it_reused(failed_then_fixed):
    fixed = failed_then_fixed["fixed"]
    assert fixed.code == 0, fixed.stderr
    assert step_statuses(fixed.json) == {"source": "reused", "transform": "ran", "finish": "ran", "side": "reused"}
    assert dict(failed_then_fixed["new_starts"]) == {"transform": 1, "finish": 1}


def test_failed_run_prints_the_error_not_a_traceback(failed_then_fixed):
    failed_text = failed_then_fixed["failed_text"]
    assert failed_text.code == 1
    assert "the transform is broken" in failed_text.stdout
    assert "Traceback" not in failed_text.stderr
    assert "Traceback" not in failed_text.stdout
