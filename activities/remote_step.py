"""The remote step activities' adapters: decode the payload, call durapipe.engine.remote_step."""
from __future__ import annotations

from typing import Any

from durapipe.model.contracts import RemotePoll, RemoteSubmission, StepResult, StepTask, decode
from durapipe.engine import remote_step as engine
from durapipe.store.url import open_store


def submit_step(payload: Any) -> RemoteSubmission:
    """Reuse the step's commit, or submit it to its compute target."""
    task: StepTask = decode(payload)
    return engine.submit_step(open_store(), task)


def poll_step(payload: Any) -> RemotePoll:
    """The status of a remote step's job (stopping it when its run was canceled)."""
    value = decode(payload)
    return engine.poll_step(open_store(), value["task"], value["submitted"])


def collect_step(payload: Any) -> StepResult:
    """Commit a remote step's result, or fail with its remote logs."""
    value = decode(payload)
    return engine.collect_step(open_store(), value["task"], value["submitted"])
