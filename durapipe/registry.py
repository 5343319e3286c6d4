"""The model registry: numbered, immutable model versions and a champion per model name.

Keys: `models/<name>/<version>.json` (a version: the run's output artifacts and metrics)
and `models/<name>/champion.json` (which version serves). Versions are created with
`if_absent`, so two runs registering at once get two distinct numbers, never one overwritten.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from durapipe.errors import NotFoundError
from durapipe.names import check_name
from durapipe.stores.artifacts import read_artifact_bytes


def _versions(store: Any, name: str) -> list[int]:
    prefix = f"models/{check_name(name, 'model name')}/"
    found = []
    for key in store.list(prefix):
        stem = key[len(prefix):].removesuffix(".json")
        if stem.isdigit():
            found.append(int(stem))
    return sorted(found)


def list_versions(store: Any, name: str) -> list[dict[str, Any]]:
    """Every version of model `name`, oldest first."""
    return [json.loads(store.get(f"models/{name}/{v}.json")) for v in _versions(store, name)]


def get_version(store: Any, name: str, version: int) -> dict[str, Any]:
    """One version of model `name`; raises NotFoundError naming it."""
    try:
        return json.loads(store.get(f"models/{check_name(name, 'model name')}/{int(version)}.json"))
    except NotFoundError:
        raise NotFoundError(f"Model {name} has no version {version}.") from None


def champion(store: Any, name: str) -> dict[str, Any] | None:
    """The version of model `name` that serves, or None when none was promoted yet."""
    try:
        pointer = json.loads(store.get(f"models/{check_name(name, 'model name')}/champion.json"))
    except NotFoundError:
        return None
    return get_version(store, name, pointer["version"])


def beats(candidate: dict[str, Any], current: dict[str, Any] | None, metric: str) -> bool:
    """Whether `candidate` metrics beat `current` on `metric` (higher is better)."""
    if current is None:
        return True
    return float(candidate[metric]) > float(current[metric])


def register_from_run(store: Any, name: str, run: dict[str, Any], metric: str = "roc_auc") -> dict[str, Any] | None:
    """Add a version from a completed run when its model beats the champion; return it, or None."""
    outputs = run.get("outputs") or {}
    if run.get("status") != "completed" or "model" not in outputs or "metrics" not in outputs:
        return None
    metrics = json.loads(read_artifact_bytes(store, outputs["metrics"]))
    current = champion(store, name)
    if any(v["outputs"]["model"]["hash"] == outputs["model"]["hash"] for v in list_versions(store, name)):
        return None  # this exact model is registered already (a re-run that reused training)
    if metric not in metrics or not beats(metrics, current["metrics"] if current else None, metric):
        return None
    while True:
        version = (_versions(store, name) or [0])[-1] + 1
        entry = {"name": name, "version": version, "outputs": outputs, "metrics": metrics, "metric": metric,
                 "run_id": run["run_id"], "created": datetime.now(timezone.utc).isoformat()}
        if store.put(f"models/{name}/{version}.json", json.dumps(entry, indent=1).encode(), if_absent=True):
            break
    store.put(f"models/{name}/champion.json", json.dumps({"version": version}).encode())
    return entry
