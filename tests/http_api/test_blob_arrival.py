"""Batch scoring on blob arrival: uploads to Azurite's incoming prefix are scored by the champion."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import time

from tests.http_api.conftest import App, start_app
from tests.host.serve.conftest import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "pipelines"))
from ml.sample import write_sample  # noqa: E402

SCORE_TIMEOUT_S = 180.0


def _runs_of(app: App, pipeline: str) -> list[dict]:
    _, page = app.get(f"/runs?pipeline={pipeline}&limit=200")
    return page["runs"]


def _finished_run_for(app: App, key: str) -> dict:
    def finished():
        for run in _runs_of(app, "batch_score"):
            record = json.loads(app.store.get(f"runs/{run['run_id']}.json"))
            if record["trigger"].get("key") == key and record["status"] != "running":
                return record
        return None
    return wait_for(finished, timeout=SCORE_TIMEOUT_S, interval=0.3)


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("rows")
    write_sample(folder / "sample.csv", 4500, seed=3)
    return (folder / "sample.csv").read_text().splitlines()


@pytest.fixture(scope="module")
def first_scoring(app: App, trained, rows, tmp_path_factory) -> dict:  # noqa: F811
    folder = tmp_path_factory.mktemp("upload")
    (folder / "batch.csv").write_text("\n".join(rows[:3001]) + "\n")  # header + 3,000 rows
    app.store.upload_file("incoming/batch.csv", folder / "batch.csv")
    return _finished_run_for(app, "incoming/batch.csv")


def test_an_uploaded_csv_is_scored_into_the_scores_prefix(app, first_scoring):
    assert first_scoring["status"] == "completed", first_scoring.get("error")
    scores = app.store.get("scores/batch.csv").decode().splitlines()
    assert len(scores) == 3001
    assert scores[0].split(",")[0] == "row"
    assert first_scoring["steps"]["score"]["partitions"] == {"total": 3, "ran": 3, "reused": 0}
    assert first_scoring["trigger"]["inputs"]["model"] == {"reference": "model:breast_cancer:champion",
                                                      "model": "breast_cancer", "version": 1, "output": "model"}


def test_a_larger_file_sharing_leading_rows_scores_only_new_partitions(app, first_scoring, rows, tmp_path):
    (tmp_path / "bigger.csv").write_text("\n".join(rows[:4501]) + "\n")  # the same 3,000 rows + 1,500 more
    app.store.upload_file("incoming/bigger.csv", tmp_path / "bigger.csv")
    run = _finished_run_for(app, "incoming/bigger.csv")
    assert run["status"] == "completed", run.get("error")
    assert run["steps"]["score"]["partitions"] == {"total": 5, "ran": 2, "reused": 3}
    assert len(app.store.get("scores/bigger.csv").decode().splitlines()) == 4501


def test_the_same_blob_version_delivered_again_starts_nothing(app, first_scoring):
    # A restarted host whose poller forgot what it delivered sees the same blob versions again,
    # as a redelivered Event Grid event would arrive: the run id from (container, name, ETag)
    # makes the delivery start nothing. (Runs last in this module: it restarts the server.)
    before = {r["run_id"] for r in _runs_of(app, "batch_score")}
    assert app.stop() == 0
    (state,) = app.home.rglob("blob_triggers.json")
    state.unlink()
    again = start_app(app.home.parent, app.store_url)
    try:
        time.sleep(3.0)  # ten poll intervals
        assert list(again.home.rglob("blob_triggers.json")), "the new poller has delivered the blobs again"
        assert {r["run_id"] for r in _runs_of(again, "batch_score")} == before
        assert list(again.store.list("poison/")) == []
    finally:
        assert again.stop() == 0
