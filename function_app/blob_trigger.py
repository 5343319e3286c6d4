"""One blob trigger function per blob trigger of the definitions: an arriving blob starts its pipeline."""
import logging

import azure.durable_functions as df
import azure.functions as func

from activities import names
from durapipe.dsl.definitions import BlobTrigger
from durapipe.core.errors import DurapipeError, InvalidNameError
from durapipe.serving.service import Catalog, app_store, arrival_request, blob_instance_id, unprepared_arrival

CONTAINER = "durapipe"
log = logging.getLogger("durapipe.blob")


def blob_blueprint(trigger: BlobTrigger, catalog: Catalog) -> df.Blueprint:
    """The function `blob_<name>`: start the arrival of each new blob version; a redelivered one starts nothing."""
    bp = df.Blueprint()

    async def on_blob(blob: func.InputStream, client: df.DurableOrchestrationClient) -> None:
        key = blob.name[len(CONTAINER) + 1:] if blob.name.startswith(f"{CONTAINER}/") else blob.name
        properties = blob.blob_properties or {}
        etag = str(properties.get("ETag") or properties.get("Etag") or properties.get("etag") or "")
        arrival_id = blob_instance_id(CONTAINER, key, etag)
        existing = await client.get_status(arrival_id)
        if existing is not None and getattr(existing, "runtime_status", None):
            log.info("blob %s (ETag %s) already started %s", key, etag, arrival_id)
            return
        try:
            arrival = arrival_request(catalog, trigger, app_store(), key, etag, arrival_id)
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
                        source=func.BlobSource.EVENT_GRID)(
            bp.durable_client_input(client_name="client")(on_blob)))
    return bp
