"""`prepare_arrival` builds a later try's run on the version its arrival names, or says the blob moved on."""
from __future__ import annotations

from activities.arrival import prepare_arrival
from durapipe.model import contracts
from durapipe.store.artifacts import read_artifact_bytes
from tests.arrival_scoring import KEY, app_on, scoring_catalog  # noqa: F401 (app_on: a fixture)



def _to_prepare(etag: str) -> dict:
    return {"schema": contracts.SCHEMA_VERSION, "arrival_id": "blob-abc", "key": KEY, "etag": etag,
            "blob_trigger": "arrive", "attempt": 2, "tries": 3}


def test_a_later_try_binds_the_version_its_arrival_names(app_on):
    app_on.put(KEY, b"1,2\n")
    prepared = prepare_arrival(_to_prepare(app_on.stat(KEY).etag), scoring_catalog()[0])
    assert read_artifact_bytes(app_on, prepared["request"]["inputs"]["data"]["artifact"]) == b"1,2\n"


def test_a_later_try_of_a_blob_overwritten_since_it_arrived_is_superseded(app_on):
    app_on.put(KEY, b"1,2\n")
    older = app_on.stat(KEY).etag
    app_on.put(KEY, b"3,4\n")
    prepared = prepare_arrival(_to_prepare(older), scoring_catalog()[0])
    assert set(prepared) == {"superseded"} and "no longer holds the version" in prepared["superseded"]
