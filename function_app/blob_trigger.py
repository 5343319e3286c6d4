"""Batch scoring on blob arrival: a CSV under `incoming/` is scored by the champion model."""
import logging
import os

import azure.durable_functions as df
import azure.functions as func

from activities import names
from durapipe.service import app_store, arrival_request, blob_instance_id
from function_app.catalog import BATCH_SCORE, CHAMPION_MODEL

bp = df.Blueprint()
CONTAINER = "durapipe"
log = logging.getLogger("durapipe.blob")


@bp.function_name("score_arrived_blob")
@bp.blob_trigger(arg_name="blob", path=f"{CONTAINER}/incoming/{{name}}", connection="AzureWebJobsStorage",
                 source=func.BlobSource.EVENT_GRID)
@bp.durable_client_input(client_name="client")
async def score_arrived_blob(blob: func.InputStream, client: df.DurableOrchestrationClient) -> None:
    """Start batch scoring of the arrived blob; a redelivered blob version starts nothing."""
    key = blob.name[len(CONTAINER) + 1:] if blob.name.startswith(f"{CONTAINER}/") else blob.name
    properties = blob.blob_properties or {}
    etag = str(properties.get("ETag") or properties.get("Etag") or properties.get("etag") or "")
    run_id = blob_instance_id(CONTAINER, key, etag)
    existing = await client.get_status(run_id)
    if existing is not None and getattr(existing, "runtime_status", None):
        log.info("blob %s (ETag %s) already started run %s", key, etag, run_id)
        return
    request = arrival_request(BATCH_SCORE, app_store(), key, etag, run_id, CHAMPION_MODEL,
                              scores_prefix=os.environ.get("DURAPIPE_SCORES_PREFIX", "scores/"))
    await client.start_new(names.PIPELINE_RUN, run_id, request)
    log.info("blob %s (ETag %s) started run %s", key, etag, run_id)
