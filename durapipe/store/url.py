"""`open_store`: the one place a store URL is parsed into a Store."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from durapipe.core.errors import UsageError
from durapipe.store.base import Store
from durapipe.store.local import LocalStore
from durapipe.core.paths import state_dir

STORE_ENV = "DURAPIPE_STORE"
CONNECTION_STRING_ENVS = ("DURAPIPE_STORE_CONNECTION_STRING", "AzureWebJobsStorage")
# Azurite's well-known development account and key; they are public and only open a local emulator.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def open_store(url: str | None = None) -> Store:
    """The store a URL names; None means $DURAPIPE_STORE, else `.durapipe` in the current project."""
    if url is None:
        url = os.environ.get(STORE_ENV) or str(state_dir())
    if not isinstance(url, str) or not url.strip():
        raise UsageError(f"The store URL {url!r} is empty; give a folder, file://, http(s):// or azblob:// URL.")
    if "://" not in url:
        return LocalStore(url)
    parts = urlsplit(url)
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(
            f"The store URL {_shown(url)} must not carry a query, fragment or credentials; "
            f"put secrets in {CONNECTION_STRING_ENVS[0]} or use an Azure identity."
        )
    scheme = parts.scheme.lower()
    if scheme == "file":
        return _open_file(url, parts.netloc, parts.path)
    if scheme == "azblob":
        return _open_azblob(url, parts.netloc, parts.path)
    if scheme in {"http", "https"}:
        return _open_http(url, scheme, parts.netloc, parts.path)
    raise UsageError(f"The store URL {_shown(url)} has an unknown scheme {parts.scheme!r}; use a folder, file://, http(s):// or azblob://.")


def _open_file(url: str, host: str, path: str) -> Store:
    if host not in {"", "localhost"} or not path.startswith("/"):
        raise UsageError(f"The store URL {url!r} is not a local file URL; write file:///absolute/path.")
    return LocalStore(Path(unquote(path)))


def _open_http(url: str, scheme: str, host: str, path: str) -> Store:
    segments = [unquote(s) for s in path.split("/") if s]
    if scheme == "http":
        # Plain HTTP is only for the local emulator: a real account must use HTTPS.
        if host.rsplit(":", 1)[0] not in _LOOPBACK_HOSTS or len(segments) < 2 or segments[0] != AZURITE_ACCOUNT:
            raise UsageError(
                f"The store URL {url!r} is not valid: plain http is only for Azurite, as "
                f"http://127.0.0.1:PORT/{AZURITE_ACCOUNT}/CONTAINER[/prefix]."
            )
        account_url = f"http://{host}/{AZURITE_ACCOUNT}"
        credential: object = {"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
        container, prefix = segments[1], "/".join(segments[2:])
    else:
        if not host or not segments:
            raise UsageError(f"The store URL {url!r} is not valid: write https://ACCOUNT.blob.core.windows.net/CONTAINER[/prefix].")
        from azure.identity import DefaultAzureCredential  # imported here: it is slow and only needed in Azure

        account_url = f"https://{host}"
        credential = DefaultAzureCredential()
        container, prefix = segments[0], "/".join(segments[1:])
    from durapipe.store.blob import BlobStore  # azure-storage-blob takes ~0.4 s to import: only for blob URLs

    return BlobStore(account_url, container, prefix, credential, url=url.rstrip("/"))


def _open_azblob(url: str, container: str, path: str) -> Store:
    prefix = unquote(path).strip("/")
    if not container:
        raise UsageError(f"The store URL {url!r} is not valid: write azblob://CONTAINER[/prefix].")
    from durapipe.store.blob import BlobStore

    for name in CONNECTION_STRING_ENVS:
        connection_string = os.environ.get(name)
        if connection_string:
            return BlobStore.from_connection_string(connection_string, container, prefix, url=url.rstrip("/"))
    # Identity-based connections, as the Functions host configures them (AzureWebJobsStorage__accountName).
    service_uri = os.environ.get("AzureWebJobsStorage__blobServiceUri")
    account = os.environ.get("AzureWebJobsStorage__accountName")
    if service_uri or account:
        from azure.identity import DefaultAzureCredential

        account_url = service_uri or f"https://{account}.blob.core.windows.net"
        return BlobStore(account_url, container, prefix, DefaultAzureCredential(), url=url.rstrip("/"))
    raise UsageError(
        f"The store URL {url!r} needs a connection: set {CONNECTION_STRING_ENVS[0]} "
        f"(or {CONNECTION_STRING_ENVS[1]}, or AzureWebJobsStorage__accountName)."
    )


def _shown(url: str) -> str:
    """The URL without its query and credentials, so an error message never prints a secret."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return repr(f"{parts.scheme}://{host}{parts.path}")
