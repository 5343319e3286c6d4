"""Data assets: numbered immutable versions, one per content, race-free, on every store."""
from __future__ import annotations

import json
import threading
import time

import pytest

from durapipe.catalog import data_assets
from durapipe.core.errors import DurapipeError, NotFoundError, UsageError
from durapipe.store.keys import content_claim_key
from durapipe.model.references import check_reference
from durapipe.catalog.references import resolve_reference


def _file(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_registering_a_path_makes_version_1_with_its_hash_size_time_and_source(store, tmp_path):
    entry = data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "x,y\n"), description="first",
                                      tags={"team": "ml"})
    stored = data_assets.get_version(store, "raw", 1)
    assert entry["version"] == 1 and entry["created_now"] is True
    assert stored["size"] == 4 and stored["hash"] == stored["artifact"]["hash"] and stored["created"]
    assert stored["source"]["kind"] == "path" and stored["source"]["path"].endswith("a.csv")
    assert stored["description"] == "first" and stored["tags"] == {"team": "ml"}


def test_registering_identical_content_returns_the_existing_version(store, tmp_path):
    first = data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "same"))
    again = data_assets.register_path(store, "raw", _file(tmp_path, "b.csv", "same"))
    assert again["version"] == first["version"] == 1 and again["created_now"] is False
    assert [v["version"] for v in data_assets.list_versions(store, "raw")] == [1]


def test_new_content_makes_the_next_version_and_the_latest_is_the_newest(store, tmp_path):
    data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "one"))
    second = data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "two"))
    assert second["version"] == 2
    assert data_assets.get_version(store, "raw")["version"] == 2
    assert data_assets.get_version(store, "raw", 1)["size"] == 3


def test_a_blob_of_the_store_registers_with_its_key_as_source(store):
    store.put("landing/day1.csv", b"a,b\n1,2\n")
    entry = data_assets.register_source(store, "landing", "landing/day1.csv")
    assert entry["source"] == {"kind": "blob", "key": "landing/day1.csv", "etag": store.stat("landing/day1.csv").etag}
    assert entry["size"] == 8


def test_a_folder_registers_as_one_folder_artifact(store, tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "p1.csv").write_text("1")
    (folder / "p2.csv").write_text("2")
    entry = data_assets.register_path(store, "parts", folder)
    out = tmp_path / "out"
    _, path = data_assets.download(store, "parts", 1, out)
    assert entry["kind"] == "dir" and sorted(p.name for p in path.iterdir()) == ["p1.csv", "p2.csv"]


def test_download_writes_the_verified_content_under_its_source_name(store, tmp_path):
    data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "content"))
    entry, path = data_assets.download(store, "raw", None, tmp_path / "dest")
    assert path == tmp_path / "dest" / "a.csv" and path.read_text() == "content" and entry["version"] == 1


def test_a_missing_source_asset_or_version_is_one_sentence(store, tmp_path):
    with pytest.raises(UsageError, match="neither a local path nor a blob"):
        data_assets.register_source(store, "raw", str(tmp_path / "missing.csv"))
    with pytest.raises(NotFoundError, match="no data asset named 'raw'"):
        data_assets.get_version(store, "raw")
    data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "x"))
    with pytest.raises(NotFoundError, match="has no version 4; it has versions 1 to 1"):
        data_assets.get_version(store, "raw", 4)


def test_list_assets_shows_each_name_with_its_latest_version(store, tmp_path):
    data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "one"))
    data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "two"))
    data_assets.register_path(store, "labels", _file(tmp_path, "l.csv", "l"))
    assert [(a["name"], a["latest"], a["versions"]) for a in data_assets.list_assets(store)] == [
        ("labels", 1, 1), ("raw", 2, 2)]


def test_concurrent_registrations_of_distinct_content_get_distinct_numbers(store, tmp_path):
    paths = [_file(tmp_path, f"f{i}.csv", f"content {i}") for i in range(30)]
    results: list[dict] = []
    threads = [threading.Thread(target=lambda p=p: results.append(data_assets.register_path(store, "raw", p)))
               for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["version"] for r in results) == list(range(1, 31))
    assert len({v["hash"] for v in data_assets.list_versions(store, "raw")}) == 30


def test_concurrent_registrations_of_one_content_make_one_version(store, tmp_path):
    path = _file(tmp_path, "same.csv", "the same bytes")
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(data_assets.register_path(store, "raw", path)))
               for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["version"] for r in results] == [1] * 30
    assert sum(r["created_now"] for r in results) == 1
    assert len(data_assets.list_versions(store, "raw")) == 1


def test_a_claim_left_by_a_registrant_that_died_is_taken_over(store, tmp_path, monkeypatch):
    from durapipe.catalog import versioning

    path = _file(tmp_path, "a.csv", "orphaned")
    digest = data_assets.put_artifact(store, path)["hash"]
    store.put(content_claim_key("data", "raw", digest),
              json.dumps({"owner": "dead", "version": None, "claimed_at": time.time() - 3600}).encode())
    monkeypatch.setattr(versioning, "WAIT_FOR_CLAIM_S", 5.0)
    assert data_assets.register_path(store, "raw", path)["version"] == 1


@pytest.mark.parametrize("value", ["data:raw", "data:raw:2"])
def test_data_references_are_well_formed(value):
    assert check_reference(value) == value


@pytest.mark.parametrize("value", ["data:", "data:raw:0", "data:raw:latest", "data:../x", "data:raw:1:x"])
def test_malformed_data_references_are_refused(value):
    with pytest.raises(DurapipeError):
        check_reference(value)


def test_a_data_reference_resolves_to_its_version_and_the_note_keeps_the_number(store, tmp_path):
    one = data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "one"))
    two = data_assets.register_path(store, "raw", _file(tmp_path, "a.csv", "two"))
    latest = resolve_reference(store, "data:raw")
    pinned = resolve_reference(store, "data:raw:1")
    assert latest.source == {"artifact": two["artifact"]} and latest.note["version"] == 2
    assert pinned.source == {"artifact": one["artifact"]} and pinned.note == {
        "reference": "data:raw:1", "data": "raw", "version": 1, "hash": one["hash"]}


def test_a_data_reference_to_nothing_names_the_input_and_the_asset(store):
    with pytest.raises(DurapipeError, match="input 'raw' names data:raw, but there is no data asset named 'raw'"):
        resolve_reference(store, "data:raw", "input 'raw'")


@pytest.mark.parametrize("source", ["batches/b1/", "prefix:batches/b1/"])
def test_a_store_folder_registers_as_one_folder_version_each_blob_by_its_etag(store, source):
    store.put("batches/b1/a.txt", b"a")
    store.put("batches/b1/sub/b.txt", b"b")
    entry = data_assets.register_source(store, "batch", source)
    assert entry["kind"] == "dir" and entry["version"] == 1
    assert entry["source"] == {"kind": "prefix", "prefix": "batches/b1/",
                               "blobs": {"a.txt": store.stat("batches/b1/a.txt").etag,
                                         "sub/b.txt": store.stat("batches/b1/sub/b.txt").etag}}
    assert resolve_reference(store, "data:batch").source == {"artifact": entry["artifact"]}


def test_a_store_folder_with_no_blob_under_it_is_one_sentence(store):
    with pytest.raises(UsageError, match="no blob under"):
        data_assets.register_source(store, "batch", "batches/none/")
