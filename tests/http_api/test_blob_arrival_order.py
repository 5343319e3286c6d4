"""Blob versions delivered out of order: a slow older version's run never overwrites a newer version's delivery."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.http_api.conftest import App, start_app
from tests.host.serve.conftest import wait_for

RUN_TIMEOUT_S = 120.0
SOURCE, DESTINATION = "se/file2.txt", "seout/file2.txt"

FLOWS = '''
import time

from durapipe import Input, Output, pipeline, step


@step
def score(data: Input, scored: Output) -> None:
    text = data.read_text()
    if text.startswith("large"):
        time.sleep(6)  # the large version is slow to score: the small one's run ends first
    scored.write_text("scored " + text)


@pipeline
def scoring(data: Input) -> dict:
    return {"o": score(data=data).scored}
'''

DEFINITIONS = '''
from flows import scoring

from durapipe import BlobTrigger, Definitions

defs = Definitions(pipelines=[scoring],
                   blob_triggers=[BlobTrigger("se", pipeline=scoring, path="se/{name}", deliver={"o": "seout/{name}"})])
'''


@pytest.fixture(params=["local", "azurite"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    """A serve of a project whose blob trigger delivers `se/{name}`'s score to `seout/{name}`, on each store."""
    import uuid

    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.durapipe]\ndefinitions = "project_defs:defs"\n')
    (project / "flows.py").write_text(textwrap.dedent(FLOWS))
    (project / "project_defs.py").write_text(textwrap.dedent(DEFINITIONS))
    store = str(tmp_path / "store") if request.param == "local" else \
        f"{request.getfixturevalue('azurite')}/o{uuid.uuid4().hex[:20]}"
    app = start_app(tmp_path, store, project=project)
    yield app
    assert app.stop() == 0


def _record_for(app: App, etag: str, ended: bool) -> dict[str, Any] | None:
    for key in app.store.list("runs/"):
        record = json.loads(app.store.get(key))
        if record.get("trigger", {}).get("etag") == etag and (not ended or record["status"] != "running"):
            return record
    return None


def test_an_older_blob_version_scored_last_does_not_overwrite_the_newer_ones_delivery(served):
    store = served.store
    store.put(SOURCE, b"large " + b"x" * 1000)
    older = store.stat(SOURCE).etag
    # The large version's run has planned (read its input) before the small version arrives.
    wait_for(lambda: _record_for(served, older, ended=False), timeout=RUN_TIMEOUT_S, interval=0.1)
    store.put(SOURCE, b"small")
    newer = store.stat(SOURCE).etag
    newer_run = wait_for(lambda: _record_for(served, newer, ended=True), timeout=RUN_TIMEOUT_S, interval=0.2)
    older_run = wait_for(lambda: _record_for(served, older, ended=True), timeout=RUN_TIMEOUT_S, interval=0.2)
    assert (newer_run["status"], older_run["status"]) == ("completed", "completed")
    assert newer_run["finished"] < older_run["finished"]
    assert store.get(DESTINATION) == b"scored small"
    assert newer_run["delivered"] == {"o": DESTINATION}
    assert older_run["delivered"] == {}
    assert older_run["superseded"]["o"]["key"] == DESTINATION
    assert f"written again (ETag {newer})" in older_run["superseded"]["o"]["reason"]
