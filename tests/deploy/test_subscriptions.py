"""durapipe/deploy/subscriptions.py: the Event Grid subscription of each blob trigger."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from durapipe.deploy.subscriptions import parameters_document, subscription_entries, subscription_entry
from durapipe.core.errors import UsageError

BLOBS = "/blobServices/default/containers/durapipe/blobs/"


def test_the_subject_filter_is_the_path_around_its_name_field():
    entry = subscription_entry("scores", "batches/daily/{name}.csv")
    assert entry == {"name": "scores", "function": "blob_scores",
                     "subjectBeginsWith": BLOBS + "batches/daily/", "subjectEndsWith": ".csv"}


def test_a_path_without_a_name_field_is_refused():
    with pytest.raises(UsageError, match="holds no {name}"):
        subscription_entry("scores", "incoming/")


def test_two_triggers_that_would_share_a_subscription_name_are_refused():
    # Event Grid names take hyphens only, so score_in and score-in map to one subscription.
    triggers = [SimpleNamespace(name="score_in", path="a/{name}"), SimpleNamespace(name="score-in", path="b/{name}")]
    with pytest.raises(UsageError, match="would share the Event Grid subscription blob-score-in"):
        subscription_entries(triggers)


def test_the_parameters_document_sets_main_bicep_blob_triggers():
    document = parameters_document([subscription_entry("a", "in/{name}")])
    assert document["$schema"].endswith("deploymentParameters.json#")
    assert document["parameters"]["blobTriggers"]["value"][0]["function"] == "blob_a"
