"""The files a step reads, around its execution: ask for tracing, hash what it read, check a commit's reads still hold.

A commit is found by the step's fingerprint; the files the step read (`reads` of its components,
never hashed into the fingerprint) are the second half of its key: the commit is reused only while
each still has the content it had (see `durapipe.fingerprint.reads`).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durapipe.executors import read_tracing
from durapipe.fingerprint import reads as read_files

if TYPE_CHECKING:
    from durapipe.engine.fingerprints import StepIdentity
    from durapipe.store.base import Store

READS_FILE = "reads.json"  # in the step's scratch folder


def reads_channel(scratch: Path) -> dict[str, str]:
    """The environment variable asking the step's process to trace what it reads (none when tracing is off)."""
    if not read_tracing.tracing_enabled():
        return {}
    return {read_tracing.READS_FILE_ENV: str(Path(scratch) / READS_FILE)}


def declared_variables(env: list[str] | None) -> dict[str, str]:
    """The step's declared environment variables with the values its fingerprint was made with, for its process.

    A warm step process keeps the environment it was started with; these make it see what the
    fingerprint names. Those unset here are named in UNSET_ENV, and the step's process unsets them.
    """
    import os

    values = {name: os.environ[name] for name in env or () if name in os.environ}
    unset = [name for name in env or () if name not in os.environ]
    return {**values, **({read_tracing.UNSET_ENV: ",".join(unset)} if unset else {})}


def traced_reads(scratch: Path, identity: StepIdentity, started: datetime, store: Store | None = None) -> dict[str, Any]:
    """{"reads": {project-relative path: content hash}} of what the step traced in `scratch` read; {} when untraced."""
    opened = read_tracing.read_reads(Path(scratch) / READS_FILE)
    if opened is None:
        return {}
    # A local store inside the project (beside its state folder, or elsewhere) is durapipe's, not the step's.
    skip = [scratch] + ([store.root] if store is not None and isinstance(getattr(store, "root", None), Path) else [])
    return {read_files.READS: read_files.traced_reads(opened, _root(identity), started.timestamp(), skip)}


def changed_read(record: dict[str, Any], identity: StepIdentity | Path) -> str | None:
    """The first file the commit `record` read whose content has changed since; None when all still hold."""
    reads = (record.get("components") or {}).get(read_files.READS)
    if not reads:
        return None
    return read_files.changed_read(reads, identity if isinstance(identity, Path) else _root(identity))


def changed_sentence(path: str) -> str:
    """Why a step whose read file changed runs again, as planning says it."""
    return f"file {path} changed since its result was committed"


def _root(identity: StepIdentity) -> Path:
    if identity.project_root is not None:
        return identity.project_root
    from durapipe.core.paths import find_project_root

    return find_project_root(identity.code_root)
