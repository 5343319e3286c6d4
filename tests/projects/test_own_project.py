"""A project of the user's own, outside the repository, served by `durapipe serve` exactly as its definitions say."""
from __future__ import annotations

import json
import time
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.http_api.conftest import App, start_app
from tests.host.serve.conftest import wait_for

RUN_TIMEOUT_S = 120.0

PIPELINES = '''
import json
import time
from pathlib import Path

from words import count_words

from durapipe import Input, Output, pipeline, step


@step
def greet(greeting: Output, who: str = "world") -> None:
    greeting.write_text(f"hello {who}")


@pipeline
def hello(who: str = "world") -> dict:
    return {"greeting": greet(who=who).greeting}


@step
def count(text: Input, counts: Output) -> None:
    if "fail" in text.read_text():
        raise ValueError("this text asks to fail")
    counts.write_text(json.dumps(count_words(text.read_text())))


@pipeline
def wordcount(text: Input) -> dict:
    return {"counts": count(text=text).counts}
'''

WORDS = '''
def count_words(text: str) -> dict:
    words = text.split()
    return {w: words.count(w) for w in sorted(set(words))}
'''

DEFINITIONS = '''
from flows import hello, wordcount

from durapipe import BlobTrigger, Definitions, Schedule

defs = Definitions(
    pipelines=[hello, wordcount],
    schedules=[Schedule("every_second", pipeline=hello, cron="%HELLO_SCHEDULE%", params={"who": "timer"})],
    blob_triggers=[BlobTrigger("texts", pipeline=wordcount, path="drop/{name}", input="text",
                               deliver={"counts": "counts/{name}"}, tries=2, retry_interval=0.2)],
)
'''


def make_project(folder: Path) -> Path:
    """A project with two pipelines, a helper module, a schedule and a blob trigger."""
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text('[tool.durapipe]\ndefinitions = "project_defs:defs"\n')
    (folder / "flows.py").write_text(textwrap.dedent(PIPELINES))
    (folder / "words.py").write_text(textwrap.dedent(WORDS))
    (folder / "project_defs.py").write_text(textwrap.dedent(DEFINITIONS))
    return folder


def store_url(kind: str, tmp: Path, request: pytest.FixtureRequest) -> str:
    if kind == "local":
        return str(tmp / "store")
    import uuid

    return f"{request.getfixturevalue('azurite')}/p{uuid.uuid4().hex[:20]}"


def run_over_http(app: App, pipeline: str, body: dict[str, Any]) -> dict[str, Any]:
    status, started = app.post(f"/pipelines/{pipeline}/runs", json.dumps(body).encode())
    assert status == 202, started
    return wait_for(lambda: _ended(app, started["run_id"]), timeout=RUN_TIMEOUT_S, interval=0.3)


def _ended(app: App, run_id: str) -> dict[str, Any] | None:
    status, view = app.get(f"/runs/{run_id}")
    return view if status == 200 and view["status"] not in ("pending", "running") else None


def record_for_blob(app: App, key: str) -> dict[str, Any] | None:
    for name in app.store.list("runs/"):
        record = json.loads(app.store.get(name))
        if record.get("trigger", {}).get("key") == key and record["status"] != "running":
            return record
    return None


@pytest.fixture(scope="module", params=["local", "azurite"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One serve of the project per store backend, shared by this module's tests."""
    tmp_path = tmp_path_factory.mktemp("own")
    project = make_project(tmp_path / "elsewhere" / "wordy")
    app = start_app(tmp_path, store_url(request.param, tmp_path, request), project=project,
                    extra_env={"HELLO_SCHEDULE": "* * * * * *"})
    yield app
    assert app.stop() == 0


def test_serve_lists_exactly_the_projects_pipelines(served):
    status, body = served.get("/pipelines")
    assert status == 200
    assert [p["name"] for p in body["pipelines"]] == ["hello", "wordcount"]


def test_a_pipeline_started_over_http_runs_to_completion(served):
    view = run_over_http(served, "hello", {"parameters": {"who": "http"}})
    assert view["status"] == "completed", view
    ref = view["outputs"]["greeting"]
    assert served.store.get(f"artifacts/{ref['hash']}") == b"hello http"


def test_the_schedule_fires_and_its_run_records_the_tick_and_the_definitions_version(served):
    def a_finished_tick():
        for name in served.store.list("runs/every_second-tick-"):
            record = json.loads(served.store.get(name))
            if record["status"] == "completed":
                return record
        return None
    record = wait_for(a_finished_tick, timeout=RUN_TIMEOUT_S, interval=0.3)
    assert record["trigger"]["kind"] == "timer" and record["trigger"]["schedule"] == "every_second"
    assert record["params"] == {"who": "timer"}
    assert len(record["definitions_version"]) == 64


def test_a_landing_blob_starts_its_pipeline_and_the_output_is_delivered(served, tmp_path):
    (tmp_path / "a.txt").write_text("to be or not to be")
    served.store.upload_file("drop/a.txt", tmp_path / "a.txt")
    record = wait_for(lambda: record_for_blob(served, "drop/a.txt"), timeout=RUN_TIMEOUT_S, interval=0.3)
    assert record["status"] == "completed", record.get("error")
    assert json.loads(served.store.get("counts/a.txt")) == {"be": 2, "not": 1, "or": 1, "to": 2}


def test_a_blob_whose_runs_fail_every_try_is_poisoned_while_others_go_on(served, tmp_path):
    (tmp_path / "bad.txt").write_text("please fail")
    (tmp_path / "good.txt").write_text("fine")
    served.store.upload_file("drop/bad.txt", tmp_path / "bad.txt")
    served.store.upload_file("drop/good.txt", tmp_path / "good.txt")
    poison = wait_for(lambda: served.store.exists("poison/drop/bad.txt.json") or None, timeout=RUN_TIMEOUT_S,
                      interval=0.3)
    assert poison
    doc = json.loads(served.store.get("poison/drop/bad.txt.json"))
    assert doc["tries"] == 2 and len(doc["attempts"]) == 2
    assert "this text asks to fail" in doc["reason"]
    good = wait_for(lambda: record_for_blob(served, "drop/good.txt"), timeout=RUN_TIMEOUT_S, interval=0.3)
    assert good["status"] == "completed"
    assert json.loads(served.store.get("counts/good.txt")) == {"fine": 1}


@pytest.mark.azurite  # it serves over both stores in turn
def test_a_project_made_by_init_serves_its_pipeline_schedule_and_blob_trigger(tmp_path, request):
    project = tmp_path / "fresh" / "churn"
    done = subprocess.run([sys.executable, "-m", "durapipe.cli", "init", str(project)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # The user makes the nightly schedule fire every second, to watch it work.
    definitions = project / "definitions.py"
    definitions.write_text(definitions.read_text().replace('cron="0 0 3 * * *"', 'cron="* * * * * *"'))
    for kind in ("local", "azurite"):
        (tmp_path / kind).mkdir()
        app = start_app(tmp_path / kind, store_url(kind, tmp_path / kind, request), project=project)
        try:
            status, body = app.get("/pipelines")
            assert [p["name"] for p in body["pipelines"]] == ["churn"]
            assert run_over_http(app, "churn", {"parameters": {"min_value": 2}})["status"] == "completed"
            wait_for(lambda: any(app.store.list("runs/nightly-tick-")) or None, timeout=RUN_TIMEOUT_S, interval=0.3)
            (tmp_path / kind / "n.csv").write_text("value\n5\n1\n7\n")
            app.store.upload_file("incoming/n.csv", tmp_path / kind / "n.csv")
            wait_for(lambda: app.store.exists("results/n.csv") or None, timeout=RUN_TIMEOUT_S, interval=0.3)
            assert json.loads(app.store.get("results/n.csv")) == {"count": 3, "mean": 13 / 3, "max": 7.0}
        finally:
            assert app.stop() == 0


# Blob names a careless or hostile uploader can give, under the blob trigger's path: none may start a run,
# write a key from its name or stop the blobs after it (the good one sorts after most of them).
HOSTILE_BLOB_NAMES = ["%2e%2e", "..%2f..%2fx.txt", "a#b.txt", "a?b.txt", "a\\b.txt", "\u00fcn\u00ef.txt",
                      " lead.txt", ".hidden", "x" * 250 + "/" + "y" * 250 + "/" + "z" * 250 + "/"
                      + "w" * 250 + "/" + "v" * 100]
AZURITE_ONLY_NAMES = ["../x.txt", "a/../../x.txt", "/etc/passwd", "a//b.txt"]
# Azurite takes a blob named with a control character, then answers every listing with a 500 (Azure
# encodes such names in its listing): only the local folder tries one.
LOCAL_ONLY_NAMES = ["a\x01b.txt"]


def _put_raw(app: App, key: str, data: bytes) -> None:
    """Write a blob as another client would, under any name the backend takes, bypassing durapipe's key checks."""
    store = app.store
    if hasattr(store, "root"):
        path = Path(store.root) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        from azure.core.exceptions import ResourceExistsError

        try:
            store._client.create_container()
        except ResourceExistsError:
            pass
        store._client.upload_blob(store.prefix + key, data, overwrite=True)


def _files_outside(root: Path, *inside: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and not any(p.is_relative_to(i) for i in inside)
            and "__pycache__" not in p.parts and ".durapipe" not in p.parts}


def test_hostile_blob_names_start_nothing_write_nothing_and_block_no_other_blob(served, tmp_path):
    from durapipe.core.errors import InvalidNameError
    from durapipe.core.names import check_blob_name

    def hostile(key: str) -> bool:
        try:
            check_blob_name(key)
        except InvalidNameError:
            return True
        return False

    tmp = served.home.parent
    local = hasattr(served.store, "root")
    outside_before = _files_outside(tmp, tmp / "store", served.home)
    keys_before = set(served.store.list(""))
    log_start = (tmp / "serve.err").stat().st_size
    for name in HOSTILE_BLOB_NAMES + (LOCAL_ONLY_NAMES if local else AZURITE_ONLY_NAMES):
        _try_put_raw(served, f"drop/{name}", b"hostile words")
    # What the backend stored under them: Azure's rules turn some into plain names (a backslash into '/'),
    # and the local store never lists a name with a leading dot (its temporary files).
    stored = set(served.store.list("drop/")) - keys_before
    refused, plain = sorted(k for k in stored if hostile(k)), sorted(k for k in stored if not hostile(k))
    assert len(refused) >= 6, stored
    (tmp_path / "after.txt").write_text("still served")
    served.store.upload_file("drop/zz-after.txt", tmp_path / "after.txt")
    record = wait_for(lambda: record_for_blob(served, "drop/zz-after.txt"), timeout=RUN_TIMEOUT_S, interval=0.3)
    assert record["status"] == "completed", record.get("error")
    time.sleep(1.0)  # three more polls: any hostile blob would have started by now
    new_keys = {k for k in set(served.store.list("")) - keys_before
                if not k.startswith(("drop/", "runs/", "artifacts/", "steps/", "index/"))}
    assert new_keys == {"counts/zz-after.txt", *("counts/" + k.removeprefix("drop/") for k in plain)}, new_keys
    started = {json.loads(served.store.get(k))["trigger"].get("key") for k in served.store.list("runs/")}
    assert not started & set(refused)
    assert _files_outside(tmp, tmp / "store", served.home) == outside_before
    log = (tmp / "serve.err").read_bytes()[log_start:].decode(errors="replace")
    assert "Traceback" not in log, log[-3000:]
    refusals = [line for line in log.splitlines() if "is not started: " in line or "is not passed to " in line]
    assert len(refusals) == len(refused), log[-3000:]  # one sentence per name, not one per poll


def _try_put_raw(app: App, key: str, data: bytes) -> bool:
    try:
        _put_raw(app, key, data)
    except (OSError, ValueError) as exc:  # a name the file system cannot hold
        print(f"{key!r} not written: {exc}")
        return False
    except Exception as exc:  # noqa: BLE001 - a name Azurite refuses
        print(f"{key!r} not written: {type(exc).__name__}: {exc}")
        return False
    return True
