"""The arrival activity's adapter: build a blob arrival's run request again, for a try after one that could not."""
from __future__ import annotations

import logging
from typing import Any

from durapipe.core.errors import DurapipeError
from durapipe.model.contracts import ArrivalToPrepare, PreparedArrival, decode
from durapipe.serving.service import BlobVersionGone, Catalog, app_store, arrival_request

log = logging.getLogger("durapipe.blob")


def prepare_arrival(payload: Any, catalog: Catalog) -> PreparedArrival:
    """The run request of the arrival, or the one sentence saying why it cannot be built (a failed try), or why
    it starts nothing (the blob no longer holds the arrival's version: its newer version runs instead)."""
    arrival: ArrivalToPrepare = decode(payload)
    trigger = catalog.definitions.blob_triggers.get(arrival["blob_trigger"])
    if trigger is None:
        return {"error": f"This app no longer serves the blob trigger {arrival['blob_trigger']}."}
    try:
        built = arrival_request(catalog, trigger, app_store(), arrival["key"], arrival["etag"], arrival["arrival_id"])
    except BlobVersionGone as exc:
        log.info("%s", exc)
        return {"superseded": str(exc)}
    except DurapipeError as exc:
        log.warning("The blob %r could not start its run (try %d of %d): %s", arrival["key"], arrival["attempt"],
                    arrival["tries"], exc)
        return {"error": str(exc)}
    return {"request": built["request"]}
