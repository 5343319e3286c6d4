"""The app loads the way the Azure Functions Python worker loads it, with the bindings we mean."""
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER_SCRIPT_PATTERN = r"^[a-zA-Z0-9_][a-zA-Z0-9_-]*\.py$"  # the worker's check of PYTHON_SCRIPT_FILE_NAME


# Indexed in a fresh interpreter, as the worker does, so no module of this test process interferes.
INDEX_SCRIPT = """
import json, sys
from durapipe.host.app_loader import load_app
app = load_app(sys.argv[1], "main.py")
print(json.dumps({n: {"trigger": f.trigger_type, "bindings": f.bindings} for n, f in app.functions.items()}))
"""


@dataclass
class Indexed:
    name: str
    trigger_type: str
    bindings: list


class IndexedApp:
    def __init__(self, data: dict) -> None:
        self.functions = {n: Indexed(n, f["trigger"], f["bindings"]) for n, f in data.items()}

    def by_trigger(self, kind: str) -> list[Indexed]:
        return [f for f in self.functions.values() if f.trigger_type == kind]


@pytest.fixture(scope="module")
def app():
    # The example project's definitions, as `durapipe serve` in pipelines/ hands them to the app.
    env = {**os.environ, "DURAPIPE_PROJECT_ROOT": str(ROOT / "pipelines")}
    env.pop("DURAPIPE_DEFINITIONS", None)
    done = subprocess.run([sys.executable, "-c", INDEX_SCRIPT, str(ROOT)], capture_output=True, text=True,
                          cwd=ROOT, check=True, env=env)
    return IndexedApp(json.loads(done.stdout.strip().splitlines()[-1]))


def test_entry_file_is_valid_for_the_worker_and_not_shadowed_by_the_package():
    assert re.match(WORKER_SCRIPT_PATTERN, "main.py")
    assert (ROOT / "main.py").is_file()
    assert not (ROOT / "function_app.py").exists()  # the function_app/ package would shadow it


def test_settings_name_the_entry_file():
    settings = json.loads((ROOT / "local.settings.json.example").read_text())
    assert settings["Values"]["PYTHON_SCRIPT_FILE_NAME"] == "main.py"
    # The app's settings are in the function app's module of infra/main.bicep.
    assert "PYTHON_SCRIPT_FILE_NAME" in (ROOT / "infra" / "modules" / "function-app.bicep").read_text()


def test_every_function_the_app_needs_is_indexed(app):
    expected = {
        "pipeline_run": "orchestrationTrigger", "map_partitions": "orchestrationTrigger",
        "plan_run": "activityTrigger", "run_step": "activityTrigger", "list_partitions": "activityTrigger",
        "gather_partitions": "activityTrigger", "record_run": "activityTrigger",
        "list_pipelines": "httpTrigger", "start_pipeline_run": "httpTrigger", "list_runs": "httpTrigger",
        "get_run": "httpTrigger", "cancel_run": "httpTrigger", "openapi": "httpTrigger",
        "blob_arrival": "orchestrationTrigger", "record_poison": "activityTrigger",
        "blob_score": "blobTrigger", "schedule_retrain": "timerTrigger",
        "get_run_step": "httpTrigger", "get_step_log": "httpTrigger", "get_run_artifact": "httpTrigger",
        "list_step_partitions": "httpTrigger",
        "get_run_graph": "httpTrigger", "get_pipeline_graph": "httpTrigger",
        "web_runs": "httpTrigger", "web_run": "httpTrigger", "web_pipelines": "httpTrigger", "web_static": "httpTrigger",
        "list_models": "httpTrigger", "get_model": "httpTrigger",
    }
    assert {name: f.trigger_type for name, f in app.functions.items() if name in expected} == expected


def test_every_http_route_requires_a_function_key(app):
    routes = [b for f in app.by_trigger("httpTrigger") for b in f.bindings if b["type"] == "httpTrigger"]
    assert len(routes) == 18
    assert {b["authLevel"] for b in routes} == {"FUNCTION"}


def test_http_routes_and_methods(app):
    routes = {(b["route"], tuple(b["methods"])) for f in app.by_trigger("httpTrigger")
              for b in f.bindings if b["type"] == "httpTrigger"}
    assert routes == {("api/pipelines", ("GET",)), ("api/pipelines/{name}/runs", ("POST",)), ("api/runs", ("GET",)),
                      ("api/runs/{id}", ("GET",)), ("api/runs/{id}/cancel", ("POST",)), ("api/openapi.json", ("GET",)),
                      ("api/runs/{id}/steps/{step}", ("GET",)), ("api/runs/{id}/steps/{step}/log", ("GET",)),
                      ("api/runs/{id}/steps/{step}/partitions", ("GET",)),
                      ("api/runs/{id}/artifacts/{hash}", ("GET",)), ("api/runs/{id}/graph", ("GET",)),
                      ("api/pipelines/{name}/graph", ("GET",)), ("api/models", ("GET",)),
                      ("api/models/{name}", ("GET",)),
                      ("/", ("GET",)), ("runs/{run_id}", ("GET",)), ("pipelines", ("GET",)),
                      ("static/{name}", ("GET",))}


def test_the_routes_live_at_the_root_so_the_pages_can_be_served_at_slash():
    # Azure Functions serves a route at '/' only with routePrefix "": the API's routes carry api/ themselves.
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensions"]["http"]["routePrefix"] == ""


def test_blob_trigger_uses_event_grid_on_the_incoming_prefix_with_an_identity_connection(app):
    (binding,) = [b for b in app.functions["blob_score"].bindings if b["type"] == "blobTrigger"]
    assert binding["source"] == "EventGrid"
    assert binding["path"] == "durapipe/incoming/{name}"
    assert binding["connection"] == "AzureWebJobsStorage"
    assert binding["settleWindow"] == 2.0  # the trigger's settle_window, for the local host's poller


def test_timer_reads_its_schedule_from_an_app_setting(app):
    (binding,) = [b for b in app.functions["schedule_retrain"].bindings if b["type"] == "timerTrigger"]
    assert binding["schedule"] == "%DURAPIPE_RETRAIN_SCHEDULE%"
    assert not binding.get("runOnStartup")


def test_triggered_functions_get_a_durable_client(app):
    for kind in ("httpTrigger", "blobTrigger", "timerTrigger"):
        for function in app.by_trigger(kind):
            if function.name.startswith("web_"):
                continue  # page shells and assets: their data comes from the API, they start nothing
            assert any(b["type"] == "durableClient" for b in function.bindings), function.name


def test_pages_and_assets_need_no_durable_client(app):
    pages = [f for f in app.by_trigger("httpTrigger") if f.name.startswith("web_")]
    assert len(pages) == 4
    assert not [f.name for f in pages if any(b["type"] == "durableClient" for b in f.bindings)]
