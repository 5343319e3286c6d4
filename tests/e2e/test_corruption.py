"""Corruption found on read is quarantined, and the next run recomputes and replaces what was bad."""
from __future__ import annotations

from pathlib import Path

import pytest

from durapipe.store.url import open_store
from tests.e2e.conftest import new_project, step_statuses

TARGET = "flow.py:chain"


def _store(project):
    return open_store(project.store_url or str(Path(project.root) / ".durapipe"))


@pytest.fixture
def ran(store_url, tmp_path):
    project = new_project(tmp_path / "project", store_url)
    first = project.run(TARGET)
    assert first.code == 0, first.stderr
    return project, first.json


def test_a_corrupt_artifact_is_quarantined_and_the_next_run_heals_it(ran):
    project, first = ran
    store = _store(project)
    key = f"artifacts/{first['steps']['source']['outputs']['out']['hash']}"
    store.put(key, b"TEXT")  # same size, other bytes
    failed = project.run(TARGET, "--force", "transform")
    assert failed.code == 1 and "corrupt" in failed.json["steps"]["transform"]["error"]
    assert store.exists(f"quarantine/{key}") and not store.exists(key)
    healed = project.run(TARGET)
    assert healed.code == 0, healed.stderr
    assert step_statuses(healed.json)["source"] == "ran"
    assert store.get(key) == b"text"
    assert healed.json["outputs"] == first["outputs"]


def test_a_truncated_step_record_is_quarantined_and_the_step_runs_again(ran):
    project, first = ran
    store = _store(project)
    key = f"steps/{first['steps']['source']['fingerprint']}.json"
    store.put(key, store.get(key)[:20])
    again = project.run(TARGET)
    assert again.code == 0, again.stderr
    assert step_statuses(again.json) == {"source": "ran", "transform": "reused", "finish": "reused",
                                         "side": "reused"}
    assert store.exists(f"quarantine/{key}")
    assert project.run(TARGET).json["steps"]["source"]["status"] == "reused"


def test_a_truncated_run_record_is_skipped_by_runs_list_with_one_warning_and_runs_show_says_it_is_corrupt(ran):
    project, first = ran
    second = project.run(TARGET)
    assert second.code == 0, second.stderr
    store = _store(project)
    key = f"runs/{first['run_id']}.json"
    store.put(key, store.get(key)[:30])
    listed = project.cli("runs", "list")
    assert listed.code == 0, listed.stderr
    assert [r["run_id"] for r in listed.json] == [second.json["run_id"]]
    (warning,) = [line for line in listed.stderr.splitlines() if line.strip()]
    assert key in warning and f"quarantine/{key}" in warning
    shown = project.cli("runs", "show", first["run_id"], as_json=False)
    assert shown.code == 1 and shown.stderr.startswith(f"error: The record of run {first['run_id']} is corrupt; ")
    assert len(shown.stderr.strip().splitlines()) == 1
