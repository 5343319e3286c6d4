"""Delivering a blob-triggered run's outputs: an older source blob version never overwrites a newer one's delivery."""
from __future__ import annotations

import hashlib
import json
import sys
import uuid
from pathlib import Path
from textwrap import dedent
from typing import Any, Iterator

import pytest

from durapipe.engine.delivery import deliver_output
from durapipe.engine.record_run import record_run
from durapipe.load.targets import load_target
from durapipe.store.artifacts import put_artifact
from durapipe.store.keys import delivery_claim_key
from durapipe.store.records import read_run_record

FLOW = dedent('''\
    from durapipe import Input, Output, pipeline, step

    @step
    def score(data: Input, out: Output):
        out.write_text("scored " + data.read_text())

    @pipeline
    def scoring(data: Input):
        return {"o": score(data=data).out}
    ''')
SOURCE, DESTINATION = "se/file2.txt", "seout/file2.txt"


@pytest.fixture
def spec(tmp_path: Path) -> Iterator[dict[str, Any]]:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'scoring'\n")
    module = f"scoring_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(FLOW)
    yield load_target(f"{root / module}.py:scoring").spec.to_json()
    sys.modules.pop(module, None)


def _arrive(store: Any, content: str) -> str:
    """Write a version of the source blob; its ETag."""
    store.put(SOURCE, content.encode())
    return store.stat(SOURCE).etag


def _output(store: Any, tmp_path: Path, text: str) -> dict[str, Any]:
    path = tmp_path / f"out-{uuid.uuid4().hex[:8]}"
    path.write_text(text)
    return put_artifact(store, path)


def _completed(spec: dict[str, Any], etag: str, out: dict[str, Any]) -> dict[str, Any]:
    """The recording input of a completed run of `spec` for version `etag` of the source blob."""
    run_id = f"blob-{uuid.uuid4().hex[:8]}-1"
    result = {"step": "score", "status": "ran", "fingerprint": hashlib.sha256(run_id.encode()).hexdigest(),
              "duration_s": 0.1, "outputs": {"out": out}, "components": {}, "log": None, "metrics": {},
              "logged_params": {}}
    trigger = {"kind": "blob", "blob_trigger": "se", "key": SOURCE, "etag": etag, "inputs": {}, "attempt": 1}
    return {"schema": 1, "run_id": run_id, "status": "completed", "started": "2026-01-01T00:00:00+00:00",
            "finished": "2026-01-01T00:00:01+00:00", "states": {"score": "ran"}, "results": {"score": result},
            "timing": {}, "errors": {}, "inputs": {},
            "request": {"spec": spec, "params": {}, "trigger": trigger, "deliver": {"o": DESTINATION}}}


def test_an_older_versions_run_ending_last_leaves_the_newer_versions_delivery(store, spec, tmp_path):
    older = _completed(spec, _arrive(store, "large"), _output(store, tmp_path, "scored large"))
    newer = _completed(spec, _arrive(store, "small"), _output(store, tmp_path, "scored small"))
    record_run(store, newer)
    record_run(store, older)
    assert store.get(DESTINATION) == b"scored small"
    newer_record = read_run_record(store, newer["run_id"])
    assert newer_record["delivered"] == {"o": DESTINATION}
    assert "superseded" not in newer_record


def test_a_superseded_delivery_is_recorded_with_the_sentence_saying_why(store, spec, tmp_path):
    older_etag = _arrive(store, "large")
    older = _completed(spec, older_etag, _output(store, tmp_path, "scored large"))
    newer_etag = _arrive(store, "small")
    record_run(store, older)
    record = read_run_record(store, older["run_id"])
    assert record["status"] == "completed"
    assert record["delivered"] == {}
    assert record["superseded"] == {"o": {"key": DESTINATION, "reason": (
        f"{SOURCE} was written again (ETag {newer_etag}) after the version this run is for "
        f"(ETag {older_etag}); the newer version's run delivers.")}}
    assert not store.exists(DESTINATION)


def test_the_newest_versions_run_delivers_whatever_ran_before(store, spec, tmp_path):
    first = _completed(spec, _arrive(store, "one"), _output(store, tmp_path, "scored one"))
    record_run(store, first)
    assert store.get(DESTINATION) == b"scored one"
    second = _completed(spec, _arrive(store, "two"), _output(store, tmp_path, "scored two"))
    record_run(store, second)
    assert store.get(DESTINATION) == b"scored two"
    claim = json.loads(store.get(delivery_claim_key(DESTINATION)))
    assert (claim["source"], claim["etag"], claim["run_id"]) == (SOURCE, second["request"]["trigger"]["etag"],
                                                                 second["run_id"])


def test_recording_a_run_again_keeps_what_its_first_recording_delivered(store, spec, tmp_path):
    older = _completed(spec, _arrive(store, "large"), _output(store, tmp_path, "scored large"))
    record_run(store, older)
    _arrive(store, "small")
    record_run(store, older)  # an activity is delivered at least once
    record = read_run_record(store, older["run_id"])
    assert record["delivered"] == {"o": DESTINATION} and "superseded" not in record


def test_a_run_whose_claim_was_overtaken_while_it_uploaded_writes_the_newer_output_again(store, spec, tmp_path,
                                                                                        monkeypatch):
    # The race the claim closes: the older version's run checked and claimed the key before the newer
    # version arrived, then its upload landed after the newer run's whole delivery.
    from durapipe.engine import delivery

    older_etag = _arrive(store, "large")
    older_out = _output(store, tmp_path, "scored large")
    newer_out = _output(store, tmp_path, "scored small")
    uploads = []
    real_upload = delivery._upload

    def upload(store_: Any, ref: dict[str, Any], key: str) -> None:
        uploads.append(ref)
        if len(uploads) == 1:  # the older run, claimed and about to upload: the newer version arrives and delivers
            newer_etag = _arrive(store, "small")
            assert deliver_output(store, newer_out, key, source={"key": SOURCE, "etag": newer_etag},
                                  run_id="newer") is None
        real_upload(store_, ref, key)

    monkeypatch.setattr(delivery, "_upload", upload)
    reason = deliver_output(store, older_out, DESTINATION, source={"key": SOURCE, "etag": older_etag}, run_id="older")
    assert store.get(DESTINATION) == b"scored small"
    assert uploads == [older_out, newer_out, newer_out]
    assert reason is not None and reason.startswith(f"A newer version of {SOURCE} ")


def test_a_run_not_triggered_by_a_blob_delivers_as_asked(store, tmp_path):
    assert deliver_output(store, _output(store, tmp_path, "scored"), DESTINATION) is None
    assert store.get(DESTINATION) == b"scored"
    assert not store.exists(delivery_claim_key(DESTINATION))


def test_a_run_whose_source_blob_is_gone_still_delivers(store, spec, tmp_path):
    run = _completed(spec, _arrive(store, "one"), _output(store, tmp_path, "scored one"))
    store.delete(SOURCE)
    record_run(store, run)
    assert store.get(DESTINATION) == b"scored one"
