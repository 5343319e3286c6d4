"""Registers the activities with Durable Functions; each calls its adapter module, which calls the engine."""
from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from activities import names, partitions, plan, record, remote_step, run_step
from activities import arrival as arrival_adapter
from activities import poison as poison_adapter
from durapipe.serving.service import Catalog


def activities_blueprint(catalog: Catalog) -> df.Blueprint:
    """The activities of an app serving `catalog`: those that import step code check it against the catalog's
    code policy as it is when they run (a refreshed catalog may serve other folders)."""
    bp = df.Blueprint()

    @bp.function_name(names.PLAN_RUN)
    @bp.activity_trigger(input_name="request")
    def plan_run_activity(request: Any) -> dict[str, Any]:
        """Bind inputs and resolve every step already committed."""
        return plan.plan_run(request, catalog.code_policy)

    @bp.function_name(names.RUN_STEP)
    @bp.activity_trigger(input_name="task")
    def run_step_activity(task: Any) -> dict[str, Any]:
        """Run one step (or one partition of a mapped step), or reuse its commit."""
        return run_step.run_step(task, catalog.code_policy)

    @bp.function_name(names.SUBMIT_STEP)
    @bp.activity_trigger(input_name="task")
    def submit_step_activity(task: Any) -> dict[str, Any]:
        """Submit a remote step to its compute target, or reuse its commit."""
        return remote_step.submit_step(task, catalog.code_policy)

    @bp.function_name(names.POLL_STEP)
    @bp.activity_trigger(input_name="poll")
    def poll_step_activity(poll: Any) -> dict[str, Any]:
        """The status of a remote step's job."""
        return remote_step.poll_step(poll)

    @bp.function_name(names.COLLECT_STEP)
    @bp.activity_trigger(input_name="job")
    def collect_step_activity(job: Any) -> dict[str, Any]:
        """Commit a remote step's result, or fail with its remote logs."""
        return remote_step.collect_step(job, catalog.code_policy)

    @bp.function_name(names.LIST_PARTITIONS)
    @bp.activity_trigger(input_name="task")
    def list_partitions_activity(task: Any) -> list[dict[str, Any]]:
        """List the partitions of a mapped step's input."""
        return partitions.list_partitions(task)

    @bp.function_name(names.GATHER_PARTITIONS)
    @bp.activity_trigger(input_name="task")
    def gather_partitions_activity(task: Any) -> dict[str, Any]:
        """Combine a mapped step's per-partition outputs into folders."""
        return partitions.gather_partitions(task)

    @bp.function_name(names.RECORD_RUN)
    @bp.activity_trigger(input_name="outcome")
    def record_run_activity(outcome: Any) -> dict[str, Any]:
        """Write the final run record."""
        return record.record_run(outcome)

    @bp.function_name(names.RECORD_POISON)
    @bp.activity_trigger(input_name="poison")
    def record_poison_activity(poison: Any) -> dict[str, Any]:
        """Record an arrived blob whose runs failed every try under poison/."""
        return poison_adapter.record_poison(poison)

    @bp.function_name(names.PREPARE_ARRIVAL)
    @bp.activity_trigger(input_name="arrival")
    def prepare_arrival_activity(arrival: Any) -> dict[str, Any]:
        """Build again the run request of a blob arrival the trigger could not prepare (one try)."""
        return dict(arrival_adapter.prepare_arrival(arrival, catalog))

    return bp
