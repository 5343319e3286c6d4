"""App settings from `local.settings.json`, read the way `func start` reads them."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import MutableMapping

from durapipe.core.errors import UsageError

SETTINGS_FILE = "local.settings.json"


def load_local_settings(script_root: Path, env: MutableMapping[str, str] | None = None) -> list[str]:
    """Put the `Values` of script_root/local.settings.json into `env` where not already set; return their names.

    As with `func start`, a variable already in the environment wins over the file.
    """
    env = os.environ if env is None else env
    path = Path(script_root) / SETTINGS_FILE
    if not path.exists():
        return []
    try:
        values = json.loads(path.read_text()).get("Values") or {}
    except (ValueError, AttributeError) as exc:
        raise UsageError(f"{path} is not a JSON object with a 'Values' object ({exc}).") from None
    if not isinstance(values, dict):
        raise UsageError(f"{path} has 'Values' that is not a JSON object.")
    applied = []
    for name, value in values.items():
        if name not in env and isinstance(value, (str, int, float, bool)):
            env[name] = str(value)
            applied.append(name)
    return applied
