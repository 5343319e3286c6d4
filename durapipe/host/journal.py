"""On-disk journal of orchestration instances: history.jsonl appended per episode, meta.json replaced atomically."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterator

from durapipe.core.files import write_file_atomically

MAX_FOLDER_NAME = 200


class Journal:
    """Stores each instance under state_dir/instances/<quoted id>/ (history.jsonl + meta.json)."""

    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir) / "instances"
        self.root.mkdir(parents=True, exist_ok=True)

    def lock_path(self, instance_id: str) -> Path:
        """The lock a host holds while it drives the instance (outside its folder, which purge removes)."""
        return self.root.parent / "locks" / f"{self._dir(instance_id).name}.lock"

    def _dir(self, instance_id: str) -> Path:
        # Instance ids may hold ':' (sub-orchestrations) or '/', so the folder name is escaped.
        safe = "".join(c if c.isalnum() or c in "-_" else f"%{ord(c):02X}" for c in instance_id)
        if len(safe) > MAX_FOLDER_NAME:
            # Escaping can triple an id's length past the file system's 255 bytes: keep a prefix and a hash.
            safe = f"{safe[:100]}~{hashlib.sha256(instance_id.encode()).hexdigest()}"
        return self.root / safe

    def append(self, instance_id: str, events: list[dict[str, Any]]) -> None:
        """Append events to the instance's history and make them durable before returning."""
        folder = self._dir(instance_id)
        folder.mkdir(parents=True, exist_ok=True)
        text = "".join(json.dumps(e) + "\n" for e in events)
        with open(folder / "history.jsonl", "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def write_meta(self, instance_id: str, meta: dict[str, Any]) -> None:
        """Replace meta.json atomically (temp file, fsync, rename)."""
        write_file_atomically(self._dir(instance_id) / "meta.json", iter([json.dumps(meta).encode()]), durable=True)

    def reset_history(self, instance_id: str) -> None:
        """Start an empty history (a new execution after continue-as-new or a restart)."""
        path = self._dir(instance_id) / "history.jsonl"
        if path.exists():
            path.unlink()

    def read_meta(self, instance_id: str) -> dict[str, Any] | None:
        """The instance's meta.json, or None if it has none."""
        path = self._dir(instance_id) / "meta.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def read_history(self, instance_id: str) -> list[dict[str, Any]]:
        """Every complete event line of the history (a torn last line from a crash is dropped)."""
        path = self._dir(instance_id) / "history.jsonl"
        if not path.exists():
            return []
        events = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                break
        return events

    def purge(self, instance_id: str) -> None:
        """Delete everything stored for the instance (no error when already gone)."""
        shutil.rmtree(self._dir(instance_id), ignore_errors=True)

    def metas(self) -> Iterator[dict[str, Any]]:
        """The meta of every stored instance."""
        for folder in sorted(self.root.iterdir()):
            meta = folder / "meta.json"
            if meta.exists():
                yield json.loads(meta.read_text(encoding="utf-8"))
