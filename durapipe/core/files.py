"""Files written whole or not at all, and folders kept small: what every store, cache and state file shares."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterator


def write_file_atomically(path: Path, chunks: Iterator[bytes], *, durable: bool = False) -> None:
    """Write `chunks` to a temp file beside `path`, then rename it; on any error, remove the temp file.

    An error raised by `chunks` itself (a failed check after the last chunk) leaves `path` as it
    was. `durable` fsyncs the file before the rename, so a crash cannot leave it empty.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        _remove_quietly(temp)
        raise


def keep_newest(folder: Path, keep: int, pattern: str = "*.json") -> None:
    """Remove all but the `keep` newest (by mtime) files of `folder` matching `pattern`.

    Files another process removes meanwhile are skipped, so two processes may prune at once.
    """
    entries = []
    for child in folder.glob(pattern):
        try:
            entries.append((child.stat().st_mtime_ns, child))
        except OSError:
            continue
    for _, old in sorted(entries, reverse=True)[keep:]:
        old.unlink(missing_ok=True)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
