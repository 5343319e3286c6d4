"""Step commits: one fingerprint has one record, whoever races for it; the step index, one read for a run's commits."""
from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from durapipe.store.keys import step_index_key
from durapipe.store.records import StepIndex, commit_step_record, indexed_fingerprints, step_key
from durapipe.store.base import Store

FINGERPRINT = "c" * 64
RACERS = 100


def test_100_racing_commits_of_one_fingerprint_leave_one_record_that_every_racer_reports(store):
    def commit(i: int) -> dict:
        # Each racer made other bytes (a step that is not deterministic): only one may stand.
        record = {"schema": 1, "fingerprint": FINGERPRINT, "step": "fit", "run_id": f"run-{i}",
                  "outputs": {"model": {"hash": f"{i:064x}", "kind": "file", "size": i}}}
        return commit_step_record(store, record)

    with ThreadPoolExecutor(16) as pool:
        reported = list(pool.map(commit, range(RACERS)))
    assert len({r["outputs"]["model"]["hash"] for r in reported}) == 1
    assert list(store.list("steps/")) == [f"steps/{FINGERPRINT}.json"]
    assert store.get(f"steps/{FINGERPRINT}.json") and reported[0]["run_id"].startswith("run-")


FP_A, FP_B, FP_C = "a" * 64, "b" * 64, "c" * 64


class Counted:
    """A real store with a tally of the calls made to it (a spy, not a double: every call goes through)."""

    def __init__(self, store: Store) -> None:
        self.inner = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attribute(*args, **kwargs)

        return counted


def record(fingerprint: str, output: str = "1" * 64) -> dict[str, Any]:
    return {"schema": 1, "fingerprint": fingerprint, "step": "s", "pipeline": "p",
            "outputs": {"out": {"hash": output, "kind": "file", "size": 1}}, "run_id": "r1"}


@pytest.fixture
def indexed(store: Store) -> Store:
    for output in ("1" * 64, "2" * 64, "9" * 64):
        store.put(f"artifacts/{output}", b"x")
    for fingerprint in (FP_A, FP_B):
        commit_step_record(store, record(fingerprint))
    StepIndex(store, "p").save([FP_A, FP_B])
    return store


def test_indexed_records_are_found_without_reading_their_commits(indexed: Store) -> None:
    counted = Counted(indexed)
    index = StepIndex(counted, "p")
    assert index.find(FP_A) == record(FP_A)
    assert index.find(FP_B) == record(FP_B)
    assert counted.calls == Counter({"get_with_etag": 1, "etags": 1})


def test_an_index_read_again_unchanged_costs_one_stat(indexed: Store) -> None:
    StepIndex(indexed, "p").find(FP_A)
    counted = Counted(indexed)
    assert StepIndex(counted, "p").find(FP_A) == record(FP_A)
    assert counted.calls == Counter({"stat": 1, "etags": 1})


def test_an_index_rewritten_since_it_was_read_is_read_again(indexed: Store) -> None:
    StepIndex(indexed, "p").find(FP_A)
    commit_step_record(indexed, record(FP_C))
    StepIndex(indexed, "p").save([FP_A, FP_C])
    counted = Counted(indexed)
    assert StepIndex(counted, "p").find(FP_C) == record(FP_C)
    assert counted.calls["get_with_etag"] == 1 and counted.calls["etags"] == 1


def test_a_commit_overwritten_after_indexing_is_read_from_the_commit(indexed: Store) -> None:
    commit_step_record(indexed, record(FP_A, output="2" * 64), overwrite=True)
    assert StepIndex(indexed, "p").find(FP_A) == record(FP_A, output="2" * 64)


def test_a_commit_deleted_after_indexing_is_not_found(indexed: Store) -> None:
    indexed.delete(step_key(FP_A))
    assert StepIndex(indexed, "p").find(FP_A) is None


def test_an_indexed_record_whose_output_is_gone_is_not_used(indexed: Store) -> None:
    indexed.delete("artifacts/" + "1" * 64)
    assert StepIndex(indexed, "p").find(FP_A) is None
    assert not indexed.exists(step_key(FP_A))  # the commit went to quarantine/, as find_step_record does


def test_a_fingerprint_missing_from_the_index_is_read_from_its_commit(indexed: Store) -> None:
    commit_step_record(indexed, record(FP_C))
    assert StepIndex(indexed, "p").find(FP_C) == record(FP_C)


def test_a_damaged_index_falls_back_to_the_commits(indexed: Store) -> None:
    indexed.put(step_index_key("p"), b"{not json")
    assert StepIndex(indexed, "p").find(FP_A) == record(FP_A)


def test_an_entry_naming_another_fingerprint_is_ignored(indexed: Store) -> None:
    document = json.loads(indexed.get(step_index_key("p")))
    document["entries"][FP_A]["record"] = record(FP_B)
    indexed.put(step_index_key("p"), json.dumps(document).encode())
    assert StepIndex(indexed, "p").find(FP_A) == record(FP_A)


def test_an_entry_with_a_forged_record_but_an_old_etag_is_not_used(indexed: Store) -> None:
    document = json.loads(indexed.get(step_index_key("p")))
    document["entries"][FP_A]["etag"] = '"someone-else"'
    document["entries"][FP_A]["record"] = record(FP_A, output="9" * 64)
    indexed.put(step_index_key("p"), json.dumps(document).encode())
    assert StepIndex(indexed, "p").find(FP_A) == record(FP_A)


def test_saving_an_unchanged_index_writes_nothing(indexed: Store) -> None:
    counted = Counted(indexed)
    StepIndex(counted, "p").save([FP_B, FP_A])
    assert counted.calls["put"] == 0


def test_saving_the_same_fingerprints_again_lists_nothing(indexed: Store) -> None:
    # A no-change run records what it planned: the index already holds those entries.
    counted = Counted(indexed)
    StepIndex(counted, "p").save([FP_B, FP_A])
    assert counted.calls == Counter({"get_with_etag": 1})  # the index itself, and no listing or write


def test_a_commit_remade_by_this_run_refreshes_its_stale_entry(indexed: Store) -> None:
    # FP_A's commit was deleted (gc) and this run committed it again: the entry's etag is stale.
    indexed.delete(step_key(FP_A))
    commit_step_record(indexed, record(FP_A, output="2" * 64))
    StepIndex(indexed, "p").save([FP_A, FP_B], committed_now=[FP_A])
    entries = json.loads(indexed.get(step_index_key("p")))["entries"]
    assert entries[FP_A]["record"] == record(FP_A, output="2" * 64)
    assert entries[FP_A]["etag"] == indexed.stat(step_key(FP_A)).etag


def test_a_stale_entry_is_refreshed_once_a_lookup_has_seen_it(indexed: Store) -> None:
    indexed.delete(step_key(FP_A))
    commit_step_record(indexed, record(FP_A, output="2" * 64))
    index = StepIndex(indexed, "p")
    assert index.find(FP_A) == record(FP_A, output="2" * 64)
    index.save([FP_A, FP_B])
    assert json.loads(indexed.get(step_index_key("p")))["entries"][FP_A]["etag"] == indexed.stat(step_key(FP_A)).etag


def test_the_indexed_record_is_read_without_a_listing(indexed: Store) -> None:
    counted = Counted(indexed)
    index = StepIndex(counted, "p")
    assert index.indexed_record(FP_A) == record(FP_A)
    assert counted.calls == Counter({"get_with_etag": 1})  # the index itself, and no listing
    # Not in the index: read from its commit, as find does.
    commit_step_record(indexed, record(FP_C))
    assert index.indexed_record(FP_C) == record(FP_C)


def test_an_uncommitted_fingerprint_is_not_indexed(indexed: Store) -> None:
    StepIndex(indexed, "p").save([FP_A, FP_C])
    assert set(json.loads(indexed.get(step_index_key("p")))["entries"]) == {FP_A}


def test_each_pipeline_has_its_own_index(indexed: Store) -> None:
    counted = Counted(indexed)
    assert StepIndex(counted, "other").find(FP_A) == record(FP_A)
    # Its own (missing) index, then the commit itself and its output: p's index is never consulted.
    assert counted.calls == Counter({"get_with_etag": 2, "exists": 1})


def test_a_run_indexes_the_commits_of_its_ran_and_reused_steps_and_of_each_partition_of_mapped_ones() -> None:
    part_1, part_2 = "e" * 64, "f" * 64
    run = {"steps": {"a": {"status": "ran", "fingerprint": FP_A}, "b": {"status": "reused", "fingerprint": FP_B},
                     "c": {"status": "failed", "fingerprint": FP_C}, "d": {"status": "not_run", "fingerprint": None},
                     "m": {"status": "ran", "fingerprint": "d" * 64, "partitions": {"total": 2, "ran": 1, "reused": 1},
                           "by_partition": {"x.csv": {"status": "ran", "fingerprint": part_1},
                                            "y.csv": {"status": "reused", "fingerprint": part_2}}}}}
    # The mapped step's own fingerprint ("d" * 64, a hash of its partitions') names no commit.
    assert indexed_fingerprints(run) == [FP_A, FP_B, part_1, part_2]


def _run_record(run_id: str, started: str) -> dict[str, Any]:
    return {"run_id": run_id, "pipeline": "p", "status": "completed", "started": started, "steps": {}}


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


@pytest.mark.parametrize("damage", [lambda data: data[:15], lambda data: b"[1, 2]"], ids=["truncated", "not-a-record"])
def test_a_corrupt_run_record_is_quarantined_and_skipped_by_listings_with_one_warning(store, caplog, damage):
    from durapipe.store.records import list_runs, write_run_record

    for number in (1, 2, 3):
        write_run_record(store, _run_record(f"run{number}", f"2026-01-0{number}"))
    store.put("runs/run2.json", damage(store.get("runs/run2.json")))
    assert [r["run_id"] for r in list_runs(store)] == ["run3", "run1"]
    (warning,) = _warnings(caplog)
    assert "runs/run2.json" in warning and "quarantine/runs/run2.json" in warning and "\n" not in warning
    assert store.exists("quarantine/runs/run2.json") and not store.exists("runs/run2.json")
    assert [r["run_id"] for r in list_runs(store)] == ["run3", "run1"] and len(_warnings(caplog)) == 1


def test_reading_a_corrupt_run_record_says_it_is_corrupt_in_one_sentence_then_and_later(store):
    from durapipe.core.errors import IntegrityError
    from durapipe.store.records import read_run_record, write_run_record

    write_run_record(store, _run_record("run1", "2026-01-01"))
    store.put("runs/run1.json", store.get("runs/run1.json")[:15])
    for _ in range(2):  # the read that moves it aside, and any read after
        with pytest.raises(IntegrityError) as raised:
            read_run_record(store, "run1")
        message = str(raised.value)
        assert message.startswith("The record of run run1 is corrupt; it was moved to quarantine/runs/run1.json")
        assert message.count(". ") == 0 and "\n" not in message


def test_repair_writes_an_index_that_missed_the_commits_found(indexed: Store) -> None:
    indexed.delete(step_index_key("p"))  # a run's index write that failed
    index = StepIndex(indexed, "p")
    assert index.find(FP_A) == record(FP_A) and index.find(FP_B) == record(FP_B)
    index.repair()
    counted = Counted(indexed)
    again = StepIndex(counted, "p")
    assert again.find(FP_A) == record(FP_A) and again.find(FP_B) == record(FP_B)
    assert counted.calls["get_with_etag"] == 1 and counted.calls["etags"] == 1  # from the index, not the commits


def test_repair_of_an_index_that_holds_what_was_found_writes_nothing(indexed: Store) -> None:
    counted = Counted(indexed)
    index = StepIndex(counted, "p")
    assert index.find(FP_A) == record(FP_A)
    index.repair()
    assert counted.calls["put"] == 0
