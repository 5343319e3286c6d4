"""Orchestrators of the test app, one Durable feature each."""
from __future__ import annotations

import datetime as dt

import azure.durable_functions as df

from fixture_flows.activities import Point, renamed_impl

bp = df.Blueprint()


@bp.orchestration_trigger(context_name="context")
def fan_out_in(context: df.DurableOrchestrationContext):
    n = context.get_input()["n"]
    results = yield context.task_all([context.call_activity("double", i) for i in range(n)])
    return sum(results)


@bp.orchestration_trigger(context_name="context")
def gated_fan_out(context: df.DurableOrchestrationContext):
    job = context.get_input()
    tasks = [context.call_activity("gated", {"gate": job["gate"], "i": i}) for i in range(job["n"])]
    results = yield context.task_all(tasks)
    return sum(results)


@bp.orchestration_trigger(context_name="context")
def parallel_pair(context: df.DurableOrchestrationContext):
    folder = context.get_input()["dir"]
    jobs = [{"dir": folder, "name": name, "seconds": 0.5} for name in ("a", "b")]
    return (yield context.task_all([context.call_activity("interval", j) for j in jobs]))


@bp.orchestration_trigger(context_name="context")
def first_of(context: df.DurableOrchestrationContext):
    folder = context.get_input()["dir"]
    slow = context.call_activity("interval", {"dir": folder, "name": "slow", "seconds": 1.0})
    fast = context.call_activity("interval", {"dir": folder, "name": "fast", "seconds": 0.0})
    winner = yield context.task_any([slow, fast])
    return winner.result


@bp.orchestration_trigger(context_name="context")
def round_trips(context: df.DurableOrchestrationContext):
    text = yield context.call_activity("greet", "world")
    point = yield context.call_activity("shift", Point(1, 2))
    renamed = yield context.call_activity(renamed_impl, 7)
    return {"text": text, "point": [point.x, point.y], "renamed": renamed}


@bp.orchestration_trigger(context_name="context")
def caught_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("fail", "boom")
    except Exception as exc:
        return f"caught: {exc}"
    return "not caught"


@bp.orchestration_trigger(context_name="context")
def uncaught_failure(context: df.DurableOrchestrationContext):
    yield context.call_activity("fail", "kaput")


@bp.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    job = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=3)
    before = yield context.call_activity("double", 1)
    attempt = yield context.call_activity_with_retry("flaky", options, job)
    after = yield context.call_activity("double", 2)
    return [before, attempt, after]


@bp.orchestration_trigger(context_name="context")
def with_timer(context: df.DurableOrchestrationContext):
    start = context.current_utc_datetime
    yield context.create_timer(start + dt.timedelta(milliseconds=300))
    return (context.current_utc_datetime - start).total_seconds()


@bp.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    answer = yield context.wait_for_external_event("approval")
    return {"approved": answer}


@bp.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    total = yield context.call_sub_orchestrator("fan_out_in", {"n": 3})
    return {"child_total": total}


@bp.orchestration_trigger(context_name="context")
def countdown(context: df.DurableOrchestrationContext):
    n = context.get_input()
    if n > 0:
        yield context.call_activity("double", n)
        context.continue_as_new(n - 1)
        return None
    return "lift-off"


@bp.orchestration_trigger(context_name="context")
def with_status(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "started"})
    yield context.call_activity("double", 1)
    context.set_custom_status({"stage": "done"})
    return "ok"


@bp.orchestration_trigger(context_name="context")
def crash_then_work(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("crash", 1)
        crashed = "no"
    except Exception as exc:
        crashed = str(exc)
    after = yield context.call_activity("double", 21)
    return {"crashed": crashed, "after": after}


@bp.orchestration_trigger(context_name="context")
def sequential_lines(context: df.DurableOrchestrationContext):
    job = context.get_input()
    for i in range(job["n"]):
        yield context.call_activity("append_line", {"path": job["path"], "i": i, "sleep": job["sleep"]})
    return job["n"]
