"""Validation of every name that can reach a store key, a route or an instance id."""
from __future__ import annotations

import re

from durapipe.core.errors import InvalidNameError, shown

NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
# Run ids and instance ids are a little wider: generated ids and derived blob ids use dots.
ID_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# Blob names may have folders, but never `..`, absolute paths, backslashes or control characters.
BLOB_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.=-]{0,254}")


def check_name(value: object, what: str = "name") -> str:
    """Return `value` when it is a valid pipeline, step, parameter or model name, else raise."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise InvalidNameError(
            f"The {what} {shown(value)} is not valid: use a letter or underscore, then up to 63 "
            "letters, digits, underscores or hyphens."
        )
    return value


def check_id(value: object, what: str = "run id") -> str:
    """Return `value` when it is a valid run or instance id, else raise."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value) or ".." in value:
        raise InvalidNameError(
            f"The {what} {shown(value)} is not valid: use up to 128 letters, digits, '_', '-' or '.', "
            "starting with a letter, digit or underscore, and no '..'."
        )
    return value


def check_blob_name(value: object, what: str = "blob name") -> str:
    """Return `value` when it is a safe relative blob name (folders allowed), else raise."""
    if not isinstance(value, str) or not value or len(value) > 1024:
        raise InvalidNameError(f"The {what} {shown(value)} is not valid: it must be 1 to 1024 characters.")
    for segment in value.split("/"):
        if not BLOB_SEGMENT.fullmatch(segment) or segment in {".", ".."} or ".." in segment:
            raise InvalidNameError(
                f"The {what} {shown(value)} is not valid: each '/'-separated part must be letters, "
                "digits, '_', '-', '.' or '=', with no empty part, no '..' and no leading dot."
            )
    return value
