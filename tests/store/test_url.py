"""`open_store` parses every store URL form, and rejects bad ones with a UsageError naming them."""
from __future__ import annotations

from pathlib import Path

import pytest

from durapipe.core.errors import UsageError
from durapipe.store.blob import BlobStore
from durapipe.store.local import LocalStore
from durapipe.store.url import AZURITE_ACCOUNT, AZURITE_KEY, open_store


def test_a_plain_path_opens_a_local_store(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    assert isinstance(store, LocalStore) and store.root == tmp_path / "s"


def test_a_file_url_opens_a_local_store(tmp_path: Path) -> None:
    store = open_store((tmp_path / "s").as_uri())
    assert isinstance(store, LocalStore) and store.root == tmp_path / "s"


def test_no_url_uses_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DURAPIPE_STORE", str(tmp_path / "env-store"))
    assert open_store().root == tmp_path / "env-store"


def test_no_url_defaults_to_durapipe_in_the_project_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DURAPIPE_STORE", raising=False)
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "pkg" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "pkg" / "deep")
    assert open_store().root == tmp_path / ".durapipe"


def test_an_azurite_url_opens_a_blob_store_with_container_and_prefix(azurite: str) -> None:
    store = open_store(f"{azurite}/mycontainer/some/prefix")
    assert isinstance(store, BlobStore)
    assert (store.container, store.prefix) == ("mycontainer", "some/prefix/")
    store.put("k", b"x")
    assert open_store(f"{azurite}/mycontainer").get("some/prefix/k") == b"x"


def test_an_azblob_url_uses_the_connection_string_from_the_environment(azurite: str, monkeypatch: pytest.MonkeyPatch) -> None:
    connection = f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={azurite};"
    monkeypatch.setenv("DURAPIPE_STORE_CONNECTION_STRING", connection)
    store = open_store("azblob://conncontainer/p")
    store.put("k", b"x")
    assert store.url == "azblob://conncontainer/p"
    assert open_store(f"{azurite}/conncontainer/p").get("k") == b"x"


def test_an_https_url_opens_a_blob_store_without_network() -> None:
    store = open_store("https://myaccount.blob.core.windows.net/models/team-a")
    assert isinstance(store, BlobStore) and store.url == "https://myaccount.blob.core.windows.net/models/team-a"


@pytest.mark.parametrize("url", [
    "",
    "s3://bucket/x",
    "http://example.com/devstoreaccount1/c",
    "http://127.0.0.1:10000/otheraccount/c",
    "https://myaccount.blob.core.windows.net/",
    "https://myaccount.blob.core.windows.net/c?sig=S3CR3T",
    "https://user:pw@myaccount.blob.core.windows.net/c",
    "file://remotehost/x",
    "azblob:///prefix",
    "https://myaccount.blob.core.windows.net/Bad_Container",
])
def test_a_bad_url_raises_usage_error(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError) as raised:
        open_store(url)
    assert "S3CR3T" not in str(raised.value) and "pw@" not in str(raised.value)


def test_an_azblob_url_without_a_connection_raises_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DURAPIPE_STORE_CONNECTION_STRING", "AzureWebJobsStorage", "AzureWebJobsStorage__accountName",
                 "AzureWebJobsStorage__blobServiceUri"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(UsageError, match="DURAPIPE_STORE_CONNECTION_STRING"):
        open_store("azblob://container")
