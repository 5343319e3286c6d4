"""Whether a run has been canceled, as its run record says (the only state both hosts share)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from durapipe.core.errors import NotFoundError
from durapipe.store.keys import run_key
from durapipe.store.records import parse_record

if TYPE_CHECKING:
    from durapipe.store.base import Store

# Every step asks before it starts, and a running step once a second: the record holds the whole
# spec (hundreds of KB for a large pipeline), so it is parsed only when its bytes could say so.
_CANCELED = b'"canceled"'


def run_canceled(store: Store, run_id: str | None) -> bool:
    """True when the record of run `run_id` says it was canceled."""
    if not run_id:
        return False
    try:
        data = store.get(run_key(run_id))
    except NotFoundError:
        return False
    if _CANCELED not in data:
        return False  # json.dumps writes the status as is, so a canceled record holds these bytes
    return parse_record(store, run_key(run_id), data).get("status") == "canceled"


def cancel_check(store: Store, run_id: str | None) -> Callable[[], bool]:
    """A check an executor polls while a step of run `run_id` runs."""
    return lambda: run_canceled(store, run_id)
