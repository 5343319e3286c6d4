"""The records kept in a store: a step's commit and a run's record, as the JSON they are written as.

A record is read long after it was written, by newer code: a field added since is NotRequired,
and `recorded_step` reads a run record's step as today's code writes one. The JSON itself is
written by durapipe.store.records, unchanged by these types.
"""
from __future__ import annotations

from typing import Any, Mapping, NotRequired, TypedDict

from durapipe.model.compute import LOCAL
from durapipe.model.contracts import ArtifactRef, Partition, PartitionCounts, PartitionEntry


class StepRecord(TypedDict):
    """A step's commit, under its fingerprint: what running its code on its inputs produced."""

    schema: int
    fingerprint: str
    step: str
    pipeline: str | None
    components: dict[str, Any] | None  # what the fingerprint is made of
    outputs: dict[str, ArtifactRef]
    log: ArtifactRef
    run_id: str | None  # the run that committed it
    partition: Partition | None  # the partition of a mapped step it ran for
    started: str
    finished: str
    duration_s: float
    metrics: NotRequired[dict[str, float]]  # what the step logged, locally run (durapipe.log_metric)
    logged_params: NotRequired[dict[str, Any]]  # and with durapipe.log_param
    compute: NotRequired[str]  # the remote target it ran on


class RecordedStep(TypedDict):
    """One step in a run record: how it ended, and what it produced or why it failed."""

    status: str  # reused | ran | failed | not_run
    fingerprint: str | None
    duration_s: float | None
    outputs: dict[str, ArtifactRef]
    components: dict[str, Any] | None
    error: str | None
    log: ArtifactRef | None
    started: str | None
    finished: str | None
    compute: NotRequired[str]  # records before it ran every step locally
    partitions: NotRequired[PartitionCounts]  # a mapped step
    by_partition: NotRequired[dict[str, PartitionEntry]]  # a mapped step, by partition name
    summed_duration_s: NotRequired[float]  # a mapped step: its partitions' durations added up (duration_s: wall time)
    metrics: NotRequired[dict[str, float]]  # a step that ran or was reused
    logged_params: NotRequired[dict[str, Any]]


class RunRecord(TypedDict):
    """A run's record: started at planning, replaced when the run ends (or is canceled)."""

    schema: int
    run_id: str
    pipeline: str | None  # None: canceled before planning knew it
    status: str  # running | completed | failed | canceled
    started: str | None
    finished: str | None
    error: str | None
    steps: dict[str, RecordedStep]
    outputs: dict[str, ArtifactRef]
    # Written by planning and recording; a run canceled before planning has none of them.
    pipeline_version: NotRequired[str | None]
    definitions_version: NotRequired[str | None]
    spec: NotRequired[dict[str, Any]]
    params: NotRequired[dict[str, Any]]
    inputs: NotRequired[dict[str, ArtifactRef]]
    trigger: NotRequired[dict[str, Any]]
    git: NotRequired[dict[str, Any] | None]
    planned: NotRequired[dict[str, Any]]  # the started record only: {"reused": {step: its result}}
    planned_by: NotRequired[dict[str, str]]  # the started record only: {"id": instance id, "started": execution start}
    metrics: NotRequired[dict[str, float]]  # every step's, merged
    logged_params: NotRequired[dict[str, Any]]
    registered: NotRequired[dict[str, Any] | None]  # the model version a completed run registered
    # A completed run asked to register: {"model", "version" (None: none registered), "decision": why, one sentence}
    registration: NotRequired[dict[str, Any]]
    delivered: NotRequired[dict[str, str]]  # output -> the key it was written to
    # A blob-triggered run's outputs not written because a newer version of its source blob was: {output: {"key", "reason"}}
    superseded: NotRequired[dict[str, dict[str, str]]]
    published: NotRequired[dict[str, Any]]


def recorded_step(entry: Mapping[str, Any]) -> RecordedStep:
    """A step of a run record (of any age) with the fields added since filled in; the record is not changed."""
    # Records before `compute` ran every step locally; a step that failed or did not run logged nothing.
    return {"compute": LOCAL, "metrics": {}, "logged_params": {}, **entry}  # type: ignore[typeddict-item]
