"""Blob triggers under `durapipe serve`: each blob version invokes once; failures end in poison."""
import json
import time
import uuid

import pytest

from durapipe.store.url import open_store
from tests.host.serve.conftest import POLL_INTERVAL_S, start_serve, wait_for

SETTLE_S = 10 * POLL_INTERVAL_S  # enough polls for a duplicate invocation to show up


@pytest.fixture(scope="module")
def served_on_azurite(azurite, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-azurite")
    running = start_serve(tmp, f"{azurite}/t{uuid.uuid4().hex[:24]}")
    yield running
    assert running.stop() == 0


@pytest.fixture(params=["local", "azurite"])
def server(request):
    return request.getfixturevalue("served" if request.param == "local" else "served_on_azurite")


def invocations(server, key):
    return [r for r in server.recorded("blobs") if r["name"] == f"durapipe/{key}"]


def test_a_new_blob_invokes_the_function_once_with_its_name_and_etag(server):
    store = open_store(server.store)
    key = f"incoming/{uuid.uuid4().hex}.csv"
    store.put(key, b"a,b\n1,2\n")
    first = wait_for(lambda: invocations(server, key))
    time.sleep(SETTLE_S)
    assert invocations(server, key) == first and len(first) == 1
    assert first[0]["etag"] == store.stat(key).etag and first[0]["data"] == "a,b\n1,2\n"
    assert first[0]["length"] == 8 and first[0]["uri"].endswith(key)


def test_an_overwritten_blob_invokes_again_once(server):
    store = open_store(server.store)
    key = f"incoming/{uuid.uuid4().hex}.csv"
    store.put(key, b"v1")
    wait_for(lambda: invocations(server, key))
    store.put(key, b"version 2")
    wait_for(lambda: len(invocations(server, key)) == 2)
    time.sleep(SETTLE_S)
    assert [r["data"] for r in invocations(server, key)] == ["v1", "version 2"]


def test_a_failing_blob_is_poisoned_after_five_tries_and_not_retried(server):
    store = open_store(server.store)
    key = f"failing/{uuid.uuid4().hex}.csv"
    store.put(key, b"bad")
    poison = json.loads(wait_for(lambda: store.exists(f"poison/{key}.json") and store.get(f"poison/{key}.json")))
    assert poison["tries"] == 5 and "cannot score this blob" in poison["reason"]
    assert poison["etag"] == store.stat(key).etag and poison["blob"] == f"durapipe/{key}"
    time.sleep(SETTLE_S)
    assert len([r for r in server.recorded("failures") if r["name"] == f"durapipe/{key}"]) == 5
