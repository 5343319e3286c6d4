"""Retention: gc deletes only old records and artifacts that no kept run, data version or model version needs."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from durapipe.catalog import data_assets

from durapipe.catalog import gc

from durapipe.catalog import registry
from durapipe.store.records import commit_step_record, write_run_record
from durapipe.store.artifacts import put_artifact

LATER = datetime.now(timezone.utc) + timedelta(days=30)


def _run(store, tmp_path, run_id: str, text: str, started: datetime, status: str = "completed") -> dict:
    folder = tmp_path / run_id
    (folder / "out").mkdir(parents=True)
    (folder / "model").write_text(f"model {text}")
    (folder / "out" / "part").write_text(f"part {text}")
    (folder / "metrics").write_text(json.dumps({"auc": 0.5}))
    model, part, metrics = (put_artifact(store, folder / n) for n in ("model", "out", "metrics"))
    fingerprint = (text.encode().hex() * 64)[:64]
    commit_step_record(store, {"fingerprint": fingerprint, "step": "fit", "outputs": {"model": model, "out": part,
                                                                                      "metrics": metrics}})
    record = {"run_id": run_id, "pipeline": "train", "status": status, "started": started.isoformat(),
              "steps": {"fit": {"status": "ran", "fingerprint": fingerprint,
                                "outputs": {"model": model, "out": part, "metrics": metrics}}},
              "outputs": {"model": model, "out": part, "metrics": metrics}, "inputs": {}}
    write_run_record(store, record)
    return record


def _keys(store) -> set[str]:
    return set(store.list(""))


def test_a_dry_run_lists_an_old_unneeded_run_and_deletes_nothing(store, tmp_path):
    _run(store, tmp_path, "old", "a", datetime.now(timezone.utc) - timedelta(days=1))
    before = _keys(store)
    collection = gc.collect(store, 7, now=LATER)
    assert "runs/old.json" in {k for k, _, _ in collection.delete} and collection.bytes > 0
    assert _keys(store) == before


def test_apply_deletes_the_old_run_its_step_record_and_its_artifacts(store, tmp_path):
    old = _run(store, tmp_path, "old", "a", datetime.now(timezone.utc) - timedelta(days=1))
    gc.apply(store, gc.collect(store, 7, now=LATER))
    left = _keys(store)
    assert "runs/old.json" not in left and f"steps/{old['steps']['fit']['fingerprint']}.json" not in left
    assert not any(k.startswith("artifacts/") for k in left)


def test_a_recent_run_keeps_its_records_and_artifacts(store, tmp_path):
    _run(store, tmp_path, "recent", "b", LATER - timedelta(days=1))
    collection = gc.collect(store, 7, now=LATER)
    assert collection.delete == [] and collection.kept["runs"] == 1


def test_a_model_version_keeps_its_run_and_every_artifact_it_names(store, tmp_path):
    run = _run(store, tmp_path, "trained", "c", datetime.now(timezone.utc) - timedelta(days=1))
    registry.register_from_run(store, {"model": "clf", "metric": "auc"}, run)
    gc.apply(store, gc.collect(store, 7, now=LATER))
    left = _keys(store)
    assert "runs/trained.json" in left
    assert all(f"artifacts/{ref['hash']}" in left for ref in run["outputs"].values())
    folder = run["outputs"]["out"]
    assert len([k for k in left if k.startswith("artifacts/")]) == 4  # model, metrics, the folder and its file
    assert f"artifacts/{folder['hash']}" in left


def test_a_data_version_keeps_its_artifact(store, tmp_path):
    (tmp_path / "raw.csv").write_text("rows")
    entry = data_assets.register_path(store, "raw", tmp_path / "raw.csv")
    gc.apply(store, gc.collect(store, 7, now=LATER))
    assert store.exists(f"artifacts/{entry['hash']}") and data_assets.get_version(store, "raw", 1)


def test_a_running_run_is_kept_however_old(store, tmp_path):
    _run(store, tmp_path, "running", "d", datetime.now(timezone.utc) - timedelta(days=90), status="running")
    assert gc.collect(store, 7, now=LATER).delete == []
