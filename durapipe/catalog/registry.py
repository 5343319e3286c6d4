"""The model registry: numbered, immutable model versions and a champion per model name.

Keys: `models/<name>/<version>.json` (a version: the run's output artifacts and metrics),
`models/<name>/champion.json` (which version serves) and `index/models/<name>/<hash>.json`
(which version holds a model artifact). Registration is race-free: a model artifact is
claimed once by a conditional create, so concurrent runs never register it twice, and the
champion pointer only moves by a conditional write (if-match) after re-reading it, so two
concurrent promotions never both win on stale information.
"""
from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from durapipe.core.errors import NotFoundError, UsageError
from durapipe.store.keys import MODELS, champion_key, content_claim_key, model_prefix, model_version_key, quarantine_key
from durapipe.core.names import check_name
from durapipe.store.artifacts import read_artifact_bytes
from durapipe.catalog.versioning import now_iso, register_once, version_numbers

if TYPE_CHECKING:
    from durapipe.store.base import Store

log = logging.getLogger(__name__)
DEFAULT_POLICY = {"output": "model", "metrics": "metrics", "metric": "roc_auc", "direction": "max", "min_gain": 0.0}


def _versions(store: Store, name: str) -> list[int]:
    return version_numbers(store, model_prefix(name))


def list_versions(store: Store, name: str) -> list[dict[str, Any]]:
    """Every version of model `name`, oldest first."""
    return [json.loads(store.get(model_version_key(name, v))) for v in _versions(store, name)]


def get_version(store: Store, name: str, version: int) -> dict[str, Any]:
    """One version of model `name`; raises NotFoundError naming it."""
    try:
        return json.loads(store.get(model_version_key(name, int(version))))
    except NotFoundError:
        raise NotFoundError(f"Model {name} has no version {version}.") from None


def champion(store: Store, name: str) -> dict[str, Any] | None:
    """The version of model `name` that serves, or None when none was promoted yet."""
    pointer = _pointer(store, name)[0]
    return None if pointer is None else get_version(store, name, pointer["version"])


def _pointer(store: Store, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """The champion pointer and its etag; a corrupt pointer reads as no champion (one warning) with its etag.

    It is not moved aside here: the next promotion replaces it by if-match on that etag, so a
    reader can never delete a pointer a promotion wrote in the meantime.
    """
    try:
        data, etag = store.get_with_etag(champion_key(name))
    except NotFoundError:
        return None, None
    problem = _pointer_problem(data)
    if problem is not None:
        log.warning("the champion pointer %s of model %s is corrupt (%s): it reads as no champion until "
                    "`durapipe models promote %s VERSION` rewrites it", champion_key(name), name, problem, name)
        return None, etag
    return json.loads(data), etag


def _pointer_problem(data: bytes) -> str | None:
    try:
        pointer = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return "not valid JSON, truncated?"
    if not isinstance(pointer, dict) or isinstance(pointer.get("version"), bool) \
            or not isinstance(pointer.get("version"), int):
        return "no version number"
    return None


def list_models(store: Store) -> list[dict[str, Any]]:
    """Every registered model: name, number of versions, champion version and its metric, sorted by name."""
    names = sorted({key[len(MODELS):].split("/", 1)[0] for key in store.list(MODELS) if "/" in key[len(MODELS):]})
    models = []
    for name in names:
        numbers = _versions(store, name)
        if not numbers:
            continue
        current = champion(store, name)
        models.append({"name": name, "versions": len(numbers), "latest": numbers[-1],
                       "champion": current["version"] if current else None,
                       "metric": (current or {}).get("metric"),
                       "value": (current or {}).get("metrics", {}).get((current or {}).get("metric"))})
    return models


def describe_model(store: Store, name: str) -> dict[str, Any]:
    """Model `name` with every version and its champion; NotFoundError when it has no versions."""
    versions = list_versions(store, name)
    if not versions:
        raise NotFoundError(f"There is no model named {name!r}; `durapipe models list` shows the ones there are.")
    pointer = _pointer(store, name)[0]
    return {"name": name, "champion": pointer["version"] if pointer else None, "champion_history": pointer,
            "versions": [_public(v) for v in versions]}


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "content_hash"}


def registration_policy(model: str | dict[str, Any]) -> dict[str, Any]:
    """A full registration policy from a model name (the defaults) or a partial policy."""
    policy = {"model": model} if isinstance(model, str) else dict(model)
    check_name(policy.get("model"), "model name")
    return {**DEFAULT_POLICY, **{k: v for k, v in policy.items() if v is not None or k == "metrics"}}


def beats(candidate: float, current: float | None, direction: str = "max", min_gain: float = 0.0) -> bool:
    """Whether metric value `candidate` beats `current` in `direction` by more than `min_gain`."""
    if current is None:
        return True
    gain = candidate - current if direction == "max" else current - candidate
    return gain > min_gain


def run_metrics(store: Store, run: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any]:
    """The metrics a run offers the registry: its JSON file output `metrics`, else what its steps logged."""
    outputs = run.get("outputs") or {}
    if policy.get("metrics") and policy["metrics"] in outputs:
        return json.loads(read_artifact_bytes(store, outputs[policy["metrics"]]))
    return dict(run.get("metrics") or {})


def _metric_of(entry: dict[str, Any] | None, metric: str) -> float | None:
    if entry is None or metric not in (entry.get("metrics") or {}):
        return None
    return float(entry["metrics"][metric])


def register_version(store: Store, policy: dict[str, Any], run: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The version of the model holding this run's model output, registered now if none does; and whether it was."""
    policy = registration_policy(policy)
    name, output = policy["model"], policy["output"]
    outputs = run.get("outputs") or {}
    if run.get("status") != "completed":
        raise UsageError(f"Run {run['run_id']} is {run.get('status')}; only a completed run can be registered.")
    if output not in outputs:
        raise UsageError(f"Run {run['run_id']} has no output {output!r} to register as model {name}; "
                         f"its outputs are: {', '.join(outputs) or 'none'}.")
    metrics = run_metrics(store, run, policy)
    digest = outputs[output]["hash"]

    def entry(version: int) -> dict[str, Any]:
        return {"schema": 1, "name": name, "version": version, "output": output, "outputs": outputs,
                "metrics": metrics, "metric": policy["metric"], "direction": policy["direction"],
                "run_id": run["run_id"], "pipeline": run.get("pipeline"), "created": now_iso()}

    return register_once(store, content_claim_key("models", name, digest), model_prefix(name),
                         lambda v: model_version_key(name, v), entry, digest, owner=run["run_id"])


def register_files(store: Store, name: str, ref: dict[str, Any], path: str,
                   metrics: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool, bool]:
    """The version of model `name` holding artifact `ref` (a pretrained model's file or folder at `path`),
    registered now if none does; whether it was; and whether it is the champion (the first version is).

    Its source says it came from files, not a run: `run_id` is None.
    """
    check_name(name, "model name")
    if metrics is not None and (not isinstance(metrics, dict) or not all(isinstance(k, str) for k in metrics)):
        raise UsageError(f"The metrics of model {name} must be a JSON object of names to values, not {metrics!r}.")

    def entry(version: int) -> dict[str, Any]:
        return {"schema": 1, "name": name, "version": version, "output": "model", "outputs": {"model": ref},
                "metrics": dict(metrics or {}), "metric": None, "direction": None, "run_id": None, "pipeline": None,
                "source": {"kind": "files", "path": path}, "created": now_iso()}

    found, created = register_once(store, content_claim_key("models", name, ref["hash"]), model_prefix(name),
                                   lambda v: model_version_key(name, v), entry, ref["hash"])
    pointer, etag = _pointer(store, name)
    if pointer is None:
        _move_pointer(store, name, found["version"], None, etag, "first version")
        pointer, _ = _pointer(store, name)
    return _public(found), created, pointer is not None and pointer["version"] == found["version"]


def promote_if_better(store: Store, policy: dict[str, Any], entry: dict[str, Any]) -> bool:
    """Make `entry` the champion when it beats the current one under `policy`; conditional on the pointer read."""
    policy = registration_policy(policy)
    value = _metric_of(entry, policy["metric"])
    if value is None:
        return False
    while True:
        pointer, etag = _pointer(store, entry["name"])
        if pointer is not None and pointer["version"] == entry["version"]:
            return True
        current = None if pointer is None else get_version(store, entry["name"], pointer["version"])
        if not beats(value, _metric_of(current, policy["metric"]), policy["direction"], float(policy["min_gain"])):
            return False
        if _move_pointer(store, entry["name"], entry["version"], pointer, etag, "policy"):
            return True


def promote(store: Store, name: str, version: int) -> dict[str, Any]:
    """Make version `version` of model `name` the champion by hand, whatever its metric; return it."""
    entry = get_version(store, name, version)
    while True:
        pointer, etag = _pointer(store, name)
        if pointer is not None and pointer["version"] == entry["version"]:
            return entry
        if _move_pointer(store, name, entry["version"], pointer, etag, "promoted"):
            return entry


def _move_pointer(store: Store, name: str, version: int, pointer: dict[str, Any] | None, etag: str | None,
                  reason: str) -> bool:
    body = json.dumps({"version": version, "previous": pointer["version"] if pointer else None,
                       "reason": reason, "updated": now_iso()}).encode()
    if etag is None:
        return store.put(champion_key(name), body, if_absent=True)
    if pointer is None:
        _keep_corrupt_pointer(store, name, etag)
    return store.put(champion_key(name), body, if_match=etag)


def _keep_corrupt_pointer(store: Store, name: str, etag: str) -> None:
    """Copy the corrupt pointer about to be replaced to quarantine/ (the replacement is by if-match, not here)."""
    try:
        data, current = store.get_with_etag(champion_key(name))
    except NotFoundError:
        return
    if current == etag:
        store.put(quarantine_key(champion_key(name)), data)


def register_from_run(store: Store, model: str | dict[str, Any], run: dict[str, Any],
                      metric: str | None = None) -> dict[str, Any] | None:
    """Add a version from a completed run when its model beats the champion under the model's policy; return it, or None.

    The same model artifact is never registered twice, however many runs finish at once.
    """
    return decide_from_run(store, model, run, metric)[0]


def decide_from_run(store: Store, model: str | dict[str, Any], run: dict[str, Any],
                    metric: str | None = None) -> tuple[dict[str, Any] | None, str]:
    """`register_from_run`'s version (or None) and its decision as one sentence: what was registered, or why not."""
    policy = registration_policy(model if metric is None else {**registration_policy(model), "metric": metric})
    outputs = run.get("outputs") or {}
    name, output, metric = policy["model"], policy["output"], policy["metric"]
    if run.get("status") != "completed":
        return None, f"the run is {run.get('status')}; only a completed run registers a model"
    if output not in outputs:
        return None, f"the run has no output {output} to register; its outputs: {', '.join(outputs) or 'none'}"
    metrics = run_metrics(store, run, policy)
    try:
        value = _metric_of({"metrics": metrics}, metric)
    except (TypeError, ValueError):
        return None, f"metric {metric} is not a number: {metrics[metric]!r}"
    if value is None:
        names = ", ".join(metrics) or "nothing"
        if policy.get("metrics") and policy["metrics"] in outputs:
            return None, f"metric {metric} is not in output {policy['metrics']}, which holds: {names}"
        return None, f"metric {metric} was not logged by any step; logged: {names}"
    rule = f"({policy['direction']}, min_gain {_number(float(policy['min_gain']))})"
    current = champion(store, name)
    if current is not None and current["outputs"][current.get("output", "model")]["hash"] == outputs[output]["hash"]:
        if current.get("run_id") == run["run_id"]:  # this run's own, recorded again
            return _public(current), f"registered as version {current['version']}, the champion"
        return None, f"this model is the champion already (version {current['version']})"
    best = _metric_of(current, metric)
    if not beats(value, best, policy["direction"], float(policy["min_gain"])):
        return None, f"{metric} {_number(value)} did not beat the champion's {_number(best)} {rule}"
    entry, created = register_version(store, policy, run)
    if not created and entry.get("run_id") != run["run_id"]:
        # A re-run that reused training: this exact model is registered already.
        return None, f"this model is registered already as version {entry['version']}"
    promoted = promote_if_better(store, policy, entry)
    if current is None:
        sentence = f"registered as version {entry['version']}, the first champion: {metric} {_number(value)}"
    elif best is None:
        sentence = (f"registered as version {entry['version']}: {metric} {_number(value)}, and the champion "
                    f"(version {current['version']}) has no {metric}")
    else:
        sentence = (f"registered as version {entry['version']}: {metric} {_number(value)} beat the champion's "
                    f"{_number(best)} {rule}")
    if not promoted:
        sentence += ", but another version became the champion meanwhile"
    return _public(entry), sentence


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:.6g}"
