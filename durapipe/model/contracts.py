"""The wire contracts between the triggers, the orchestrators and the activities, with one schema version.

Every payload is plain JSON (the Durable history stores it): these TypedDicts name its fields
exactly as they travel, so an old history still replays against new code. A field is added as
NotRequired, never renamed; a breaking change raises SCHEMA_VERSION. docs/INTERNALS.md shows them.
"""
from __future__ import annotations

import json
from typing import Any, NotRequired, TypedDict

from durapipe.core.errors import DurapipeError

SCHEMA_VERSION = 1

# Function names of the orchestrators and activities: one constant used where each is
# registered and where it is called, so the two can never drift apart.
PIPELINE_RUN = "pipeline_run"
MAP_PARTITIONS = "map_partitions"
PIPELINE_SEGMENT = "pipeline_segment"
BLOB_ARRIVAL = "blob_arrival"
PLAN_RUN = "plan_run"
RUN_STEP = "run_step"
LIST_PARTITIONS = "list_partitions"
GATHER_PARTITIONS = "gather_partitions"
RECORD_RUN = "record_run"
RECORD_POISON = "record_poison"
# An arrival whose run could not be prepared (an input reference that names nothing yet) prepares it again.
PREPARE_ARRIVAL = "prepare_arrival"
# A step on remote compute: a sub-orchestration that submits, polls with durable timers, collects.
REMOTE_STEP = "remote_step"
SUBMIT_STEP = "submit_step"
POLL_STEP = "poll_step"
COLLECT_STEP = "collect_step"

# The one vocabulary of step states: custom status, run records, CLI, API and docs.
WAITING, RUNNING, REUSED, RAN, FAILED, NOT_RUN = "waiting", "running", "reused", "ran", "failed", "not_run"
STEP_STATES = (WAITING, RUNNING, REUSED, RAN, FAILED, NOT_RUN)
# Histories and records written before the vocabulary was one said "done" for "ran".
_OLD_STATES = {"done": RAN}


def step_state(state: str) -> str:
    """A step state in today's vocabulary (an old history's "done" reads as "ran")."""
    return _OLD_STATES.get(state, state)


class ArtifactRef(TypedDict):
    """A content-addressed file or folder in the store."""

    hash: str
    kind: str  # "file" | "dir"
    size: int


class Partition(TypedDict):
    """One file of a mapped step's input folder."""

    name: str
    ref: ArtifactRef


class RunRequest(TypedDict):
    """The input of `pipeline_run` and of the planning activity (built by durapipe.engine.request)."""

    schema: int
    run_id: str
    # The spec as JSON, or its text as the orchestrator is started with (run_request.orchestration_input).
    spec: dict[str, Any] | str
    params: dict[str, Any]
    inputs: dict[str, Any]  # input name -> {"path"} | {"key"} | {"artifact": ArtifactRef}
    code_root: str | None
    force: list[str]
    max_parallel: int | None
    trigger: dict[str, Any]
    started: str | None
    register: dict[str, Any] | None
    deliver: dict[str, str]
    definitions_version: NotRequired[str | None]  # the served project's definitions (HTTP, blob, timer)
    publish: NotRequired[dict[str, str]]  # output name -> data asset that a completed run registers it as
    git: NotRequired[dict[str, Any] | None]  # {"commit", "dirty"} of the project's git work tree
    pipeline: NotRequired[str]  # the spec's name, beside a spec given as text
    # Set by `pipeline_run` on the planning call only, from its context (never from its input): the
    # orchestration instance that drives the run, {"id", "started": when this execution began}.
    instance: NotRequired[dict[str, str]]


class PlanResult(TypedDict):
    """What planning returns: the bound inputs and the results of the reused steps the orchestrator needs."""

    inputs: dict[str, ArtifactRef]
    # A ReusedStep (histories before it: a whole StepResult); a mapped step's gathered StepResult.
    # With `reused_in_record`, only the reused steps that a step to run reads; else every reused step.
    reused: dict[str, "StepResult | ReusedStep"]
    # The started run record holds every reused step's result (records.PLANNED): recording reads them there.
    reused_in_record: NotRequired[bool]
    # Plans made before these were kept leave them out; the orchestrator then reads its input's spec.
    pipeline: NotRequired[str]
    version: NotRequired[str | None]
    order: NotRequired[list[str]]  # every step's name, in spec order
    steps: NotRequired[list[dict[str, Any]]]  # the spec of every step not reused, in spec order


class ReusedStep(TypedDict):
    """A step reused at planning, as the plan result carries it: no components, log or metrics.

    Recording the run reads those back from the step's commit (`engine.record_run.complete_reused`).
    """

    step: str
    status: str  # REUSED
    fingerprint: str
    outputs: dict[str, "ArtifactRef"]
    duration_s: float


class StepTask(TypedDict):
    """The input of `run_step`, `list_partitions`, `gather_partitions` and `map_partitions`."""

    schema: int
    run_id: str
    pipeline: str
    step: dict[str, Any]  # the step's spec JSON
    params: dict[str, Any]
    code_root: str | None
    inputs: dict[str, ArtifactRef]
    force: bool
    partition: NotRequired[Partition | None]  # one partition of a mapped step
    partitions: NotRequired[list[Any]]  # map_partitions: the partitions to run; gather: their results
    gather: NotRequired[bool]  # False: a child of map_partitions returns its results ungathered
    # When the orchestrator gives up on a local step with a timeout (ISO UTC): the activity starts
    # nothing after it and kills the step before it, so the step's failure comes with its log.
    deadline: NotRequired[str]
    attempt: NotRequired[str]  # remote_step: which execution submits the job (part of its name)


class PartitionCounts(TypedDict):
    """How many partitions of a mapped step ran and how many were reused."""

    total: int
    ran: int
    reused: int
    failed: NotRequired[int]  # a step mapped with an error threshold, or one whose partitions failed


class PartitionEntry(TypedDict):
    """One partition of a gathered mapped step, as the run record keeps it (`by_partition`)."""

    status: str  # RAN | REUSED | FAILED
    fingerprint: str | None  # None: a failed partition
    duration_s: float
    log: ArtifactRef | None
    error: NotRequired[str]  # a failed partition's


class StepResult(TypedDict):
    """What a step task returns: the step ran or was reused, with its outputs."""

    step: str
    status: str  # RAN | REUSED
    fingerprint: str
    outputs: dict[str, ArtifactRef]
    components: dict[str, Any] | None
    duration_s: float | None
    started: NotRequired[str | None]
    finished: NotRequired[str | None]
    log: NotRequired[ArtifactRef | None]
    partition: NotRequired[Partition | None]
    partitions: NotRequired[PartitionCounts]  # a gathered mapped step
    by_partition: NotRequired[dict[str, PartitionEntry]]  # a gathered mapped step, by partition name
    error: NotRequired[str]  # a gathered mapped step whose partitions failed beyond its error threshold
    metrics: NotRequired[dict[str, float]]  # what the step logged with durapipe.log_metric
    logged_params: NotRequired[dict[str, Any]]  # and with durapipe.log_param


class RemoteSubmission(TypedDict):
    """What `submit_step` returns: the step's reused result, or the remote job it started."""

    status: str  # REUSED | "submitted"
    result: NotRequired[StepResult]  # when reused
    compute: NotRequired[str]
    job_id: NotRequired[str]
    job_name: NotRequired[str]
    fingerprint: NotRequired[str]
    started: NotRequired[str]


class RemotePoll(TypedDict):
    """What `poll_step` returns: whether the remote job has ended, and its status."""

    done: bool
    status: str


class RemoteStepInput(TypedDict):
    """The input of `remote_step`: the step task, and once its job is submitted, the job and the polls so far."""

    task: StepTask
    submitted: NotRequired[RemoteSubmission]  # when the waiting continued as new
    polls: NotRequired[int]


class SubmittedStep(TypedDict):
    """The input of `poll_step` and `collect_step`: the step task and the job submitted for it."""

    task: StepTask
    submitted: RemoteSubmission


class RemoteJobResult(TypedDict):
    """What a remote job writes under `result_key(job name)` when its step has ended; `collect_step` reads it."""

    schema: int
    ok: bool
    error: str | None
    log: ArtifactRef
    outputs: dict[str, ArtifactRef]  # empty when the step failed
    started: str
    finished: str
    duration_s: float
    metrics: NotRequired[dict[str, float]]  # what the step logged (durapipe.log_metric, log_param)
    logged_params: NotRequired[dict[str, Any]]
    reads: NotRequired[dict[str, str | None]]  # project files the step read: relative path -> content hash


class SegmentTask(TypedDict):
    """The input of `pipeline_segment`: a slice of a large pipeline's steps."""

    schema: int
    run_id: str
    pipeline: str
    steps: list[dict[str, Any]]
    params: dict[str, Any]
    code_root: str | None
    force: list[str]
    max_parallel: int | None
    inputs: dict[str, ArtifactRef]
    resolved: dict[str, dict[str, ArtifactRef]]  # outputs of the steps outside it that it reads


class SegmentOutcome(TypedDict):
    """What `pipeline_segment` returns."""

    states: dict[str, str]
    results: dict[str, StepResult]
    timing: dict[str, dict[str, str]]
    errors: dict[str, str]


class RunOutcome(TypedDict):
    """The input of the recording activity: how the run ended, step by step."""

    schema: int
    run_id: str
    status: str  # "completed" | "failed"
    started: str
    finished: str
    states: dict[str, str]
    results: dict[str, StepResult]
    timing: dict[str, dict[str, str]]
    errors: dict[str, str]
    inputs: dict[str, ArtifactRef]
    # The request's params, trigger, code_root, force, register, deliver, definitions_version, publish,
    # git; histories before `pipeline` also hold its spec.
    request: dict[str, Any]
    # Without the spec in `request`: recording takes it from the run record planning wrote, which must
    # hold this pipeline at this version.
    pipeline: NotRequired[str]
    pipeline_version: NotRequired[str | None]
    # `results` leaves out the reused steps the plan did not carry: they are in the run record planning wrote.
    reused_in_record: NotRequired[bool]


class BoardStep(TypedDict):
    """One step on the custom status board."""

    state: str
    started: NotRequired[str]
    finished: NotRequired[str]


class StatusBoard(TypedDict):
    """A run's custom status: every step's state and times, in spec order."""

    run_id: str
    steps: dict[str, BoardStep]


class BlobArrival(TypedDict):
    """The input of `blob_arrival`: a blob that landed, the run request it starts, and how often to try."""

    schema: int
    arrival_id: str
    key: str
    etag: str
    blob_trigger: str
    request: RunRequest | None  # None: the trigger could not prepare it (`error` says why); tries prepare it again
    tries: int
    retry_interval: float
    error: NotRequired[str]


class ArrivalToPrepare(TypedDict):
    """The input of `prepare_arrival`: the arrival whose run request is to be built again, for one try."""

    schema: int
    arrival_id: str
    key: str
    etag: str
    blob_trigger: str
    attempt: int
    tries: int


class PreparedArrival(TypedDict):
    """What `prepare_arrival` answers: the run request, or why it could not be built (one sentence), or why
    the arrival starts nothing at all (`superseded`: the blob no longer holds its version)."""

    request: NotRequired[RunRequest]
    error: NotRequired[str]
    superseded: NotRequired[str]


class PoisonRecord(TypedDict):
    """The input of `record_poison`: why an arrived blob was given up on."""

    schema: int
    key: str
    etag: str
    blob_trigger: str
    tries: int
    reason: str
    attempts: list[dict[str, str]]  # each try's run_id and error
    at: str


def decode(payload: Any) -> Any:
    """A wire payload as JSON values; refuses one from a newer schema than this code knows."""
    # Activity inputs arrive already decoded on Azure; accept JSON text too, as older hosts send it.
    value = json.loads(payload) if isinstance(payload, str) else payload
    schema = value.get("schema") if isinstance(value, dict) else None
    if isinstance(schema, int) and schema > SCHEMA_VERSION:
        raise DurapipeError(f"This payload has wire schema {schema}, newer than this durapipe's {SCHEMA_VERSION}; "
                         "upgrade durapipe where it runs.")
    return value
