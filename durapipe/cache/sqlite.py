"""sqlite cache databases opened safely by many processes at once (the closure and hash caches)."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from durapipe.core.errors import DurapipeError

LOCK_TIMEOUT_S = 30.0


def open_cache_database(path: Path, schema: str) -> sqlite3.Connection:
    """A connection to the sqlite cache at `path` (WAL, autocommit), its table created by `schema`; safe across processes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=LOCK_TIMEOUT_S, check_same_thread=False, isolation_level=None)

    def set_up() -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(schema)

    while_locked(set_up, path)
    return connection


def while_locked(action: Any, path: Path) -> Any:
    """Run `action`, again while sqlite reports the database locked, for up to LOCK_TIMEOUT_S.

    Processes that open a new cache at the same moment race to switch it to WAL, and sqlite
    answers that switch with "database is locked" at once, without waiting its busy timeout.
    """
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise DurapipeError(f"The cache {path} stayed locked for {LOCK_TIMEOUT_S:g} seconds; "
                                    f"another process holds it.") from exc
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
