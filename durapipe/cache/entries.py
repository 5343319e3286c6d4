"""A folder of JSON cache entries, one file per key, each written whole and kept only while among the newest."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durapipe.core.files import keep_newest, write_file_atomically


@dataclass(frozen=True)
class EntryFolder:
    """JSON entries under `folder`, named by their key's first `name_length` characters; the `keep` newest kept.

    An entry holds the whole key it was written for and is found only under that key. Callers hash
    their cache's FORMAT version into the key, so an entry of another format (older or newer) is a miss.
    """

    folder: Path
    keep: int
    name_length: int = 40

    def path(self, key: str) -> Path:
        """The file holding the entry for `key`."""
        return self.folder / f"{key[:self.name_length]}.json"

    def read(self, key: str) -> dict[str, Any] | None:
        """The entry written for `key`; None when there is none, or it is unreadable, corrupt or another key's."""
        try:
            entry = json.loads(self.path(key).read_bytes())
        except (OSError, ValueError):  # ValueError: not JSON, or not UTF-8
            return None
        return entry if isinstance(entry, dict) and entry.get("key") == key else None

    def write(self, key: str, entry: dict[str, Any]) -> None:
        """Keep `entry` for `key` atomically, then only the `keep` newest; a folder that cannot be written only costs speed."""
        text = json.dumps({**entry, "key": key}, separators=(",", ":"))
        try:
            write_file_atomically(self.path(key), iter([text.encode()]))
            keep_newest(self.folder, self.keep)
        except OSError:
            pass
