"""Timed retraining: the real app's timer on a one-second schedule starts one run per tick."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.api.conftest import start_app
from tests.serve.conftest import wait_for


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
    runs = [r for r in app.store.list("runs/") if "-tick-" in r]
    ticks = sorted(datetime.strptime(k.split("-tick-")[1].removesuffix(".json"), "%Y%m%dT%H%M%SZ") for k in runs)
    assert len(ticks) == len(set(ticks)) >= 4
    gaps = {b - a for a, b in zip(ticks, ticks[1:])}
    assert gaps == {timedelta(seconds=1)}, f"ticks must be consecutive seconds, one run each: {ticks}"
