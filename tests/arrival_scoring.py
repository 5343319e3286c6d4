"""The one-step scoring pipeline and blob trigger the arrival tests share, and the app's store fixture."""
from __future__ import annotations

from typing import Iterator

import pytest

from durapipe import BlobTrigger, Definitions, Input, Output, pipeline, step
from durapipe.serving.service import Catalog, app_store
from durapipe.store.base import Store

KEY = "incoming/a.csv"


@step
def score(data: Input, scores: Output) -> None:
    """Score the rows."""


@pipeline
def scoring(data: Input) -> dict:
    """Score arriving data."""
    return {"scores": score(data=data).scores}


def scoring_catalog(**options) -> tuple[Catalog, BlobTrigger]:
    """A catalog serving `scoring`, started by blobs under incoming/ (trigger `arrive`, with `options`)."""
    trigger = BlobTrigger("arrive", pipeline=scoring, path="incoming/{name}", input="data", **options)
    return Catalog.from_definitions(Definitions(pipelines=[scoring], blob_triggers=[trigger])), trigger


@pytest.fixture
def app_on(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The app's store (DURAPIPE_STORE) set to `store`, as the function app opens it."""
    monkeypatch.setenv("DURAPIPE_STORE", store.url)
    app_store.cache_clear()
    yield store
    app_store.cache_clear()
