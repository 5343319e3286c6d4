"""Independent steps run at the same time."""
from __future__ import annotations

from tests.e2e import projects
from tests.e2e.conftest import step_statuses


def test_independent_steps_run_at_the_same_time(make_project):
    project = make_project(pipeline=projects.PARALLEL)

    code, summary, stderr = project.run("flow.py:parallel", "--max-parallel", "2")

    assert code == 0, stderr
    assert step_statuses(summary) == {"left": "ran", "right": "ran"}
    (left_start, left_end), (right_start, right_end) = project.intervals()["left"], project.intervals()["right"]
    assert left_start < right_end and right_start < left_end, "the two steps' intervals do not overlap"
