"""Step commits: one fingerprint has one record, whoever races for it."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from durapipe.records import commit_step_record

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
