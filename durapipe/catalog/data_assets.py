"""Data assets: names with numbered, immutable versions, each a content-addressed artifact.

Keys: `data/<name>/<version>.json` (a version: its artifact, size, hash, time and source)
and `index/data/<name>/<hash>.json` (which version holds that content). Registering
content that a version already holds returns that version; concurrent registrations get
distinct numbers and never two versions of one content (see durapipe/catalog/versioning.py).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durapipe.core.errors import InvalidNameError, NotFoundError, UsageError
from durapipe.store.keys import DATA, content_claim_key, data_prefix, data_version_key
from durapipe.core.names import check_blob_name, check_name
from durapipe.model.references import PREFIX, prefix_of
from durapipe.store.artifacts import check_ref, get_artifact, put_artifact
from durapipe.catalog.versioning import now_iso, register_once, version_numbers

if TYPE_CHECKING:
    from durapipe.store.base import Store


def register_artifact(store: Store, name: str, ref: dict[str, Any], source: dict[str, Any], *,
                      description: str | None = None, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """The version of data asset `name` that holds artifact `ref`, registered as the next version if none does."""
    check_name(name, "data asset name")
    check_ref(ref)
    tags = _check_tags(tags or {})

    def entry(version: int) -> dict[str, Any]:
        return {"schema": 1, "name": name, "version": version, "artifact": ref, "hash": ref["hash"],
                "kind": ref["kind"], "size": ref["size"], "created": now_iso(), "source": source,
                "description": description, "tags": tags}

    found, created = register_once(store, content_claim_key("data", name, ref["hash"]), data_prefix(name),
                                   lambda v: data_version_key(name, v), entry, ref["hash"])
    return {**found, "created_now": created}


def register_path(store: Store, name: str, path: str | Path, **details: Any) -> dict[str, Any]:
    """Register the local file or folder at `path` as a version of data asset `name`."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"Cannot register {str(path)!r} as data {name}: there is no such file or folder.")
    ref = put_artifact(store, path)
    return register_artifact(store, name, ref, {"kind": "path", "path": str(path.resolve())}, **details)


def register_key(store: Store, name: str, key: str, **details: Any) -> dict[str, Any]:
    """Register the blob `key` of the store as a version of data asset `name`."""
    check_blob_name(key, "blob name")
    if not store.exists(key):
        raise UsageError(f"Cannot register {key!r} as data {name}: it is neither a local path nor a blob in the store.")
    scratch = Path(tempfile.mkdtemp(prefix="durapipe-data-"))
    try:
        local = scratch / Path(key).name
        store.download_file(key, local)
        ref = put_artifact(store, local)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    etag = store.stat(key).etag
    return register_artifact(store, name, ref, {"kind": "blob", "key": key, "etag": etag}, **details)


def register_prefix(store: Store, name: str, prefix: str, **details: Any) -> dict[str, Any]:
    """Register the blobs under `prefix` (a store folder) as one folder version of data asset `name`.

    Its source names each blob by its ETag; a blob changed while it was read is a sentence, not a mixed folder.
    """
    prefix = prefix_of(PREFIX + prefix.removeprefix(PREFIX), "folder to register")
    keys = sorted(store.list(prefix))
    if not keys:
        raise UsageError(f"Cannot register {prefix!r} as data {name}: there is no blob under it in the store.")
    etags = store.etags(keys)
    blobs = {key[len(prefix):]: etags[key] for key in keys if key in etags}
    scratch = Path(tempfile.mkdtemp(prefix="durapipe-data-"))
    try:
        for relative, etag in blobs.items():
            if not store.download_version(prefix + relative, etag, scratch / "folder" / relative):
                raise UsageError(f"Cannot register {prefix!r} as data {name}: the blob {prefix + relative!r} "
                                 "changed while it was read; register it again.")
        ref = put_artifact(store, scratch / "folder")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return register_artifact(store, name, ref, {"kind": "prefix", "prefix": prefix, "blobs": blobs}, **details)


def register_source(store: Store, name: str, source: str, **details: Any) -> dict[str, Any]:
    """Register `source`: a local path when one exists there, else a store folder (`prefix:P/` or `P/`), else a
    blob key of the store."""
    if not source.startswith(PREFIX) and Path(source).exists():
        return register_path(store, name, source, **details)
    if source.startswith(PREFIX) or source.endswith("/"):
        return register_prefix(store, name, source, **details)
    try:
        check_blob_name(source, "blob name")
    except InvalidNameError:
        raise UsageError(f"Cannot register {source!r} as data {name}: it is neither a local path nor a blob "
                         "in the store.") from None
    return register_key(store, name, source, **details)


def list_assets(store: Store) -> list[dict[str, Any]]:
    """Every data asset: name, latest version, its hash, size and time, sorted by name."""
    names = sorted({key[len(DATA):].split("/", 1)[0] for key in store.list(DATA) if "/" in key[len(DATA):]})
    assets = []
    for name in names:
        numbers = version_numbers(store, data_prefix(name))
        if numbers:
            latest = get_version(store, name, numbers[-1])
            assets.append({"name": name, "versions": len(numbers), "latest": numbers[-1], "hash": latest["hash"],
                           "size": latest["size"], "created": latest["created"],
                           "description": latest.get("description")})
    return assets


def list_versions(store: Store, name: str) -> list[dict[str, Any]]:
    """Every version of data asset `name`, oldest first; NotFoundError when it has none."""
    numbers = version_numbers(store, data_prefix(name))
    if not numbers:
        raise NotFoundError(f"There is no data asset named {name!r}; `durapipe data list` shows the ones there are.")
    return [get_version(store, name, n) for n in numbers]


def get_version(store: Store, name: str, version: int | None = None) -> dict[str, Any]:
    """Version `version` of data asset `name` (None: the latest); NotFoundError naming what is missing."""
    numbers = version_numbers(store, data_prefix(name)) if version is None else None
    if version is None and numbers:
        version = numbers[-1]
    try:
        if version is None:
            raise NotFoundError(name)
        return json.loads(store.get(data_version_key(name, int(version))))
    except NotFoundError:
        if numbers is None:
            numbers = version_numbers(store, data_prefix(name))
        if not numbers:
            raise NotFoundError(f"There is no data asset named {name!r}; register one with "
                                f"`durapipe data register {name} PATH`.") from None
        raise NotFoundError(f"Data asset {name} has no version {version}; it has versions 1 to {numbers[-1]}.") from None


def download(store: Store, name: str, version: int | None, dest: str | Path) -> tuple[dict[str, Any], Path]:
    """Write a data version's content into folder `dest` (as `dest/<name>` of its source); return it and the path."""
    entry = get_version(store, name, version)
    target = Path(dest) / _file_name(entry)
    Path(dest).mkdir(parents=True, exist_ok=True)
    if target.exists():
        raise UsageError(f"Cannot download data {name}:{entry['version']} to {str(target)!r}: it already exists.")
    get_artifact(store, entry["artifact"], target)
    return entry, target


def _file_name(entry: dict[str, Any]) -> str:
    source = entry.get("source") or {}
    original = source.get("path") or source.get("key")
    return Path(original).name if original else entry["name"]


def parse_spec(text: str) -> tuple[str, int | None]:
    """`NAME` or `NAME:V` as (name, version or None)."""
    name, sep, version = text.partition(":")
    check_name(name, "data asset name")
    if not sep:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise UsageError(f"The data version in {text!r} must be a whole number from 1, as in {name}:2.")
    return name, int(version)


def _check_tags(tags: dict[str, Any]) -> dict[str, str]:
    for key, value in tags.items():
        check_name(key, "tag name")
        if not isinstance(value, str) or len(value) > 256:
            raise UsageError(f"The tag {key!r} must have a text value of at most 256 characters.")
    return dict(sorted(tags.items()))
