"""Moving a corrupt stored object aside (`quarantine/<key>`), so nothing reads it again and its producer rewrites it."""
from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from durapipe.core.errors import NotFoundError
from durapipe.store.keys import quarantine_key
from durapipe.core.scratch import new_scratch_dir

if TYPE_CHECKING:
    from durapipe.store.base import Store

log = logging.getLogger(__name__)


def quarantine(store: Store, key: str, reason: str) -> str:
    """Move `key` to quarantine/<key> with the reason beside it (quarantine/<key>.reason.json); return where.

    Only for content proven wrong (a hash or a parse that fails), never for a read that could not
    decide: an outage raises before this is reached. A key already gone is not an error.
    """
    target = quarantine_key(key)
    scratch = new_scratch_dir("durapipe-quarantine-")
    try:
        try:
            store.download_file(key, scratch / "object")
        except NotFoundError:
            return target  # another reader moved it first
        store.upload_file(target, scratch / "object")
        store.put(f"{target}.reason.json", json.dumps({
            "key": key, "reason": reason, "quarantined": datetime.now(timezone.utc).isoformat()}).encode())
        store.delete(key)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.warning("moved the corrupt %s to %s: %s", key, target, reason)
    return target
