"""One blob trigger function per blob trigger of the definitions: an arriving blob starts its pipeline."""
import logging

import azure.durable_functions as df
import azure.functions as func

from activities import names
from durapipe.dsl.definitions import BlobTrigger
from durapipe.core.errors import DurapipeError, InvalidNameError, NotFoundError
from durapipe.serving.service import (BlobVersionGone, Catalog, app_store, arrival_request, blob_instance_id,
                                      unprepared_arrival)

CONTAINER = "durapipe"
log = logging.getLogger("durapipe.blob")


def blob_blueprint(trigger: BlobTrigger, catalog: Catalog) -> df.Blueprint:
    """The function `blob_<name>`: start the arrival of each new blob version; a redelivered one starts nothing.

    The run reads the version the trigger names (its ETag), never a later one: a blob overwritten before
    its arrival reads it starts nothing, since its newer version is delivered on its own.
    """
    bp = df.Blueprint()

    async def on_blob(blob: func.InputStream, client: df.DurableOrchestrationClient) -> None:
        key = blob.name[len(CONTAINER) + 1:] if blob.name.startswith(f"{CONTAINER}/") else blob.name
        etag = _etag_of(blob)
        if not etag:  # a trigger without the blob's properties: the version there now
            try:
                etag = app_store().stat(key).etag
            except (NotFoundError, InvalidNameError) as exc:
                log.warning("The blob %r is not started: %s", key, exc)
                return
        arrival_id = blob_instance_id(CONTAINER, key, etag)
        existing = await client.get_status(arrival_id)
        if existing is not None and getattr(existing, "runtime_status", None):
            log.info("blob %s (ETag %s) already started %s", key, etag, arrival_id)
            return
        try:
            arrival = arrival_request(catalog, trigger, app_store(), key, etag, arrival_id)
        except BlobVersionGone as exc:
            log.info("%s", exc)
            return
        except InvalidNameError as exc:
            # A name no key may be built from (the blob's, or a delivery's from it): trying again cannot help.
            log.warning("The blob %r is not started: %s", key, exc)
            return
        except DurapipeError as exc:
            # Its run cannot be prepared yet (a `model:NAME:champion` with no champion): the first of the
            # trigger's tries failed; the arrival tries again as for a failed run, `tries` times in all.
            log.warning("The blob %r could not start its run (try 1 of %d): %s", key, trigger.tries, exc)
            arrival = unprepared_arrival(trigger, key, etag, arrival_id, str(exc))
        await client.start_new(names.BLOB_ARRIVAL, arrival_id, arrival)
        log.info("blob %s (ETag %s) started %s", key, etag, arrival_id)

    on_blob.__name__ = on_blob.__qualname__ = f"blob_{trigger.name}"
    bp.function_name(f"blob_{trigger.name}")(
        bp.blob_trigger(arg_name="blob", path=f"{CONTAINER}/{trigger.path}", connection="AzureWebJobsStorage",
                        source=func.BlobSource.EVENT_GRID, settle_window=trigger.settle_window)(
            bp.durable_client_input(client_name="client")(on_blob)))
    return bp


def _etag_of(blob: func.InputStream) -> str:
    """The ETag of the version the trigger delivered, quoted as the store spells it ('"0x8D..."'), or ''."""
    properties = blob.blob_properties or {}
    etag = str(properties.get("ETag") or properties.get("Etag") or properties.get("etag") or "")
    return etag if not etag or etag.startswith('"') else f'"{etag}"'
