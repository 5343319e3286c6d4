"""The local host's keys: the function key for routes and the durable extension's system key, as on Azure.

Both are made once and kept in the state folder's keys.json (mode 0600), or given by env.
"""
from __future__ import annotations

import hmac
import json
import os
import re
import secrets
from pathlib import Path
from typing import Mapping

from durapipe.core.errors import UsageError

# The cookie a page sets from `?code=KEY`, so a browser's later requests carry the key.
KEY_COOKIE = "durapipe_key"

KEY_ENV = "DURAPIPE_FUNCTION_KEY"
SYSTEM_KEY_ENV = "DURAPIPE_SYSTEM_KEY"
# Azure names the Durable Functions extension's system key after the extension.
SYSTEM_KEY_NAME = "durabletask_extension"
KEYS_FILE = "keys.json"
LOCAL_RUN_KEY_FILE = "local_run.key"
# Keys travel in query strings and URL userinfo: keep them to characters that need no escaping.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{16,256}$")


def function_key(state_dir: Path, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The function key and where it came from: $DURAPIPE_FUNCTION_KEY, else state_dir/keys.json (created once)."""
    env = os.environ if env is None else env
    given = env.get(KEY_ENV)
    if given:
        if not KEY_PATTERN.match(given):
            raise UsageError(f"{KEY_ENV} must be 16 to 256 letters, digits, '-' or '_'.")
        return given, KEY_ENV
    path = Path(state_dir) / KEYS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _read(path), str(path)
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(32)
    try:
        # O_EXCL: two servers starting at once agree on the first key written.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path), str(path)
    with os.fdopen(fd, "w") as out:
        json.dump({"functionKey": key}, out)
    return key, str(path)


def system_key(state_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """The durable endpoints' system key: $DURAPIPE_SYSTEM_KEY, else keys.json (added once), else per process.

    When the function key comes from the environment no keys.json is written, so the system key then
    lives only as long as this process: function code gets it through its client binding anyway.
    """
    env = os.environ if env is None else env
    given = env.get(SYSTEM_KEY_ENV)
    if given:
        if not KEY_PATTERN.match(given):
            raise UsageError(f"{SYSTEM_KEY_ENV} must be 16 to 256 letters, digits, '-' or '_'.")
        return given
    if env.get(KEY_ENV):
        return secrets.token_urlsafe(32)
    path = Path(state_dir) / KEYS_FILE
    function_key(state_dir, env)  # makes keys.json when it is missing
    with open(path) as stream:
        data = json.load(stream)
    found = (data.get("systemKeys") or {}).get(SYSTEM_KEY_NAME)
    if isinstance(found, str) and KEY_PATTERN.match(found):
        return found
    data.setdefault("systemKeys", {})[SYSTEM_KEY_NAME] = secrets.token_urlsafe(32)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(data, out)
    os.replace(temp, path)
    return data["systemKeys"][SYSTEM_KEY_NAME]


def local_run_key(state_dir: Path) -> str:
    """The key signing this host's CLI run requests (state_dir/local_run.key, mode 0600, made once)."""
    path = Path(state_dir) / LOCAL_RUN_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        text = path.read_text().strip()
        if not KEY_PATTERN.match(text):
            raise UsageError(f"The key file {path} is damaged; delete it to make a new key.") from None
        return text
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as out:
        out.write(key)
    return key


def key_matches(given: str | None, key: str) -> bool:
    """Whether `given` is the key (constant-time, so timing does not reveal a prefix)."""
    return given is not None and hmac.compare_digest(given.encode(), key.encode())


def _read(path: Path) -> str:
    with open(path) as stream:
        if os.fstat(stream.fileno()).st_mode & 0o077:
            os.chmod(path, 0o600)  # someone widened it; the key must stay private to its owner
        try:
            key = json.load(stream)["functionKey"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"The key file {path} is damaged; delete it to make a new key.") from exc
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise UsageError(f"The key file {path} holds an invalid key; delete it to make a new key.")
    return key
