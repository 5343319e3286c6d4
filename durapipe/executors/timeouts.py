"""A local step whose timeout exceeds the Functions host's function timeout would be cut off on Azure."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

# The host.json deployed with the function app (the repository root, beside main.py).
APP_HOST_JSON = Path(__file__).resolve().parents[2] / "host.json"
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d+):(\d{2}):(\d{2})")


def parse_timespan(text: str) -> float | None:
    """Seconds in a host.json timespan ("00:30:00", "1.02:00:00"); None when it is not one or is unbounded (-1)."""
    found = _TIMESPAN.fullmatch(text.strip()) if isinstance(text, str) else None
    if not found:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


@functools.lru_cache(maxsize=8)
def function_timeout_s(host_json: Path = APP_HOST_JSON) -> float | None:
    """The functionTimeout of `host_json` in seconds (None: absent, unreadable, or unbounded)."""
    try:
        value = json.loads(Path(host_json).read_text()).get("functionTimeout")
    except (OSError, ValueError, AttributeError):
        return None
    return parse_timespan(value) if isinstance(value, str) else None


def timeout_warning(name: str, options: dict[str, Any], limit_s: float | None) -> str | None:
    """The warning for a local step whose timeout exceeds `limit_s`, naming the remote targets; else None."""
    timeout = options.get("timeout")
    if limit_s is None or timeout is None or (options.get("compute") or "local") != "local" or timeout <= limit_s:
        return None
    return (f"Step {name} has timeout={timeout:g} s, longer than the function timeout of {limit_s:g} s in host.json: "
            f"on Azure it would be cut off; run it on remote compute (compute=\"ray:http://HOST:8265\").")
