"""An outage (unreachable account, denied access, missing folder) raises StoreError, never looks like a miss."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from durapipe.core.errors import StoreError
from durapipe.store.blob import BlobStore
from durapipe.store.local import LocalStore
from durapipe.store.url import AZURITE_ACCOUNT, AZURITE_KEY, open_store
from tests.conftest import free_port

WRONG_KEY = "d3Jvbmcga2V5IGZvciB0aGUgdGVzdHMgb25seSwgbm90IGEgc2VjcmV0IGF0IGFsbA=="


def _unreachable_blob_store(retry_total: int = 0) -> BlobStore:
    return BlobStore(
        f"http://127.0.0.1:{free_port()}/{AZURITE_ACCOUNT}", "outage",
        credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}, retry_total=retry_total,
    )


def _assert_every_operation_raises_store_error(store) -> None:
    for operation in (
        lambda: store.get("steps/f.json"),
        lambda: store.exists("steps/f.json"),
        lambda: store.stat("steps/f.json"),
        lambda: list(store.list("steps/")),
        lambda: store.put("steps/f.json", b"x", if_absent=True),
        lambda: store.delete("steps/f.json"),
    ):
        with pytest.raises(StoreError, match="steps/"):
            operation()


def test_an_unreachable_blob_account_raises_store_error_within_seconds() -> None:
    store = open_store(f"http://127.0.0.1:{free_port()}/{AZURITE_ACCOUNT}/outage")
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"steps/f\.json.*127\.0\.0\.1"):
        store.exists("steps/f.json")
    assert time.monotonic() - started < 10


def test_every_operation_on_an_unreachable_blob_account_raises_store_error() -> None:
    _assert_every_operation_raises_store_error(_unreachable_blob_store())


def test_a_wrong_account_key_raises_store_error_not_a_miss(azurite: str) -> None:
    store = BlobStore(azurite, "denied", credential={"account_name": AZURITE_ACCOUNT, "account_key": WRONG_KEY}, retry_total=0)
    _assert_every_operation_raises_store_error(store)


def test_a_local_store_whose_folder_became_a_file_raises_store_error(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.put("steps/f.json", b"x")
    shutil.rmtree(tmp_path / "store")
    (tmp_path / "store").write_text("not a folder")
    _assert_every_operation_raises_store_error(store)


def test_a_local_store_on_a_file_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="file"):
        LocalStore(tmp_path / "file" / "store")
