"""A store in an Azure Blob Storage container (or Azurite), through azure-storage-blob."""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Any, BinaryIO, Iterator
from urllib.parse import urlsplit, urlunsplit

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobServiceClient, ContainerClient, LinearRetry

from durapipe.core.errors import NotFoundError, StoreError, UsageError
from durapipe.store.base import CHUNK_SIZE, KeyInfo, Store, _OtherVersion, check_key, check_prefix, check_range

CONTAINER_PATTERN = re.compile(r"(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
# An unreachable account must fail in seconds: the activity's own retries handle longer outages.
CLIENT_OPTIONS: dict[str, Any] = {
    "connection_timeout": 5,
    "read_timeout": 30,
    "max_single_put_size": CHUNK_SIZE,
    "max_block_size": CHUNK_SIZE,
    "max_single_get_size": CHUNK_SIZE,
    "max_chunk_get_size": CHUNK_SIZE,
}
RETRY_TOTAL = 2
RETRY_BACKOFF_S = 1.0


class BlobStore(Store):
    """A store in one blob container, optionally under a '/'-separated prefix."""

    def __init__(
        self,
        account_url: str,
        container: str,
        prefix: str = "",
        credential: Any = None,
        *,
        url: str | None = None,
        retry_total: int = RETRY_TOTAL,
    ) -> None:
        if not isinstance(container, str) or not CONTAINER_PATTERN.fullmatch(container):
            raise UsageError(
                f"The blob container name {container!r} is not valid: use 3 to 63 lowercase letters, "
                "digits or single hyphens, starting and ending with a letter or digit."
            )
        if prefix:
            check_prefix(prefix.strip("/") + "/")
        self.container = container
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        try:
            service = BlobServiceClient(
                account_url,
                credential=credential,
                retry_policy=LinearRetry(backoff=RETRY_BACKOFF_S, retry_total=retry_total, random_jitter_range=0.2),
                **CLIENT_OPTIONS,
            )
        except ValueError as error:
            raise UsageError(f"The blob account URL {account_url.split('?')[0]!r} is not valid: {error}.") from error
        self._client: ContainerClient = service.get_container_client(container)
        self._container_ready = False
        # The client URL may carry a SAS token: keep only scheme, host and path.
        endpoint = urlunsplit(urlsplit(service.url)._replace(query="", fragment="")).rstrip("/")
        self._url = url or f"{endpoint}/{container}" + (f"/{self.prefix.rstrip('/')}" if self.prefix else "")

    @classmethod
    def from_connection_string(
        cls, connection_string: str, container: str, prefix: str = "", *, url: str | None = None, **options: Any
    ) -> "BlobStore":
        """A BlobStore for a storage connection string (Azurite locally, or a key/SAS string)."""
        try:
            service = BlobServiceClient.from_connection_string(connection_string)
        except (ValueError, AzureError) as error:
            raise UsageError("The storage connection string is not valid; check its AccountName, AccountKey and endpoints.") from error
        return cls(service.url, container, prefix, service.credential, url=url, **options)

    @property
    def url(self) -> str:
        return self._url

    def describe(self) -> str:
        return f"blob store {self._url}"

    def get(self, key: str) -> bytes:
        blob = self._blob(key)
        with self._errors("read", key):
            return blob.download_blob().readall()

    def get_with_etag(self, key: str) -> tuple[bytes, str]:
        blob = self._blob(key)
        with self._errors("read", key):
            downloader = blob.download_blob()
            return downloader.readall(), _quoted(downloader.properties.etag)

    def etags(self, keys: list[str]) -> dict[str, str]:
        folders: dict[str, set[str]] = {}
        for key in keys:
            check_key(key)
            folders.setdefault(key[: key.rfind("/") + 1], set()).add(key)
        # One listing per folder of the keys (5,000 names a request) rather than a request per key.
        found: dict[str, str] = {}
        start = len(self.prefix)
        for folder, wanted in sorted(folders.items()):
            try:
                with self._errors("list", folder):
                    found.update({blob.name[start:]: _quoted(blob.etag)
                                  for blob in self._client.list_blobs(name_starts_with=self.prefix + folder)
                                  if blob.name[start:] in wanted})
            except NotFoundError:
                return {}  # the container does not exist yet: nothing was ever stored
        return found

    def read_chunks(self, key: str) -> Iterator[bytes]:
        blob = self._blob(key)
        with self._errors("read", key):
            downloader = blob.download_blob()
        return self._iter_chunks(downloader, key)

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        check_range(key, start, length)
        blob = self._blob(key)
        with self._errors("read", key):
            size = blob.get_blob_properties().size
            if start >= size or not length:
                return iter(())  # the service refuses a range past the end: an empty one is what is there
            downloader = blob.download_blob(offset=start, length=min(length, size - start))
        return self._iter_chunks(downloader, key)

    def _version_chunks(self, key: str, etag: str) -> Iterator[bytes]:
        # One conditional read: the SDK asks every later range with the same If-Match, so a blob replaced
        # mid-read answers 412 instead of mixing two versions.
        blob = self._blob(key)
        with self._errors("read", key):
            try:
                downloader = blob.download_blob(etag=etag, match_condition=MatchConditions.IfNotModified)
                yield from downloader.chunks()
            except ResourceModifiedError:
                raise _OtherVersion() from None

    def put(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> bool:
        return self.put_with_etag(key, data, if_absent=if_absent, if_match=if_match) is not None

    def put_with_etag(self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None) -> str | None:
        blob = self._blob(key)
        if if_match is not None:
            try:
                with self._errors("write", key):
                    written = blob.upload_blob(data, overwrite=True, etag=if_match,
                                               match_condition=MatchConditions.IfNotModified)
                return _quoted(written["etag"])
            except (_Exists, NotFoundError):
                return None  # changed since it was read, or deleted: the condition does not hold
        answer: dict[str, Any] = {}
        if not self._write(key, lambda: answer.update(blob.upload_blob(data, overwrite=not if_absent)), if_absent):
            return None
        return _quoted(answer["etag"])

    def upload_stream(self, key: str, stream: BinaryIO, size: int, *, if_absent: bool = False) -> bool:
        blob = self._blob(key)
        # Chunked uploads stage blocks under ids derived from offsets, so two concurrent writers of one
        # key may mix blocks; this is harmless for content-addressed keys, where both write equal bytes.
        return self._write(
            key,
            lambda: blob.upload_blob(stream, length=size, overwrite=not if_absent, max_concurrency=4),
            if_absent,
            replayable=False,
        )

    def exists(self, key: str) -> bool:
        blob = self._blob(key)
        try:
            with self._errors("check", key):
                blob.get_blob_properties()
            return True
        except NotFoundError:
            return False

    def stat(self, key: str) -> KeyInfo:
        blob = self._blob(key)
        with self._errors("stat", key):
            properties = blob.get_blob_properties()
        return KeyInfo(size=properties.size, etag=_quoted(properties.etag), modified=properties.last_modified)

    def delete(self, key: str) -> None:
        blob = self._blob(key)
        try:
            with self._errors("delete", key):
                blob.delete_blob()
        except NotFoundError:
            pass

    def delete_if_match(self, key: str, etag: str) -> bool:
        blob = self._blob(key)
        try:
            with self._errors("delete", key):
                try:
                    blob.delete_blob(etag=etag, match_condition=MatchConditions.IfNotModified)
                except ResourceModifiedError:
                    return False  # changed since it was read: the condition does not hold
            return True
        except NotFoundError:
            return False

    def list(self, prefix: str = "") -> Iterator[str]:
        check_prefix(prefix)
        start = len(self.prefix)
        try:
            with self._errors("list", prefix):
                names = [blob.name[start:] for blob in self._client.list_blobs(name_starts_with=self.prefix + prefix)]
        except NotFoundError:
            return iter(())  # the container does not exist yet: nothing was ever stored
        return iter(sorted(names))

    def _blob(self, key: str):
        return self._client.get_blob_client(self.prefix + check_key(key))

    def _write(self, key: str, upload, if_absent: bool, *, replayable: bool = True) -> bool:
        if not self._container_ready:
            self._create_container(key)
        try:
            with self._errors("write", key):
                upload()
            return True
        except _Exists:
            return False
        except NotFoundError:
            # The container vanished since this store created it; a stream cannot be replayed.
            if not replayable:
                raise StoreError(f"Could not write the key {key!r} in the {self.describe()}: its container was deleted.") from None
            self._container_ready = False
            return self._write(key, upload, if_absent, replayable=False)

    def _create_container(self, key: str) -> None:
        # Once per store object, before its first write: a failed upload cannot replay a consumed stream.
        try:
            with self._errors("create the container to write", key):
                self._client.create_container()
        except _Exists:
            pass  # it exists already, or another writer created it first
        self._container_ready = True

    def _iter_chunks(self, downloader, key: str) -> Iterator[bytes]:
        with self._errors("read", key):
            yield from downloader.chunks()

    @contextmanager
    def _errors(self, action: str, key: str) -> Iterator[None]:
        """Turn SDK errors into NotFoundError, _Exists (a lost if_absent race) or StoreError."""
        what = f"the keys under {key!r}" if action == "list" else f"the key {key!r}"
        try:
            yield
        except ResourceNotFoundError as error:
            raise NotFoundError(f"The key {key!r} is not in the {self.describe()}.") from error
        except (ResourceExistsError, ResourceModifiedError) as error:
            if action.startswith(("write", "create")):
                raise _Exists() from error
            raise StoreError(f"Could not {action} {what} in the {self.describe()}: {_reason(error)}.") from error
        except ClientAuthenticationError as error:
            raise StoreError(
                f"Could not {action} {what} in the {self.describe()}: access was denied ({_reason(error)})."
            ) from error
        except AzureError as error:
            raise StoreError(f"Could not {action} {what} in the {self.describe()}: {_reason(error)}.") from error


class _Exists(Exception):
    """A conditional create lost: the blob (or container) already exists."""


def _reason(error: AzureError) -> str:
    code = getattr(error, "error_code", None)
    text = str(getattr(error, "reason", None) or error.message or type(error).__name__).splitlines()[0]
    return f"{code}: {text}" if code else text


def _quoted(etag: str) -> str:
    # Blob properties quote an etag, a listing does not: one form, so they compare equal.
    return etag if etag.startswith('"') else f'"{etag}"'
