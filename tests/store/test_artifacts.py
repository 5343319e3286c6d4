"""Content-addressed artifacts on every backend: stored once, verified on every read."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from durapipe.core.canonical import canonical_json
from durapipe.core.errors import IntegrityError, NotFoundError
from durapipe.store.hashing import hash_path
from durapipe.store.artifacts import (
    artifact_key,
    artifact_manifest,
    get_artifact,
    put_artifact,
    read_artifact_bytes,
)
from durapipe.store.base import Store


def _folder(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.csv").write_bytes(b"x,y\n1,2\n")
    (root / "sub" / "b.bin").write_bytes(os.urandom(5000))
    (root / "sub" / "copy.csv").write_bytes(b"x,y\n1,2\n")  # same content as a.csv: stored once
    (root / ".hidden").write_bytes(b"kept too")
    return root


def test_a_file_artifact_is_stored_under_its_sha256(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "model.pkl"
    source.write_bytes(b"weights")
    ref = put_artifact(store, source)
    assert ref == {"hash": hashlib.sha256(b"weights").hexdigest(), "kind": "file", "size": 7}
    assert store.get(artifact_key(ref["hash"])) == b"weights"


def test_putting_an_artifact_twice_uploads_nothing_new(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"data")
    ref = put_artifact(store, source)
    etag = store.stat(artifact_key(ref["hash"])).etag
    assert put_artifact(store, source) == ref
    assert store.stat(artifact_key(ref["hash"])).etag == etag


def test_a_file_artifact_round_trips(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(os.urandom(5 * 1024 * 1024))
    ref = put_artifact(store, source)
    get_artifact(store, ref, tmp_path / "out" / "g")
    assert (tmp_path / "out" / "g").read_bytes() == source.read_bytes()
    assert read_artifact_bytes(store, ref) == source.read_bytes()


def test_a_folder_artifact_stores_its_manifest_and_each_distinct_file(store: Store, tmp_path: Path) -> None:
    ref = put_artifact(store, _folder(tmp_path / "data"))
    manifest = artifact_manifest(store, ref)
    assert ref["kind"] == "dir" and ref["hash"] == hashlib.sha256(canonical_json(manifest).encode()).hexdigest()
    assert sorted(manifest["files"]) == [".hidden", "a.csv", "sub/b.bin", "sub/copy.csv"]
    assert ref["size"] == sum(entry["size"] for entry in manifest["files"].values())
    assert len(list(store.list("artifacts/"))) == 4  # manifest + three distinct contents


def test_a_folder_artifact_round_trips(store: Store, tmp_path: Path) -> None:
    source = _folder(tmp_path / "data")
    ref = put_artifact(store, source)
    get_artifact(store, ref, tmp_path / "dl" / "out")
    assert hash_path(tmp_path / "dl" / "out").ref == ref
    assert os.listdir(tmp_path / "dl") == ["out"]  # no staging folder left


def test_a_corrupted_file_artifact_raises_integrity_error_and_leaves_no_file(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"the real bytes")
    ref = put_artifact(store, source)
    store.put(artifact_key(ref["hash"]), b"the fake bytes")
    with pytest.raises(IntegrityError, match=ref["hash"]):
        get_artifact(store, ref, tmp_path / "out" / "f")
    assert os.listdir(tmp_path / "out") == []
    store.put(artifact_key(ref["hash"]), b"the fake bytes")  # the first read moved it to quarantine
    with pytest.raises(IntegrityError, match=ref["hash"]):
        read_artifact_bytes(store, ref)


def test_a_corrupted_file_inside_a_folder_artifact_leaves_no_folder(store: Store, tmp_path: Path) -> None:
    ref = put_artifact(store, _folder(tmp_path / "data"))
    victim = artifact_manifest(store, ref)["files"]["sub/b.bin"]["hash"]
    store.put(artifact_key(victim), b"corrupt")
    with pytest.raises(IntegrityError, match=victim):
        get_artifact(store, ref, tmp_path / "out" / "data")
    assert os.listdir(tmp_path / "out") == []


def test_a_manifest_escaping_the_destination_is_rejected(store: Store, tmp_path: Path) -> None:
    evil = canonical_json({"files": {"../escape": {"hash": hashlib.sha256(b"x").hexdigest(), "size": 1}}}).encode()
    digest = hashlib.sha256(evil).hexdigest()
    store.put(artifact_key(digest), evil)
    with pytest.raises(IntegrityError, match=digest):
        get_artifact(store, {"hash": digest, "kind": "dir", "size": 1}, tmp_path / "out")
    assert not (tmp_path / "escape").exists()


def test_a_file_changed_after_hashing_is_not_stored_under_the_old_hash(store: Store, tmp_path: Path) -> None:
    from durapipe.store.artifacts import _upload_verified

    source = tmp_path / "f"
    source.write_bytes(b"before")
    digest = hashlib.sha256(b"before").hexdigest()
    source.write_bytes(b"after!")
    with pytest.raises(IntegrityError, match="changed"):
        _upload_verified(store, digest, source, 6)
    assert store.exists(artifact_key(digest)) is False


def test_a_missing_artifact_raises_not_found(store: Store, tmp_path: Path) -> None:
    ref = {"hash": "0" * 64, "kind": "file", "size": 1}
    with pytest.raises(NotFoundError, match="0" * 64):
        get_artifact(store, ref, tmp_path / "f")


def test_manifest_json_is_canonical(tmp_path: Path) -> None:
    hashed = hash_path(_folder(tmp_path / "d"))
    assert json.loads(hashed.manifest_json()) == hashed.manifest


# ---------------------------------------------------------------- quarantine and healing

def test_a_corrupt_file_artifact_found_on_read_is_moved_to_quarantine(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"the real bytes")
    ref = put_artifact(store, source)
    store.put(artifact_key(ref["hash"]), b"the fake bytes")
    with pytest.raises(IntegrityError, match="quarantine"):
        get_artifact(store, ref, tmp_path / "out")
    assert not store.exists(artifact_key(ref["hash"]))
    assert store.get(f"quarantine/artifacts/{ref['hash']}") == b"the fake bytes"
    assert "corrupt" in json.loads(store.get(f"quarantine/artifacts/{ref['hash']}.reason.json"))["reason"]


def test_a_truncated_manifest_found_on_read_is_moved_to_quarantine(store: Store, tmp_path: Path) -> None:
    ref = put_artifact(store, _folder(tmp_path / "data"))
    whole = store.get(artifact_key(ref["hash"]))
    store.put(artifact_key(ref["hash"]), whole[: len(whole) // 2])
    with pytest.raises(IntegrityError, match="quarantine"):
        artifact_manifest(store, ref)
    assert not store.exists(artifact_key(ref["hash"]))


def test_a_folder_with_a_corrupt_file_sets_its_manifest_aside_too(store: Store, tmp_path: Path) -> None:
    ref = put_artifact(store, _folder(tmp_path / "data"))
    victim = artifact_manifest(store, ref)["files"]["sub/b.bin"]["hash"]
    store.put(artifact_key(victim), b"corrupt")
    with pytest.raises(IntegrityError):
        get_artifact(store, ref, tmp_path / "out" / "data")
    assert not store.exists(artifact_key(victim)) and not store.exists(artifact_key(ref["hash"]))


def test_uploading_again_replaces_a_corrupt_file_artifact(store: Store, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"the real bytes")
    ref = put_artifact(store, source)
    store.put(artifact_key(ref["hash"]), b"cut")
    assert put_artifact(store, source) == ref
    assert read_artifact_bytes(store, ref) == b"the real bytes"


def test_uploading_again_replaces_a_corrupt_manifest(store: Store, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "data")
    ref = put_artifact(store, folder)
    whole = store.get(artifact_key(ref["hash"]))
    store.put(artifact_key(ref["hash"]), whole[:10])
    assert put_artifact(store, folder) == ref
    assert store.get(artifact_key(ref["hash"])) == whole
