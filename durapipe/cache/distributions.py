"""Which installed distributions provide each top-level module, and their versions, remembered across processes.

`importlib.metadata.packages_distributions()` reads the metadata of every installed
distribution: about 0.13 s with a few hundred installed, paid by every run that fingerprints a
step importing anything from outside its project; the installed versions (a step's package
versions, the local host's check of the SDK's) cost `importlib.metadata`'s own import, about
20 ms, on every run. The answer depends only on the distribution
metadata on the import path, and installing, upgrading or removing a distribution adds, replaces
or removes a `*.dist-info` (or `*.egg-info`) folder in its import-path folder. So the mapping is
kept in durapipe's user cache folder under a key made of the interpreter, the import path, and
the names and signatures (size, mtime, ctime, inode) of the metadata folders in each of its
folders, and written only when all of them were settled.
"""
from __future__ import annotations

import functools
import os
import stat
import sys
from typing import Any, Callable

from durapipe.cache import folders
from durapipe.cache.entries import EntryFolder
from durapipe.core.canonical import canonical_json, sha256_text
from durapipe.core.file_signature import FileSignature, settled

# Bump when the cached value's meaning changes.
FORMAT = 2  # 2: with the versions
# Answers kept, the newest: one per interpreter and import path (each virtual environment has its own).
KEEP = 32


def import_path_signatures() -> list[list[Any]]:
    """[path, signature] of every import-path entry (the working folder for an empty one), of the
    distribution metadata folders (`*.dist-info`, `*.egg-info`) in each, and of their METADATA (PKG-INFO).

    A folder on the path counts by what it is and by its metadata folders, not by its own times:
    the project's folder is on the path, and files come and go there without installing anything.
    """
    signatures: list[list[Any]] = []
    for entry in sys.path:
        folder = os.path.abspath(entry or ".")
        own = FileSignature.of(folder, follow_symlinks=False)
        signatures.append([folder, own if own is None or not stat.S_ISDIR(own.kind) else [own.kind, own.inode]])
        try:
            names = sorted(os.listdir(folder))
        except OSError:  # missing, a file (a zip) or unreadable: its own signature stands for it
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                info = os.path.join(folder, name)
                # And the file the version is read from, which an in-place edit changes without
                # moving the folder's own times.
                metadata = os.path.join(info, "METADATA" if name.endswith(".dist-info") else "PKG-INFO")
                signatures += [[info, FileSignature.of(info, follow_symlinks=False)], [metadata, FileSignature.of(metadata, follow_symlinks=False)]]
    return signatures


def packages_distributions(compute: Any = None, clock: Callable[[], float] | None = None) -> dict[str, list[str]]:
    """Top-level module -> names of the distributions providing it, as `importlib.metadata` answers.

    `compute` (for tests) replaces the `importlib.metadata` call that fills the cache on a miss; `clock`
    (for tests) the time.time that says whether the import path has settled enough to be cached.
    """
    return {name: list(dists) for name, dists in _installed(compute, clock)["map"].items()}


def installed_versions(clock: Callable[[], float] | None = None) -> dict[str, str]:
    """Distribution name (as its metadata spells it) -> version, as `importlib.metadata.version` answers.

    For a name installed twice on the import path, the first one's, as `version` finds it.
    """
    return dict(_installed(None, clock)["versions"])


@functools.cache
def in_this_process() -> tuple[dict[str, list[str]], dict[str, str]]:
    """(module map, versions) as found once per process: what fingerprinting and the local host's
    SDK check read (each answer lists the import path's metadata folders, about 4 ms)."""
    answer = _installed(None)
    return answer["map"], answer["versions"]


def _installed(compute: Any, clock: Callable[[], float] | None = None) -> dict[str, Any]:
    signatures = import_path_signatures()
    key = sha256_text(canonical_json([FORMAT, sys.version, sys.prefix, signatures]))
    entries = EntryFolder(folders.for_user("distributions"), KEEP, name_length=32)
    found = entries.read(key)
    if found is not None and isinstance(found.get("map"), dict) and isinstance(found.get("versions"), dict):
        return found
    import importlib.metadata

    mapping = {name: list(dists) for name, dists in (compute or importlib.metadata.packages_distributions)().items()}
    versions: dict[str, str] = {}
    for dist in importlib.metadata.distributions():  # in import-path order, as `version` searches
        name = dist.metadata["Name"]
        if isinstance(name, str):
            versions.setdefault(name, dist.version)
    answer = {"key": key, "map": mapping, "versions": versions}
    moment = (clock or _now)()
    # Written only when nothing on the import path changed too recently for its signature to vouch for it,
    # and only when the signatures read after computing are those the key was made of.
    # (A folder counts by [type, inode] alone: its times are not part of the key.)
    if all(settled(signature, moment) for _, signature in signatures if not isinstance(signature, list)) \
            and import_path_signatures() == signatures:
        entries.write(key, answer)  # a cache that cannot be written (read-only home) only costs speed
    return answer


def _now() -> float:
    import time

    return time.time()
