"""Timer triggers under `durapipe serve`: one invocation per tick of a six-field NCRONTAB schedule."""

from tests.host.serve.conftest import wait_for


def test_a_one_second_schedule_fires_once_per_tick(served):
    wait_for(lambda: len(served.recorded("ticks")) >= 5, timeout=30)
    ticks = sorted(r["at"] for r in served.recorded("ticks"))
    seconds = [int(t) for t in ticks]
    assert len(seconds) == len(set(seconds)), "two invocations in one tick"
    gaps = [b - a for a, b in zip(seconds, seconds[1:])]
    assert all(1 <= g <= 2 for g in gaps), gaps
    assert not any(r["past_due"] for r in served.recorded("ticks"))
    assert all(t - int(t) < 0.9 for t in ticks), "fired well after its tick"
