"""Requests the function app builds from untrusted input."""
from pathlib import Path

import pytest

from durapipe.serving.service import (RequestError, blob_instance_id, page_of_runs, parse_json_body, tick_instance_id)
from datetime import datetime, timezone


def test_an_oversize_body_is_refused_with_413():
    with pytest.raises(RequestError) as caught:
        parse_json_body(b"{" + b" " * 70_000 + b"}")
    assert caught.value.status == 413


def test_malformed_json_is_refused_with_400_naming_the_problem():
    with pytest.raises(RequestError) as caught:
        parse_json_body(b'{"parameters": ')
    assert caught.value.status == 400 and "not valid JSON" in str(caught.value)


def test_a_json_array_body_is_refused():
    with pytest.raises(RequestError, match="JSON object"):
        parse_json_body(b"[1, 2]")


def test_an_empty_body_means_no_parameters_or_inputs():
    assert parse_json_body(b"") == {}


def test_the_same_blob_version_maps_to_the_same_run_and_a_new_etag_to_another():
    first = blob_instance_id("durapipe", "incoming/a.csv", '"0x1"')
    assert first == blob_instance_id("durapipe", "incoming/a.csv", '"0x1"')
    assert first != blob_instance_id("durapipe", "incoming/a.csv", '"0x2"')
    assert first != blob_instance_id("durapipe", "incoming/b.csv", '"0x1"')


def test_one_tick_one_run_id():
    tick = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)
    assert tick_instance_id("retrain", tick) == "retrain-tick-20261129T030000Z"


def test_runs_are_paged_newest_first(store):
    from durapipe.store.records import write_run_record

    for i in range(5):
        write_run_record(store, {"run_id": f"r{i}", "pipeline": "p", "status": "completed",
                                 "started": f"2026-11-29T00:00:0{i}"})
    first = page_of_runs(store, None, None, limit=2, offset=0)
    assert [r["run_id"] for r in first["runs"]] == ["r4", "r3"] and first["next_offset"] == 2
    last = page_of_runs(store, "p", "completed", limit=2, offset=4)
    assert [r["run_id"] for r in last["runs"]] == ["r0"] and last["next_offset"] is None



def test_a_truncated_run_record_is_left_out_of_the_pages_not_a_400(store):
    from durapipe.store.records import write_run_record

    for i in range(3):
        write_run_record(store, {"run_id": f"r{i}", "pipeline": "p", "status": "completed",
                                 "started": f"2026-11-29T00:00:0{i}"})
    store.put("runs/r1.json", store.get("runs/r1.json")[:12])
    page = page_of_runs(store, None, None, limit=10, offset=0)
    assert [r["run_id"] for r in page["runs"]] == ["r2", "r0"] and page["total"] == 2

def test_a_bad_page_size_is_refused(store):
    with pytest.raises(RequestError):
        page_of_runs(store, None, None, limit=0, offset=0)


def test_a_failed_runs_error_is_durapipes_reason_without_the_traceback():
    from durapipe.serving.service import failure_sentence

    output = ("Orchestrator function 'pipeline_run' failed: The input 'raw' is wrong. \n Traceback (most recent "
              "call last):\n  File \"/srv/app/x.py\", line 1, in f\ndurapipe.core.errors.UsageError: The input 'raw' is wrong.\n")
    assert failure_sentence(output) == "The input 'raw' is wrong."


def test_a_failure_recorded_before_the_errors_moved_to_core_still_shows_durapipes_reason():
    from durapipe.serving.service import failure_sentence

    output = ("Orchestrator function 'pipeline_run' failed: The input 'raw' is wrong. \n Traceback (most recent "
              "call last):\n  File \"/srv/app/x.py\", line 1, in f\ndurapipe.errors.UsageError: The input 'raw' is wrong.\n")
    assert failure_sentence(output) == "The input 'raw' is wrong."


def test_a_failure_outside_durapipes_errors_is_a_generic_sentence():
    from durapipe.serving.service import failure_sentence

    output = ("Orchestrator function 'pipeline_run' failed: 'spec' \n Traceback (most recent call last):\n"
              "  File \"/srv/app/orchestrators/pipeline_run.py\", line 3, in f\nKeyError: 'spec'\n")
    sentence = failure_sentence(output)
    assert "spec" not in sentence and "/srv" not in sentence and sentence.endswith(".")


def test_json_nested_1000_deep_is_refused_with_400():
    with pytest.raises(RequestError) as caught:
        parse_json_body(b'{"parameters": ' + b"[" * 1000 + b"]" * 1000 + b"}")
    assert caught.value.status == 400 and "nested" in str(caught.value)
