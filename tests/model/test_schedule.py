"""Six-field NCRONTAB schedules, as Azure Functions reads them."""
from datetime import datetime, timezone

import pytest

from durapipe.core.errors import UsageError
from durapipe.model.schedule import current_tick, latest_tick, next_tick, parse_schedule

T = datetime(2026, 11, 29, 7, 0, 4, tzinfo=timezone.utc)


def test_a_tick_exactly_now_is_the_latest_tick():
    assert latest_tick("*/2 * * * * *", T) == T


def test_between_ticks_the_latest_is_the_one_before():
    assert latest_tick("*/2 * * * * *", T.replace(second=5, microsecond=1)) == T


def test_daily_schedule_latest_tick_is_today_at_three():
    assert latest_tick("0 0 3 * * *", T) == T.replace(hour=3, minute=0, second=0)


def test_next_tick_is_strictly_after():
    assert next_tick("* * * * * *", T) == T.replace(second=5)


@pytest.mark.parametrize("bad", ["0 3 * * *", "nonsense", "61 * * * * *", ""])
def test_a_malformed_schedule_is_refused_naming_it(bad):
    with pytest.raises(UsageError, match="six-field NCRONTAB"):
        parse_schedule(bad)


def test_a_late_invocation_belongs_to_the_tick_before_the_hosts_next():
    late_now = T.replace(second=9)
    assert current_tick("*/2 * * * * *", {"Next": "2026-11-29T07:00:06+00:00"}, late_now) == T


def test_without_schedule_status_the_clock_decides_the_tick():
    assert current_tick("*/2 * * * * *", None, T.replace(second=5)) == T
