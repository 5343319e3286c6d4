"""Timed retraining: the real app's timer on a one-second schedule starts one run per tick."""
from __future__ import annotations

import re

from datetime import datetime, timedelta

import pytest

from tests.http_api.conftest import start_app
from tests.host.serve.conftest import wait_for

pytestmark = pytest.mark.slow  # waits for one-second schedules to tick


def test_a_one_second_schedule_starts_one_retraining_run_per_tick(tmp_path):
    app = start_app(tmp_path, str(tmp_path / "store"), schedule="* * * * * *")
    try:
        def enough_ticks():
            _, page = app.get("/runs?pipeline=retrain&limit=200")
            ids = [r["run_id"] for r in page["runs"] if "-tick-" in r["run_id"]]
            return ids if len(ids) >= 4 else None
        wait_for(enough_ticks, timeout=120, interval=0.3)
    finally:
        assert app.stop() == 0
    log = (tmp_path / "serve.err").read_text()
    started = re.findall(r"durapipe\.timer: tick (\S+) started run (\S+)", log)
    ticks = [datetime.fromisoformat(tick) for tick, _ in started]
    # Fired once per tick: every invocation started the run of its own tick; none found it taken.
    assert len(ticks) == len(set(ticks)) >= 4
    assert "already started" not in log
    assert all(run_id == f"retrain-tick-{t:%Y%m%dT%H%M%SZ}" for t, (_, run_id) in zip(ticks, started))
    # And on every tick while idle (a tick inside a slow first invocation is skipped, as on
    # Azure, and the next fires past due): the later ticks are consecutive seconds.
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert gaps[-3:] == [timedelta(seconds=1)] * 3, ticks
