"""The blob trigger function starts the arrival of the version its trigger names, and nothing for a version gone."""
from __future__ import annotations

import asyncio
from typing import Any, Iterator

import azure.durable_functions as df
import azure.functions as func
import pytest

from durapipe import BlobTrigger, Definitions, Input, Output, pipeline, step
from durapipe.serving.service import Catalog, app_store, blob_instance_id
from durapipe.store.artifacts import read_artifact_bytes
from durapipe.store.base import Store
from function_app.blob_trigger import blob_blueprint

KEY = "incoming/a.csv"


@step
def score(data: Input, scores: Output) -> None:
    """Score the rows."""


@pipeline
def scoring(data: Input) -> dict:
    """Score arriving data."""
    return {"scores": score(data=data).scores}


class Client:
    """What the handler asks of its durable client: whether an instance exists, and to start one."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str, Any]] = []

    async def get_status(self, instance_id: str) -> None:
        return None

    async def start_new(self, name: str, instance_id: str, payload: Any) -> str:
        self.started.append((name, instance_id, payload))
        return instance_id


@pytest.fixture
def app_on(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The app's store (DURAPIPE_STORE) set to `store`, as the function app opens it."""
    monkeypatch.setenv("DURAPIPE_STORE", store.url)
    app_store.cache_clear()
    yield store
    app_store.cache_clear()


def _on_blob():
    trigger = BlobTrigger("arrive", pipeline=scoring, path="incoming/{name}", input="data")
    catalog = Catalog.from_definitions(Definitions(pipelines=[scoring], blob_triggers=[trigger]))
    app = df.DFApp()
    app.register_functions(blob_blueprint(trigger, catalog))
    (function,) = app.get_functions()
    return function.get_user_function().__wrapped__  # the handler itself, under the SDK's client middleware


def _deliver(etag: str) -> Client:
    client = Client()
    blob = func.blob.InputStream(data=b"", name=f"durapipe/{KEY}", blob_properties={"ETag": etag})
    asyncio.run(_on_blob()(blob=blob, client=client))
    return client


def test_an_arrival_starts_on_the_content_of_the_etag_azure_delivered_unquoted(app_on):
    app_on.put(KEY, b"1,2\n")
    etag = app_on.stat(KEY).etag
    (started,) = _deliver(etag.strip('"')).started
    assert started[1] == blob_instance_id("durapipe", KEY, etag)
    assert read_artifact_bytes(app_on, started[2]["request"]["inputs"]["data"]["artifact"]) == b"1,2\n"


def test_a_version_overwritten_before_the_function_read_it_starts_nothing(app_on):
    app_on.put(KEY, b"1,2\n")
    older = app_on.stat(KEY).etag
    app_on.put(KEY, b"3,4\n")
    assert _deliver(older).started == []
