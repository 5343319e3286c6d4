"""The planning activity's adapter: decode the run request, plan it in the app's store, return the plan."""
from __future__ import annotations

from typing import Any

from durapipe.model.contracts import PlanResult, RunRequest, decode
from durapipe.engine import plan
from durapipe.engine.request import CodePolicy
from durapipe.store.url import open_store


def plan_run(payload: Any, code: CodePolicy) -> PlanResult:
    """Bind the run's inputs, resolve every step already committed and record the run as started."""
    request: RunRequest = decode(payload)
    return plan.plan_run(open_store(), request, code=code)
