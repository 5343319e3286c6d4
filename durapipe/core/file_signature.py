"""What identifies one version of a file without reading it, and when that identity can be trusted.

Every cache that skips reading a file because it "has not changed" compares these. A file modified
less than RACY_WINDOW_S before we looked may change again within the same timestamp tick, keeping
its size and times (Git's "racily clean" rule): its signature cannot vouch for its content yet, so
nothing derived from it may be remembered under it (`settled`).
"""
from __future__ import annotations

import os
import stat
from typing import Any, NamedTuple

# Seconds after a file's last change (content: mtime; anything, including a write whose mtime was set
# back: ctime) before its signature vouches for its content. Coarse filesystems tick every 1-2 s.
RACY_WINDOW_S = 2.0


class FileSignature(NamedTuple):
    """(file type bits, size, mtime_ns, ctime_ns, inode) of one path: equal signatures, settled, mean equal content.

    The field order is the order caches have always stored these in (a JSON list), so entries written
    before this type existed read back equal.
    """

    kind: int
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of_stat(cls, info: os.stat_result) -> FileSignature:
        """The signature of the `os.stat`/`os.lstat` result `info`."""
        return cls(stat.S_IFMT(info.st_mode), info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)

    @classmethod
    def of(cls, path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> FileSignature | None:
        """The signature of `path` (of a symlink itself when not `follow_symlinks`), or None when it cannot be read."""
        try:
            info = os.stat(path, follow_symlinks=follow_symlinks)
        except (OSError, ValueError):  # ValueError: a NUL in the path, which names no file
            return None
        return cls.of_stat(info)

    @property
    def changed_ns(self) -> int:
        """When the file last changed: ctime moves on every write and cannot be set back by a program, unlike mtime."""
        return max(self.mtime_ns, self.ctime_ns)

    def to_json(self) -> list[int]:
        """The signature as a JSON list, in field order."""
        return list(self)

    @classmethod
    def from_json(cls, value: Any) -> FileSignature | None:
        """The signature `to_json` wrote (None for a recorded missing path); ValueError for anything else."""
        if value is None:
            return None
        if (not isinstance(value, (list, tuple)) or len(value) != len(cls._fields)
                or not all(type(part) is int for part in value)):
            raise ValueError(f"Not a file signature: {value!r}.")
        return cls(*value)


def settled(signature: FileSignature | None, now: float) -> bool:
    """True when `signature` (None: a missing path) last changed at least RACY_WINDOW_S before `now` (epoch seconds)."""
    if signature is None:
        return True
    return now - signature.changed_ns / 1e9 >= RACY_WINDOW_S
