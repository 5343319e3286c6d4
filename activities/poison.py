"""The poison activity's adapter: decode the poison record, write it under poison/, return its key."""
from __future__ import annotations

from typing import Any

from durapipe.model.contracts import PoisonRecord, decode
from durapipe.store.records import record_poison as write_poison
from durapipe.store.url import open_store


def record_poison(payload: Any) -> dict[str, Any]:
    """Write why an arrived blob was given up on to `poison/<key>.json`."""
    poison: PoisonRecord = decode(payload)
    return write_poison(open_store(), dict(poison))
