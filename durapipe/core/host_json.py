"""The function timeout of the host.json a project deploys with: a local step whose timeout exceeds it would be cut off on Azure."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from durapipe.core.file_signature import FileSignature, settled

# The host.json `durapipe package` deploys when the project has none of its own (durapipe.deploy.TEMPLATES).
TEMPLATE_HOST_JSON = Path(__file__).resolve().parent.parent / "deploy" / "templates" / "host.json"
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d+):(\d{2}):(\d{2})")
_read: dict[str, tuple[FileSignature, float | None]] = {}


def parse_timespan(text: str) -> float | None:
    """Seconds in a host.json timespan ("00:30:00", "1.02:00:00"); None when it is not one or is unbounded (-1)."""
    found = _TIMESPAN.fullmatch(text.strip()) if isinstance(text, str) else None
    if not found:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def deployed_host_json(project_root: str | Path | None) -> Path:
    """The host.json the project's function app deploys with: its own, else durapipe's template."""
    own = Path(project_root) / "host.json" if project_root else None
    return own if own is not None and own.is_file() else TEMPLATE_HOST_JSON


def function_timeout_s(host_json: str | Path = TEMPLATE_HOST_JSON) -> float | None:
    """The functionTimeout of `host_json` in seconds (None: absent, unreadable, or unbounded)."""
    path = str(host_json)
    signature = FileSignature.of(path)
    if signature is None:
        return None
    known = _read.get(path)
    if known is not None and known[0] == signature:
        return known[1]
    try:
        value = json.loads(Path(path).read_text()).get("functionTimeout")
    except (OSError, ValueError, AttributeError):
        value = None
    seconds = parse_timespan(value) if isinstance(value, str) else None
    if settled(signature, time.time()):  # else an edit within the same tick could hide behind it
        _read[path] = (signature, seconds)
    return seconds


def timeout_warning(name: str, options: dict[str, Any], limit_s: float | None) -> str | None:
    """The warning for a local step whose timeout exceeds `limit_s`, naming the remote targets; else None."""
    timeout = options.get("timeout")
    if limit_s is None or timeout is None or (options.get("compute") or "local") != "local" or timeout <= limit_s:
        return None
    return (f"Step {name} has timeout={timeout:g} s, longer than the function timeout of {limit_s:g} s in host.json: "
            f"on Azure it would be cut off; run it on remote compute (compute=\"ray:http://HOST:8265\" or "
            f"compute=\"azureml:CLUSTER\").")
