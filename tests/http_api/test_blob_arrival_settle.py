"""A blob still being written starts nothing: under `durapipe serve`, a file written in 8 chunks starts one run,
on its complete content, on each store."""
from __future__ import annotations

import json
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from durapipe.store.local import LocalStore
from tests.http_api.conftest import App, start_app
from tests.host.serve.conftest import wait_for

RUN_TIMEOUT_S = 120.0
SOURCE, DESTINATION = "sl/slow.csv", "slout/slow.csv"
CHUNK, CHUNKS = b"x" * 799 + b"\n", 8

FLOWS = '''
from durapipe import Input, Output, pipeline, step


@step
def copy(data: Input, copied: Output) -> None:
    copied.write_bytes(data.read_bytes())


@pipeline
def copying(data: Input) -> dict:
    return {"o": copy(data=data).copied}
'''

DEFINITIONS = '''
from flows import copying

from durapipe import BlobTrigger, Definitions

defs = Definitions(pipelines=[copying],
                   blob_triggers=[BlobTrigger("sl", pipeline=copying, path="sl/{name}", deliver={"o": "slout/{name}"},
                                              settle_window=1.0)])
'''


@pytest.fixture(params=["local", "azurite"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    """A serve of a project whose blob trigger copies `sl/{name}` to `slout/{name}` (settle window 1 s), on each store."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.durapipe]\ndefinitions = "project_defs:defs"\n')
    (project / "flows.py").write_text(textwrap.dedent(FLOWS))
    (project / "project_defs.py").write_text(textwrap.dedent(DEFINITIONS))
    store = str(tmp_path / "store") if request.param == "local" else \
        f"{request.getfixturevalue('azurite')}/s{uuid.uuid4().hex[:20]}"
    app = start_app(tmp_path, store, project=project)
    yield app
    assert app.stop() == 0


def _runs_for(app: App, key: str) -> list[dict[str, Any]]:
    records = [json.loads(app.store.get(k)) for k in app.store.list("runs/")]
    return [r for r in records if (r.get("trigger") or {}).get("key") == key]


def _write_slowly(app: App) -> None:
    """SOURCE written chunk by chunk, 0.1 s apart: in place in a folder store (as `cp` writes), a commit per
    chunk in Blob storage (as a tool re-uploading a growing file does)."""
    store = app.store
    for index in range(CHUNKS):
        if isinstance(store, LocalStore):
            path = store.root / SOURCE
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as out:
                out.write(CHUNK)
        else:
            store.put(SOURCE, CHUNK * (index + 1))
        time.sleep(0.1)


def test_a_blob_written_in_chunks_starts_one_run_on_its_complete_content(served):
    writer = threading.Thread(target=_write_slowly, args=(served,))
    writer.start()
    writer.join()
    finished = wait_for(lambda: [r for r in _runs_for(served, SOURCE) if r["status"] != "running"],
                        timeout=RUN_TIMEOUT_S, interval=0.2)
    runs = _runs_for(served, SOURCE)
    assert [(r["status"], r["trigger"]["etag"]) for r in runs] == [("completed", served.store.stat(SOURCE).etag)]
    assert finished[0]["trigger"]["inputs"]["data"]["key"] == SOURCE
    assert served.store.get(DESTINATION) == CHUNK * CHUNKS
