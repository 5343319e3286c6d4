"""Canonical JSON and hashing: one byte string per value, so equal values hash equal."""
from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Serialise `value` deterministically (sorted keys, no spaces); reject NaN and infinities."""
    # allow_nan=False raises ValueError for NaN and infinities at any depth.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def sha256_text(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_value(value: Any) -> str:
    """Hex sha256 of the canonical JSON of `value`."""
    return sha256_text(canonical_json(value))

