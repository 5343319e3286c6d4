"""The final run record: what every step did, its fingerprint, timings, outputs and errors."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durapipe.model.contracts import FAILED, NOT_RUN, RAN, REUSED, RUNNING, WAITING, RunOutcome, step_state
from durapipe.model.records import RecordedStep, RunRecord, recorded_step
from durapipe.model.spec import step_options
from durapipe.engine.run_step import step_result
from durapipe.store.records import PLANNED, StepIndex, indexed_fingerprints, read_run_record, write_run_record
from durapipe.core.errors import NotFoundError, StoreError
from durapipe.catalog.registry import decide_from_run
from durapipe.engine.delivery import deliver_outputs

if TYPE_CHECKING:
    from durapipe.store.base import Store

log = logging.getLogger(__name__)

# Orchestrator states (as `step_state` reads them) -> the step statuses a run record keeps: a step
# still waiting or running when the run ended did not run.
STEP_STATUS = {REUSED: REUSED, RAN: RAN, FAILED: FAILED, NOT_RUN: NOT_RUN, WAITING: NOT_RUN, RUNNING: NOT_RUN}


def build_run_record(outcome: RunOutcome, started_record: RunRecord | None) -> RunRecord:
    """Merge the orchestrator's outcome into the run record written at planning time."""
    request = outcome["request"]
    spec = request["spec"]
    base: RunRecord | dict[str, Any] = started_record or {}
    steps: dict[str, RecordedStep] = {}
    compute = {s["name"]: step_options(s)["compute"] or "local" for s in spec.get("steps", [])}
    for name, state in outcome["states"].items():
        result = outcome["results"].get(name) or {}
        status = STEP_STATUS[step_state(state)]  # an old history's "done" is "ran"
        if status == "ran" and result.get("status") == "reused":
            status = "reused"  # committed by a concurrent run between planning and running
        steps[name] = {
            "status": status, "fingerprint": result.get("fingerprint"),
            "duration_s": result.get("duration_s", 0.0) if status == "ran" else
            _elapsed(outcome["timing"].get(name)) if status == FAILED else 0.0,
            "outputs": result.get("outputs") or {}, "components": result.get("components"),
            "error": outcome["errors"].get(name), "log": result.get("log"),
            "started": outcome["timing"].get(name, {}).get("started"),
            "finished": outcome["timing"].get(name, {}).get("finished"),
            "compute": compute.get(name, "local"),
        }
        for key in ("partitions", "by_partition"):
            if result.get(key):
                steps[name][key] = result[key]
        if result.get("partitions") and status in (RAN, FAILED):
            # A mapped step takes the time from its first partition's start to its last's end, as any step does;
            # its partitions' durations added up (they run side by side) go beside it.
            steps[name]["summed_duration_s"] = result.get("duration_s") or 0.0
            steps[name]["duration_s"] = _elapsed(outcome["timing"].get(name)) or result.get("duration_s") or 0.0
        if status in (RAN, REUSED):
            steps[name]["metrics"] = result.get("metrics") or {}
            steps[name]["logged_params"] = result.get("logged_params") or {}
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
        "metrics": _merged(steps, "metrics"), "logged_params": _merged(steps, "logged_params"),
        "git": request.get("git", base.get("git")),
    }


def _elapsed(timing: dict[str, str] | None) -> float:
    """Seconds from when the run started a step to when it ended, as the orchestrator timed it (a failed step
    returns no result of its own to say how long it ran)."""
    from datetime import datetime

    if not timing or not timing.get("started") or not timing.get("finished"):
        return 0.0
    try:
        started, finished = datetime.fromisoformat(timing["started"]), datetime.fromisoformat(timing["finished"])
        seconds = (finished - started).total_seconds()
    except (TypeError, ValueError):
        return 0.0
    return round(max(seconds, 0.0), 6)


def _merged(steps: dict[str, RecordedStep], field: str) -> dict[str, Any]:
    """The values every step logged, by name; a later step (in spec order) wins a name two steps log."""
    merged: dict[str, Any] = {}
    for step in steps.values():
        merged.update(step.get(field) or {})
    return merged


def run_summary(record: RunRecord) -> dict[str, Any]:
    """The run as `durapipe run --json` prints it."""
    order = [s["name"] for s in record.get("spec", {}).get("steps", [])]
    steps = {name: recorded_step(s) for name, s in record.get("steps", {}).items()}
    ordered = {name: steps[name] for name in order if name in steps} | steps
    return {
        "run_id": record["run_id"], "pipeline": record["pipeline"], "status": record["status"],
        "started": record.get("started"), "finished": record.get("finished"), "error": record.get("error"),
        "params": record.get("params"), "inputs": record.get("inputs", {}), "trigger": record.get("trigger"),
        "outputs": record.get("outputs", {}),
        "registered": record.get("registered"),
        **({"registration": record["registration"]} if record.get("registration") else {}),
        "published": record.get("published") or {},
        "git": record.get("git"),
        "metrics": record.get("metrics") or {}, "logged_params": record.get("logged_params") or {},
        "steps": {name: {k: s.get(k) for k in ("status", "fingerprint", "duration_s", "outputs", "error")}
                  | {"metrics": s["metrics"] or {}, "logged_params": s["logged_params"] or {}}
                  | {k: s[k] for k in ("partitions", "by_partition", "summed_duration_s") if s.get(k)}
                  | ({"compute": s["compute"]} if s["compute"] != "local" else {})
                  for name, s in ordered.items()},
    }


def record_run(store: Store, outcome: RunOutcome) -> dict[str, Any]:
    """Write the final run record and return its summary."""
    try:
        started = read_run_record(store, outcome["run_id"])
    except NotFoundError:
        started = None
    outcome = with_planned(with_spec(outcome, started), started)
    index = StepIndex(store, outcome["request"]["spec"]["name"])
    outcome = {**outcome, "results": complete_reused(outcome["results"], index)}
    record = build_run_record(outcome, started)
    register = outcome["request"].get("register")
    if register:
        if started and started.get("status") == "completed" and started.get("registration"):
            # Recorded once already (an activity is delivered at least once): the decision was taken then.
            record["registered"], record["registration"] = started.get("registered"), started["registration"]
        else:
            _decide_registration(store, register, record)
    if record["status"] == "completed":
        if started and started.get("status") == "completed" and "delivered" in started:
            # Recorded once already (an activity is delivered at least once): the deliveries were made then.
            record["delivered"] = started["delivered"]
            if started.get("superseded"):
                record["superseded"] = started["superseded"]
        else:
            delivered, superseded = deliver_outputs(store, record, outcome["request"].get("deliver") or {})
            record["delivered"] = delivered
            if superseded:
                record["superseded"] = superseded
        record["published"] = publish_outputs(store, record, outcome["request"].get("publish") or {})
    index_producers(store, record)
    # The final record last: once a run reads as ended, every write it makes is done.
    _save_index(index, indexed_fingerprints(record), ran_fingerprints(record), f"run {record['run_id']}")
    write_run_record(store, record)
    return run_summary(record)


def _save_index(index: StepIndex, fingerprints: list[str], committed_now: list[str], by: str) -> None:
    """Save the step index, or say in one warning that it could not be: the commits are the truth, so `by` goes on."""
    try:
        index.save(fingerprints, committed_now=committed_now)
    except StoreError as exc:
        log.warning("%s could not write the step index %s (%s); the commits are the truth, and "
                    "the next plan of pipeline %s repairs the index.", by, index.key, str(exc).rstrip("."),
                    index.pipeline)


def _decide_registration(store: Store, register: dict[str, Any], record: RunRecord) -> None:
    """Register the run's model as `register` asks; the record keeps what was decided and why, one log line says it."""
    entry, decision = decide_from_run(store, register, record)
    record["registered"] = {"model": entry["name"], "version": entry["version"]} if entry else None
    if record["status"] == "completed":
        # A bare `registered: None` would not say why: a metric that lost, or one no step logged.
        record["registration"] = {"model": register["model"], "version": entry["version"] if entry else None,
                                  "decision": decision}
        log.info("run %s, model %s: %s", record["run_id"], register["model"], decision)


def ran_fingerprints(record: RunRecord) -> list[str]:
    """The fingerprints of the commits this run made: each step that ran, each partition that ran."""
    found = []
    for step in record["steps"].values():
        found += [part["fingerprint"] for part in (step.get("by_partition") or {}).values()
                  if part.get("status") == RAN and part.get("fingerprint")]
        if step.get("status") == RAN and step.get("fingerprint") and not step.get("partitions"):
            found.append(step["fingerprint"])
    return found


def with_spec(outcome: RunOutcome, started_record: RunRecord | None) -> RunOutcome:
    """The outcome with its run's spec in `request`: its own (histories before it left it out), else the run record's.

    Raises NotFoundError when the record planning wrote is gone, or holds another pipeline or version.
    """
    request = outcome["request"]
    if "spec" in request:
        return outcome
    spec = (started_record or {}).get("spec")
    if not isinstance(spec, dict) or spec.get("name") != outcome.get("pipeline") \
            or spec.get("version") != outcome.get("pipeline_version"):
        raise NotFoundError(f"Run {outcome['run_id']} cannot be recorded: the run record written when it was "
                            f"planned, which holds its pipeline's spec, is gone or is not of pipeline "
                            f"{outcome.get('pipeline')} at this version.")
    return {**outcome, "request": {**request, "spec": spec}}


def with_planned(outcome: RunOutcome, started_record: RunRecord | None) -> RunOutcome:
    """The outcome with a result for every reused step: those the plan did not carry are in the run record it wrote.

    Recording may run twice (an activity is delivered at least once): the second finds the final
    record, whose steps hold the same results. Raises NotFoundError when the plan said the record
    holds them (`reused_in_record`) and it does not.
    """
    if not outcome.get("reused_in_record"):
        return outcome
    base = started_record or {}
    planned = (base.get(PLANNED) or {}).get("reused")
    if not isinstance(planned, dict):
        planned = {name: _recorded_result(name, step) for name, step in (base.get("steps") or {}).items()
                   if isinstance(step, dict) and step.get("status") == REUSED}
    results = dict(outcome["results"])
    for name, state in outcome["states"].items():
        if state == REUSED and name not in results:
            if not isinstance(planned.get(name), dict):
                raise NotFoundError(f"Run {outcome['run_id']} cannot be recorded: the run record written when it "
                                    f"was planned, which holds the results of the steps it reused, is gone or "
                                    f"does not hold step {name}.")
            results[name] = planned[name]
    return {**outcome, "results": results}


def _recorded_result(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The result of a reused step as a final run record holds it (build_run_record makes the same entry of it)."""
    step = recorded_step(entry)
    result = {"step": name, "status": REUSED, "duration_s": 0.0,
              **{k: step.get(k) for k in ("fingerprint", "outputs", "components", "log", "metrics", "logged_params")}}
    return result | {k: step[k] for k in ("partitions", "by_partition") if step.get(k)}


def complete_reused(results: dict[str, Any], index: StepIndex) -> dict[str, Any]:
    """Each step result with what a plan's abridged result left out (components, log, metrics) read from its commit.

    A commit no longer found leaves the abridged result as it is: its outputs still say what the run used.
    The index's record is taken without checking its commit again (planning checked it moments ago): a
    record of the same fingerprint has the same components, and its log and metrics are those of a run
    of exactly that code, parameters and inputs.
    """
    completed = {}
    for name, result in results.items():
        if "components" not in result and result.get("status") == REUSED:
            record = index.indexed_record(result["fingerprint"])
            if record is not None:
                result = {**step_result(record, REUSED, {"step": {"name": name}}), **result}
        completed[name] = result
    return completed


def index_producers(store: Store, record: RunRecord) -> None:
    """Remember which run and step first produced each artifact a step of this run made (lineage reads it)."""
    import json

    from durapipe.store.keys import producer_key

    try:
        for name, step in record["steps"].items():
            if step["status"] != RAN:
                continue
            for output, ref in (step.get("outputs") or {}).items():
                entry = {"run_id": record["run_id"], "step": name, "output": output,
                         "fingerprint": step["fingerprint"]}
                store.put(producer_key(ref["hash"]), json.dumps(entry).encode(), if_absent=True)
    except StoreError as exc:
        # The index only speeds lineage up: without an entry, lineage searches the run records.
        log.warning("run %s could not write the lineage index (%s); its outputs' lineage is found by searching "
                    "the run records instead.", record["run_id"], str(exc).rstrip("."))


def publish_outputs(store: Store, record: RunRecord, publish: dict[str, str]) -> dict[str, Any]:
    """Register each output named in `publish` as a version of its data asset; what each became, by output."""
    from durapipe.catalog.data_assets import register_artifact

    published = {}
    for output, asset in publish.items():
        entry = register_artifact(store, asset, record["outputs"][output],
                                  {"kind": "run", "run_id": record["run_id"], "output": output})
        published[output] = {"data": asset, "version": entry["version"], "hash": entry["hash"]}
    return published


def record_failed_planning(store: Store, request: dict[str, Any], instance: Any, error: str, finished: str) -> None:
    """Record run `request` as failed with `error` before any step ran, unless it already has a record.

    A run that could not be planned (a definition error, an input that is not what a step needs) was still
    started, so `runs show` and `runs list` know it.
    """
    from durapipe.store.records import PLANNED_BY, create_run_record

    spec = request.get("spec") or {}
    create_run_record(store, {
        "schema": 1, "run_id": request["run_id"], "pipeline": spec.get("name"),
        "pipeline_version": spec.get("version"), "definitions_version": request.get("definitions_version"),
        "spec": spec, "params": request.get("params") or {}, "inputs": {},
        "trigger": request.get("trigger") or {"kind": "cli"}, "status": "failed",
        "started": request.get("started"), "finished": finished, "steps": {}, "outputs": {}, "error": error,
        "git": request.get("git"), **({PLANNED_BY: instance} if instance is not None else {}),
    })
