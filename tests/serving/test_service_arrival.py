"""A blob arrival's run reads the version its id names: the blob's content at the arrival's ETag, or nothing starts."""
from __future__ import annotations

import pytest

from durapipe.catalog import data_assets
from durapipe.core.errors import NotFoundError
from durapipe.serving.service import BlobVersionGone, arrival_request, blob_instance_id
from durapipe.store.artifacts import read_artifact_bytes
from tests.arrival_scoring import KEY, scoring_catalog



def _arrival(catalog, trigger, store, etag):
    return arrival_request(catalog, trigger, store, KEY, etag, blob_instance_id("durapipe", KEY, etag))


def test_an_arrival_binds_its_versions_content_even_when_the_blob_is_overwritten_before_the_run_plans(store):
    catalog, trigger = scoring_catalog()
    store.put(KEY, b"1,2\n")
    etag = store.stat(KEY).etag
    arrival = _arrival(catalog, trigger, store, etag)
    store.put(KEY, b"3,4\n5,6\n")
    bound = arrival["request"]["inputs"]["data"]
    assert read_artifact_bytes(store, bound["artifact"]) == b"1,2\n"
    assert arrival["request"]["trigger"]["inputs"]["data"] == {"key": KEY, "etag": etag,
                                                                "hash": bound["artifact"]["hash"]}


def test_an_arrival_whose_blob_was_overwritten_before_it_was_read_starts_nothing(store):
    catalog, trigger = scoring_catalog()
    store.put(KEY, b"1,2\n")
    older = store.stat(KEY).etag
    store.put(KEY, b"3,4\n5,6\n")
    with pytest.raises(BlobVersionGone, match=r"no longer holds the version \(ETag .*\) that arrived"):
        _arrival(catalog, trigger, store, older)


def test_an_arrival_whose_blob_was_deleted_before_it_was_read_starts_nothing(store):
    catalog, trigger = scoring_catalog()
    store.put(KEY, b"1,2\n")
    etag = store.stat(KEY).etag
    store.delete(KEY)
    with pytest.raises(BlobVersionGone):
        _arrival(catalog, trigger, store, etag)


def test_an_arrival_registered_as_data_registers_its_versions_content_and_etag(store):
    catalog, trigger = scoring_catalog(register_data="incoming")
    store.put(KEY, b"1,2\n")
    etag = store.stat(KEY).etag
    arrival = _arrival(catalog, trigger, store, etag)
    store.put(KEY, b"3,4\n5,6\n")
    (version,) = data_assets.list_versions(store, "incoming")
    assert read_artifact_bytes(store, version["artifact"]) == b"1,2\n"
    assert version["source"] == {"kind": "blob", "key": KEY, "etag": etag}
    assert arrival["request"]["inputs"]["data"] == {"artifact": version["artifact"]}


def test_a_registered_arrival_overwritten_before_it_was_read_registers_nothing(store):
    catalog, trigger = scoring_catalog(register_data="incoming")
    store.put(KEY, b"1,2\n")
    older = store.stat(KEY).etag
    store.put(KEY, b"3,4\n5,6\n")
    with pytest.raises(BlobVersionGone):
        _arrival(catalog, trigger, store, older)
    with pytest.raises(NotFoundError):
        data_assets.list_versions(store, "incoming")
