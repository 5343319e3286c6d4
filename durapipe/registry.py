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
from durapipe.keys import champion_key, model_prefix, model_version_key
from durapipe.names import check_name
from durapipe.stores.artifacts import read_artifact_bytes


def _versions(store: Any, name: str) -> list[int]:
    prefix = model_prefix(name)
    found = []
    for key in store.list(prefix):
        stem = key[len(prefix):].removesuffix(".json")
        if stem.isdigit():
            found.append(int(stem))
    return sorted(found)


def list_versions(store: Any, name: str) -> list[dict[str, Any]]:
    """Every version of model `name`, oldest first."""
    return [json.loads(store.get(model_version_key(name, v))) for v in _versions(store, name)]


def get_version(store: Any, name: str, version: int) -> dict[str, Any]:
    """One version of model `name`; raises NotFoundError naming it."""
    try:
        return json.loads(store.get(model_version_key(name, int(version))))
    except NotFoundError:
        raise NotFoundError(f"Model {name} has no version {version}.") from None


def champion(store: Any, name: str) -> dict[str, Any] | None:
    """The version of model `name` that serves, or None when none was promoted yet."""
    try:
        pointer = json.loads(store.get(champion_key(name)))
    except NotFoundError:
        return None
    return get_version(store, name, pointer["version"])


DEFAULT_POLICY = {"output": "model", "metrics": "metrics", "metric": "roc_auc", "direction": "max", "min_gain": 0.0}


def registration_policy(model: str | dict[str, Any]) -> dict[str, Any]:
    """A full registration policy from a model name (the defaults) or a partial policy."""
    policy = {"model": model} if isinstance(model, str) else dict(model)
    check_name(policy.get("model"), "model name")
    return {**DEFAULT_POLICY, **{k: v for k, v in policy.items() if v is not None}}


def beats(candidate: float, current: float | None, direction: str = "max", min_gain: float = 0.0) -> bool:
    """Whether metric value `candidate` beats `current` in `direction` by more than `min_gain`."""
    if current is None:
        return True
    gain = candidate - current if direction == "max" else current - candidate
    return gain > min_gain


def register_from_run(store: Any, model: str | dict[str, Any], run: dict[str, Any],
                      metric: str | None = None) -> dict[str, Any] | None:
    """Add a version from a completed run when its model beats the champion under the model's policy; return it, or None."""
    policy = registration_policy(model if metric is None else {**registration_policy(model), "metric": metric})
    name, output, metric = policy["model"], policy["output"], policy["metric"]
    outputs = run.get("outputs") or {}
    if run.get("status") != "completed" or output not in outputs or policy["metrics"] not in outputs:
        return None
    metrics = json.loads(read_artifact_bytes(store, outputs[policy["metrics"]]))
    current = champion(store, name)
    if any(v["outputs"][v.get("output", "model")]["hash"] == outputs[output]["hash"] for v in list_versions(store, name)):
        return None  # this exact model is registered already (a re-run that reused training)
    if metric not in metrics:
        return None
    current_value = float(current["metrics"][metric]) if current and metric in current["metrics"] else None
    if not beats(float(metrics[metric]), current_value, policy["direction"], float(policy["min_gain"])):
        return None
    while True:
        version = (_versions(store, name) or [0])[-1] + 1
        entry = {"name": name, "version": version, "output": output, "outputs": outputs, "metrics": metrics,
                 "metric": metric, "direction": policy["direction"], "run_id": run["run_id"],
                 "created": datetime.now(timezone.utc).isoformat()}
        if store.put(model_version_key(name, version), json.dumps(entry, indent=1).encode(), if_absent=True):
            break
    store.put(champion_key(name), json.dumps({"version": version}).encode())
    return entry
