"""A plan shaped for showing: per step, reuse or run, why, and what changed since the run compared with."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durapipe.engine.plan import make_plan
from durapipe.fingerprint.explain import explain
from durapipe.store.records import list_runs, previous_run_with_step

if TYPE_CHECKING:
    from durapipe.store.base import Store


def plan_report(store: Store, request: dict[str, Any]) -> dict[str, Any]:
    """What a run of `request` would reuse and run, each change since the step's last run, and timeout warnings."""
    plan = make_plan(store, request)
    pipeline = request["spec"]["name"]
    previous = list_runs(store, pipeline=pipeline)
    rows = []
    for step in plan.steps:
        row = {"step": step.name, "action": "reuse" if step.reused else "run", "reason": step.reason,
               "fingerprint": step.fingerprint, "changes": [],
               **({"partitions": step.partitions} if step.partitions is not None else {})}
        if step.reused is None and step.components is not None:
            old = previous_run_with_step(store, pipeline, step.name, runs=previous)
            if old is not None:
                row["changes"] = [c.describe() for c in explain(old["steps"][step.name]["components"], step.components)]
        rows.append(row)
    return {"pipeline": pipeline, "steps": rows, "warnings": timeout_warnings(request)}


def timeout_warnings(request: dict[str, Any]) -> list[str]:
    """One warning per local step whose timeout exceeds the function timeout of the host.json Azure would run."""
    from durapipe.core.host_json import deployed_host_json, function_timeout_s, timeout_warning
    from durapipe.core.paths import find_project_root

    code_root = request.get("code_root")
    limit = function_timeout_s(deployed_host_json(find_project_root(code_root) if code_root else None))
    return [w for s in request["spec"]["steps"] if (w := timeout_warning(s["name"], s["options"], limit))]


def rerun_plan_report(store: Store, original: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """What rerunning `original` as `request` would reuse and run, and how each step differs from the original."""
    plan = make_plan(store, request, recall=False)  # every step's components, to explain a change
    rows = []
    for step in plan.steps:
        before = (original.get("steps") or {}).get(step.name) or {}
        row = {"step": step.name, "action": "reuse" if step.reused else "run", "fingerprint": step.fingerprint,
               "same_as_original": bool(step.fingerprint and step.fingerprint == before.get("fingerprint")),
               "reason": step.reason, "changes": []}
        if step.components is not None and before.get("components") and not row["same_as_original"]:
            row["changes"] = [c.describe() for c in explain(before["components"], step.components)]
        elif step.fingerprint is None and step.reused is None:
            row["changes"] = [step.reason]
        rows.append(row)
    return {"run_id": original["run_id"], "pipeline": original["pipeline"], "steps": rows}
