"""The lease on a fingerprint, over every store (local folder, Azurite), with a clock the test moves."""
from __future__ import annotations

import json
import threading
import time

import pytest

from durapipe.store.base import Store
from durapipe.store.keys import lease_key
from durapipe.store.leases import Heartbeat, Lease, LeaseState, acquire, read_lease, release, renew

FP = "ab" * 32
DURATION = 60.0


class Clock:
    """Seconds since the epoch, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_first_taker_holds_the_lease_and_the_store_names_it(store: Store, clock: Clock) -> None:
    lease = acquire(store, FP, "run-a", duration=DURATION, clock=clock)
    assert isinstance(lease, Lease)
    stored = read_lease(store, FP)
    assert stored is not None and stored.owner == "run-a" and stored.etag == lease.etag
    assert stored.expires_at == clock.now + DURATION and "pid" in stored.holder


def test_another_owner_gets_the_live_holders_lease_and_changes_nothing(store: Store, clock: Clock) -> None:
    first = acquire(store, FP, "run-a", duration=DURATION, clock=clock)
    clock.now += DURATION - 1
    other = acquire(store, FP, "run-b", duration=DURATION, clock=clock)
    assert isinstance(other, LeaseState) and other.owner == "run-a" and other.etag == first.etag
    assert read_lease(store, FP).etag == first.etag


def test_the_same_owner_resumes_its_own_lease_at_once(store: Store, clock: Clock) -> None:
    first = acquire(store, FP, "run-a", duration=DURATION, clock=clock)
    again = acquire(store, FP, "run-a", duration=DURATION, clock=clock)
    assert isinstance(again, Lease) and again.etag != first.etag
    assert renew(store, first, clock=clock) is None


def test_an_expired_lease_is_taken_over_and_its_old_holder_can_neither_renew_nor_release_it(store: Store, clock: Clock) -> None:
    dead = acquire(store, FP, "run-a", duration=DURATION, clock=clock)
    clock.now += DURATION
    taker = acquire(store, FP, "run-b", duration=DURATION, clock=clock)
    assert isinstance(taker, Lease)
    assert renew(store, dead, duration=DURATION, clock=clock) is None
    assert release(store, dead) is False
    assert read_lease(store, FP).owner == "run-b"


def test_a_renewed_lease_outlives_its_first_expiry(store: Store, clock: Clock) -> None:
    lease = acquire(store, FP, "run-a", duration=DURATION, clock=clock)
    clock.now += DURATION / 2
    renewed = renew(store, lease, duration=DURATION, clock=clock)
    assert isinstance(renewed, Lease) and renewed.etag != lease.etag
    clock.now += DURATION / 2 + 1
    assert isinstance(acquire(store, FP, "run-b", duration=DURATION, clock=clock), LeaseState)
    assert renew(store, lease, duration=DURATION, clock=clock) is None  # an older version is not ours any more


def test_a_released_lease_is_gone_and_the_next_taker_holds_it(store: Store, clock: Clock) -> None:
    lease = acquire(store, FP, "run-a", duration=DURATION, clock=clock)
    assert release(store, lease) is True
    assert read_lease(store, FP) is None
    assert list(store.list("leases/")) == []
    assert isinstance(acquire(store, FP, "run-b", duration=DURATION, clock=clock), Lease)


def test_of_many_concurrent_takers_exactly_one_holds_the_lease(store: Store, clock: Clock) -> None:
    _race_for_the_lease(store, clock)


def test_of_many_concurrent_takers_of_an_expired_lease_exactly_one_holds_it(store: Store, clock: Clock) -> None:
    acquire(store, FP, "dead", duration=DURATION, clock=clock)
    clock.now += DURATION
    _race_for_the_lease(store, clock)


def _race_for_the_lease(store: Store, clock: Clock) -> None:
    takers = 10
    results: list[Lease | LeaseState | None] = [None] * takers
    start = threading.Barrier(takers)

    def take(i: int) -> None:
        start.wait()
        results[i] = acquire(store, FP, f"run-{i}", duration=DURATION, clock=clock)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if isinstance(r, Lease)]
    assert len(winners) == 1
    assert read_lease(store, FP).token == winners[0].token
    assert all(r.owner == winners[0].owner for r in results if isinstance(r, LeaseState))


def test_a_lease_whose_body_is_torn_reads_as_expired_and_is_taken_over(store: Store, clock: Clock) -> None:
    store.put(lease_key(FP), b'{"owner": "run-a", "tok')
    assert read_lease(store, FP).expired(clock.now)
    assert isinstance(acquire(store, FP, "run-b", duration=DURATION, clock=clock), Lease)
    assert json.loads(store.get(lease_key(FP)))["owner"] == "run-b"


def test_a_heartbeat_renews_the_lease_while_held_and_releases_it_after(store: Store, clock: Clock) -> None:
    lease = acquire(store, FP, "run-a", duration=DURATION, clock=clock)
    with Heartbeat(store, lease, interval=0.02, duration=DURATION, clock=clock) as heartbeat:
        clock.now += 10
        for _ in range(500):
            if heartbeat.lease.expires_at == clock.now + DURATION:
                break
            time.sleep(0.01)
        assert heartbeat.lease.expires_at == clock.now + DURATION
        assert read_lease(store, FP).expires_at == clock.now + DURATION
    assert read_lease(store, FP) is None and not heartbeat.lost


def test_a_heartbeat_that_lost_its_lease_stops_and_leaves_the_takers_lease(store: Store, clock: Clock) -> None:
    lease = acquire(store, FP, "run-a", duration=DURATION, clock=clock)
    clock.now += DURATION
    taker = acquire(store, FP, "run-b", duration=DURATION, clock=clock)
    with Heartbeat(store, lease, interval=0.02, duration=DURATION, clock=clock) as heartbeat:
        for _ in range(500):
            if heartbeat.lost:
                break
            time.sleep(0.01)
    assert heartbeat.lost
    assert read_lease(store, FP).token == taker.token
