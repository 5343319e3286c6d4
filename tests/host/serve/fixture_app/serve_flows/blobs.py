"""Blob triggers that record each invocation in the folder named by SERVE_FIXTURE_RECORD."""
import json
import os
import time
import uuid
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


def _record(kind: str, value: dict) -> None:
    folder = Path(os.environ["SERVE_FIXTURE_RECORD"]) / kind
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time():.6f}-{uuid.uuid4().hex}.json"
    # Written under a dot name, then renamed, so a reader never sees a half-written record.
    (folder / f".{name}.tmp").write_text(json.dumps(value))
    os.replace(folder / f".{name}.tmp", folder / name)


# settleWindow 0: these functions record invocations; settling is tested in tests/host/test_blob_poller.py.
@bp.blob_trigger(arg_name="blob", path="durapipe/incoming/{name}", connection="AzureWebJobsStorage",
                 source="EventGrid", settle_window=0)
@bp.durable_client_input(client_name="client")
async def score_arrived_blob(blob: func.InputStream, client: df.DurableOrchestrationClient) -> None:
    _record("blobs", {"name": blob.name, "etag": blob.blob_properties["ETag"], "length": blob.length,
                      "data": blob.read().decode(), "uri": blob.uri})


@bp.blob_trigger(arg_name="blob", path="durapipe/failing/{name}", connection="AzureWebJobsStorage",
                 source="EventGrid", settle_window=0)
def always_fails(blob: func.InputStream) -> None:
    _record("failures", {"name": blob.name})
    raise ValueError("cannot score this blob")
