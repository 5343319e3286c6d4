"""Why a step (or one partition of it) ran in a recorded run, against the previous run of its pipeline."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from durapipe.core.errors import UsageError
from durapipe.fingerprint.explain import Change, explain
from durapipe.store.records import find_step_record, list_runs, previous_run_with_step
from durapipe.views.run_details import mapped_hint, step_entry

if TYPE_CHECKING:
    from durapipe.store.base import Store


@dataclass
class StepExplanation:
    """The step's status, the run it was compared with, what changed, and the sentences saying so."""

    status: str
    previous_run: str | None
    lines: list[str]
    changes: list[Change] = field(default_factory=list)


def explain_step(store: Store, run: dict[str, Any], step: str, partition: str | None = None) -> StepExplanation:
    """Why `step` (or `partition` of it) ran in `run`; a UsageError naming the partitions of a mapped step."""
    entry = step_entry(run, step, partition)
    if partition is None and entry.get("components") is None and mapped_hint(run, step):
        raise UsageError(mapped_hint(run, step))
    what = f"Partition {partition} of step {step}" if partition else f"Step {step}"
    if partition is not None:
        components = partition_components(store, entry)
        previous = previous_with_partition(store, run, step, partition)
        old = partition_components(store, previous["steps"][step]["by_partition"][partition]) if previous else None
    else:
        components = entry.get("components")
        previous = previous_run_with_step(store, run.get("pipeline"), step, before=run)
        old = previous["steps"][step]["components"] if previous else None
    changes: list[Change] = []
    if entry["status"] == "reused":
        lines = [f"{what} was reused: its fingerprint {entry['fingerprint'][:12]} was already committed."]
    elif components is None:
        lines = [f"{what} did not run to completion ({entry['status']}), so it has no fingerprint to compare."]
    elif previous is None or old is None:
        lines = [f"{what} ran because no earlier run of pipeline {run['pipeline']} has it: it ran for the first time."]
    else:
        changes = explain(old, components)
        lines = [f"{what} ran; compared with run {previous['run_id']}:"]
        lines += [f"  {c.describe()}" for c in changes] or [
            "  nothing in its fingerprint changed: it ran because it was forced, has cache=False, "
            "or its earlier result was not committed."]
    return StepExplanation(entry["status"], previous["run_id"] if previous else None, lines, changes)


def partition_components(store: Store, entry: dict[str, Any]) -> dict[str, Any] | None:
    """A partition's fingerprint components, from the step record committed under its fingerprint."""
    record = find_step_record(store, entry["fingerprint"]) if entry.get("fingerprint") else None
    return record.get("components") if record else None


def previous_with_partition(store: Store, run: dict[str, Any], step: str, partition: str) -> dict[str, Any] | None:
    """The newest run of the same pipeline before `run` that recorded `partition` of `step`."""
    for other in list_runs(store, pipeline=run.get("pipeline")):
        if other["run_id"] == run["run_id"] or (other.get("started") or "") >= (run.get("started") or ""):
            continue
        if partition in ((other.get("steps") or {}).get(step) or {}).get("by_partition", {}):
            return other
    return None
