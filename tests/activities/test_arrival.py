"""`prepare_arrival` builds a later try's run on the version its arrival names, or says the blob moved on."""
from __future__ import annotations

from typing import Iterator

import pytest

from activities.arrival import prepare_arrival
from durapipe import BlobTrigger, Definitions, Input, Output, pipeline, step
from durapipe.model import contracts
from durapipe.serving.service import Catalog, app_store
from durapipe.store.artifacts import read_artifact_bytes
from durapipe.store.base import Store

KEY = "incoming/a.csv"


@step
def score(data: Input, scores: Output) -> None:
    """Score the rows."""


@pipeline
def scoring(data: Input) -> dict:
    """Score arriving data."""
    return {"scores": score(data=data).scores}


@pytest.fixture
def app_on(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The app's store (DURAPIPE_STORE) set to `store`, as the function app opens it."""
    monkeypatch.setenv("DURAPIPE_STORE", store.url)
    app_store.cache_clear()
    yield store
    app_store.cache_clear()


def _to_prepare(etag: str) -> dict:
    return {"schema": contracts.SCHEMA_VERSION, "arrival_id": "blob-abc", "key": KEY, "etag": etag,
            "blob_trigger": "arrive", "attempt": 2, "tries": 3}


def _catalog() -> Catalog:
    trigger = BlobTrigger("arrive", pipeline=scoring, path="incoming/{name}", input="data")
    return Catalog.from_definitions(Definitions(pipelines=[scoring], blob_triggers=[trigger]))


def test_a_later_try_binds_the_version_its_arrival_names(app_on):
    app_on.put(KEY, b"1,2\n")
    prepared = prepare_arrival(_to_prepare(app_on.stat(KEY).etag), _catalog())
    assert read_artifact_bytes(app_on, prepared["request"]["inputs"]["data"]["artifact"]) == b"1,2\n"


def test_a_later_try_of_a_blob_overwritten_since_it_arrived_is_superseded(app_on):
    app_on.put(KEY, b"1,2\n")
    older = app_on.stat(KEY).etag
    app_on.put(KEY, b"3,4\n")
    prepared = prepare_arrival(_to_prepare(older), _catalog())
    assert set(prepared) == {"superseded"} and "no longer holds the version" in prepared["superseded"]
