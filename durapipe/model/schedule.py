"""NCRONTAB schedules as Azure Functions writes them: six fields, seconds first."""
from __future__ import annotations

from datetime import datetime, timezone

from durapipe.core.errors import UsageError


def _croniter():
    # croniter takes ~50 ms to import; only the timers need it, not every `durapipe run`.
    from croniter import croniter

    return croniter


def parse_schedule(expression: str, where: str = "The schedule") -> str:
    """Return `expression` (fields single-spaced) when it is a valid six-field NCRONTAB schedule, else raise."""
    fields = expression.split()
    if len(fields) != 6 or not _croniter().is_valid(expression, second_at_beginning=True):
        raise UsageError(f"{where} has schedule {expression!r}, which is not a six-field NCRONTAB expression: "
                         "write six NCRONTAB fields, seconds first (second minute hour day month day-of-week), "
                         "such as '0 0 3 * * *'; the TimeSpan form is not supported.")
    return " ".join(fields)


def latest_tick(expression: str, now: datetime | None = None) -> datetime:
    """The most recent tick of the schedule at or before `now` (UTC)."""
    now = now or datetime.now(timezone.utc)
    # croniter's get_prev is strictly before its start, so start a hair after `now`.
    start = now.replace(microsecond=0) if now.microsecond == 0 else now
    croniter = _croniter()
    it = croniter(parse_schedule(expression), start, second_at_beginning=True)
    prev = it.get_prev(datetime)
    nxt = croniter(expression, prev, second_at_beginning=True).get_next(datetime)
    return nxt if nxt <= now else prev


def next_tick(expression: str, after: datetime) -> datetime:
    """The first tick of the schedule strictly after `after`."""
    return _croniter()(parse_schedule(expression), after, second_at_beginning=True).get_next(datetime)


def current_tick(expression: str, schedule_status: dict | None, now: datetime | None = None) -> datetime:
    """The tick an invocation belongs to: the one before the host's `Next`, else the latest by the clock.

    The host fills `schedule_status["Next"]` with the occurrence after the one firing, so a late
    invocation still maps to its own tick rather than to whichever tick the clock has reached.
    """
    upcoming = (schedule_status or {}).get("Next")
    if upcoming:
        nxt = datetime.fromisoformat(str(upcoming).replace("Z", "+00:00"))
        if nxt.tzinfo is None:
            nxt = nxt.replace(tzinfo=timezone.utc)
        return _croniter()(parse_schedule(expression), nxt, second_at_beginning=True).get_prev(datetime)
    return latest_tick(expression, now)
