"""Step records (commits of fingerprints) and run records, as JSON documents in a store."""
from __future__ import annotations

import json
from typing import Any, Iterator

from durapipe.errors import DurapipeError, NotFoundError, StoreError
from durapipe.keys import RUNS as RUN_PREFIX
from durapipe.keys import artifact_key, run_key, step_key
from durapipe.stores.quarantine import quarantine

RECORD_SCHEMA = 1
__all__ = ["run_key", "step_key"]  # re-exported: callers built keys from here before durapipe/keys.py


def find_step_record(store: Any, fingerprint: str) -> dict[str, Any] | None:
    """The committed record of `fingerprint`, or None when nothing usable is committed under it.

    A record that is not whole (truncated, not the record of this fingerprint) or whose outputs are
    no longer stored (a corrupt artifact was quarantined) does not count: it is moved to quarantine/,
    so the step runs again and its new commit takes the key. An outage raises, never answers None.
    """
    key = step_key(fingerprint)
    try:
        data = store.get(key)
    except NotFoundError:
        return None
    problem = None
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        record, problem = None, "it is not valid JSON (truncated?)"
    if problem is None and (not isinstance(record, dict) or record.get("fingerprint") != fingerprint
                            or not isinstance(record.get("outputs"), dict)):
        problem = "it is not the record of its fingerprint"
    if problem is None:
        missing = _missing_output(store, record)
        if missing is not None:
            problem = f"its output {missing!r} is no longer in the store"
    if problem is not None:
        quarantine(store, key, problem)
        return None
    return record


def _missing_output(store: Any, record: dict[str, Any]) -> str | None:
    """The name of the first output of `record` whose artifact is not stored, or None."""
    for name, ref in record["outputs"].items():
        try:
            if not store.exists(artifact_key(ref["hash"])):
                return name
        except (TypeError, KeyError, DurapipeError):
            return name
    return None


def commit_step_record(store: Any, record: dict[str, Any], overwrite: bool = False) -> dict[str, Any]:
    """Commit `record` under its fingerprint; return the record that stands (the first writer's)."""
    key = step_key(record["fingerprint"])
    data = json.dumps(record, sort_keys=True).encode()
    if overwrite:
        store.put(key, data)
        return record
    if store.put(key, data, if_absent=True):
        return record
    # Another writer committed first: its identical-by-fingerprint result wins, ours is discarded.
    return _load(store, key)


def write_run_record(store: Any, record: dict[str, Any]) -> None:
    """Write (or replace) the record of one run."""
    store.put(run_key(record["run_id"]), _run_record_bytes(record))


def create_run_record(store: Any, record: dict[str, Any]) -> bool:
    """Write the record of a run unless one exists; True when this call created it."""
    return store.put(run_key(record["run_id"]), _run_record_bytes(record), if_absent=True)


def _run_record_bytes(record: dict[str, Any]) -> bytes:
    # Compact: with `indent`, json encodes in Python, about 5x slower (10 ms for 200 steps);
    # `durapipe runs show` is the readable view.
    return json.dumps(record, sort_keys=True).encode()


def read_run_record(store: Any, run_id: str) -> dict[str, Any]:
    """The record of run `run_id`; raises NotFoundError naming it when there is none."""
    try:
        return _load(store, run_key(run_id))
    except NotFoundError:
        raise NotFoundError(f"There is no run {run_id!r} in the store {store.url}.") from None


def iter_run_records(store: Any) -> Iterator[dict[str, Any]]:
    """Every run record in the store, in key order."""
    for key in store.list(RUN_PREFIX):
        if key.endswith(".json"):
            try:
                yield _load(store, key)
            except NotFoundError:
                continue  # deleted between list and read


def list_runs(store: Any, pipeline: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Run records, newest first, optionally only those of `pipeline` and/or with `status`."""
    runs = [r for r in iter_run_records(store)
            if (pipeline is None or r.get("pipeline") == pipeline)
            and (status is None or r.get("status") == status)]
    runs.sort(key=lambda r: (r.get("started") or "", r["run_id"]), reverse=True)
    return runs


def previous_run_with_step(store: Any, pipeline: str | None, step: str,
                           before: dict[str, Any] | None = None,
                           runs: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The newest run of `pipeline` (started before run `before`, if given) with a fingerprint for `step`."""
    for other in runs if runs is not None else list_runs(store, pipeline=pipeline):
        if before is not None and (other["run_id"] == before["run_id"]
                                   or (other.get("started") or "") > (before.get("started") or "")):
            continue
        if (other.get("steps", {}).get(step) or {}).get("components"):
            return other
    return None


def _load(store: Any, key: str) -> dict[str, Any]:
    data = store.get(key)
    try:
        return json.loads(data)
    except ValueError:
        raise StoreError(f"The record {key} in {store.url} is not valid JSON; it may be corrupted.") from None


def record_poison(store: Any, poison: dict[str, Any]) -> dict[str, Any]:
    """Write why an arrived blob was given up on to `poison/<key>.json` (the key is checked, never taken as is)."""
    from durapipe.keys import poison_key

    store.put(poison_key(poison["key"]), json.dumps(poison, indent=2).encode())
    return {"key": poison_key(poison["key"])}
