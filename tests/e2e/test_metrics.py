"""Metrics and parameters logged by steps: kept with the step and the run, carried by reuse, compared."""
from __future__ import annotations

import pytest

from tests.e2e.projects import LOGGING

TARGET = "flow.py:logging"


@pytest.fixture
def project(make_project, store_url):
    return make_project(store_url, LOGGING)


def test_a_logged_metric_and_parameter_are_kept_with_the_step_and_the_run(project):
    done = project.run(TARGET, "--param", "quality=0.8")
    assert done.code == 0, done.stderr
    fit = done.json["steps"]["fit"]
    assert fit["metrics"] == {"score": 0.8} and fit["logged_params"] == {"algorithm": "constant"}
    assert done.json["metrics"] == {"score": 0.8} and done.json["steps"]["report"]["metrics"] == {}


def test_a_reused_step_carries_the_metrics_of_the_run_that_made_it(project):
    project.run(TARGET, "--param", "quality=0.8")
    again = project.run(TARGET, "--param", "quality=0.8")
    assert again.json["steps"]["fit"]["status"] == "reused"
    assert again.json["steps"]["fit"]["metrics"] == {"score": 0.8} and again.json["metrics"] == {"score": 0.8}


def test_runs_show_prints_the_metrics(project):
    done = project.run(TARGET, "--param", "quality=0.8")
    shown = project.cli("runs", "show", done.json["run_id"], as_json=False)
    assert "step fit: algorithm=constant  score=0.8" in shown.stdout
    assert project.cli("runs", "show", done.json["run_id"]).json["metrics"] == {"score": 0.8}


def test_runs_compare_shows_parameters_metrics_and_the_steps_that_differed(project):
    a = project.run(TARGET, "--param", "quality=0.8").json["run_id"]
    b = project.run(TARGET, "--param", "quality=0.6").json["run_id"]
    compared = project.cli("runs", "compare", a, b)
    assert compared.code == 0, compared.stderr
    assert compared.json["params"]["quality"] == {"a": 0.8, "b": 0.6, "same": False}
    assert compared.json["metrics"]["score"] == {"a": 0.8, "b": 0.6, "same": False}
    assert compared.json["steps"]["fit"]["same"] is False
    assert any("quality" in change for change in compared.json["steps"]["fit"]["changes"])
    assert compared.json["steps"]["report"]["same"] is False  # its input (fit's model) changed


def test_log_metric_outside_a_step_is_one_sentence():
    import durapipe
    from durapipe.core.errors import UsageError

    with pytest.raises(UsageError, match="only inside a running step"):
        durapipe.log_metric("score", 1.0)
