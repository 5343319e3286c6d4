"""Corruption found on read is quarantined, and the run that finds it makes again what was bad (or says why it cannot)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from durapipe.store.url import open_store
from tests.e2e.conftest import new_project, step_statuses
from tests.e2e.projects import READ_RAW

TARGET = "flow.py:chain"
READ_TARGET = "flow.py:read_raw"


def _store(project):
    return open_store(project.store_url or str(Path(project.root) / ".durapipe"))


@pytest.fixture
def ran(store_url, tmp_path):
    project = new_project(tmp_path / "project", store_url)
    first = project.run(TARGET)
    assert first.code == 0, first.stderr
    return project, first.json


def test_a_corrupt_input_is_made_again_by_its_producer_within_the_run_that_finds_it(ran):
    project, first = ran
    store = _store(project)
    key = f"artifacts/{first['steps']['source']['outputs']['out']['hash']}"
    store.put(key, b"TEXT")  # same size, other bytes
    healed = project.run(TARGET, "--force", "transform")
    assert healed.code == 0, healed.stderr
    assert step_statuses(healed.json) == {"source": "ran", "transform": "ran", "finish": "reused", "side": "reused"}
    assert store.exists(f"quarantine/{key}") and store.get(key) == b"text"
    assert healed.json["outputs"] == first["outputs"]
    assert project.starts()["source"] == 2 and project.starts()["transform"] == 2
    assert project.run(TARGET).json["steps"]["source"]["status"] == "reused"


def test_a_lost_input_whose_producers_input_is_lost_too_is_made_again_from_further_up(ran):
    project, first = ran
    store = _store(project)
    for step in ("source", "transform"):
        key = f"artifacts/{first['steps'][step]['outputs']['out']['hash']}"
        store.put(key, store.get(key).swapcase())  # same size, other bytes
    healed = project.run(TARGET, "--force", "finish")
    assert healed.code == 0, healed.stderr
    assert step_statuses(healed.json) == {"source": "ran", "transform": "ran", "finish": "ran", "side": "reused"}
    assert healed.json["outputs"] == first["outputs"]


def test_a_corrupt_input_of_the_run_fails_it_with_a_sentence_and_the_next_run_that_gives_it_heals_it(
        store_url, tmp_path):
    project = new_project(tmp_path / "project", store_url, READ_RAW)
    project.write("raw.csv", "abc")
    first = project.run(READ_TARGET, "--input", "raw=raw.csv")
    assert first.code == 0, first.stderr
    store = _store(project)
    key = f"artifacts/{hashlib.sha256(b'abc').hexdigest()}"  # a file artifact's hash is its content's
    store.put(key, b"xyz")
    failed = project.run(READ_TARGET, "--input", "raw=raw.csv", "--force", "count")
    assert failed.code == 1
    error = failed.json["steps"]["count"]["error"]
    assert "corrupt" in error and "input 'raw' of the run" in error and "\n" not in error
    assert project.starts()["count"] == 1  # the count step never ran on bad bytes
    healed = project.run(READ_TARGET, "--input", "raw=raw.csv")
    assert healed.code == 0, healed.stderr
    assert store.get(key) == b"abc"


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


SPLIT_AND_MAP = '''
from durapipe import Input, Output, pipeline, step


@step
def split(parts: Output):
    parts.mkdir()
    for name in ("a", "b"):
        (parts / f"{name}.txt").write_text(name * 3)


@step
def upper(part: Input, out: Output):
    out.write_text(part.read_text().upper())


@pipeline
def shout():
    return {"out": upper.map("part", part=split().parts).out}
'''


def test_a_corrupt_partition_of_a_mapped_step_is_made_again_by_the_step_that_made_its_folder(store_url, tmp_path):
    project = new_project(tmp_path / "project", store_url, SPLIT_AND_MAP)
    first = project.run("flow.py:shout")
    assert first.code == 0, first.stderr
    store = _store(project)
    key = f"artifacts/{hashlib.sha256(b'aaa').hexdigest()}"  # the partition a.txt of split's folder
    store.put(key, b"AAA")
    healed = project.run("flow.py:shout", "--force", "upper")
    assert healed.code == 0, healed.json["steps"]["upper"].get("error") if healed.json else healed.stderr
    assert step_statuses(healed.json) == {"split": "ran", "upper": "ran"}
    assert store.get(key) == b"aaa" and store.exists(f"quarantine/{key}")
    assert healed.json["outputs"] == first.json["outputs"]


def test_a_mapped_steps_folder_whose_manifest_is_corrupt_is_made_again_before_its_partitions_are_listed(
        store_url, tmp_path):
    project = new_project(tmp_path / "project", store_url, SPLIT_AND_MAP)
    first = project.run("flow.py:shout")
    assert first.code == 0, first.stderr
    store = _store(project)
    key = f"artifacts/{first.json['steps']['split']['outputs']['parts']['hash']}"
    store.put(key, b'{"files": {}}')
    healed = project.run("flow.py:shout", "--force", "upper")
    assert healed.code == 0, healed.stdout + healed.stderr
    assert step_statuses(healed.json) == {"split": "ran", "upper": "ran"}
    assert store.exists(f"quarantine/{key}") and healed.json["outputs"] == first.json["outputs"]
