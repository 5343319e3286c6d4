"""Sweeps through the real `durapipe` command: six trials in parallel, the best one's outputs, one re-run per change."""
from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import step_statuses
from tests.e2e.projects import SWEEP

pytestmark = pytest.mark.slow  # runs grids of trials through the CLI

TARGET = "flow.py:tune"
TRIALS = [f"fit_trial_{n}" for n in range(1, 7)]


@pytest.fixture
def swept(make_project, store_url, tmp_path):
    project = make_project(store_url, SWEEP)
    done = project.run(TARGET, "--max-parallel", "6")
    assert done.code == 0, done.stderr
    written = project.cli("outputs", done.json["run_id"], "--to", str(tmp_path / "out"))
    assert written.code == 0, written.stderr
    return project, done.json, tmp_path / "out"


def test_every_trial_runs_and_the_best_trials_model_is_the_output(swept):
    _, run, out = swept
    assert step_statuses(run) == {**{t: "ran" for t in TRIALS}, "fit_best": "ran"}
    assert json.loads((out / "model").read_text()) == {"C": 2.0, "depth": 1}


def test_the_run_shows_every_trials_configuration_and_metric(swept):
    _, run, out = swept
    trials = json.loads((out / "trials").read_text())
    assert trials["best"] == "fit_trial_3" and trials["metric"] == "mae"
    assert [(t["config"], t["metrics"]["mae"]) for t in trials["trials"]] == [
        ({"C": 1.0, "depth": 1}, 2.0), ({"C": 1.0, "depth": 2}, 3.0), ({"C": 2.0, "depth": 1}, 1.0),
        ({"C": 2.0, "depth": 2}, 2.0), ({"C": 3.0, "depth": 1}, 2.0), ({"C": 3.0, "depth": 2}, 3.0)]
    assert run["steps"]["fit_trial_3"]["metrics"] == {"mae": 1.0}


def test_the_runs_metrics_are_the_best_trials_not_the_last_ones(swept):
    project, run, _ = swept
    assert run["metrics"] == {"mae": 1.0} and run["steps"]["fit_best"]["metrics"] == {"mae": 1.0}
    assert project.cli("runs", "show", run["run_id"]).json["metrics"] == {"mae": 1.0}


def test_the_six_trials_run_in_parallel(swept):
    project, _, _ = swept
    intervals = sorted(project.intervals().values())
    assert len(intervals) == 6
    overlapping = max(sum(1 for s, e in intervals if s < end and e > start) for start, end in intervals)
    assert overlapping >= 2, intervals
    assert max(e for _, e in intervals) - min(s for s, _ in intervals) < sum(e - s for s, e in intervals)


def test_changing_one_grid_value_reruns_only_the_two_trials_that_use_it(swept):
    project, _, _ = swept
    project.edit("flow.py", '"C": [1.0, 2.0, 3.0]', '"C": [1.0, 2.0, 4.0]')
    again = project.run(TARGET, "--max-parallel", "6")
    assert again.code == 0, again.stderr
    statuses = step_statuses(again.json)
    assert [t for t in TRIALS if statuses[t] == "ran"] == ["fit_trial_5", "fit_trial_6"]
    assert statuses["fit_best"] == "ran"
