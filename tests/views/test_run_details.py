"""durapipe.views.run_details: finding a run's step, partition, log and artifacts."""
import pytest

from durapipe.core.errors import UsageError
from durapipe.views.run_details import artifact_download, failed_partition, run_artifacts, step_entry

LOG = {"hash": "a" * 64, "kind": "file", "size": 3}
RUN = {"run_id": "r1", "spec": {"steps": [{"name": "score", "map": "part"}, {"name": "merge", "map": None}]},
       "inputs": {"data": {"hash": "b" * 64, "kind": "file", "size": 1}},
       "steps": {"score": {"status": "ran", "by_partition": {'p "1".csv': {"status": "ran", "fingerprint": "f",
                                                                           "duration_s": 0.1, "log": LOG}}},
                 "merge": {"status": "failed", "error": "boom"}},
       "outputs": {}}


def test_a_partition_entry_is_found_by_its_name():
    assert step_entry(RUN, "score", 'p "1".csv')["log"] == LOG


def test_an_unknown_partition_names_the_partitions_there_are():
    with pytest.raises(UsageError, match='its partitions are: p "1".csv'):
        step_entry(RUN, "score", "nope")


def test_a_partition_of_a_step_that_is_not_mapped_is_refused():
    with pytest.raises(UsageError, match="not mapped"):
        step_entry(RUN, "merge", "x")


def test_the_failed_partition_is_read_from_the_error():
    assert failed_partition("step score failed: partition p7.csv failed: ValueError: x") == "p7.csv"
    assert failed_partition("step merge failed: boom") is None


def test_a_run_names_its_inputs_and_partition_logs():
    assert set(run_artifacts(RUN)) == {"a" * 64, "b" * 64}


def test_a_download_is_named_safely_for_its_header(tmp_path):
    import hashlib

    from durapipe.store.local import LocalStore

    data = b"what the partition printed"
    ref = {"hash": hashlib.sha256(data).hexdigest(), "kind": "file", "size": len(data)}
    run = {**RUN, "steps": {"score": {"status": "ran", "by_partition": {'p "1".csv': {
        "status": "ran", "fingerprint": "f", "duration_s": 0.1, "log": ref}}}}}
    store = LocalStore(tmp_path)
    store.put(f"artifacts/{ref['hash']}", data)
    assert artifact_download(store, run, ref["hash"]) == ("score.p__1_.csv.log", data)


def test_an_artifact_hash_must_be_64_hex_digits(tmp_path):
    from durapipe.store.local import LocalStore

    with pytest.raises(UsageError, match="64 lowercase hex"):
        artifact_download(LocalStore(tmp_path), RUN, "../etc")
