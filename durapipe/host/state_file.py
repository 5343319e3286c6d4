"""Small JSON state files of the local host (what a poller delivered, a timer's last tick)."""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from durapipe.core.files import write_file_atomically

log = logging.getLogger(__name__)


def load_state(path: Path, lost: str) -> dict[str, Any]:
    """The JSON object in `path`; {} when it is missing, or damaged (logging that `lost` is forgotten)."""
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        log.warning("%s is damaged; %s", path, lost)
        return {}
    return state if isinstance(state, dict) else {}


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Replace `path` with `state` as JSON, atomically (a crash leaves the old or the new file)."""
    write_file_atomically(path, iter([json.dumps(state).encode()]))
