"""The executor seam: one call describes a step to run, one outcome says how it ended."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol


@dataclass(frozen=True)
class StepCall:
    """One step to execute: its code, concrete parameters, local input and output paths, log and limits.

    `code` is the fingerprint's code component: the executing process refuses to run code whose
    sources differ from it, so a result is never committed under another version's fingerprint.
    """

    step_ref: str
    code_root: str | None
    params: dict[str, Any]
    inputs: dict[str, str]
    outputs: dict[str, str]
    log_path: str
    code: dict[str, str]
    timeout: float | None = None
    memory_mb: int | None = None
    python: str | None = None
    env_vars: dict[str, str] = field(default_factory=dict)
    # Fan-in inputs: name -> {"kind": "list"|"dict", "items": {key: flat input name}} (see durapipe/model/spec.py).
    fan_in: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The call as a JSON-serialisable dict (what crosses to the step's process)."""
        return asdict(self)


@dataclass(frozen=True)
class StepOutcome:
    """How a step ended: ok, or an error sentence; exit code or signal when its process ended abnormally."""

    ok: bool
    error: str | None = None
    exit_code: int | None = None
    signal: str | None = None
    timed_out: bool = False
    canceled: bool = False
    stale_code: bool = False


class Executor(Protocol):
    """Runs one step call to its end and says how it ended; never raises for the step's own failures."""

    def run(self, call: StepCall, canceled: Callable[[], bool] | None = None) -> StepOutcome:
        """Run `call`; poll `canceled` while it runs and stop the step when it answers True."""
        ...


def group_fan_in(kwargs: dict[str, Any], fan_in: dict[str, Any]) -> None:
    """Replace the flat inputs of each fan-in input with the list (or dict) of their paths, in declared order."""
    for name, group in fan_in.items():
        paths = {key: kwargs.pop(flat) for key, flat in group["items"].items() if flat in kwargs}
        kwargs[name] = paths if group["kind"] == "dict" else list(paths.values())
