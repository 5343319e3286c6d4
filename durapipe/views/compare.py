"""Two recorded runs side by side: parameters, metrics, and which steps differed and why."""
from __future__ import annotations

from typing import Any

from durapipe.fingerprint.explain import explain


def compare_runs(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Run records `first` (A) and `second` (B) compared: each parameter, metric and step, marked same or not."""
    first_id, second_id = first["run_id"], second["run_id"]
    steps = {}
    for name in dict.fromkeys([*first.get("steps", {}), *second.get("steps", {})]):
        a, b = first.get("steps", {}).get(name) or {}, second.get("steps", {}).get(name) or {}
        same = bool(a.get("fingerprint")) and a.get("fingerprint") == b.get("fingerprint")
        changes = [] if same or not (a.get("components") and b.get("components")) else [
            c.describe() for c in explain(a["components"], b["components"])]
        if not same and not changes:
            changes = [f"the step is only in run {first_id if a else second_id}" if not (a and b) else
                       "one of the runs has no fingerprint for it (it did not run to completion)"]
        steps[name] = {"same": same, "a": _step_side(a), "b": _step_side(b), "changes": changes}
    return {"a": first_id, "b": second_id, "pipeline": {"a": first.get("pipeline"), "b": second.get("pipeline")},
            "params": side_by_side(first.get("params") or {}, second.get("params") or {}),
            "metrics": side_by_side(first.get("metrics") or {}, second.get("metrics") or {}),
            "logged_params": side_by_side(first.get("logged_params") or {}, second.get("logged_params") or {}),
            "steps": steps}


def side_by_side(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Every key of `a` and `b`, sorted, with both values and whether they are equal."""
    return {k: {"a": a.get(k), "b": b.get(k), "same": a.get(k) == b.get(k)} for k in sorted({*a, *b})}


def _step_side(entry: dict[str, Any]) -> dict[str, Any]:
    return {"status": entry.get("status"), "fingerprint": entry.get("fingerprint"),
            "metrics": entry.get("metrics") or {}}
