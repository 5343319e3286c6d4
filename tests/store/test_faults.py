"""Storage faults injected in front of Azurite: a read that cannot decide raises, and nothing is half-committed."""
from __future__ import annotations

import time
import uuid

import pytest

from durapipe.core.errors import StoreError
from durapipe.store.records import commit_step_record, find_step_record
from durapipe.store import blob
from durapipe.store.blob import BlobStore
from durapipe.store.url import AZURITE_ACCOUNT, AZURITE_KEY

FINGERPRINT = "f" * 64


def _store(url: str, retry_total: int = 0) -> BlobStore:
    return BlobStore(url, f"faults{uuid.uuid4().hex[:12]}",
                     credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY},
                     retry_total=retry_total)


def _record() -> dict:
    return {"schema": 1, "fingerprint": FINGERPRINT, "step": "s", "outputs": {}}


@pytest.mark.parametrize("mode", ["503", "reset"])
def test_a_read_that_cannot_decide_raises_instead_of_answering_not_found(fault_proxy, mode):
    store = _store(fault_proxy.url)
    store.put("steps/x.json", b"{}")
    fault_proxy.set(mode)
    for read in (lambda: store.exists("steps/x.json"), lambda: store.get("steps/x.json"),
                 lambda: find_step_record(store, FINGERPRINT), lambda: list(store.list("steps/"))):
        with pytest.raises(StoreError):
            read()


def test_a_stalled_store_raises_within_its_read_timeout(fault_proxy, monkeypatch):
    monkeypatch.setitem(blob.CLIENT_OPTIONS, "read_timeout", 2)
    store = _store(fault_proxy.url)
    store.put("steps/x.json", b"{}")
    fault_proxy.set("stall")
    started = time.monotonic()
    with pytest.raises(StoreError):
        store.get("steps/x.json")
    assert time.monotonic() - started < 20


def test_a_commit_that_fails_commits_nothing_and_a_retry_commits_once(fault_proxy):
    # One retry: after the outage the client's pooled connection to the proxy is gone, as on a real network.
    store = _store(fault_proxy.url, retry_total=1)
    store.exists("steps/warm.json")  # the container exists before the faults start
    fault_proxy.set("503")
    with pytest.raises(StoreError):
        commit_step_record(store, _record())
    fault_proxy.set("pass")
    assert find_step_record(store, FINGERPRINT) is None
    assert commit_step_record(store, _record()) == _record()
    assert list(store.list("steps/")) == [f"steps/{FINGERPRINT}.json"]
