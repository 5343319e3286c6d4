"""The final run record: what every step did, its fingerprint, timings, outputs and errors."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from durapipe.contracts import FAILED, NOT_RUN, RAN, REUSED, RUNNING, WAITING, RunOutcome
from durapipe.records import read_run_record, write_run_record
from durapipe.errors import NotFoundError
from durapipe.registry import register_from_run
from durapipe.scratch import new_scratch_dir
from durapipe.stores.artifacts import get_artifact
from durapipe.keys import check_delivery_key

# Orchestrator states -> the step statuses a run record keeps: a step still waiting or running
# when the run ended did not run. "done" is how histories before one vocabulary said "ran".
STEP_STATUS = {REUSED: REUSED, RAN: RAN, "done": RAN, FAILED: FAILED, NOT_RUN: NOT_RUN,
               WAITING: NOT_RUN, RUNNING: NOT_RUN}


def build_run_record(outcome: RunOutcome, started_record: dict[str, Any] | None) -> dict[str, Any]:
    """Merge the orchestrator's outcome into the run record written at planning time."""
    request = outcome["request"]
    spec = request["spec"]
    base = started_record or {}
    steps: dict[str, Any] = {}
    compute = {s["name"]: s.get("options", {}).get("compute") or "local" for s in spec.get("steps", [])}
    for name, state in outcome["states"].items():
        result = outcome["results"].get(name) or {}
        status = STEP_STATUS[state]
        if status == "ran" and result.get("status") == "reused":
            status = "reused"  # committed by a concurrent run between planning and running
        steps[name] = {
            "status": status, "fingerprint": result.get("fingerprint"),
            "duration_s": result.get("duration_s", 0.0) if status == "ran" else 0.0,
            "outputs": result.get("outputs") or {}, "components": result.get("components"),
            "error": outcome["errors"].get(name), "log": result.get("log"),
            "started": outcome["timing"].get(name, {}).get("started"),
            "finished": outcome["timing"].get(name, {}).get("finished"),
            "compute": compute.get(name, "local"),
        }
        for key in ("partitions", "by_partition"):
            if result.get(key):
                steps[name][key] = result[key]
    outputs = {}
    for out_name, binding in spec.get("outputs", {}).items():
        ref = steps.get(binding["step"], {}).get("outputs", {}).get(binding["output"])
        if ref is not None:
            outputs[out_name] = ref
    error = None
    if outcome["errors"]:
        first = next(n for n in outcome["states"] if n in outcome["errors"])
        error = f"step {first} failed: {outcome['errors'][first]}"
    return {
        "schema": 1, "run_id": outcome["run_id"], "pipeline": spec["name"],
        "pipeline_version": spec.get("version"),
        "definitions_version": request.get("definitions_version") or base.get("definitions_version"),
        "spec": spec, "params": request["params"],
        "inputs": outcome["inputs"], "trigger": request.get("trigger") or {"kind": "cli"},
        "status": outcome["status"], "started": base.get("started") or outcome["started"],
        "finished": outcome["finished"], "steps": steps, "outputs": outputs, "error": error,
    }


def run_summary(record: dict[str, Any]) -> dict[str, Any]:
    """The run as `durapipe run --json` prints it."""
    order = [s["name"] for s in record.get("spec", {}).get("steps", [])]
    steps = record.get("steps", {})
    ordered = {name: steps[name] for name in order if name in steps} | steps
    return {
        "run_id": record["run_id"], "pipeline": record["pipeline"], "status": record["status"],
        "started": record.get("started"), "finished": record.get("finished"), "error": record.get("error"),
        "params": record.get("params"), "outputs": record.get("outputs", {}),
        "registered": record.get("registered"),
        "steps": {name: {k: s.get(k) for k in ("status", "fingerprint", "duration_s", "outputs", "error")}
                  | {k: s[k] for k in ("partitions", "by_partition") if s.get(k)}
                  | ({"compute": s["compute"]} if s.get("compute", "local") != "local" else {})
                  for name, s in ordered.items()},
    }


def record_run(store: Any, outcome: RunOutcome) -> dict[str, Any]:
    """Write the final run record and return its summary."""
    try:
        started = read_run_record(store, outcome["run_id"])
    except NotFoundError:
        started = None
    record = build_run_record(outcome, started)
    register = outcome["request"].get("register")
    if register:
        entry = register_from_run(store, register, record)
        record["registered"] = {"model": entry["name"], "version": entry["version"]} if entry else None
    if record["status"] == "completed":
        for output, key in (outcome["request"].get("deliver") or {}).items():
            deliver_output(store, record["outputs"][output], key)
        record["delivered"] = outcome["request"].get("deliver") or {}
    write_run_record(store, record)
    return run_summary(record)


def deliver_output(store: Any, ref: dict[str, Any], key: str) -> None:
    """Copy a file output to a plain store key (where a user expects it, e.g. `scores/<name>`), never onto
    one of durapipe's own keys."""
    key = check_delivery_key(key)
    scratch = new_scratch_dir("durapipe-deliver-")
    try:
        get_artifact(store, ref, scratch / "output")
        store.upload_file(key, scratch / "output")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
