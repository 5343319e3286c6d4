"""Step records (commits of fingerprints) and run records, as JSON documents in a store."""
from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from durapipe.core.errors import DurapipeError, IntegrityError, NotFoundError, StoreError
from durapipe.model.records import RunRecord, StepRecord
from durapipe.store.keys import RUNS as RUN_PREFIX
from durapipe.store.keys import artifact_key, quarantine_key, run_key, step_index_key, step_key
from durapipe.store.quarantine import quarantine

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from durapipe.store.base import Store

RECORD_SCHEMA = 1
INDEX_SCHEMA = 1
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
__all__ = ["run_key", "step_key"]  # re-exported: callers built keys from here before durapipe/store/keys.py


def find_step_record(store: Store, fingerprint: str) -> StepRecord | None:
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
    return _usable_record(store, key, fingerprint, data)


def _usable_record(store: Store, key: str, fingerprint: str, data: bytes) -> StepRecord | None:
    """The record in `data` (read from `key`), or None after moving it to quarantine/ when it is not usable."""
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


def _missing_output(store: Store, record: StepRecord) -> str | None:
    """The name of the first output of `record` whose artifact is not stored, or None."""
    for name, ref in record["outputs"].items():
        try:
            if not store.exists(artifact_key(ref["hash"])):
                return name
        except (TypeError, KeyError, DurapipeError):
            return name
    return None


def commit_step_record(store: Store, record: StepRecord, overwrite: bool = False) -> StepRecord:
    """Commit `record` under its fingerprint; return the record that stands (the first writer's).

    A commit whose step read other file contents than `record`'s (its `reads` component) is replaced:
    the step ran again because one of them changed, and the commit holds the result of the files as
    they are now. Replaced only while it is the commit that was read (an etag condition).
    """
    key = step_key(record["fingerprint"])
    data = json.dumps(record, sort_keys=True).encode()
    if overwrite:
        store.put(key, data)
        return record
    while not store.put(key, data, if_absent=True):
        try:
            existing, etag = store.get_with_etag(key)
        except NotFoundError:
            continue  # removed since (quarantined): create it again
        standing = parse_record(store, key, existing)
        if _reads_of(standing) == _reads_of(record):
            # Another writer committed first: its identical-by-fingerprint result wins, ours is discarded.
            return standing
        if store.put(key, data, if_match=etag):
            return record
    return record


def _reads_of(record: dict[str, Any]) -> Any:
    """The files (with their content hashes) a commit's step read: the second half of its key."""
    components = record.get("components") if isinstance(record, dict) else None
    return (components or {}).get("reads") or {}


# The field of a started run record (written at planning) holding what planning decided: {"reused":
# {step: its ReusedStep or gathered result}}. Recording takes the reused steps' results from it
# when the plan said so (`reused_in_record`); the final record does not keep it.
PLANNED = "planned"
# The field of a started run record naming the orchestration execution that planned it: {"id": its
# instance id, "started": when that execution began}. Only that execution plans the run again (its
# planning delivered twice, or resumed from the journal); `durapipe resume` of a failed run drops it,
# and the final record does not keep it, so a finished run is never driven again.
PLANNED_BY = "planned_by"


class StepIndex:
    """The commit records a pipeline's last run used, each with its commit's etag: one read for them all.

    The commits stay the truth. An entry is used only while its commit still has the etag the
    entry was taken with and its outputs are still stored (checked for all entries at once,
    `Store.etags`); anything else is read from the commit itself, as `find_step_record` does.
    A missing, stale or damaged index costs reads, never a wrong reuse.
    """

    def __init__(self, store: Store, pipeline: str) -> None:
        self.store = store
        self.key = step_index_key(pipeline)
        self.pipeline = pipeline
        self._entries = _read_index(store, self.key)
        # The fingerprints whose entry still holds: its commit has the entry's etag, its outputs are stored.
        self._current: set[str] | None = None
        # fingerprint -> (record, etag of the commit holding exactly that record), as checked here.
        self._checked: dict[str, tuple[StepRecord, str]] = {}
        # A usable commit was found that the index did not hold (missing, stale or damaged): `repair` rewrites it.
        self._missed = False

    def find(self, fingerprint: str) -> StepRecord | None:
        """The usable committed record of `fingerprint`, or None when nothing usable is committed under it."""
        checked = self._checked.get(fingerprint)
        if checked is not None:
            return checked[0]
        entry = self._entries.get(fingerprint)
        if entry is not None and self._still_committed(fingerprint, entry):
            self._checked[fingerprint] = (entry["record"], entry["etag"])
            return entry["record"]
        key = step_key(fingerprint)
        try:
            data, etag = self.store.get_with_etag(key)
        except NotFoundError:
            return None
        record = _usable_record(self.store, key, fingerprint, data)
        if record is not None:
            self._checked[fingerprint] = (record, etag)
            self._missed = True
        return record

    def repair(self) -> None:
        """Make the index hold the commits found here when it missed one (a run's index write that failed, say).

        A repair that cannot write is logged and changes nothing: the index only saves reads.
        """
        if not self._missed:
            return
        try:
            self.save(list(self._checked))
        except StoreError as exc:
            log.info("could not repair the step index %s (%s); the next plan tries again", self.key, exc)
        else:
            self._missed = False

    def indexed_record(self, fingerprint: str) -> StepRecord | None:
        """The record the index holds for `fingerprint`, not checked against its commit (see `find` for reuse)."""
        checked = self._checked.get(fingerprint)
        if checked is not None:
            return checked[0]
        entry = self._entries.get(fingerprint)
        return entry["record"] if entry is not None else self.find(fingerprint)

    def _still_committed(self, fingerprint: str, entry: dict[str, Any]) -> bool:
        if self._current is None:
            # One call for every entry's commit and outputs (one listing per folder on Blob storage).
            commits = {known: step_key(known) for known in self._entries}
            outputs = {ref["hash"]: artifact_key(ref["hash"]) for known in self._entries.values()
                       for ref in known["record"]["outputs"].values()}
            current = self.store.etags(list(commits.values()) + sorted(set(outputs.values())))
            stored = {digest for digest, key in outputs.items() if key in current}
            self._current = {known for known, key in commits.items()
                             if current.get(key) == self._entries[known]["etag"]
                             and all(ref["hash"] in stored for ref in self._entries[known]["record"]["outputs"].values())}
        return fingerprint in self._current

    def save(self, fingerprints: Iterable[str], committed_now: Iterable[str] = ()) -> None:
        """Make the index hold the commits of `fingerprints` (those committed); writes nothing when it already does.

        `committed_now` are those this run committed itself: their entries are checked against their commits.
        """
        wanted = set(fingerprints)
        if not set(committed_now) and wanted == set(self._entries) \
                and all(f not in self._checked or self._checked[f][1] == self._entries[f]["etag"] for f in wanted):
            # Already its entries, and none seen stale here: nothing to write, and no listing to make sure
            # (an entry gone stale since is checked again by whoever uses it, as every entry is).
            return
        entries: dict[str, dict[str, Any]] = {}
        for fingerprint in sorted(wanted):
            if self.find(fingerprint) is not None:
                record, etag = self._checked[fingerprint]
                entries[fingerprint] = {"etag": etag, "record": record}
        if entries == self._entries:
            return
        document = {"schema": INDEX_SCHEMA, "pipeline": self.pipeline, "entries": entries}
        self.store.put(self.key, json.dumps(document, sort_keys=True).encode())
        self._entries = entries


# (store URL, key) -> (etag, entries) of the index this process read last: planning and recording
# a run read the same index, and checking its etag is cheaper than reading and decoding it again.
_indexes_read: dict[tuple[str, str], tuple[str, dict[str, dict[str, Any]]]] = {}


def _read_index(store: Store, key: str) -> dict[str, dict[str, Any]]:
    remembered = _indexes_read.get((store.url, key))
    if remembered is not None:
        try:
            if store.stat(key).etag == remembered[0]:
                return remembered[1]
        except NotFoundError:
            return {}
    try:
        data, etag = store.get_with_etag(key)
    except NotFoundError:
        return {}
    entries = _index_entries(data)
    _indexes_read[(store.url, key)] = (etag, entries)
    return entries


def _index_entries(data: bytes) -> dict[str, dict[str, Any]]:
    # A hint only: an index that is unreadable, of another schema or with odd entries counts for less.
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(document, dict) or document.get("schema") != INDEX_SCHEMA or not isinstance(document.get("entries"), dict):
        return {}
    entries = {}
    for fingerprint, entry in document["entries"].items():
        record = entry.get("record") if isinstance(entry, dict) else None
        if (_is_fingerprint(fingerprint) and isinstance(record, dict) and record.get("fingerprint") == fingerprint
                and isinstance(entry.get("etag"), str) and _has_output_refs(record)):
            entries[fingerprint] = {"etag": entry["etag"], "record": record}
    return entries


def _has_output_refs(record: dict[str, Any]) -> bool:
    outputs = record.get("outputs")
    return isinstance(outputs, dict) and all(
        isinstance(ref, dict) and _is_fingerprint(ref.get("hash")) for ref in outputs.values())


def indexed_fingerprints(run_record: RunRecord) -> list[str]:
    """The fingerprints of the commits a finished run used: each step's, and each partition's of a mapped step.

    A mapped step's own fingerprint (a hash of its partitions') names no commit, so it is left out.
    """
    found = []
    for entry in run_record.get("steps", {}).values():
        if entry.get("status") not in ("ran", "reused"):
            continue
        if entry.get("partitions"):
            found += [part["fingerprint"] for part in (entry.get("by_partition") or {}).values()
                      if part.get("status") in ("ran", "reused") and part.get("fingerprint")]
        elif entry.get("fingerprint"):
            found.append(entry["fingerprint"])
    return found


def write_run_record(store: Store, record: RunRecord) -> None:
    """Write (or replace) the record of one run."""
    store.put(run_key(record["run_id"]), _run_record_bytes(record))


def create_run_record(store: Store, record: RunRecord) -> bool:
    """Write the record of a run unless one exists; True when this call created it."""
    return store.put(run_key(record["run_id"]), _run_record_bytes(record), if_absent=True)


def _run_record_bytes(record: RunRecord) -> bytes:
    # Compact: with `indent`, json encodes in Python, about 5x slower (10 ms for 200 steps);
    # `durapipe runs show` is the readable view. Unsorted: sorting the keys of a record of 1,000
    # steps (1.3 MB) took a third of its encoding (30 ms against 19), and its readers look keys up.
    return json.dumps(record).encode()


def read_run_record(store: Store, run_id: str) -> RunRecord:
    """The record of run `run_id`; NotFoundError naming it when there is none, IntegrityError when it is corrupt.

    A corrupt record is moved to quarantine/ (one warning), and says so whenever it is asked for again.
    """
    key = run_key(run_id)
    try:
        record = _run_record_or_none(store, key, store.get(key))
    except NotFoundError:
        if store.exists(quarantine_key(key)):
            raise IntegrityError(f"The record of run {run_id} is corrupt; it was moved to "
                                 f"{quarantine_key(key)} in the store {store.url}.") from None
        raise NotFoundError(f"There is no run {run_id!r} in the store {store.url}.") from None
    if record is None:
        raise IntegrityError(f"The record of run {run_id} is corrupt; it was moved to "
                             f"{quarantine_key(key)} in the store {store.url}.")
    return record


def iter_run_records(store: Store) -> Iterator[RunRecord]:
    """Every readable run record in the store, in key order; a corrupt one is moved to quarantine/ and skipped."""
    for key in store.list(RUN_PREFIX):
        if key.endswith(".json"):
            try:
                record = _run_record_or_none(store, key, store.get(key))
            except NotFoundError:
                continue  # deleted between list and read
            if record is not None:
                yield record


def _run_record_or_none(store: Store, key: str, data: bytes) -> RunRecord | None:
    """The run record in `data` (read from `key`), or None after moving it to quarantine/ when it is not one.

    Proven wrong only by its bytes (not JSON, not an object with a run id): an outage raised before this.
    """
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        record, problem = None, "it is not valid JSON (truncated?)"
    else:
        problem = None if isinstance(record, dict) and isinstance(record.get("run_id"), str) \
            else "it is not a run record (no run id)"
    if problem is not None:
        quarantine(store, key, problem)  # logs the one warning line
        return None
    return record


def list_runs(store: Store, pipeline: str | None = None, status: str | None = None) -> list[RunRecord]:
    """Run records, newest first, optionally only those of `pipeline` and/or with `status`."""
    runs = [r for r in iter_run_records(store)
            if (pipeline is None or r.get("pipeline") == pipeline)
            and (status is None or r.get("status") == status)]
    runs.sort(key=lambda r: (r.get("started") or "", r["run_id"]), reverse=True)
    return runs


def previous_run_with_step(store: Store, pipeline: str | None, step: str,
                           before: RunRecord | None = None,
                           runs: list[RunRecord] | None = None) -> RunRecord | None:
    """The newest run of `pipeline` (started before run `before`, if given) with a fingerprint for `step`."""
    for other in runs if runs is not None else list_runs(store, pipeline=pipeline):
        if before is not None and (other["run_id"] == before["run_id"]
                                   or (other.get("started") or "") > (before.get("started") or "")):
            continue
        if (other.get("steps", {}).get(step) or {}).get("components"):
            return other
    return None


def _is_fingerprint(value: object) -> bool:
    return isinstance(value, str) and _FINGERPRINT.fullmatch(value) is not None


def _load(store: Store, key: str) -> Any:  # a step record or a run record, as the caller reads it
    return parse_record(store, key, store.get(key))


def parse_record(store: Store, key: str, data: bytes) -> dict[str, Any]:
    """The record read from `key` as `data`; a StoreError when it is not JSON."""
    try:
        return json.loads(data)
    except ValueError:
        raise StoreError(f"The record {key} in {store.url} is not valid JSON; it may be corrupted.") from None


def record_poison(store: Store, poison: dict[str, Any]) -> dict[str, Any]:
    """Write why an arrived blob was given up on to `poison/<key>.json` (the key is checked, never taken as is)."""
    from durapipe.store.keys import poison_key

    store.put(poison_key(poison["key"]), json.dumps(poison, indent=2).encode())
    return {"key": poison_key(poison["key"])}
