"""`tries=` under a real `durapipe serve`: a failing or unpreparable arrival is tried that often, then poisoned."""
from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Iterator

import pytest

from tests.http_api.conftest import App, start_app
from tests.host.serve.conftest import wait_for

TIMEOUT_S = 120.0

FLOWS = '''
from durapipe import Input, Output, pipeline, step


@step
def fit(model: Output, metrics: Output) -> None:
    model.write_text("m")
    metrics.write_text('{"auc": 0.5}')


@pipeline
def train() -> dict:
    made = fit()
    return {"model": made.model, "metrics": made.metrics}


@step
def boom(data: Input, out: Output) -> None:
    raise ValueError("this arrival always fails")


@pipeline
def failing(data: Input) -> dict:
    return {"out": boom(data=data).out}


@step
def use(data: Input, model: Input, out: Output) -> None:
    out.write_text(data.read_text())


@pipeline
def scoring(data: Input, model: Input) -> dict:
    return {"out": use(data=data, model=model).out}
'''

DEFINITIONS = '''
from flows import failing, scoring, train

from durapipe import BlobTrigger, Definitions, Model, Schedule

defs = Definitions(
    pipelines=[train, failing, scoring],
    models=[Model("clf", pipeline=train, metric="auc")],
    blob_triggers=[
        BlobTrigger("fails", pipeline=failing, path="fail/{name}", input="data", tries=2, retry_interval=0.2),
        # No run of train has registered a champion yet: every arrival fails before its run starts.
        BlobTrigger("early", pipeline=scoring, path="early/{name}", input="data",
                    inputs={"model": "model:clf:champion"}, tries=2, retry_interval=0.2),
    ],
    # Every second, and no champion to score with yet: each tick says so in one line and starts nothing.
    schedules=[Schedule("early_tick", pipeline=scoring, cron="* * * * * *",
                        inputs={"data": "early/none.txt", "model": "model:clf:champion"})],
)
'''


@pytest.fixture(scope="module", params=["local", "azurite"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("tries")
    project = tmp / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.durapipe]\ndefinitions = "defs:defs"\n')
    (project / "flows.py").write_text(textwrap.dedent(FLOWS))
    (project / "defs.py").write_text(textwrap.dedent(DEFINITIONS))
    if request.param == "local":
        store_url = str(tmp / "store")
    else:
        import uuid

        store_url = f"{request.getfixturevalue('azurite')}/t{uuid.uuid4().hex[:20]}"
    app = start_app(tmp, store_url, project=project)
    yield app
    assert app.stop() == 0


def _poisoned(app: App, key: str) -> dict:
    found = wait_for(lambda: app.store.exists(f"poison/{key}.json") or None, timeout=TIMEOUT_S, interval=0.3)
    assert found
    time.sleep(2.0)  # ample polls for any extra try to show
    return json.loads(app.store.get(f"poison/{key}.json"))


def _runs_for(app: App, key: str) -> list[dict]:
    records = [json.loads(app.store.get(k)) for k in app.store.list("runs/")]
    return [r for r in records if (r.get("trigger") or {}).get("key") == key]


def _serve_log(app: App) -> str:
    return (app.home.parent / "serve.err").read_text()


def test_a_failing_pipeline_on_arrival_runs_exactly_tries_times_then_is_poisoned(served, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    served.store.upload_file("fail/a.txt", tmp_path / "a.txt")
    poison = _poisoned(served, "fail/a.txt")
    runs = _runs_for(served, "fail/a.txt")
    assert len(runs) == 2 and {r["status"] for r in runs} == {"failed"}
    assert poison["tries"] == 2 and len(poison["attempts"]) == 2


def test_an_arrival_that_cannot_start_is_tried_tries_times_with_one_line_each_and_no_traceback(served, tmp_path):
    (tmp_path / "b.txt").write_text("x")
    served.store.upload_file("early/b.txt", tmp_path / "b.txt")
    poison = _poisoned(served, "early/b.txt")
    assert _runs_for(served, "early/b.txt") == []
    assert poison["tries"] == 2 and [a["attempt"] for a in poison["attempts"]] == ["1", "2"]
    assert all("has no champion yet" in a["error"] for a in poison["attempts"])
    log = _serve_log(served)
    assert "Traceback" not in log
    # The trigger's own try says so in one line (later tries run in a worker, whose log is its own).
    assert len([line for line in log.splitlines() if "early/b.txt" in line and "no champion" in line]) == 1


def test_a_tick_whose_run_cannot_be_prepared_says_so_in_one_line_and_starts_nothing(served):
    lines = wait_for(lambda: [line for line in _serve_log(served).splitlines()
                              if "schedule early_tick starts no run: The input" in line][1:] or None,
                     timeout=TIMEOUT_S)
    assert len(lines) >= 1
    assert "Traceback" not in _serve_log(served)
    records = [json.loads(served.store.get(k)) for k in served.store.list("runs/")]
    assert [r for r in records if r.get("pipeline") == "scoring"] == []
