"""The pipeline orchestrator: plan once, then run the remaining steps as a dataflow.

Deterministic by construction: it reads only its input and task results, takes time from
`context.current_utc_datetime`, and yields Durable tasks and nothing else.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Generator

import azure.durable_functions as df

from durapipe.model import contracts
from durapipe.model.contracts import FAILED, NOT_RUN, RUNNING, step_state
from durapipe.model.compute import is_remote
from durapipe.model.lost_input import lost_input
from durapipe.model.spec import step_options
from durapipe.model.statuses import failure_reason, final_failure
from durapipe.model.timing import POLLS_PER_HISTORY, TIMEOUT_GRACE_S, poll_delay
from durapipe.engine.scheduling import (Dataflow, StepBoard, chunks, producer_of, readers_of, segment_dependencies,
                                        segments, step_inputs, step_parents)

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
    planning = {**request, "instance": instance} if isinstance(request, dict) else request
    plan = yield context.call_activity(contracts.PLAN_RUN, planning)
    if "failed" in plan:  # planning recorded the run as failed; a final failure is not worth trying again
        raise RuntimeError(final_failure(plan["failed"]) if plan.get("final") else plan["failed"])
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
        # Planning again is how the run learns the spec and inputs of a step it reused and must now run.
        rewinds = _Rewinds(replan=lambda: context.call_activity(contracts.PLAN_RUN, planning),
                           all_steps=_input_steps(request))
        yield from _run_dataflow(context, request, spec, flow, plan["inputs"], results, timing, errors, board,
                                 rewinds)
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
    yield from _run_dataflow(context, segment, spec, flow, segment["inputs"], results, timing, errors, board,
                             _Rewinds(replan=None, all_steps=None))
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
                  board: StepBoard, rewinds: "_Rewinds") -> Generator[Any, Any, None]:
    """Schedule `flow`'s steps as soon as their inputs exist, up to max_parallel at once.

    A step that fails because an input could not be read runs again once the step that made it has made it
    again (`_rewind`).
    """
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
            "force": _forced(request, name) or name in rewinds.forced,
        }
        options = step_options(step)
        timeout = options["timeout"]
        timer = None
        # A step run again within the run (`_rewind`) starts a child of its own, not the one that ended.
        again = rewinds.attempts.get(name, 0)
        child = f"{context.instance_id}.{name}" + (f".{again}" if again else "")
        if step.get("map"):
            # Each partition has the step's timeout, enforced where it runs (its activity, or its job).
            task = context.call_sub_orchestrator(contracts.MAP_PARTITIONS, task_input, child)
        elif is_remote(options["compute"]):
            # The job enforces the timeout where it runs; time queued on the cluster does not count.
            task = context.call_sub_orchestrator(contracts.REMOTE_STEP, {"task": task_input}, child)
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
                    error = yield from _rewind(rewinds, steps, flow, name, _error_text(task))
                    if error is None:
                        board.touch(rewinds.reopened)
                    else:
                        errors[name] = error
                        flow.fail(name)
                elif task.result.get("status") == FAILED:
                    # A mapped step whose partitions failed beyond its error threshold: its record keeps their counts.
                    results[name] = task.result
                    errors[name] = task.result["error"]
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


@dataclass
class _Rewinds:
    """What one dataflow keeps for making lost inputs again within the run (`_rewind`)."""

    # A task planning the run again (what it tells of the steps this run reused), or None: a segment cannot.
    replan: Callable[[], Any] | None
    # Every step of the pipeline by name, from the run's input (read only when a rewind needs a step this
    # dataflow was not given), or None: a segment has only its own steps.
    all_steps: Callable[[], dict[str, dict[str, Any]]] | None
    tried: set[tuple[str, str]] = field(default_factory=set)  # (step, input) made again once already
    forced: set[str] = field(default_factory=set)  # the steps run again, forced, to make a lost output again
    attempts: dict[str, int] = field(default_factory=dict)  # step -> how many times it was run again
    reopened: list[str] = field(default_factory=list)  # the steps the last rewind set waiting


def _rewind(rewinds: _Rewinds, steps: dict[str, dict[str, Any]], flow: Dataflow, name: str,
            error: str) -> Generator[Any, Any, str | None]:
    """Have the step that made the input step `name` could not read make it again, then run `name` again, as a
    build system rewinds a lost input; return None when so, else `name`'s error, saying why the run cannot.

    Once per input of a step: an input lost again fails the step. The producer runs forced (a partition's
    lost file leaves its folder's commit looking whole); of the steps upstream of it, those whose outputs
    this run does not know (reused at planning, read by no step it ran) are learnt by planning again, and
    run again, unforced, when that finds their outputs gone too.
    """
    lost = lost_input(error)
    if lost is None or flow.failed:
        return error
    source = producer_of(steps[name], lost.input)
    if source is None:
        given = steps[name]["inputs"].get(lost.input, {}).get("input", lost.input)
        return (f"{error} It is the input '{given}' of the run, which no step makes, so this run cannot make it "
                "again: give it again.")
    producer = source[0]
    if (name, lost.input) in rewinds.tried:
        return f"{error} Step {producer} made it again in this run, and it could not be read again."
    rewinds.tried.add((name, lost.input))
    if producer in rewinds.forced:
        lost_steps: list[str] = []  # made again in this run already (or being made): read it again
    else:
        found = yield from _lost_steps(rewinds, steps, flow, producer)
        if isinstance(found, str):
            return f"{error} {found}"
        lost_steps = found
        rewinds.forced.add(producer)
    rewinds.reopened = sorted(set(lost_steps) | {name}, key=flow.order.index)
    for step in rewinds.reopened:
        rewinds.attempts[step] = rewinds.attempts.get(step, 0) + 1
        flow.reopen(step, step_parents(steps[step]), readers_of(steps, step))
    return None


def _lost_steps(rewinds: _Rewinds, steps: dict[str, dict[str, Any]], flow: Dataflow,
                producer: str) -> Generator[Any, Any, list[str] | str]:
    """`producer` and the steps upstream of it to run again with it, their specs added to `steps`; or a sentence
    saying why this run cannot."""
    if producer not in steps:
        pipeline = rewinds.all_steps() if rewinds.all_steps is not None else {}
        if producer not in pipeline:
            return (f"Step {producer}, which made it, belongs to another segment of this large run, so this run "
                    "cannot make it again; the next run does.")
        steps[producer] = pipeline[producer]
    if any(not flow.outputs.get(p) for p in step_parents(steps[producer])):
        if rewinds.replan is None:
            return (f"The inputs of step {producer}, which made it, were made in another segment of this large "
                    "run, so this run cannot make it again; the next run does.")
        plan = yield rewinds.replan()
        if "failed" in plan:  # planning again failed: its sentence is why this run cannot make it again
            return plan["failed"]
        for step in plan.get("steps") or []:
            steps.setdefault(step["name"], step)  # to run: gone, or upstream of what is gone
        for step, result in plan["reused"].items():
            if not flow.outputs.get(step):
                flow.outputs[step] = result["outputs"]  # reused at planning and read by no step this run ran
    lost, queue = [], [producer]
    while queue:
        step = queue.pop()
        if step in lost:
            continue
        lost.append(step)
        for parent in step_parents(steps[step]):
            if not flow.outputs.get(parent):
                if parent not in steps:
                    return f"The outputs of step {parent}, upstream of step {producer}, are not known to this run."
                queue.append(parent)
    return lost


def _input_steps(request: dict[str, Any]) -> Callable[[], dict[str, dict[str, Any]]]:
    """Every step of the run's pipeline by name, read from its input (as JSON or text) when first asked."""
    read: dict[str, dict[str, Any]] = {}

    def steps() -> dict[str, dict[str, Any]]:
        if not read:
            spec = request["spec"]
            read.update({s["name"]: s for s in (json.loads(spec) if isinstance(spec, str) else spec)["steps"]})
        return read
    return steps


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
    # With an error threshold every partition runs to its end, and the failed ones are counted; without, the
    # first failed partition fails the step.
    tolerant = task_input["step"].get("error_threshold") is not None
    failed: list[dict[str, str]] = []
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
            failure = next(child for child in children if _failed(child))
            raise RuntimeError(_error_text(failure)) from None  # the child's error names its partition
        parts = [r for child in done for r in child["partitions"]]
        failed = [f for child in done for f in child.get("failed") or []]
    else:
        # A partition's task names its own partition, not the whole group's list.
        base = {k: v for k, v in task_input.items() if k not in ("partitions", "gather")}
        remote = is_remote(step_options(task_input["step"])["compute"])
        tasks = [context.call_sub_orchestrator(contracts.REMOTE_STEP, {"task": {**base, "partition": p}},
                                               f"{context.instance_id}.p{i}")
                 if remote else _call_step(context, task_input["step"], {**base, "partition": p})
                 for i, p in enumerate(partitions)]
        if tolerant:
            yield from _settle(context, tasks)
            parts = [t.result for t in tasks if not _failed(t)]
            failed = [{"name": p["name"], "error": _error_text(t)} for p, t in zip(partitions, tasks) if _failed(t)]
        else:
            try:
                parts = yield context.task_all(tasks)
            except Exception:
                # Name the partition that failed, not only this orchestrator (the run's error shows it).
                part, task = next((p, t) for p, t in zip(partitions, tasks) if _failed(t))
                raise RuntimeError(f"partition {part['name']} failed: {_error_text(task)}") from None
    if task_input.get("gather") is False:
        return {"partitions": parts, "failed": failed}
    # Gathered even when too many failed: the step's record keeps its partition counts and failures.
    return (yield context.call_activity(contracts.GATHER_PARTITIONS,
                                        {**task_input, "partitions": parts, "failed": failed}))


def _settle(context: df.DurableOrchestrationContext, tasks: list[Any]) -> Generator[Any, Any, None]:
    """Wait until every task has ended, failed or not (task_all stops at the first failure)."""
    pending = [t for t in tasks if not t.is_completed]
    while pending:
        yield context.task_any(pending)
        pending = [t for t in pending if not t.is_completed]


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
