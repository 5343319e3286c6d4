"""Artifact and log downloads stream from the store (both stores): Content-Length, byte ranges, and the serve
process's memory flat while a large artifact downloads."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from durapipe.store.artifacts import put_artifact
from durapipe.store.keys import artifact_key
from durapipe.store.local import LocalStore
from durapipe.store.records import write_run_record
from tests.http_api.conftest import KEY, App, start_app

LARGE = 256 * 1024 * 1024
RSS_GROWTH_LIMIT = 64 * 1024 * 1024
# Over one store chunk (4 MiB): a range may cross a chunk boundary.
SMALL = 5 * 1024 * 1024 + 17


@pytest.fixture(scope="module", params=["local", "azurite"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """A serve of the real app over each store."""
    tmp = tmp_path_factory.mktemp("downloads")
    if request.param == "local":
        url = str(tmp / "store")
    else:
        url = f"{request.getfixturevalue('azurite')}/dl{uuid.uuid4().hex[:20]}"
    running = start_app(tmp, url)
    yield running
    assert running.stop() == 0


def _pattern(size: int) -> bytes:
    block = hashlib.sha256(b"durapipe").digest() * 4096  # 128 KiB, not all one byte
    return (block * (size // len(block) + 1))[:size]


def _run_with(app: App, outputs: dict[str, Any], steps: dict[str, Any] | None = None) -> str:
    run_id = f"dl-{uuid.uuid4().hex[:12]}"
    write_run_record(app.store, {"schema": 1, "run_id": run_id, "pipeline": "retrain", "status": "completed",
                                 "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:00:01+00:00",
                                 "error": None, "steps": steps or {}, "outputs": outputs})
    return run_id


@pytest.fixture(scope="module")
def small(served: App, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run whose output `small` and whose step log are the same SMALL bytes."""
    path = tmp_path_factory.mktemp("small") / "small.bin"
    data = _pattern(SMALL)
    path.write_bytes(data)
    ref = put_artifact(served.store, path)
    run_id = _run_with(served, {"small": ref}, {"train": {"status": "ran", "fingerprint": "f" * 64, "log": ref}})
    return {"run_id": run_id, "ref": ref, "data": data}


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"x-functions-key": KEY, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _artifact_url(app: App, run: dict[str, Any]) -> str:
    return f"{app.api}/runs/{run['run_id']}/artifacts/{run['ref']['hash']}"


def test_a_download_says_its_length_and_that_it_takes_ranges(served, small):
    status, headers, body = _get(_artifact_url(served, small))
    assert status == 200 and body == small["data"]
    assert headers["Content-Length"] == str(SMALL) and headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("header,start,end", [("bytes=0-9", 0, 9), ("bytes=4194300-4194310", 4194300, 4194310),
                                              ("bytes=-5", SMALL - 5, SMALL - 1),
                                              ("bytes=5000000-", 5000000, SMALL - 1),
                                              ("bytes=100-999999999", 100, SMALL - 1)])
def test_a_byte_range_is_a_206_with_exactly_those_bytes(served, small, header, start, end):
    status, headers, body = _get(_artifact_url(served, small), {"Range": header})
    assert status == 206, body[:200]
    assert headers["Content-Range"] == f"bytes {start}-{end}/{SMALL}"
    assert headers["Content-Length"] == str(end - start + 1) and body == small["data"][start:end + 1]


@pytest.mark.parametrize("header", [f"bytes={SMALL}-", f"bytes={SMALL + 10}-{SMALL + 20}", "bytes=-0"])
def test_an_unsatisfiable_range_is_a_416_naming_the_size(served, small, header):
    status, headers, body = _get(_artifact_url(served, small), {"Range": header})
    assert status == 416 and headers["Content-Range"] == f"bytes */{SMALL}"
    error = json.loads(body)["error"]
    assert str(SMALL) in error and error.endswith(".")


@pytest.mark.parametrize("header", ["bytes=abc", "lines=0-5", "bytes=0-1,5-6", "bytes=9-3"])
def test_a_range_it_does_not_serve_gets_the_whole_artifact(served, small, header):
    status, headers, body = _get(_artifact_url(served, small), {"Range": header})
    assert status == 200 and body == small["data"] and "Content-Range" not in headers


def test_a_step_log_streams_with_its_length_and_ranges(served, small):
    url = f"{served.api}/runs/{small['run_id']}/steps/train/log"
    status, headers, body = _get(url)
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Length"] == str(SMALL) and body == small["data"]
    status, headers, body = _get(url, {"Range": "bytes=10-19"})
    assert status == 206 and body == small["data"][10:20] and headers["Content-Range"] == f"bytes 10-19/{SMALL}"


def test_a_corrupt_artifact_download_is_cut_short_and_the_artifact_quarantined(served, tmp_path):
    data = _pattern(SMALL - 1)  # two store chunks; the hash is known wrong only after the last
    path = tmp_path / "doomed.bin"
    path.write_bytes(data)
    ref = put_artifact(served.store, path)
    served.store.put(artifact_key(ref["hash"]), data[:-1] + b"X")  # same size, other bytes
    run = {"run_id": _run_with(served, {"doomed": ref}), "ref": ref}
    request = urllib.request.Request(_artifact_url(served, run), headers={"x-functions-key": KEY})
    with pytest.raises(http.client.IncompleteRead):
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
    assert not served.store.exists(artifact_key(ref["hash"]))
    assert any(key.endswith(ref["hash"]) for key in served.store.list("quarantine/"))


def _write_large(store: LocalStore) -> dict[str, Any]:
    """Write a LARGE artifact straight into a folder store (hashed as written, renamed to its key)."""
    temp = store.root / f".large-{uuid.uuid4().hex}"
    hasher, block = hashlib.sha256(), _pattern(4 * 1024 * 1024)
    with open(temp, "wb") as out:
        for index in range(LARGE // len(block)):
            chunk = index.to_bytes(8, "big") + block[8:]
            hasher.update(chunk)
            out.write(chunk)
    digest = hasher.hexdigest()
    target = store.root / artifact_key(digest)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, target)
    return {"hash": digest, "kind": "file", "size": LARGE}


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


# Over the folder store: written straight into it in a second; the blob store streams through the same front.
@pytest.mark.parametrize("served", ["local"], indirect=True)
def test_a_large_artifact_downloads_with_the_serve_process_memory_flat(served):
    ref = _write_large(served.store)
    run = {"run_id": _run_with(served, {"large": ref}), "ref": ref}
    _get(f"{served.api}/pipelines")  # warm: the first request imports what serving needs
    baseline, peak, done = _rss(served.process.pid), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss(served.process.pid))
            done.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    hasher, received = hashlib.sha256(), 0
    try:
        request_ = urllib.request.Request(_artifact_url(served, run), headers={"x-functions-key": KEY})
        with urllib.request.urlopen(request_, timeout=120) as response:
            assert response.headers["Content-Length"] == str(LARGE)
            while chunk := response.read(1 << 20):
                hasher.update(chunk)
                received += len(chunk)
    finally:
        done.set()
        sampler.join()
        served.store.delete(artifact_key(ref["hash"]))
    assert received == LARGE and hasher.hexdigest() == ref["hash"]
    assert peak[0] - baseline < RSS_GROWTH_LIMIT, f"serve grew by {(peak[0] - baseline) >> 20} MiB"
