"""Planning: bind the run's inputs, then resolve every step whose result is already committed.

One activity walks the whole graph in topological order, so a no-change re-run costs one
activity however large the pipeline is.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from durapipe.model.contracts import PlanResult, ReusedStep, RunRequest, StepResult, StepTask
from durapipe.model.spec import step_options
from durapipe.engine import plan_memo
from durapipe.engine.fingerprints import identify_step, one_code_lookup, step_code
from durapipe.engine.read_files import changed_read, changed_sentence
from durapipe.engine.inputs import bind_inputs
from durapipe.engine.partitions import gather_partitions, list_partitions
from durapipe.fingerprint.closure_cache import signature_snapshot
from durapipe.fingerprint.code import collecting_closures
from durapipe.fingerprint.reads import READS, current_reads, read_snapshot
from durapipe.engine.run_step import InputLost, step_result
from durapipe.store.records import PLANNED, PLANNED_BY, StepIndex, create_run_record, read_run_record
from durapipe.engine.request import ANY_FOLDER, LOCAL_RUN_KEY_ENV, CodePolicy, check_run_request
from durapipe.engine.scheduling import step_inputs
from durapipe.core.errors import DurapipeError, NotFoundError, StoreError, UsageError, shown
from durapipe.engine.record_run import record_failed_planning

if TYPE_CHECKING:
    from durapipe.store.base import Store


@dataclass
class StepPlan:
    """What planning decided for one step: reused (with its result), or why it must run."""

    name: str
    reused: dict[str, Any] | None = None
    reason: str = ""
    fingerprint: str | None = None
    components: dict[str, Any] | None = None
    partitions: dict[str, int] | None = None  # a mapped step that runs: {"run": how many would run, "total": of}


@dataclass
class Plan:
    """The bound inputs and one StepPlan per step, in topological order."""

    inputs: dict[str, Any]
    steps: list[StepPlan] = field(default_factory=list)

    @property
    def reused(self) -> dict[str, dict[str, Any]]:
        """Results of the steps that are reused, by step name."""
        return {p.name: p.reused for p in self.steps if p.reused is not None}


def make_plan(store: Store, request: RunRequest, *, recall: bool = True, code: CodePolicy = ANY_FOLDER,
              repair_index: bool = True) -> Plan:
    """Resolve what `request` can reuse; writes artifacts for new inputs, runs no step.

    With `repair_index`, a step index that missed a commit found here (a run could not write it) is written again.

    With `recall=False` every step is fingerprinted, none taken from a remembered plan, so each
    has its components (to explain a change). Steps are imported only from folders `code` allows,
    unless the local CLI signed the run.
    """
    spec = request["spec"]
    plan = Plan(inputs=bind_inputs(store, spec, request.get("inputs") or {}))
    force = set(request.get("force") or [])
    index = StepIndex(store, spec["name"])
    outputs: dict[str, dict[str, Any]] = {}
    memo = plan_memo.applies(request)
    # One moment's files and code for the whole plan: each path is read, each step looked up, once.
    with signature_snapshot(), one_code_lookup(), read_snapshot():
        # The steps whose fingerprints a remembered plan still vouches for (its code, what it read, its inputs).
        recalled = plan_memo.recall(request, plan.inputs) if memo and recall else None
        with collecting_closures() as closures:
            for step in spec["steps"]:
                _plan_step(store, request, plan, step, index, outputs, force, recalled, code)
        if repair_index:
            index.repair()
        # Written unless the memo already says exactly this plan (a no-change run after a no-change run).
        if memo and all(p.reused is not None for p in plan.steps) and not (recalled and recalled.says(plan)):
            plan_memo.remember(request, plan.inputs, plan, closures, recalled)
    return plan


def _plan_step(store: Store, request: RunRequest, plan: Plan, step: dict[str, Any], index: StepIndex,
               outputs: dict[str, dict[str, Any]], force: set[str], recalled: plan_memo.Recalled | None,
               code: CodePolicy) -> None:
    """Decide one step (appended to `plan`): reused with its result, or why it runs."""
    spec = request["spec"]
    name = step["name"]
    step_plan = StepPlan(name)
    plan.steps.append(step_plan)
    blocked = [b["step"] for b in step["inputs"].values() if "step" in b and b["step"] not in outputs]
    if blocked:
        step_plan.reason = f"it needs the output of {blocked[0]}, which will run"
        return
    task = {"step": step, "params": request["params"], "code_root": request.get("code_root"),
            "inputs": step_inputs(step, plan.inputs, outputs), "pipeline": spec["name"]}
    changed = None
    if step.get("map"):
        result, step_plan.partitions = _resolve_mapped(store, task, index, code)
        step_plan.fingerprint = result["fingerprint"] if result else None
    else:
        fingerprint = recalled.fingerprint(step, outputs) if recalled is not None else None
        if fingerprint is None:
            identity = identify_step(task, code=code)
            fingerprint, step_plan.components = identity.fingerprint, identity.components
        step_plan.fingerprint = fingerprint
        record = index.find(fingerprint)
        result = None if record is None else step_result(record, "reused", task)
        changed = None if record is None else _changed_read(step, request, record)
        if changed is not None:
            result = None
            if step_plan.components is None:
                step_plan.components = identify_step(task, code=code).components
            # What it would read now, so a change is explained against the commit's reads.
            step_plan.components = {**step_plan.components, READS: current_reads(
                record["components"][READS], step_code(step["ref"], request.get("code_root"))[2])}
    if "all" in force or name in force:
        step_plan.reason = "it was forced with --force"
    elif not step_options(step)["cache"]:
        step_plan.reason = "it has cache=False, so it always runs"
    elif changed is not None:
        step_plan.reason = changed_sentence(changed)
    elif result is None and step_plan.partitions is not None:
        run, total = step_plan.partitions["run"], step_plan.partitions["total"]
        step_plan.reason = f"run {run:,} of {total:,} partitions: no result is committed for {'it' if run == 1 else 'them'}"
    elif result is None:
        step_plan.reason = "no result is committed for its fingerprint"
    else:
        step_plan.reused = result
        outputs[name] = result["outputs"]


def _changed_read(step: dict[str, Any], request: RunRequest, record: dict[str, Any]) -> str | None:
    """The first file the step's commit read that has changed since; None when every one still holds."""
    if not (record.get("components") or {}).get(READS):
        return None  # the usual no-change case costs nothing more: no lookup of where the project is
    return changed_read(record, step_code(step["ref"], request.get("code_root"))[2])


def plan_run(store: Store, request: RunRequest, *, code: CodePolicy = ANY_FOLDER) -> PlanResult:
    """Check the request, make the plan and record the run as started (created only if absent).

    Returns the bound inputs, every step's name in spec order, the specs of the steps that are not
    reused, and the results of the reused steps that the orchestrator needs: all it needs of the spec.
    The started run record holds every reused step's result (`planned`); the plan result carries
    only those a step to run reads (`reused_in_record`), unless the record was there already (a
    plan made again for a run already started, or canceled): then it carries them all. `code` is the
    serving app's policy for code roots (`Catalog.code_policy`). A request that `pipeline_run`'s
    instance may not drive (`check_instance`) is refused before anything is written.
    """
    # The orchestrator can be started by anyone holding the durable endpoints' key: nothing is
    # read or written for a request that any trigger of ours could not have built.
    request = check_run_request(request, os.environ.get(LOCAL_RUN_KEY_ENV), code=code)  # its spec as JSON
    instance = request.pop("instance", None)
    check_instance(store, request["run_id"], instance)  # before anything is written
    try:
        plan = make_plan(store, request, code=code, repair_index=False)  # recording the run saves the index
    except (StoreError, NotFoundError) as exc:
        return _planning_failed(store, request, instance, exc, final=False)  # it may hold when tried again
    except DurapipeError as exc:
        return _planning_failed(store, request, instance, exc, final=True)
    spec = request["spec"]
    reused = {name: abridged(result) for name, result in plan.reused.items()}
    to_run = [s for s in spec["steps"] if s["name"] not in reused]
    # Created only if absent: a run canceled before planning finished keeps its canceled record.
    created = create_run_record(store, {
        "schema": 1, "run_id": request["run_id"], "pipeline": spec["name"],
        "pipeline_version": spec.get("version"), "definitions_version": request.get("definitions_version"),
        "spec": spec, "params": request["params"], "inputs": plan.inputs, "trigger": request.get("trigger") or {"kind": "cli"},
        "status": "running", "started": request.get("started"), "finished": None,
        "steps": {}, "outputs": {}, "error": None, "git": request.get("git"), PLANNED: {"reused": reused},
        **({PLANNED_BY: instance} if instance is not None else {}),
    })
    if not created:
        check_instance(store, request["run_id"], instance)  # a record written since the check above
    result: PlanResult = {"inputs": plan.inputs, "reused": reused, "pipeline": spec["name"],
                          "version": spec.get("version"), "order": [s["name"] for s in spec["steps"]],
                          "steps": to_run}  # the orchestrator reads the graph from here, not from its input
    if created:
        # A reused step's result travels through every later episode's history, and the recording
        # call's, only when a step to run reads its outputs; recording reads the others from the record.
        read = {b["step"] for s in to_run for b in s["inputs"].values() if "step" in b}
        result["reused"] = {name: r for name, r in reused.items() if name in read}
        result["reused_in_record"] = True
    return result


def _planning_failed(store: Store, request: RunRequest, instance: Any, exc: DurapipeError, *, final: bool) -> PlanResult:
    """Record the run as failed with `exc`'s sentence; `final` when trying again would fail the same way."""
    try:
        record_failed_planning(store, request, instance, str(exc), datetime.now(timezone.utc).isoformat())
    except StoreError:
        if not isinstance(exc, StoreError):
            raise
        raise exc from None  # the store that failed planning cannot take the record either
    return {"failed": str(exc), "final": final}  # type: ignore[typeddict-item]


def check_instance(store: Store, run_id: str, instance: Any) -> None:
    """Raise UsageError unless the orchestration `instance` ({"id", "started"}) may drive run `run_id`.

    Its id must be the run id, and a run that already has a record is planned again only by the
    execution that planned it (its planning delivered twice, or resumed from the journal), or, when
    its record is running and names no execution, by any (a failed run `durapipe resume` starts
    again, or a run planned before records named their execution). So no request, whatever key
    started it, drives a run another instance drives or rewrites a run that has ended. Without
    `instance` (the library called directly, not through `pipeline_run`) nothing is checked.
    """
    if instance is None:
        return
    if not isinstance(instance, dict) or instance.get("id") != run_id:
        raise UsageError(f"The run request names run {shown(run_id)}, but the orchestration instance "
                         f"{shown(instance.get('id') if isinstance(instance, dict) else instance)} carries it: "
                         "a run's id must be the id of the instance that runs it.")
    try:
        record = read_run_record(store, run_id)
    except NotFoundError:
        return
    if record.get(PLANNED_BY) == instance:
        return
    if PLANNED_BY not in record and record.get("status") == "running":
        return
    raise UsageError(f"Run {run_id} already has a record ({record.get('status')}) that another execution of its "
                     "instance started; a run is driven once, so start a new run instead.")


def abridged(result: StepResult) -> StepResult | ReusedStep:
    """What the orchestrator carries of a step reused at planning: its outputs, not its components.

    The rest (components, log, metrics) is its commit's, read back when the run is recorded
    (`engine.record_run.complete_reused`), so a large plan does not travel through every episode's history.
    A mapped step's gathered result is no commit's, and travels whole.
    """
    if "partitions" in result:
        return result
    return {"step": result["step"], "status": result["status"], "fingerprint": result["fingerprint"],
            "outputs": result["outputs"], "duration_s": 0.0}


def _resolve_mapped(store: Store, task: StepTask, index: StepIndex,
                    code: CodePolicy) -> tuple[StepResult | None, dict[str, int] | None]:
    """A mapped step is reused when every one of its partitions is committed: (its result, None); else (None, how
    many of its partitions would run), None for the count when its folder cannot be read."""
    parts = []
    try:
        partitions = list_partitions(store, task)
    except InputLost:
        return None, None  # its folder could not be read (now quarantined): the run has it made again, then runs it
    missing = 0
    for partition in partitions:
        identity = identify_step({**task, "partition": partition}, code=code)
        record = index.find(identity.fingerprint)
        if record is None or changed_read(record, identity) is not None:
            missing += 1  # counted on, so the plan can say how many would run (each costs a lookup, no read)
            continue
        if not missing:
            parts.append(step_result(record, "reused", {**task, "partition": partition}))
    if missing:
        return None, {"run": missing, "total": len(partitions)}
    return gather_partitions(store, {**task, "partitions": parts}), None
