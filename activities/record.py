"""The recording activity's adapter: decode the run outcome, write the run record, return its summary."""
from __future__ import annotations

from typing import Any

from durapipe.model.contracts import RunOutcome, decode
from durapipe.engine import record_run as engine
from durapipe.store.url import open_store


def record_run(payload: Any) -> dict[str, Any]:
    """Write the final run record (registering and delivering outputs as asked) and return its summary."""
    outcome: RunOutcome = decode(payload)
    return engine.record_run(open_store(), outcome)
