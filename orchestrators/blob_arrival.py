"""A blob arrival: run the blob trigger's pipeline, trying again after a failure, then give the blob up as poison.

Deterministic: attempts are numbered, waits are durable timers, and only activities touch the
store. A run the trigger could not prepare (an input reference naming nothing yet) counts as a
failed try, and each later try prepares it again (`prepare_arrival`), so `tries` holds either way.
A try that finds the blob no longer holds the arrival's version ends the arrival: it starts
nothing and records no poison, since the newer version arrives on its own.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Generator

import azure.durable_functions as df

from durapipe.model import contracts
from durapipe.model.statuses import failure_reason, is_final_failure

bp = df.Blueprint()
_UNPREPARED = "The run could not be prepared."


@bp.function_name(contracts.BLOB_ARRIVAL)
@bp.orchestration_trigger(context_name="context")
def blob_arrival(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """Run the arrival's pipeline up to `tries` times (runs `<arrival>-1`, `-2`, ...); record poison after the last."""
    arrival = context.get_input()
    tries = max(1, int(arrival.get("tries") or 1))
    errors: list[dict[str, str]] = []
    for attempt in range(1, tries + 1):
        if attempt > 1:
            wait = float(arrival.get("retry_interval") or 0)
            yield context.create_timer(context.current_utc_datetime + timedelta(seconds=wait))
        run_id = f"{arrival['arrival_id']}-{attempt}"
        prepared = arrival.get("request")
        if prepared is None:
            # The trigger could not build the run (an input reference naming nothing yet): that was the
            # first try; each later one builds it again, and failing to is a failed try like a failed run.
            if attempt == 1:
                answer = {"error": arrival.get("error")}
            else:
                answer = yield context.call_activity(contracts.PREPARE_ARRIVAL, _to_prepare(arrival, attempt, tries))
            prepared = answer.get("request")
            if prepared is None and answer.get("superseded"):
                return {"status": "superseded", "attempts": attempt - 1, "reason": answer["superseded"]}
            if prepared is None:
                errors.append({"attempt": str(attempt), "error": answer.get("error") or _UNPREPARED})
                continue
        request = {**prepared, "run_id": run_id, "trigger": {**prepared["trigger"], "attempt": attempt}}
        try:
            summary = yield context.call_sub_orchestrator(contracts.PIPELINE_RUN, request, run_id)
            return {"status": "completed", "run_id": run_id, "attempts": attempt, "summary": summary}
        except Exception as exc:  # a failed run is a failed try; the next one reuses what it committed
            errors.append({"run_id": run_id, "error": _reason(exc)})
            if is_final_failure(str(exc)):
                break  # it would fail the same way again (a definition error): poisoned at once
    poison = {"schema": 1, "key": arrival["key"], "etag": arrival["etag"], "blob_trigger": arrival["blob_trigger"],
              "tries": tries, "reason": errors[-1]["error"], "attempts": errors,
              "at": context.current_utc_datetime.isoformat()}
    yield context.call_activity(contracts.RECORD_POISON, poison)
    return {"status": "poisoned", "attempts": len(errors), "reason": errors[-1]["error"]}


def _to_prepare(arrival: dict[str, Any], attempt: int, tries: int) -> dict[str, Any]:
    return {"schema": contracts.SCHEMA_VERSION, "arrival_id": arrival["arrival_id"], "key": arrival["key"],
            "etag": arrival["etag"], "blob_trigger": arrival["blob_trigger"], "attempt": attempt, "tries": tries}


def _reason(exc: Exception) -> str:
    # A failed sub-orchestration reaches the parent as Exception(f"{Reason} \n {Details}"): keep the reason.
    return failure_reason(str(exc).split(" \n ", 1)[0].strip()) or type(exc).__name__
