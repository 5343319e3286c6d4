"""Registers the activities with Durable Functions; each is a thin adapter to the library."""
from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df

from activities import names
from durapipe.engine.partitions import gather_partitions, list_partitions
from durapipe.engine.plan import plan_run
from durapipe.engine.record import record_run
from durapipe.engine.run_step import run_step
from durapipe.records import record_poison
from durapipe.stores.url import open_store

bp = df.Blueprint()


def _payload(value: Any) -> dict[str, Any]:
    # Activity inputs arrive already decoded on Azure; accept JSON text too, as older hosts send it.
    return json.loads(value) if isinstance(value, str) else value


@bp.function_name(names.PLAN_RUN)
@bp.activity_trigger(input_name="request")
def plan_run_activity(request: Any) -> dict[str, Any]:
    """Bind inputs and resolve every step already committed."""
    return plan_run(open_store(), _payload(request))


@bp.function_name(names.RUN_STEP)
@bp.activity_trigger(input_name="task")
def run_step_activity(task: Any) -> dict[str, Any]:
    """Run one step (or one partition of a mapped step), or reuse its commit."""
    return run_step(open_store(), _payload(task))


@bp.function_name(names.LIST_PARTITIONS)
@bp.activity_trigger(input_name="task")
def list_partitions_activity(task: Any) -> list[dict[str, Any]]:
    """List the partitions of a mapped step's input."""
    return list_partitions(open_store(), _payload(task))


@bp.function_name(names.GATHER_PARTITIONS)
@bp.activity_trigger(input_name="task")
def gather_partitions_activity(task: Any) -> dict[str, Any]:
    """Combine a mapped step's per-partition outputs into folders."""
    return gather_partitions(open_store(), _payload(task))


@bp.function_name(names.RECORD_RUN)
@bp.activity_trigger(input_name="outcome")
def record_run_activity(outcome: Any) -> dict[str, Any]:
    """Write the final run record."""
    return record_run(open_store(), _payload(outcome))


@bp.function_name(names.RECORD_POISON)
@bp.activity_trigger(input_name="poison")
def record_poison_activity(poison: Any) -> dict[str, Any]:
    """Record an arrived blob whose runs failed every try under poison/."""
    return record_poison(open_store(), _payload(poison))
