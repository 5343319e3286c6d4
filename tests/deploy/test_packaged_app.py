"""The package of a project, unpacked into a fresh folder with its requirements.txt installed into a
clean virtual environment, is what Azure runs: its entry file indexes the project's functions, and it
runs the project's pipelines on the local host from that folder alone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from durapipe.deploy.package import build_package
from tests.http_api.conftest import KEY, App
from tests.projects.test_own_project import RUN_TIMEOUT_S, run_over_http
from tests.host.serve.conftest import read_banner, wait_for

pytestmark = pytest.mark.slow  # builds the app package and a clean environment to serve it from

INSTALL_TIMEOUT_S = 600
# What the worker does: import PYTHON_SCRIPT_FILE_NAME from the script root and index its one app.
INDEX_SCRIPT = """
import json, sys
from pathlib import Path
import durapipe
from durapipe.host.app_loader import load_app
loaded = load_app(Path.cwd(), "main.py")
print(json.dumps({"durapipe": durapipe.__file__, "path": sys.path,
                  "functions": {name: f.trigger_type for name, f in loaded.functions.items()}}))
"""


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The init project's package unpacked into a fresh folder, with a clean venv holding its requirements."""
    from durapipe.deploy.new_project import scaffold

    tmp = tmp_path_factory.mktemp("packaged")
    project = tmp / "work" / "churn"
    scaffold(project)
    out = build_package(project, tmp / "app.zip").out
    folder = tmp / "site" / "wwwroot"
    with zipfile.ZipFile(out) as archive:
        archive.extractall(folder)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "-r", str(folder / "requirements.txt")],
                          capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return {"folder": folder, "python": python, "tmp": tmp}


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of the Functions host: no durapipe settings of this test run, nothing on PYTHONPATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DURAPIPE_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))}
    return {**env, "PYTHON_SCRIPT_FILE_NAME": "main.py", **extra}


@pytest.fixture(scope="module")
def indexed(unpacked: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([str(unpacked["python"]), "-c", INDEX_SCRIPT], cwd=unpacked["folder"], env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_clean_environment_has_no_durapipe_of_its_own(unpacked):
    done = subprocess.run([str(unpacked["python"]), "-c", "import durapipe"], cwd=unpacked["tmp"], env=clean_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "No module named 'durapipe'" in done.stderr


def test_the_entry_file_imports_the_library_from_the_package(indexed, unpacked):
    assert Path(indexed["durapipe"]).resolve() == (unpacked["folder"] / "durapipe" / "__init__.py").resolve()


def test_the_entry_file_indexes_the_projects_schedule_and_blob_trigger(indexed):
    functions = indexed["functions"]
    assert functions["schedule_nightly"] == "timerTrigger"
    assert functions["blob_arrivals"] == "blobTrigger"


def test_the_entry_file_indexes_the_http_routes_orchestrators_and_activities(indexed):
    functions = indexed["functions"]
    for route in ("list_pipelines", "start_pipeline_run", "list_runs", "get_run", "cancel_run", "openapi"):
        assert functions[route] == "httpTrigger", route
    assert {"pipeline_run", "pipeline_segment", "map_partitions"} <= {
        name for name, kind in functions.items() if kind == "orchestrationTrigger"}
    assert {"plan_run", "run_step"} <= {name for name, kind in functions.items() if kind == "activityTrigger"}


@pytest.fixture(scope="module")
def served(unpacked: dict[str, Any]) -> Iterator[App]:
    """`durapipe serve` of the unpacked folder as the script root, run by the clean venv's interpreter."""
    tmp, folder = unpacked["tmp"], unpacked["folder"]
    store = tmp / "store"
    env = clean_env(DURAPIPE_HOME=str(tmp / "home"), DURAPIPE_FUNCTION_KEY=KEY)
    command = [str(unpacked["python"]), "-m", "durapipe.cli", "serve", "--script-root", str(folder), "--port", "0",
               "--store", str(store), "--max-parallel", "2", "--poll-interval", "0.3"]
    process = subprocess.Popen(command, env=env, cwd=folder, stdout=subprocess.PIPE,
                               stderr=open(tmp / "serve.err", "ab"), text=True)
    banner = read_banner(process, tmp / "serve.err")
    app = App(process, banner[0].rsplit(" ", 1)[1].rstrip("/") + "/api", str(store), tmp / "home")
    yield app
    assert app.stop() == 0


def test_the_unpacked_app_serves_exactly_the_projects_pipelines(served):
    status, body = served.get("/pipelines")
    assert status == 200
    assert [p["name"] for p in body["pipelines"]] == ["churn"]


def test_a_pipeline_started_over_http_runs_to_completion_from_the_unpacked_folder(served):
    view = run_over_http(served, "churn", {"parameters": {"min_value": 2}})
    assert view["status"] == "completed", view
    summary = json.loads(served.store.get(f"artifacts/{view['outputs']['summary']['hash']}"))
    assert summary == {"count": 5, "mean": 24 / 5, "max": 9.0}


def test_a_blob_arriving_under_the_triggers_path_starts_its_pipeline(served, tmp_path):
    (tmp_path / "n.csv").write_text("value\n5\n1\n7\n")
    served.store.upload_file("incoming/n.csv", tmp_path / "n.csv")
    wait_for(lambda: served.store.exists("results/n.csv") or None, timeout=RUN_TIMEOUT_S, interval=0.3)
    assert json.loads(served.store.get("results/n.csv")) == {"count": 3, "mean": 13 / 3, "max": 7.0}

