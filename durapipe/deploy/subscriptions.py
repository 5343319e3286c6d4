"""The Event Grid subscriptions of a project's blob triggers, as the parameters file infra/ deploys them from."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from durapipe.core.errors import UsageError

STORE_CONTAINER = "durapipe"
PARAMETERS_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"


def subscription_entry(name: str, path: str, container: str = STORE_CONTAINER) -> dict[str, str]:
    """One blob trigger's subscription: its function and the subject filter of the blobs under `path`."""
    start, end = path.find("{"), path.rfind("}")
    if start < 0 or end < start:
        raise UsageError(f"The blob trigger {name!r} has the path {path!r}, which holds no {{name}}.")
    return {
        "name": name,
        "function": f"blob_{name}",
        "subjectBeginsWith": f"/blobServices/default/containers/{container}/blobs/{path[:start]}",
        "subjectEndsWith": path[end + 1:],
    }


def subscription_entries(triggers: Iterable[Any], container: str = STORE_CONTAINER) -> list[dict[str, str]]:
    """The entries of every blob trigger (objects with `name` and `path`), refusing two that share a subscription name."""
    entries = [subscription_entry(t.name, t.path, container) for t in triggers]
    seen: dict[str, str] = {}
    for entry in entries:
        # Event Grid subscription names take hyphens, not underscores (infra/modules/blob-subscriptions.bicep).
        key = entry["name"].replace("_", "-").lower()
        if key in seen:
            raise UsageError(f"The blob triggers {seen[key]!r} and {entry['name']!r} would share the Event Grid "
                             f"subscription blob-{key}; rename one.")
        seen[key] = entry["name"]
    return entries


def parameters_document(entries: list[dict[str, str]]) -> dict[str, Any]:
    """The ARM deployment parameters document that sets main.bicep's `blobTriggers`."""
    return {"$schema": PARAMETERS_SCHEMA, "contentVersion": "1.0.0.0",
            "parameters": {"blobTriggers": {"value": entries}}}


def write_parameters_file(path: Path, entries: list[dict[str, str]]) -> Path:
    """Write the parameters file for `entries` at `path` (its folder is made when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(parameters_document(entries), indent=2) + "\n", encoding="utf-8")
    return path
