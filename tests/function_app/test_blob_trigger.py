"""The blob trigger function starts the arrival of the version its trigger names, and nothing for a version gone."""
from __future__ import annotations

import asyncio
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from durapipe.serving.service import blob_instance_id
from durapipe.store.artifacts import read_artifact_bytes
from function_app.blob_trigger import blob_blueprint
from tests.arrival_scoring import KEY, app_on, scoring_catalog  # noqa: F401 (app_on: a fixture)



class Client:
    """What the handler asks of its durable client: whether an instance exists, and to start one."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str, Any]] = []

    async def get_status(self, instance_id: str) -> None:
        return None

    async def start_new(self, name: str, instance_id: str, payload: Any) -> str:
        self.started.append((name, instance_id, payload))
        return instance_id


def _on_blob():
    catalog, trigger = scoring_catalog()
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
