"""Blob arrivals registered as data versions: the run reads the version, a redelivery adds none."""
from __future__ import annotations

import pytest

from durapipe import BlobTrigger, Definitions, Input, Output, pipeline, step
from durapipe.catalog import data_assets
from durapipe.core.errors import DefinitionError
from durapipe.serving.service import Catalog, RequestError, arrival_request, run_request_from_body


@step
def score(data: Input, scores: Output) -> None:
    """Score the rows."""


@pipeline
def scoring(data: Input) -> dict:
    """Score arriving data."""
    return {"scores": score(data=data).scores}


def _catalog() -> tuple[Catalog, BlobTrigger]:
    trigger = BlobTrigger("arrive", pipeline=scoring, path="incoming/{name}", input="data", register_data="incoming")
    return Catalog.from_definitions(Definitions(pipelines=[scoring], blob_triggers=[trigger])), trigger


def test_each_arrival_becomes_a_data_version_that_the_run_reads(store):
    catalog, trigger = _catalog()
    store.put("incoming/a.csv", b"1,2\n")
    first = arrival_request(catalog, trigger, store, "incoming/a.csv", store.stat("incoming/a.csv").etag, "blob-1")
    store.put("incoming/b.csv", b"3,4\n")
    second = arrival_request(catalog, trigger, store, "incoming/b.csv", store.stat("incoming/b.csv").etag, "blob-2")
    versions = data_assets.list_versions(store, "incoming")
    assert [v["source"]["key"] for v in versions] == ["incoming/a.csv", "incoming/b.csv"]
    assert first["request"]["inputs"]["data"] == {"artifact": versions[0]["artifact"]}
    assert second["request"]["trigger"]["inputs"]["data"]["reference"] == "data:incoming:2"


def test_a_redelivered_arrival_registers_no_new_version(store):
    catalog, trigger = _catalog()
    store.put("incoming/a.csv", b"1,2\n")
    etag = store.stat("incoming/a.csv").etag
    arrival_request(catalog, trigger, store, "incoming/a.csv", etag, "blob-1")
    again = arrival_request(catalog, trigger, store, "incoming/a.csv", etag, "blob-1")
    assert again["request"]["trigger"]["inputs"]["data"]["version"] == 1
    assert len(data_assets.list_versions(store, "incoming")) == 1


def test_a_bad_register_data_name_is_refused_where_declared():
    with pytest.raises(DefinitionError, match="register_data"):
        BlobTrigger("arrive", pipeline=scoring, register_data="../x")


def test_a_trigger_that_publishes_an_output_carries_it_in_the_run_request(store):
    trigger = BlobTrigger("arrive", pipeline=scoring, publish={"scores": "scores"})
    catalog = Catalog.from_definitions(Definitions(pipelines=[scoring], blob_triggers=[trigger]))
    store.put("incoming/a.csv", b"1,2\n")
    request = arrival_request(catalog, trigger, store, "incoming/a.csv", store.stat("incoming/a.csv").etag,
                              "blob-1")["request"]
    assert request["publish"] == {"scores": "scores"}


def test_publishing_an_output_the_pipeline_lacks_is_refused_where_declared():
    with pytest.raises(DefinitionError, match="publish names 'nope'"):
        Definitions(pipelines=[scoring], blob_triggers=[BlobTrigger("arrive", pipeline=scoring,
                                                                    publish={"nope": "scores"})])


def test_a_schedule_input_naming_a_data_asset_runs_on_its_latest_version_and_records_it(store, tmp_path):
    from datetime import datetime, timezone

    from durapipe import Schedule
    from durapipe.serving.service import schedule_request

    schedule = Schedule("nightly", pipeline=scoring, inputs={"data": "data:daily"})
    catalog = Catalog.from_definitions(Definitions(pipelines=[scoring], schedules=[schedule]))
    (tmp_path / "d.csv").write_text("1")
    data_assets.register_path(store, "daily", tmp_path / "d.csv")
    (tmp_path / "d.csv").write_text("2")
    second = data_assets.register_path(store, "daily", tmp_path / "d.csv")
    request = schedule_request(catalog, schedule, store, "nightly-tick", datetime.now(timezone.utc))
    assert request["inputs"]["data"] == {"artifact": second["artifact"]}
    assert request["trigger"]["inputs"]["data"]["version"] == 2


@pytest.mark.parametrize("value, sentence", [
    ("../etc/passwd", "The blob name of input 'data' '../etc/passwd' is not valid: each '/'-separated part"),
    ("model:clf", "The input 'data' 'model:clf' is not a model reference"),
])
def test_a_bad_input_over_http_is_one_sentence_naming_the_input_once(store, value, sentence):
    catalog, _ = _catalog()
    with pytest.raises(RequestError) as caught:
        run_request_from_body(catalog, catalog.get("scoring"), {"inputs": {"data": value}}, store, "r-1",
                              {"kind": "http"})
    assert caught.value.status == 400 and str(caught.value).startswith(sentence)
    assert "blob name of blob name" not in str(caught.value)
