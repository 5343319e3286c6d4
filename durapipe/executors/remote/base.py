"""The remote executor seam: a job described by references, and a target that submits, polls, logs and cancels it.

A remote step never receives data through the orchestrator: its job names its inputs by
artifact reference and the store by URL; the job (durapipe.executors.remote.entry) reads
its inputs from the store, runs the step, writes its outputs content-addressed and its
result under `result_key(job.name)`.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from durapipe.core.errors import DurapipeError


# What a target's status becomes, in durapipe's words.
PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED = "pending", "running", "succeeded", "failed", "stopped"
TERMINAL = frozenset({SUCCEEDED, FAILED, STOPPED})
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}", re.ASCII)


@dataclass(frozen=True)
class RemoteJob:
    """One step to run remotely: its code, parameters, inputs (artifact refs), outputs and store, by reference."""

    name: str
    step_ref: str
    params: dict[str, Any]
    inputs: dict[str, dict[str, Any]]
    outputs: list[str]
    store_url: str
    code: dict[str, str]
    code_root: str | None = None
    run_id: str | None = None
    timeout: float | None = None
    environment: list[str] | None = None
    env_vars: dict[str, str] = field(default_factory=dict)
    # True when the job itself must build `environment` (a target that cannot install it beforehand).
    build_environment: bool = False
    # The output the job writes what the step logged to (a sweep's trial), which the step itself never sees.
    metrics_output: str | None = None

    def __post_init__(self) -> None:
        if not _JOB_NAME.fullmatch(self.name):
            raise DurapipeError(f"The remote job name {self.name!r} is not valid.")

    def to_json(self) -> dict[str, Any]:
        """The job as JSON (what the remote entry point reads)."""
        return asdict(self)


class RemoteTarget(Protocol):
    """Where remote jobs run: submit returns the job's id; the other calls take it."""

    def submit(self, job: RemoteJob) -> str:
        """Start `job` (submitting the same job name twice starts it once); return its id."""
        ...

    def status(self, job_id: str) -> str:
        """One of PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED."""
        ...

    def logs(self, job_id: str) -> str:
        """What the job has printed so far."""
        ...

    def cancel(self, job_id: str) -> None:
        """Stop the job; succeeds when it has already ended."""
        ...


def result_key(job_name: str) -> str:
    """Store key of the result a remote job writes when its step has ended."""
    from durapipe.store.keys import remote_result_key

    return remote_result_key(job_name)
