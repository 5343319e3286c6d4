"""A host's scratch folder in its state folder, locked while the host lives; dead hosts' folders are swept."""
from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

from durapipe.host.locks import FileLock, lock_holder

log = logging.getLogger(__name__)
SCRATCH_DIR = "scratch"


class HostScratch:
    """state_dir/scratch/<id>/, held by this host (state_dir/scratch/<id>.lock) until close()."""

    def __init__(self, state_dir: Path) -> None:
        self.root = Path(state_dir) / SCRATCH_DIR
        name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.path = self.root / name
        self._lock = FileLock(self.root / f"{name}.lock")
        self._lock.acquire()
        self.path.mkdir(parents=True, exist_ok=True)
        self.sweep()

    def sweep(self) -> list[Path]:
        """Remove the scratch folders of hosts that are no longer alive; return what was removed."""
        removed = []
        for entry in list(self.root.iterdir()):
            if entry.suffix == ".lock" or entry == self.path:
                continue
            lock = entry.with_name(f"{entry.name}.lock")
            if lock_holder(lock) is not None:
                continue  # a live host's
            shutil.rmtree(entry, ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed.append(entry)
        if removed:
            log.info("removed %d scratch folder(s) left by hosts that stopped", len(removed))
        return removed

    def close(self) -> None:
        """Remove this host's scratch folder and drop its lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        (self.root / f"{self.path.name}.lock").unlink(missing_ok=True)
        self._lock.release()
