"""Reading one version of a key by its ETag, on every backend: the bytes of that version, or nothing."""
from __future__ import annotations

from pathlib import Path

from durapipe.store.base import Store


def test_get_version_returns_the_bytes_of_the_version_its_etag_names(store: Store) -> None:
    store.put("incoming/a.csv", b"v1")
    assert store.get_version("incoming/a.csv", store.stat("incoming/a.csv").etag) == b"v1"


def test_get_version_of_a_replaced_version_is_none(store: Store) -> None:
    store.put("incoming/a.csv", b"v1")
    first = store.stat("incoming/a.csv").etag
    store.put("incoming/a.csv", b"version 2")
    assert store.get_version("incoming/a.csv", first) is None


def test_get_version_of_a_deleted_key_is_none(store: Store) -> None:
    store.put("incoming/a.csv", b"v1")
    etag = store.stat("incoming/a.csv").etag
    store.delete("incoming/a.csv")
    assert store.get_version("incoming/a.csv", etag) is None


def test_download_version_writes_the_version_its_etag_names(store: Store, tmp_path: Path) -> None:
    data = bytes(range(256)) * 40_000  # several chunks
    store.put("incoming/big.bin", data)
    assert store.download_version("incoming/big.bin", store.stat("incoming/big.bin").etag, tmp_path / "big.bin")
    assert (tmp_path / "big.bin").read_bytes() == data


def test_download_version_of_a_replaced_version_writes_nothing(store: Store, tmp_path: Path) -> None:
    store.put("incoming/a.csv", b"v1")
    first = store.stat("incoming/a.csv").etag
    store.put("incoming/a.csv", b"version 2")
    assert store.download_version("incoming/a.csv", first, tmp_path / "out" / "a.csv") is False
    assert list((tmp_path / "out").iterdir()) == []
