"""An orchestration's runtime statuses as the Durable SDK names them, and how a failed one words its output."""
from __future__ import annotations

import re
from enum import StrEnum


class RuntimeStatus(StrEnum):
    """An orchestration's runtime status: the names and values of the SDK's `OrchestrationRuntimeStatus`."""

    # A mirror, not the SDK's enum: importing azure.durable_functions costs about 0.27 s (it pulls in
    # aiohttp), which the CLI never pays. tests/model/test_statuses.py keeps the two equal.
    # StrEnum: members equal the plain strings found in status JSON, journals and query strings.
    Running = "Running"
    Completed = "Completed"
    ContinuedAsNew = "ContinuedAsNew"
    Failed = "Failed"
    Canceled = "Canceled"
    Terminated = "Terminated"
    Pending = "Pending"
    Suspended = "Suspended"


ALL = frozenset(RuntimeStatus)
# Ended for good: nothing more will happen to the instance.
TERMINAL = frozenset({RuntimeStatus.Completed, RuntimeStatus.Failed, RuntimeStatus.Terminated,
                      RuntimeStatus.Canceled})
# Not ended and not suspended: a host drives it, or will resume it, and it can be canceled.
ACTIVE = frozenset({RuntimeStatus.Pending, RuntimeStatus.Running})

_ORCHESTRATOR_FAILED = re.compile(r"^Orchestrator function '[^']*' failed: ")


def orchestrator_failed(name: str, reason: str) -> str:
    """The output of orchestrator `name` failed for `reason`, worded as the Functions host words it."""
    return f"Orchestrator function '{name}' failed: {reason}"


# Starts the failure of a run that would fail the same way if tried again (it could not be planned: a
# definition error, an input that is not what a step needs), so a blob arrival gives it up at once.
FINAL_FAILURE = "Final: "


def final_failure(sentence: str) -> str:
    """The failure `sentence` marked as one that trying again cannot change (`is_final_failure`)."""
    return FINAL_FAILURE + sentence


def is_final_failure(text: str) -> bool:
    """Whether `text` (with or without the orchestrator's words) is a failure that trying again cannot change."""
    return _ORCHESTRATOR_FAILED.sub("", text.strip(), count=1).startswith(FINAL_FAILURE)


def failure_reason(text: str) -> str:
    """`text` as one sentence: without the "Orchestrator function 'NAME' failed: " that starts it, if it does,
    nor the mark of a final failure."""
    reason = _ORCHESTRATOR_FAILED.sub("", text, count=1)
    return reason[len(FINAL_FAILURE):] if reason.startswith(FINAL_FAILURE) else reason
