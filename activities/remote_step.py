"""The remote step activities' adapters: decode the payload, call durapipe.engine.remote_step."""
from __future__ import annotations

from typing import Any

from durapipe.model.contracts import RemotePoll, RemoteSubmission, StepResult, StepTask, SubmittedStep, decode
from durapipe.engine import remote_step as engine
from durapipe.engine.request import CodePolicy
from durapipe.store.url import open_store


def submit_step(payload: Any, code: CodePolicy) -> RemoteSubmission:
    """Reuse the step's commit, or submit it to its compute target."""
    task: StepTask = decode(payload)
    return engine.submit_step(open_store(), task, code=code)


def poll_step(payload: Any) -> RemotePoll:
    """The status of a remote step's job (stopping it when its run was canceled)."""
    value: SubmittedStep = decode(payload)
    return engine.poll_step(open_store(), value["task"], value["submitted"])


def collect_step(payload: Any, code: CodePolicy) -> StepResult:
    """Commit a remote step's result, or fail with its remote logs."""
    value: SubmittedStep = decode(payload)
    return engine.collect_step(open_store(), value["task"], value["submitted"], code=code)
