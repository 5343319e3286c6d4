"""A lease on a fingerprint: which process is computing it now, so that every other one waits for its commit.

`leases/<fingerprint>.json` names its owner (the task that may resume it), its holder (host and
process, for messages) and when it expires. It is taken by a conditional create, kept alive by
a conditional replace of its own version (if-match on its etag) every LEASE_HEARTBEAT_S, and
given up by a conditional delete of its own version. An expired lease (its holder died or
stalled) is taken over by a conditional replace of exactly the expired version, so of many
takers one wins. Expiry compares the holder's clock with the taker's: hosts' clocks must agree
to well within LEASE_S.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from durapipe.core.errors import NotFoundError, StoreError
from durapipe.model.timing import LEASE_HEARTBEAT_S, LEASE_S
from durapipe.store.keys import lease_key

if TYPE_CHECKING:
    from durapipe.store.base import Store

log = logging.getLogger(__name__)

Clock = Callable[[], float]
# Conditional writes lost to other takers before acquire() answers with whoever holds the lease now.
_ATTEMPTS = 8


@dataclass(frozen=True)
class LeaseState:
    """A lease as stored: who holds it, until when (seconds since the epoch), and the etag of that version."""

    owner: str
    token: str
    holder: str
    expires_at: float
    etag: str

    def expired(self, now: float) -> bool:
        """Whether its holder failed to renew it in time, so another process may take it over."""
        return now >= self.expires_at


@dataclass(frozen=True)
class Lease:
    """A lease this process holds: the etag of the version it wrote last."""

    fingerprint: str
    owner: str
    token: str
    etag: str
    expires_at: float


def read_lease(store: Store, fingerprint: str) -> LeaseState | None:
    """The lease on `fingerprint` as stored, or None when nobody holds one."""
    try:
        data, etag = store.get_with_etag(lease_key(fingerprint))
    except NotFoundError:
        return None
    try:
        body = json.loads(data)
        return LeaseState(owner=str(body["owner"]), token=str(body["token"]), holder=str(body.get("holder") or ""),
                          expires_at=float(body["expires_at"]), etag=etag)
    except (ValueError, KeyError, TypeError):
        # A torn or foreign body holds nothing: it reads as expired, so the next taker replaces it.
        return LeaseState(owner="", token="", holder="", expires_at=0.0, etag=etag)


def acquire(store: Store, fingerprint: str, owner: str, *, duration: float = LEASE_S,
            clock: Clock = time.time) -> Lease | LeaseState:
    """Take the lease on `fingerprint` for `owner`: create it, resume `owner`'s own, or take over an expired one.

    Returns the Lease when this call holds it, else the live lease of another owner.
    """
    key = lease_key(fingerprint)
    current: LeaseState | None = None
    for _ in range(_ATTEMPTS):
        token = uuid.uuid4().hex
        expires_at = clock() + duration
        body = _body(owner, token, expires_at)
        if current is None:
            etag = store.put_with_etag(key, body, if_absent=True)
        elif current.owner == owner or current.expired(clock()):
            etag = store.put_with_etag(key, body, if_match=current.etag)
        else:
            return current
        if etag is not None:
            return Lease(fingerprint=fingerprint, owner=owner, token=token, etag=etag, expires_at=expires_at)
        current = read_lease(store, fingerprint)
    if current is None or current.owner == owner or current.expired(clock()):
        raise StoreError(f"Could not take the lease on fingerprint {fingerprint[:12]} in the {store.describe()}: "
                         f"{_ATTEMPTS} conditional writes in a row lost to other processes.")
    return current


def renew(store: Store, lease: Lease, *, duration: float = LEASE_S, clock: Clock = time.time) -> Lease | None:
    """Extend `lease` by `duration` from now; None when it is no longer ours (it expired and was taken over)."""
    expires_at = clock() + duration
    etag = store.put_with_etag(lease_key(lease.fingerprint), _body(lease.owner, lease.token, expires_at),
                               if_match=lease.etag)
    return None if etag is None else Lease(fingerprint=lease.fingerprint, owner=lease.owner, token=lease.token,
                                           etag=etag, expires_at=expires_at)


def release(store: Store, lease: Lease) -> bool:
    """Give `lease` up; False when it was no longer ours (then the lease of whoever took it over stays)."""
    return store.delete_if_match(lease_key(lease.fingerprint), lease.etag)


# The name every heartbeat thread starts with: the local executor still forks its step template beside one
# (the thread only waits, or renews over the store's client, which the template never uses).
HEARTBEAT_THREAD_PREFIX = "durapipe-lease-"


class Heartbeat:
    """Renews a lease from a background thread every `interval` seconds until stopped, then releases it."""

    def __init__(self, store: Store, lease: Lease, *, interval: float = LEASE_HEARTBEAT_S,
                 duration: float = LEASE_S, clock: Clock = time.time) -> None:
        self.store, self.lease, self.lost = store, lease, False
        self._interval, self._duration, self._clock = interval, duration, clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"{HEARTBEAT_THREAD_PREFIX}{lease.fingerprint[:12]}",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.lost:
            return
        try:
            release(self.store, self.lease)
        except StoreError as error:
            # Harmless: the lease expires by itself, and a waiter finds the commit before it looks at the lease.
            log.warning("Could not release the lease on fingerprint %s: %s", self.lease.fingerprint[:12], error)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                renewed = renew(self.store, self.lease, duration=self._duration, clock=self._clock)
            except StoreError as error:
                log.warning("Could not renew the lease on fingerprint %s (tried again in %g s): %s",
                            self.lease.fingerprint[:12], self._interval, error)
                continue
            if renewed is None:
                # Another process took it over after it expired: it computes the same fingerprint, and
                # the first commit wins; this one goes on, since killing it would waste its work.
                self.lost = True
                log.warning("The lease on fingerprint %s expired and was taken over by another process.",
                            self.lease.fingerprint[:12])
                return
            self.lease = renewed


def holder_name() -> str:
    """This process, as a lease names its holder."""
    return f"{socket.gethostname()} pid {os.getpid()}"


def _body(owner: str, token: str, expires_at: float) -> bytes:
    return json.dumps({"owner": owner, "token": token, "holder": holder_name(), "expires_at": expires_at}).encode()

