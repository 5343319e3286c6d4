"""The pipeline orchestrator: plan once, then run the remaining steps as a dataflow.

Deterministic by construction: it reads only its input and task results, takes time from
`context.current_utc_datetime`, and yields Durable tasks and nothing else.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Generator

import azure.durable_functions as df

from durapipe.model import contracts
from durapipe.model.contracts import FAILED, NOT_RUN, RUNNING, step_state
from durapipe.model.compute import is_remote
from durapipe.model.spec import step_options
from durapipe.model.statuses import failure_reason
from durapipe.model.timing import POLLS_PER_HISTORY, TIMEOUT_GRACE_S, poll_delay
from durapipe.engine.scheduling import Dataflow, StepBoard, chunks, segment_dependencies, segments, step_inputs

bp = df.Blueprint()

# Above this many partitions, a mapped step fans out through sub-orchestrations so that no
# single history grows past a few hundred tasks (every episode replays the whole history).
PARTITIONS_PER_CHILD = 100
# Above this many steps to run, a pipeline runs in segments of this many, each a sub-orchestration.
SEGMENT_STEPS = 50
DEFAULT_MAX_PARALLEL = 8


@bp.function_name(contracts.PIPELINE_RUN)
@bp.orchestration_trigger(context_name="context")
def pipeline_run(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run one pipeline: a planning activity, dataflow over the rest, then the run record.

    When more than SEGMENT_STEPS steps must run, they run in segments, each a sub-orchestration.
    """
    request = context.get_input()
    started = context.current_utc_datetime.isoformat()

    # Planning checks that this instance may drive the run its input names (`plan.check_instance`): the
    # instance comes from the context, never from the input, and `started` is the same in every replay.
    instance = {"id": context.instance_id, "started": started}
    plan = yield context.call_activity(contracts.PLAN_RUN,
                                       {**request, "instance": instance} if isinstance(request, dict) else request)
    if "steps" in plan:
        # Only the steps that must run: the reused ones are the other names in `order`. The plan
        # carries the results of those a step to run reads (all of them, before `reused_in_record`).
        spec = {"name": plan["pipeline"], "version": plan["version"], "steps": plan["steps"]}
        order = plan["order"]
        to_run = {s["name"] for s in plan["steps"]}
        reused = [name for name in order if name not in to_run]
    else:  # planned before plans carried the steps to run: the input holds the spec as JSON
        spec, order, reused = request["spec"], None, list(plan["reused"])
    carried = plan["reused"]
    flow = Dataflow.from_spec(spec, {name: carried[name]["outputs"] if name in carried else {} for name in reused},
                              order)
    results: dict[str, dict[str, Any]] = dict(carried)
    timing: dict[str, dict[str, str]] = {}
    errors: dict[str, str] = {}
    board = _publish(context, request, flow, timing)
    groups = segments(spec, set(reused), SEGMENT_STEPS)
    if len(groups) <= 1:
        yield from _run_dataflow(context, request, spec, flow, plan["inputs"], results, timing, errors, board)
    else:
        yield from _run_segments(context, request, spec, groups, flow, plan["inputs"], results, timing, errors,
                                 board)
    flow.finish()
    board.touch(flow.order)

    status = "failed" if errors else "completed"
    record = {
        "schema": contracts.SCHEMA_VERSION, "run_id": request["run_id"], "status": status,
        "started": started, "finished": context.current_utc_datetime.isoformat(),
        "states": flow.states, "results": results, "timing": timing, "errors": errors,
        "inputs": plan["inputs"], "request": _request_summary(request),
        "pipeline": spec["name"], "pipeline_version": spec.get("version"),
    }
    if plan.get("reused_in_record"):
        record["reused_in_record"] = True  # the other reused steps' results: in the run record planning wrote
    summary = yield context.call_activity(contracts.RECORD_RUN, record)
    if errors:
        first = next(n for n in flow.order if n in errors)
        raise RuntimeError(f"step {first} failed: {errors[first]}")
    return summary


@bp.function_name(contracts.PIPELINE_SEGMENT)
@bp.orchestration_trigger(context_name="context")
def pipeline_segment(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run one segment of a large pipeline's steps as a dataflow; step failures are returned, not raised."""
    segment = context.get_input()
    spec = {"name": segment["pipeline"], "steps": segment["steps"]}
    flow = Dataflow.from_spec(spec, segment["resolved"])
    results: dict[str, dict[str, Any]] = {}
    timing: dict[str, dict[str, str]] = {}
    errors: dict[str, str] = {}
    board = _publish(context, segment, flow, timing)
    yield from _run_dataflow(context, segment, spec, flow, segment["inputs"], results, timing, errors, board)
    flow.finish()
    board.touch(flow.order)
    return {"states": flow.states, "results": results, "timing": timing, "errors": errors}


def _publish(context: df.DurableOrchestrationContext, request: dict[str, Any], flow: Dataflow,
             timing: dict[str, dict[str, str]]) -> StepBoard:
    """Make a board of every step the custom status; later changes to it are what the episode reports."""
    board = StepBoard(request["run_id"], flow, timing)
    context.set_custom_status(board.doc)
    return board


def _run_dataflow(context: df.DurableOrchestrationContext, request: dict[str, Any], spec: dict[str, Any],
                  flow: Dataflow, run_inputs: dict[str, Any], results: dict[str, dict[str, Any]],
                  timing: dict[str, dict[str, str]], errors: dict[str, str],
                  board: StepBoard) -> Generator[Any, Any, None]:
    """Schedule `flow`'s steps as soon as their inputs exist, up to max_parallel at once."""
    steps = {s["name"]: s for s in spec["steps"]}
    max_parallel = max(1, int(request.get("max_parallel") or DEFAULT_MAX_PARALLEL))
    running: dict[str, tuple[Any, Any]] = {}  # step -> (task, timeout timer or None)

    def start(name: str) -> None:
        step = steps[name]
        now = context.current_utc_datetime
        timing[name] = {"started": now.isoformat()}
        task_input = {
            "schema": contracts.SCHEMA_VERSION, "run_id": request["run_id"], "pipeline": spec["name"],
            "step": step, "params": request["params"], "code_root": request.get("code_root"),
            "inputs": step_inputs(step, run_inputs, flow.outputs),
            "force": _forced(request, name),
        }
        options = step_options(step)
        timeout = options["timeout"]
        timer = None
        if step.get("map"):
            # Each partition has the step's timeout, enforced where it runs (its activity, or its job).
            task = context.call_sub_orchestrator(contracts.MAP_PARTITIONS, task_input,
                                                 f"{context.instance_id}.{name}")
        elif is_remote(options["compute"]):
            # The job enforces the timeout where it runs; time queued on the cluster does not count.
            task = context.call_sub_orchestrator(contracts.REMOTE_STEP, {"task": task_input},
                                                 f"{context.instance_id}.{name}")
        else:
            if timeout:
                # The activity kills the step at its timeout and reports it with its log; this timer
                # is the backstop for an activity that never reports, and the deadline tells the
                # activity when the orchestrator gives up, so it starts nothing and runs nothing past it.
                backstop = now + timedelta(seconds=timeout + TIMEOUT_GRACE_S)
                task_input["deadline"] = backstop.isoformat()
                timer = context.create_timer(backstop)
            task = _call_step(context, step, task_input)
        running[name] = (task, timer)

    while True:
        started = flow.take_ready(max_parallel - len(running))
        for name in started:
            start(name)
        board.touch(started)
        if not running:
            break
        waits = [t for task, timer in running.values() for t in (task, timer) if t is not None]
        yield context.task_any(waits)
        # Collect every task that has finished, not only the winner, so a burst of
        # completions is handled in one pass.
        ended = [name for name, (task, timer) in running.items()
                 if task.is_completed or (timer is not None and timer.is_completed)]
        for name in ended:
            task, timer = running[name]
            now = context.current_utc_datetime.isoformat()
            if task.is_completed:
                del running[name]
                if timer is not None and not timer.is_completed:
                    timer.cancel()
                timing[name]["finished"] = now
                if _failed(task):
                    errors[name] = _error_text(task)
                    flow.fail(name)
                else:
                    results[name] = task.result
                    flow.complete(name, task.result["outputs"], reused=task.result["status"] == "reused")
            elif timer is not None and timer.is_completed:
                del running[name]
                timing[name]["finished"] = now
                errors[name] = (f"the step timed out after {steps[name]['options']['timeout']:g} seconds and its "
                                f"activity did not report back within {TIMEOUT_GRACE_S:g} seconds more, so its log "
                                "is not known")
                flow.fail(name)
        board.touch(ended)


def _run_segments(context: df.DurableOrchestrationContext, request: dict[str, Any], spec: dict[str, Any],
                  groups: list[list[str]], flow: Dataflow, run_inputs: dict[str, Any],
                  results: dict[str, dict[str, Any]], timing: dict[str, dict[str, str]],
                  errors: dict[str, str], board: StepBoard) -> Generator[Any, Any, None]:
    """Run each segment as a sub-orchestration once the segments it reads from have finished.

    Every episode replays the whole history, so one orchestration over a large graph costs time
    quadratic in its size; segments keep every history to about SEGMENT_STEPS steps.
    """
    steps = {s["name"]: s for s in spec["steps"]}
    deps = segment_dependencies(spec, groups)
    pending, done = list(range(len(groups))), set()
    running: dict[int, Any] = {}
    while True:
        for i in [i for i in pending if not errors and deps[i] <= done]:
            pending.remove(i)
            members = set(groups[i])
            outside = sorted({b["step"] for n in groups[i] for b in steps[n]["inputs"].values()
                              if "step" in b and b["step"] not in members})
            for name in groups[i]:
                flow.states[name] = RUNNING
            board.touch(groups[i])
            segment = {
                "schema": contracts.SCHEMA_VERSION, "run_id": request["run_id"], "pipeline": spec["name"],
                "steps": [steps[n] for n in groups[i]], "params": request["params"],
                "code_root": request.get("code_root"), "force": request.get("force") or [],
                "max_parallel": request.get("max_parallel"), "inputs": run_inputs,
                "resolved": {p: flow.outputs[p] for p in outside},
            }
            running[i] = context.call_sub_orchestrator(contracts.PIPELINE_SEGMENT, segment,
                                                       f"{context.instance_id}.segment-{i}")
        if not running:
            break
        yield context.task_any(list(running.values()))
        for i, task in list(running.items()):
            if not task.is_completed:
                continue
            del running[i]
            done.add(i)
            if _failed(task):
                errors[groups[i][0]] = _error_text(task)
                for name in groups[i]:
                    flow.states[name] = NOT_RUN
                flow.states[groups[i][0]] = FAILED
                board.touch(groups[i])
                continue
            outcome = task.result
            results.update(outcome["results"])
            timing.update(outcome["timing"])
            errors.update(outcome["errors"])
            for name, state in outcome["states"].items():
                flow.states[name] = step_state(state)  # a segment replayed from an old history may say "done"
                if name in outcome["results"]:
                    flow.outputs[name] = outcome["results"][name]["outputs"]
            board.touch(groups[i])


@bp.function_name(contracts.MAP_PARTITIONS)
@bp.orchestration_trigger(context_name="context")
def map_partitions(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run a mapped step once per partition of its mapped input, then gather the outputs.

    A child of this orchestrator covers at most PARTITIONS_PER_CHILD partitions, so a
    fan-out over thousands of partitions keeps every history small.
    """
    task_input = context.get_input()
    partitions = task_input.get("partitions")
    if partitions is None:
        partitions = yield context.call_activity(contracts.LIST_PARTITIONS, task_input)
    if len(partitions) > PARTITIONS_PER_CHILD:
        groups = chunks(partitions, PARTITIONS_PER_CHILD)
        children = [
            context.call_sub_orchestrator(contracts.MAP_PARTITIONS,
                                          {**task_input, "partitions": group, "gather": False},
                                          f"{context.instance_id}.{i}")
            for i, group in enumerate(groups)]
        try:
            done = yield context.task_all(children)
        except Exception:
            failed = next(child for child in children if _failed(child))
            raise RuntimeError(_error_text(failed)) from None  # the child's error names its partition
        parts = [r for child in done for r in child["partitions"]]
    else:
        # A partition's task names its own partition, not the whole group's list.
        base = {k: v for k, v in task_input.items() if k not in ("partitions", "gather")}
        remote = is_remote(step_options(task_input["step"])["compute"])
        tasks = [context.call_sub_orchestrator(contracts.REMOTE_STEP, {"task": {**base, "partition": p}},
                                               f"{context.instance_id}.p{i}")
                 if remote else _call_step(context, task_input["step"], {**base, "partition": p})
                 for i, p in enumerate(partitions)]
        try:
            parts = yield context.task_all(tasks)
        except Exception:
            # Name the partition that failed, not only this orchestrator (the run's error shows it).
            part, task = next((p, t) for p, t in zip(partitions, tasks) if _failed(t))
            raise RuntimeError(f"partition {part['name']} failed: {_error_text(task)}") from None
    if task_input.get("gather") is False:
        return {"partitions": parts}
    return (yield context.call_activity(contracts.GATHER_PARTITIONS, {**task_input, "partitions": parts}))


@bp.function_name(contracts.REMOTE_STEP)
@bp.orchestration_trigger(context_name="context")
def remote_step(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    """Run a step on remote compute: submit it, poll it between durable timers with backoff, collect it.

    No worker waits for the job: each poll is one short activity. Every POLLS_PER_HISTORY polls (five)
    the waiting continues as new, so a job of days keeps a history of a few dozen events.
    """
    value: contracts.RemoteStepInput = context.get_input()
    task, submitted, polls = value["task"], value.get("submitted"), int(value.get("polls") or 0)
    if submitted is None:
        # One job per execution of this orchestration: a failed run started again under its id
        # (`durapipe resume`) submits a new job rather than finding the one that failed.
        task = {**task, "attempt": str(context.new_uuid())[:8]}
        submitted = yield context.call_activity(contracts.SUBMIT_STEP, task)
        if submitted["status"] == contracts.REUSED:
            return submitted["result"]
    for _ in range(POLLS_PER_HISTORY):
        yield context.create_timer(context.current_utc_datetime + timedelta(seconds=poll_delay(polls)))
        polled = yield context.call_activity(contracts.POLL_STEP, {"task": task, "submitted": submitted})
        polls += 1
        if polled["done"]:
            return (yield context.call_activity(contracts.COLLECT_STEP, {"task": task, "submitted": submitted}))
    context.continue_as_new({"task": task, "submitted": submitted, "polls": polls})
    return None


def _call_step(context: df.DurableOrchestrationContext, step: dict[str, Any], task_input: dict[str, Any]) -> Any:
    options = step_options(step)
    retries = int(options["retries"] or 0)
    if retries <= 0:
        return context.call_activity(contracts.RUN_STEP, task_input)
    retry = df.RetryOptions(
        first_retry_interval_in_milliseconds=max(1, int(float(options["retry_interval"]) * 1000)),
        max_number_of_attempts=retries + 1)
    return context.call_activity_with_retry(contracts.RUN_STEP, retry, task_input)


def _forced(request: dict[str, Any], name: str) -> bool:
    force = request.get("force") or []
    return "all" in force or name in force


def _failed(task: Any) -> bool:
    return isinstance(task.result, Exception)


def _error_text(task: Any) -> str:
    # A TaskFailed reaches the orchestrator as Exception(f"{Reason} \n {Details}"): keep the reason.
    # A sub-orchestration's reason starts "Orchestrator function 'NAME' failed: ": keep its own message.
    reason = str(task.result).split(" \n ", 1)[0].strip()
    return failure_reason(reason)


def _request_summary(request: dict[str, Any]) -> dict[str, Any]:
    # Not the spec: planning wrote it into the run record, which recording reads anyway, and it
    # is most of the request (about 340 bytes a step), encoded again on every replay of this call.
    return {k: request.get(k) for k in ("params", "trigger", "code_root", "force", "register", "deliver",
                                        "definitions_version", "publish", "git")}
