"""Binding a run's inputs: local paths, store keys or artifact refs become artifact refs."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durapipe.core.errors import NotFoundError, UsageError
from durapipe.store.hashing import HashCache
from durapipe.core.names import check_blob_name
from durapipe.engine.request import check_inputs
from durapipe.core.scratch import new_scratch_dir
from durapipe.store.artifacts import put_artifact

if TYPE_CHECKING:
    from durapipe.store.base import Store


def bind_inputs(store: Store, spec: dict[str, Any], sources: dict[str, Any]) -> dict[str, Any]:
    """Artifact refs for the pipeline's inputs; a missing required input is an error naming it."""
    check_inputs(spec, [name for name, source in sources.items() if source is not None])
    return {name: bind_input(store, name, source) for name, source in sources.items() if source is not None}


def bind_input(store: Store, name: str, source: dict[str, Any]) -> dict[str, Any]:
    """One input source as an artifact ref (uploaded content-addressed when new)."""
    if "artifact" in source:
        return source["artifact"]
    if "path" in source:
        path = Path(source["path"])
        if not path.exists():
            raise UsageError(f"The input {name!r} names {path}, which does not exist.")
        # An unchanged external file (same size, mtime, inode) is never hashed twice.
        return put_artifact(store, path, cache=HashCache())
    if "key" in source:
        key = check_blob_name(source["key"], "input blob name")
        scratch = new_scratch_dir("durapipe-input-")
        try:
            local = scratch / Path(key).name
            store.download_file(key, local)
            return put_artifact(store, local)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if "prefix" in source:
        return _bind_prefix(store, name, source["prefix"])
    raise UsageError(f"The input {name!r} must be given as a path, a store key or an artifact.")


def _bind_prefix(store: Store, name: str, folder: dict[str, Any]) -> dict[str, Any]:
    """The blobs under a prefix, each at the version (ETag) the run was started with, as one folder artifact."""
    scratch = new_scratch_dir("durapipe-input-")
    try:
        for relative, etag in sorted(folder["blobs"].items()):
            key = folder["prefix"] + relative
            if not store.download_version(key, etag, scratch / "folder" / relative):
                raise NotFoundError(f"The input {name!r} names the blob {key!r}, which has changed or gone since "
                                    "the run was started; start it again to read what is there now.")
        return put_artifact(store, scratch / "folder")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
