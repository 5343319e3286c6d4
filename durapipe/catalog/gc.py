"""Retention: delete run records, step records and artifacts older than a cutoff that nothing kept needs.

Kept: every run that is recent (started after the cutoff), still running, or the source of a
model version or data version; every step record such a run uses, or written after the
cutoff; and every artifact that a kept run or step record, a data version or a model version
names (with the files of folder artifacts), or written after the cutoff (a run in flight may
have uploaded it before recording it). Deletion goes records first, then artifacts, so an
interrupted collection never leaves a record naming a deleted artifact.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable

from durapipe.core.errors import NotFoundError, UsageError
from durapipe.store.keys import ARTIFACTS, DATA, MODELS, RUNS, STEPS, producer_key
from durapipe.store.records import iter_run_records
from durapipe.store.artifacts import artifact_manifest

if TYPE_CHECKING:
    from durapipe.store.base import Store


@dataclass
class Collection:
    """What a collection deletes (key, bytes, why) and how much it keeps."""

    delete: list[tuple[str, int, str]] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)

    @property
    def bytes(self) -> int:
        """The bytes the deleted keys hold."""
        return sum(size for _, size, _ in self.delete)


def _time(text: Any) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _refs(value: Any) -> Iterable[dict[str, Any]]:
    """Every artifact ref ({"hash", "kind", ...}) nested anywhere in a record."""
    if isinstance(value, dict):
        if isinstance(value.get("hash"), str) and value.get("kind") in ("file", "dir"):
            yield value
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def collect(store: Store, older_than_days: float, now: datetime | None = None) -> Collection:
    """Decide what `durapipe gc --older-than DAYS` deletes; deletes nothing."""
    if older_than_days < 0:
        raise UsageError("--older-than must be a number of days of at least 0.")
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=older_than_days)
    result = Collection()
    needed_refs: list[dict[str, Any]] = []
    needed_runs: set[str] = set()
    for prefix in (DATA, MODELS):
        for key in store.list(prefix):
            if not key.endswith(".json") or key.endswith("/champion.json"):
                continue
            entry = json.loads(store.get(key))
            needed_refs.extend(_refs(entry))
            needed_runs.update(filter(None, [entry.get("run_id"), (entry.get("source") or {}).get("run_id")]))
    kept_fingerprints: set[str] = set()
    runs = 0
    for run in iter_run_records(store):
        started = _time(run.get("started"))
        keep = (run.get("status") == "running" or run["run_id"] in needed_runs
                or started is None or started >= cutoff)
        if keep:
            runs += 1
            needed_refs.extend(_refs(run))
            kept_fingerprints.update(_fingerprints(run))
        else:
            key = f"{RUNS}{run['run_id']}.json"
            result.delete.append((key, _size(store, key), f"run {run['run_id']} started {run.get('started')}"))
    steps = 0
    for key in store.list(STEPS):
        fingerprint = key[len(STEPS):].removesuffix(".json")
        info = _stat(store, key)
        if info is None:
            continue
        if fingerprint in kept_fingerprints or info.modified >= cutoff:
            steps += 1
            needed_refs.extend(_refs(json.loads(store.get(key))))
        else:
            result.delete.append((key, info.size, "a step result no kept run uses"))
    live = _with_folder_files(store, needed_refs)
    artifacts = 0
    for key in store.list(ARTIFACTS):
        digest = key[len(ARTIFACTS):]
        info = _stat(store, key)
        if info is None:
            continue
        if digest in live or info.modified >= cutoff:
            artifacts += 1
        else:
            result.delete.append((key, info.size, "an artifact nothing kept names"))
            producer = producer_key(digest)
            if store.exists(producer):
                result.delete.append((producer, _size(store, producer), "the producer of a deleted artifact"))
    result.kept = {"runs": runs, "step records": steps, "artifacts": artifacts}
    return result


def _fingerprints(run: dict[str, Any]) -> Iterable[str]:
    for value in _walk(run.get("steps") or {}):
        if isinstance(value, dict) and isinstance(value.get("fingerprint"), str):
            yield value["fingerprint"]


def _walk(value: Any) -> Iterable[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _with_folder_files(store: Store, refs: list[dict[str, Any]]) -> set[str]:
    live: set[str] = set()
    for ref in refs:
        if ref["hash"] in live:
            continue
        live.add(ref["hash"])
        if ref["kind"] == "dir":
            try:
                manifest = artifact_manifest(store, ref)
            except NotFoundError:
                continue
            live.update(entry["hash"] for entry in manifest["files"].values())
    return live


def _stat(store: Store, key: str) -> Any:
    try:
        return store.stat(key)
    except NotFoundError:
        return None  # deleted meanwhile


def _size(store: Store, key: str) -> int:
    info = _stat(store, key)
    return info.size if info else 0


def apply(store: Store, collection: Collection) -> None:
    """Delete what `collection` names: records first, artifacts last."""
    ordered = sorted(collection.delete, key=lambda item: item[0].startswith(ARTIFACTS))
    for key, _, _ in ordered:
        store.delete(key)
