"""The local host's blob poller: a blob still being written invokes nothing; an invocation carries the version it names."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from durapipe.core.errors import UsageError
from durapipe.host.app_loader import FunctionInfo, LoadedApp
from durapipe.host.blob_poller import DEFAULT_SETTLE_WINDOW_S, BlobPoller, blob_watches
from durapipe.store.base import Store
from durapipe.store.local import LocalStore

KEY = "incoming/slow.csv"
CHUNK = b"x" * 799 + b"\n"
CHUNKS = 8


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _app(**binding: Any) -> LoadedApp:
    trigger = {"type": "blobTrigger", "name": "blob", "path": "durapipe/incoming/{name}", **binding}
    info = FunctionInfo("score", "score", "blobTrigger", [trigger], lambda blob: None)
    return LoadedApp(Path("."), "main.py", None, {"score": info})


def _recorder() -> tuple[list[dict[str, Any]], Any]:
    calls: list[dict[str, Any]] = []

    def invoke(fn: FunctionInfo, blob: Any) -> None:
        calls.append({"etag": blob.blob_properties["ETag"], "data": blob.read()})

    return calls, invoke


def _write_chunk(store: Store, index: int) -> None:
    """Chunk `index` of KEY as a slow writer leaves it: in place in a folder (as `cp` does), a new commit in Blob storage."""
    if isinstance(store, LocalStore):
        path = store.root / KEY
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as out:
            out.write(CHUNK)
    else:
        store.put(KEY, CHUNK * (index + 1))


def test_a_blob_that_keeps_changing_invokes_nothing_until_it_is_unchanged_for_the_settle_window(store, tmp_path):
    clock, (calls, invoke) = Clock(), _recorder()
    poller = BlobPoller(store, blob_watches(_app(settleWindow=2.0), {}), invoke, tmp_path / "state", clock=clock)
    for index in range(CHUNKS):
        _write_chunk(store, index)
        poller.poll_once()
        clock.now += 0.5
    poller.poll_once()
    assert calls == []
    clock.now += 2.0
    poller.poll_once()
    poller.poll_once()
    assert calls == [{"etag": store.stat(KEY).etag, "data": CHUNK * CHUNKS}]


def test_a_blob_written_in_chunks_while_the_poller_runs_invokes_once_on_its_complete_content(store, tmp_path):
    calls, invoke = _recorder()
    poller = BlobPoller(store, blob_watches(_app(settleWindow=1.0), {}), invoke, tmp_path / "state", interval=0.05)
    poller.start()
    try:
        def write_slowly() -> None:
            for index in range(CHUNKS):
                _write_chunk(store, index)
                time.sleep(0.1)

        writer = threading.Thread(target=write_slowly)
        writer.start()
        writer.join()
        deadline = time.monotonic() + 20
        while not calls and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        poller.stop()
    poller.poll_once()  # one more look once the content is settled: nothing new to invoke
    assert [len(call["data"]) for call in calls] == [len(CHUNK) * CHUNKS]
    assert calls[0]["etag"] == store.stat(KEY).etag


def test_a_settle_window_of_0_invokes_a_blob_at_first_sight(store, tmp_path):
    calls, invoke = _recorder()
    store.put(KEY, b"a,b\n")
    BlobPoller(store, blob_watches(_app(settleWindow=0), {}), invoke, tmp_path / "state", clock=Clock()).poll_once()
    assert calls == [{"etag": store.stat(KEY).etag, "data": b"a,b\n"}]


def test_a_blob_trigger_without_a_settle_window_waits_the_hosts_default():
    (watch,) = blob_watches(_app(), {})
    assert watch.settle_window == DEFAULT_SETTLE_WINDOW_S == 2.0


@pytest.mark.parametrize("value", [-1, "soon", True, float("nan")])
def test_a_settle_window_that_is_not_a_number_of_seconds_stops_the_host_with_a_sentence(value):
    with pytest.raises(UsageError, match=r"The blob trigger 'score' has settleWindow .*; give a number of seconds"):
        blob_watches(_app(settleWindow=value), {})
