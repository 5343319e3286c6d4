"""Delivering a completed run's outputs to plain store keys: a newer source blob version's output is never overwritten.

A blob-triggered run is for one version (ETag) of its source blob. Its delivery is written only
while that version is still the source's current one, and each delivery key has a claim,
`index/deliveries/<sha256 of the key>.json`, naming the source version whose output it holds. A run
claims the key by a conditional write (create, or if-match on the claim it read) made after it saw
its version current, so a claim only ever passes to the same or a newer version; a run whose upload
lands after a newer claim writes that claim's output again. Whatever order the runs end in, the key
ends holding the output of the newest version delivered.
"""
from __future__ import annotations

import json
import logging
import shutil
from typing import TYPE_CHECKING, Any, Mapping

from durapipe.core.errors import NotFoundError
from durapipe.core.scratch import new_scratch_dir
from durapipe.store.artifacts import get_artifact
from durapipe.store.keys import check_delivery_key, delivery_claim_key

if TYPE_CHECKING:
    from durapipe.store.base import Store

log = logging.getLogger(__name__)


def deliver_outputs(store: Store, record: Mapping[str, Any], deliver: dict[str, str]
                    ) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Deliver each output named in `deliver` (output -> key); the keys written, and those superseded with why."""
    source = blob_source(record.get("trigger") or {})
    delivered: dict[str, str] = {}
    superseded: dict[str, dict[str, str]] = {}
    for output, key in deliver.items():
        reason = deliver_output(store, record["outputs"][output], key, source=source, run_id=record["run_id"])
        if reason is None:
            delivered[output] = key
        else:
            superseded[output] = {"key": key, "reason": reason}
            log.info("run %s, output %s not delivered to %s: %s", record["run_id"], output, key, reason)
    return delivered, superseded


def blob_source(trigger: Mapping[str, Any]) -> dict[str, str] | None:
    """The source blob version (`key`, `etag`) a blob-triggered run is for; None for any other run."""
    if trigger.get("kind") == "blob" and trigger.get("key") and trigger.get("etag"):
        return {"key": str(trigger["key"]), "etag": str(trigger["etag"])}
    return None


def deliver_output(store: Store, ref: dict[str, Any], key: str, *, source: dict[str, str] | None = None,
                   run_id: str | None = None) -> str | None:
    """Copy a file output to a plain store key (never one of durapipe's own); None when written, else the
    sentence saying which newer version of `source` supersedes it."""
    key = check_delivery_key(key)
    if source is None:
        _upload(store, ref, key)
        return None
    claim_key = delivery_claim_key(key)
    mine = {"schema": 1, "key": key, "source": source["key"], "etag": source["etag"], "run_id": run_id, "output": ref}
    while True:
        claim, claim_etag = _read_claim(store, claim_key)
        newer = _newer_version(store, source)
        if newer is not None:
            return newer
        body = json.dumps(mine, sort_keys=True).encode()
        if store.put(claim_key, body, if_absent=True) if claim_etag is None else \
                store.put(claim_key, body, if_match=claim_etag):
            break
    _upload(store, ref, key)
    # A newer version may have claimed the key and uploaded while this upload was under way, and this one
    # landed last: write the newest claim's output again, until the key holds what its claim names.
    uploaded = ref
    while True:
        claim, _ = _read_claim(store, claim_key)
        if claim is None or claim.get("output") == uploaded:
            break
        uploaded = claim["output"]
        _upload(store, uploaded, key)
    if uploaded != ref:
        return (f"A newer version of {source['key']} (ETag {claim['etag'] if claim else '?'}) was delivered to "
                f"{key} while this run delivered the output of ETag {source['etag']}; the key holds the newer one.")
    return None


def _newer_version(store: Store, source: dict[str, str]) -> str | None:
    """Why `source`'s version is no longer the newest (the blob now has another ETag), or None while it is.

    A source blob deleted since tells of no newer version: its run delivers.
    """
    try:
        current = store.stat(source["key"]).etag
    except NotFoundError:
        return None
    if _bare(current) == _bare(source["etag"]):
        return None
    return (f"{source['key']} was written again (ETag {current}) after the version this run is for "
            f"(ETag {source['etag']}); the newer version's run delivers.")


def _bare(etag: str) -> str:
    # A listing, a blob's properties and the Functions host do not all quote an ETag.
    return etag.strip().strip('"')


def _read_claim(store: Store, claim_key: str) -> tuple[dict[str, Any] | None, str | None]:
    """The claim on a delivery key and its etag; (None, None) when unclaimed, (None, etag) when unreadable."""
    try:
        data, etag = store.get_with_etag(claim_key)
    except NotFoundError:
        return None, None
    try:
        claim = json.loads(data)
    except ValueError:
        return None, etag  # a torn claim is replaced by the next conditional write
    return (claim if isinstance(claim, dict) and isinstance(claim.get("output"), dict) else None), etag


def _upload(store: Store, ref: dict[str, Any], key: str) -> None:
    scratch = new_scratch_dir("durapipe-deliver-")
    try:
        get_artifact(store, ref, scratch / "output")
        store.upload_file(key, scratch / "output")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
