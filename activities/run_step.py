"""The step activity's adapter: decode the step task, run (or reuse) the step, return its result."""
from __future__ import annotations

from typing import Any

from durapipe.model.contracts import StepResult, StepTask, decode
from durapipe.engine import run_step as engine
from durapipe.engine.request import CodePolicy
from durapipe.store.url import open_store


def run_step(payload: Any, code: CodePolicy) -> StepResult:
    """Run one step (or one partition of a mapped step), or reuse its commit."""
    task: StepTask = decode(payload)
    return engine.run_step(open_store(), task, code=code)
