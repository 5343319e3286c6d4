"""Whether a run has been canceled, as its run record says (the only state both hosts share)."""
from __future__ import annotations

from typing import Any, Callable

from durapipe.errors import NotFoundError
from durapipe.records import read_run_record


def run_canceled(store: Any, run_id: str | None) -> bool:
    """True when the record of run `run_id` says it was canceled."""
    if not run_id:
        return False
    try:
        return read_run_record(store, run_id).get("status") == "canceled"
    except NotFoundError:
        return False


def cancel_check(store: Any, run_id: str | None) -> Callable[[], bool]:
    """A check an executor polls while a step of run `run_id` runs."""
    return lambda: run_canceled(store, run_id)
