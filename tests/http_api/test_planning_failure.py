"""Over HTTP and on blob arrival: runs that fail while planning are recorded and not tried again (issue 35,
item 6), and a store prefix is a folder input (item 4)."""
from __future__ import annotations

import json
import textwrap
import time
import uuid
from typing import Iterator

import pytest

from tests.http_api.conftest import App, start_app, wait_for_run
from tests.host.serve.conftest import wait_for

TIMEOUT_S = 120.0

FLOWS = '''
from durapipe import Input, Output, pipeline, step


@step
def upper(part: Input, out: Output) -> None:
    out.write_text(part.read_text().upper())


@step
def copy(data: Input, out: Output) -> None:
    out.write_text(data.read_text())


@pipeline
def per_file(data: Input, folder: Input) -> dict:
    return {"out": upper.map("part", part=folder).out, "copy": copy(data=data).out}
'''

DEFINITIONS = '''
from flows import per_file

from durapipe import BlobTrigger, Definitions

defs = Definitions(
    pipelines=[per_file],
    # Its `folder` is one file, not a folder: every arrival's run fails while planning, the same way each time.
    blob_triggers=[BlobTrigger("one_file", pipeline=per_file, path="arrive/{name}", input="data",
                               inputs={"folder": "static/one.txt"}, tries=5, retry_interval=1.0)],
)
'''


@pytest.fixture(scope="module", params=["local", "azurite"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    tmp = tmp_path_factory.mktemp("planning")
    project = tmp / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.durapipe]\ndefinitions = "defs:defs"\n')
    (project / "flows.py").write_text(textwrap.dedent(FLOWS))
    (project / "defs.py").write_text(textwrap.dedent(DEFINITIONS))
    if request.param == "local":
        store_url = str(tmp / "store")
    else:
        store_url = f"{request.getfixturevalue('azurite')}/t{uuid.uuid4().hex[:20]}"
    app = start_app(tmp, store_url, project=project)
    (tmp / "one.txt").write_text("just one file")
    app.store.upload_file("static/one.txt", tmp / "one.txt")
    yield app
    assert app.stop() == 0


def test_a_run_over_http_that_fails_while_planning_is_recorded_with_one_sentence(served):
    body = json.dumps({"inputs": {"data": "static/one.txt", "folder": "static/one.txt"}}).encode()
    status, started = served.post("/pipelines/per_file/runs", body)
    assert status == 202, started
    run = wait_for_run(served, started["status_url"])
    assert run["status"] == "failed"
    assert "must be a folder" in run["error"] and "Orchestrator function" not in run["error"]
    status, page = served.get("/runs?status=failed")
    assert status == 200
    assert started["run_id"] in [r["run_id"] for r in page["runs"]]


def test_an_arrival_whose_run_fails_while_planning_is_poisoned_at_once_and_its_run_recorded(served, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    served.store.upload_file("arrive/a.txt", tmp_path / "a.txt")
    found = wait_for(lambda: served.store.exists("poison/arrive/a.txt.json") or None, timeout=TIMEOUT_S,
                     interval=0.3)
    assert found
    time.sleep(2.0)  # more than retry_interval: a second try would show
    poison = json.loads(served.store.get("poison/arrive/a.txt.json"))
    assert len(poison["attempts"]) == 1
    assert "must be a folder" in poison["reason"] and "Orchestrator function" not in poison["reason"]
    records = [json.loads(served.store.get(k)) for k in served.store.list("runs/")]
    runs = [r for r in records if (r.get("trigger") or {}).get("key") == "arrive/a.txt"]
    assert [r["status"] for r in runs] == ["failed"]
    assert "must be a folder" in runs[0]["error"]


def test_a_run_over_http_reads_a_store_prefix_as_a_folder(served, tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
        served.store.upload_file(f"batches/b1/{name}", tmp_path / name)
    body = json.dumps({"inputs": {"data": "static/one.txt", "folder": "prefix:batches/b1/"}}).encode()
    status, started = served.post("/pipelines/per_file/runs", body)
    assert status == 202, started
    run = wait_for_run(served, started["status_url"])
    assert run["status"] == "completed", run
    assert run["steps"]["upper"]["partitions"]["ran"] == 2
