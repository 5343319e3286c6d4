"""Numbered, immutable versions that hold each content once, safe for many concurrent registrants.

A registration first claims its content hash (`index/<kind>/<name>/<hash>.json`, a
conditional create): exactly one registrant wins, numbers the version with a conditional
create of `<prefix><n>.json`, then records the number in the claim. The others wait for
that number and return the existing version. A claim left by a registrant that died is
taken over after STALE_CLAIM_S by a conditional write (if-match), so it never blocks.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from durapipe.core.errors import NotFoundError, StoreError

if TYPE_CHECKING:
    from durapipe.store.base import Store

STALE_CLAIM_S = 120.0
WAIT_FOR_CLAIM_S = 60.0


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return datetime.now(timezone.utc).isoformat()


def version_numbers(store: Store, prefix: str) -> list[int]:
    """The version numbers stored under `prefix` (keys `<prefix><n>.json`), ascending."""
    found = []
    for key in store.list(prefix):
        stem = key[len(prefix):].removesuffix(".json")
        if stem.isdigit():
            found.append(int(stem))
    return sorted(found)


def register_once(store: Store, claim_key: str, prefix: str, version_key: Callable[[int], str],
                  make_entry: Callable[[int], dict[str, Any]], content_hash: str,
                  owner: str | None = None) -> tuple[dict[str, Any], bool]:
    """The version holding `content_hash`, created by `make_entry(n)` if none does; and whether this call created it.

    `owner` names the registrant (a run id): the same owner resumes its own unfinished claim.
    """
    owner = owner or uuid.uuid4().hex
    claim = {"owner": owner, "version": None, "claimed": now_iso(), "claimed_at": time.time()}
    if store.put(claim_key, json.dumps(claim).encode(), if_absent=True):
        return _number(store, claim_key, prefix, version_key, make_entry, content_hash, owner)
    deadline = time.monotonic() + WAIT_FOR_CLAIM_S
    pause = 0.02
    while True:
        try:
            data, etag = store.get_with_etag(claim_key)
        except NotFoundError:  # removed (gc) between our create and this read: claim it again
            return register_once(store, claim_key, prefix, version_key, make_entry, content_hash, owner)
        current = json.loads(data)
        if current.get("version") is not None:
            return json.loads(store.get(version_key(int(current["version"])))), False
        stale = time.time() - float(current.get("claimed_at") or 0) > STALE_CLAIM_S
        if current.get("owner") == owner or stale:
            if store.put(claim_key, json.dumps({**claim, "claimed_at": time.time()}).encode(), if_match=etag):
                return _number(store, claim_key, prefix, version_key, make_entry, content_hash, owner)
            continue
        if time.monotonic() > deadline:
            raise StoreError(f"Another registration of the same content ({claim_key}) has not finished "
                             f"after {WAIT_FOR_CLAIM_S:.0f} s; try again.")
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _number(store: Store, claim_key: str, prefix: str, version_key: Callable[[int], str],
            make_entry: Callable[[int], dict[str, Any]], content_hash: str,
            owner: str) -> tuple[dict[str, Any], bool]:
    numbers = version_numbers(store, prefix)
    # A claimant that died after numbering but before recording the number left a version: adopt it.
    for n in reversed(numbers):
        entry = json.loads(store.get(version_key(n)))
        if entry.get("content_hash") == content_hash:
            _finish_claim(store, claim_key, owner, n)
            return entry, False
    while True:
        version = (numbers or [0])[-1] + 1
        entry = {**make_entry(version), "content_hash": content_hash}
        if store.put(version_key(version), json.dumps(entry, indent=1).encode(), if_absent=True):
            _finish_claim(store, claim_key, owner, version)
            return entry, True
        numbers = version_numbers(store, prefix)


def _finish_claim(store: Store, claim_key: str, owner: str, version: int) -> None:
    store.put(claim_key, json.dumps({"owner": owner, "version": version, "claimed": now_iso()}).encode())
