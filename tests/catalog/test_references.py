"""Input references: blob names, the newest blob under a prefix, and registered model versions."""
from __future__ import annotations

import json
import time

import pytest

from durapipe.core.errors import DurapipeError, InvalidNameError
from durapipe.model.references import check_reference
from durapipe.catalog.references import resolve_inputs, resolve_reference
from durapipe.store.artifacts import put_artifact


@pytest.mark.parametrize("value", ["incoming/a.csv", "newest:training/", "model:m:champion", "model:m:3",
                                   "model:m:champion:scaler"])
def test_well_formed_references_are_accepted(value):
    assert check_reference(value) == value


@pytest.mark.parametrize("value", ["/etc/passwd", "../x", "model:m", "model:m:0", "model:m:latest", "model:../x:1",
                                   "newest:../", 3, None])
def test_malformed_references_are_refused_with_a_sentence(value):
    with pytest.raises(InvalidNameError):
        check_reference(value)


def test_newest_picks_the_blob_written_last_and_nothing_when_the_prefix_is_empty(store):
    assert resolve_reference(store, "newest:training/").source is None
    store.put("training/a.csv", b"a")
    store.put("training/b.csv", b"b")
    time.sleep(1.1)  # Blob storage keeps Last-Modified to the second
    store.put("training/a.csv", b"a again")
    resolved = resolve_reference(store, "newest:training/")
    assert resolved.source == {"key": "training/a.csv"} and resolved.note["key"] == "training/a.csv"


def test_a_blob_name_that_is_not_in_the_store_is_an_error(store):
    with pytest.raises(DurapipeError, match="not in the store"):
        resolve_reference(store, "incoming/missing.csv")


def _register(store, tmp_path, version: int, champion: bool) -> dict:
    (tmp_path / f"model{version}").write_text(f"model {version}")
    (tmp_path / f"scaler{version}").write_text(f"scaler {version}")
    outputs = {"model": put_artifact(store, tmp_path / f"model{version}"),
               "scaler": put_artifact(store, tmp_path / f"scaler{version}")}
    store.put(f"models/m/{version}.json", json.dumps({"name": "m", "version": version, "output": "model",
                                                      "outputs": outputs, "metrics": {}}).encode())
    if champion:
        store.put("models/m/champion.json", json.dumps({"version": version}).encode())
    return outputs


def test_model_references_resolve_to_the_registered_artifacts(store, tmp_path):
    first = _register(store, tmp_path, 1, champion=False)
    second = _register(store, tmp_path, 2, champion=True)
    sources, notes = resolve_inputs(store, {"model": "model:m:champion", "scaler": "model:m:champion:scaler",
                                            "old": "model:m:1"})
    assert sources == {"model": {"artifact": second["model"]}, "scaler": {"artifact": second["scaler"]},
                       "old": {"artifact": first["model"]}}
    assert notes["model"] == {"reference": "model:m:champion", "model": "m", "version": 2, "output": "model"}


def test_a_model_without_a_champion_is_an_error_naming_it(store):
    with pytest.raises(DurapipeError, match="model m has no champion yet"):
        resolve_reference(store, "model:m:champion")


def test_an_output_the_version_lacks_is_named(store, tmp_path):
    _register(store, tmp_path, 1, champion=True)
    with pytest.raises(DurapipeError, match="no output 'encoder'"):
        resolve_reference(store, "model:m:champion:encoder")


def test_a_prefix_reference_is_well_formed_and_a_bad_one_refused():
    assert check_reference("prefix:incoming/b1/") == "prefix:incoming/b1/"
    for bad in ("prefix:", "prefix:../b1/", "prefix:/abs/"):
        with pytest.raises(InvalidNameError):
            check_reference(bad)


def test_a_prefix_resolves_to_the_folder_of_the_blobs_under_it_each_by_its_etag(store):
    store.put("incoming/b1/a.txt", b"a")
    store.put("incoming/b1/sub/b.txt", b"b")
    store.put("incoming/b10/other.txt", b"not in b1")
    resolved = resolve_reference(store, "prefix:incoming/b1/")
    folder = resolved.source["prefix"]
    assert folder["prefix"] == "incoming/b1/"
    assert folder["blobs"] == {"a.txt": store.stat("incoming/b1/a.txt").etag,
                               "sub/b.txt": store.stat("incoming/b1/sub/b.txt").etag}
    assert resolved.note == {"reference": "prefix:incoming/b1/", "prefix": "incoming/b1/", "blobs": 2}


def test_a_prefix_with_no_blob_under_it_is_an_error(store):
    with pytest.raises(DurapipeError, match="no blob"):
        resolve_reference(store, "prefix:incoming/none/")
