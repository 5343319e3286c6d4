"""A config file a helper reads is part of its step's fingerprint, through `durapipe run`, `plan` and `explain`."""
from __future__ import annotations

import json
from textwrap import dedent
from typing import Any

import pytest

from tests.e2e.conftest import new_project, step_statuses
from tests.e2e.projects import _PREAMBLE

TARGET = "flow.py:forecasting"
FLOW = _PREAMBLE + dedent('''\
    import json
    from pathlib import Path

    ROOT = Path(__file__).parent


    def horizon():
        return json.load(open(ROOT / "config.json"))["horizon"]


    @step
    def forecast(out: Output):
        t = started("forecast")
        out.write_text(str(horizon()))
        finished("forecast", t)


    @step
    def report(src: Input, out: Output):
        t = started("report")
        out.write_text("horizon " + src.read_text())
        finished("report", t)


    @pipeline
    def forecasting():
        return {"report": report(src=forecast().out).out}
    ''')


@pytest.fixture(scope="module")
def config_changed(module_store_url, tmp_path_factory) -> dict[str, Any]:
    """Run, run again unchanged, change `horizon` in config.json from 4 to 8, plan, run again."""
    project = new_project(tmp_path_factory.mktemp("reads") / "project", module_store_url, FLOW)
    project.write("config.json", json.dumps({"horizon": 4}))
    first = project.run(TARGET)
    unchanged = project.run(TARGET)
    project.write("config.json", json.dumps({"horizon": 8}))
    plan = project.cli("plan", TARGET)
    second = project.run(TARGET)
    return {"project": project, "first": first, "unchanged": unchanged, "plan": plan, "second": second}


def test_a_changed_config_file_reruns_the_step_that_read_it(config_changed):
    first, unchanged, second = config_changed["first"], config_changed["unchanged"], config_changed["second"]
    assert first.code == unchanged.code == second.code == 0, second.stderr
    assert step_statuses(unchanged.json) == {"forecast": "reused", "report": "reused"}
    assert step_statuses(second.json) == {"forecast": "ran", "report": "ran"}
    assert second.json["outputs"]["report"] != first.json["outputs"]["report"]


def test_plan_says_the_config_file_changed(config_changed):
    code, plan, stderr = config_changed["plan"]
    assert code == 0, stderr
    forecast = next(row for row in plan["steps"] if row["step"] == "forecast")
    assert forecast["action"] == "run"
    assert forecast["reason"] == "file config.json changed since its result was committed"


def test_explain_names_the_config_file(config_changed):
    project = config_changed["project"]
    code, explained, stderr = project.cli("explain", config_changed["second"].json["run_id"], "forecast")
    assert code == 0, stderr
    assert [c["description"] for c in explained["changes"]][0].startswith("file config.json changed (content ")
