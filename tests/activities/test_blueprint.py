"""The activities that import step code check it against the code policy of the catalog the app serves."""
from __future__ import annotations

import json
from types import SimpleNamespace

import azure.durable_functions as df
import pytest

from activities import names
from activities.blueprint import activities_blueprint
from durapipe.core.errors import UsageError
from durapipe.engine.request import ANY_FOLDER, LOCAL_RUN_KEY_ENV, CodePolicy, build_run_request

SPEC = {"schema": 1, "name": "tiny", "inputs": {}, "params": {},
        "steps": [{"name": "copy", "ref": "tinysteps:copy", "inputs": {}, "outputs": ["out"], "params": {},
                   "options": {"retries": 0, "retry_interval": 5.0, "timeout": None, "cache": True,
                               "version": None, "compute": "local"}, "map": None}],
        "outputs": {"out": {"step": "copy", "output": "out"}}}


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A catalog serving tmp_path/project, and the activities of an app built from it."""
    monkeypatch.delenv(LOCAL_RUN_KEY_ENV, raising=False)
    monkeypatch.setenv("DURAPIPE_STORE", str(tmp_path / "store"))
    catalog = SimpleNamespace(code_policy=CodePolicy.serving([tmp_path / "project"]))
    app = df.DFApp()
    app.register_functions(activities_blueprint(catalog))
    return catalog, {f.get_function_name(): f.get_user_function() for f in app.get_functions()}


def _plan_request(code_root: str) -> dict:
    from durapipe.model.spec import PipelineSpec

    spec = PipelineSpec.from_json(SPEC).to_json()
    return build_run_request(spec, {}, {}, run_id="tiny-1", code_root=code_root, trigger={"kind": "http"})


def _step_task(code_root: str) -> dict:
    return {"schema": 1, "run_id": "tiny-1", "pipeline": "tiny", "step": SPEC["steps"][0], "params": {},
            "code_root": code_root, "inputs": {}, "force": False}


def test_planning_refuses_a_request_naming_a_folder_the_catalog_does_not_serve(served, tmp_path):
    _, activities = served
    with pytest.raises(UsageError, match="code root"):
        activities[names.PLAN_RUN](json.loads(json.dumps(_plan_request(str(tmp_path / "elsewhere")))))
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").rglob("*.json"))


@pytest.mark.parametrize("activity", [names.RUN_STEP, names.SUBMIT_STEP])
def test_a_step_activity_refuses_a_task_naming_a_folder_the_catalog_does_not_serve(served, tmp_path, activity):
    _, activities = served
    with pytest.raises(UsageError, match="code root"):
        activities[activity](_step_task(str(tmp_path / "elsewhere")))


def test_the_policy_checked_is_the_catalogs_when_the_activity_runs(served, tmp_path):
    # A refreshed catalog may serve other folders: the activity reads its policy at each call.
    catalog, activities = served
    catalog.code_policy = ANY_FOLDER
    with pytest.raises(Exception) as raised:
        activities[names.RUN_STEP](_step_task(str(tmp_path / "elsewhere")))
    assert "code root" not in str(raised.value)  # past the check: the step's module is not there
