"""Blob triggers on one machine: poll the store for new or overwritten blobs and invoke each once per etag.

A blob is polled, not announced: a file copied into a folder store is listed while it is written, and
each chunk is a new etag. So a version is invoked only once it is settled, seen unchanged for the
trigger's settle window (the binding's `settleWindow`, seconds), and the function gets exactly that
version's bytes (read, then checked against its etag); one that changed meanwhile waits for the next.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from azure.functions.blob import InputStream

from durapipe.dsl.definitions import DEFAULT_SETTLE_WINDOW
from durapipe.store.keys import poison_key
from durapipe.core.errors import DurapipeError, InvalidNameError, NotFoundError, UsageError
from durapipe.host.app_loader import FunctionInfo, LoadedApp
from durapipe.host.state_file import load_state, save_state
from durapipe.store.base import Store

log = logging.getLogger(__name__)

PREFIX_ENV = "DURAPIPE_INCOMING_PREFIX"
POISON_PREFIX = "poison/"
MAX_TRIES = 5  # Azure's blob trigger gives up after 5 tries (maxDequeueCount) too
MAX_BLOB_BYTES = 256 * 1024 * 1024
STATE_FILE = "blob_triggers.json"
DONE, RETRYING, POISONED, REFUSED = "done", "retrying", "poisoned", "refused"
SETTLE_WINDOW_BINDING = "settleWindow"
# For a blob trigger whose binding sets none (an app not built from durapipe definitions): BlobTrigger's default.
DEFAULT_SETTLE_WINDOW_S = DEFAULT_SETTLE_WINDOW


@dataclass(frozen=True)
class BlobWatch:
    """What one blob-triggered function watches: store keys under `prefix` matching `pattern`."""

    function: FunctionInfo
    container: str
    prefix: str
    pattern: re.Pattern[str]
    settle_window: float = DEFAULT_SETTLE_WINDOW_S

    def blob_name(self, key: str) -> str:
        """The name the function sees, '<container>/<key>', as the binding path spells it on Azure."""
        return f"{self.container}/{key}"


def blob_watches(app: LoadedApp, env: Mapping[str, str] | None = None) -> list[BlobWatch]:
    """A BlobWatch per blobTrigger function, from its binding path '<container>/<prefix>{name}'."""
    env = os.environ if env is None else env
    watches = []
    for fn in app.by_trigger("blobTrigger"):
        path = str(fn.trigger.get("path") or "")
        container, sep, rest = path.partition("/")
        if not sep or not container or "{" in container or not rest:
            raise UsageError(f"The blob trigger {fn.name!r} has path {path!r}; write '<container>/<prefix>{{name}}'.")
        cut = rest.find("{")
        prefix, tail = (rest, "") if cut < 0 else (rest[:cut], rest[cut:])
        prefix = env.get(PREFIX_ENV) or prefix
        watches.append(BlobWatch(fn, container, prefix, re.compile(re.escape(prefix) + _tail_pattern(tail)),
                                 _settle_window(fn)))
    return watches


def _settle_window(fn: FunctionInfo) -> float:
    value = fn.trigger.get(SETTLE_WINDOW_BINDING, DEFAULT_SETTLE_WINDOW_S)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise UsageError(f"The blob trigger {fn.name!r} has {SETTLE_WINDOW_BINDING} {value!r}; give a number of "
                         "seconds, 0 or more.")
    return float(value)


def _tail_pattern(tail: str) -> str:
    out, last = [], 0
    for found in re.finditer(r"\{([^{}]+)\}", tail):
        out.append(re.escape(tail[last:found.start()]))
        out.append(".+")
        last = found.end()
    out.append(re.escape(tail[last:]))
    return "".join(out)


class BlobPoller:
    """Polls the store every `interval` seconds; each (key, etag) is invoked until it succeeds or is poisoned."""

    def __init__(self, store: Store, watches: list[BlobWatch], invoke: Callable[[FunctionInfo, Any], Any],
                 state_dir: Path, interval: float = 2.0, max_tries: int = MAX_TRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.watches = watches
        self.invoke = invoke
        self.interval = interval
        self.max_tries = max_tries
        self._clock = clock
        # (function, key) -> (etag, when first seen): the versions waiting to settle. Kept in memory only:
        # after a restart a version waits one window again, which is harmless.
        self._sightings: dict[tuple[str, str], tuple[str, float]] = {}
        self._state_path = Path(state_dir) / STATE_FILE
        self._state: dict[str, dict[str, dict[str, Any]]] = load_state(
            self._state_path, "every blob will be seen as new")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "BlobPoller":
        """Poll in a background thread until stop()."""
        if self.watches and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="durapipe-blob-poller", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop polling (an invocation under way finishes first, up to 30 s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the poller thread must outlive a bug or a full disk
                log.exception("polling the store for blob triggers failed")
            self._stop.wait(self.interval)

    def poll_once(self) -> None:
        """Look at every watched prefix once and invoke each new (key, etag)."""
        for watch in self.watches:
            try:
                self._poll(watch)
            except DurapipeError as exc:  # an outage: try again at the next poll
                log.warning("polling %s for %s failed: %s", watch.prefix or "the store", watch.function.name, exc)

    def _poll(self, watch: BlobWatch) -> None:
        seen = self._state.setdefault(watch.function.name, {})
        keys = [k for k in self.store.list(watch.prefix)
                if watch.pattern.fullmatch(k) and not k.startswith(POISON_PREFIX)]
        for gone in set(seen) - set(keys):
            del seen[gone]  # deleted blobs: a re-created one has a new etag anyway
        listed = set(keys)
        for sighting in [s for s in self._sightings if s[0] == watch.function.name and s[1] not in listed]:
            del self._sightings[sighting]
        for key in keys:
            if self._stop.is_set():
                break
            try:
                info = self.store.stat(key)
            except NotFoundError:
                continue
            except InvalidNameError as exc:
                # A name the store API cannot address (another client wrote it): it can never be read, so
                # say so once, and go on with the other blobs.
                if (seen.get(key) or {}).get("state") != REFUSED:
                    log.warning("The blob %r is not passed to %s: %s", key, watch.function.name, exc)
                    seen[key] = {"etag": None, "state": REFUSED, "tries": 0}
                    save_state(self._state_path, self._state)
                continue
            record = seen.get(key)
            if record is not None and record["etag"] == info.etag and record["state"] in (DONE, POISONED):
                continue
            tried = record is not None and record["etag"] == info.etag
            if not tried and not self._settled(watch, key, info.etag):
                continue
            tries = record["tries"] if tried else 0
            seen[key] = self._attempt(watch, key, info.etag, info.size, tries)
            save_state(self._state_path, self._state)

    def _settled(self, watch: BlobWatch, key: str, etag: str) -> bool:
        """Whether the version `etag` of `key` has been seen unchanged for the watch's settle window."""
        now = self._clock()
        seen = self._sightings.get((watch.function.name, key))
        if seen is None or seen[0] != etag:
            self._sightings[(watch.function.name, key)] = seen = (etag, now)
        if now - seen[1] < watch.settle_window:
            return False
        del self._sightings[(watch.function.name, key)]
        return True

    def _attempt(self, watch: BlobWatch, key: str, etag: str, size: int, tries: int) -> dict[str, Any]:
        if size > MAX_BLOB_BYTES:
            reason = f"the blob is {size} bytes; the local host passes at most {MAX_BLOB_BYTES} to a function."
            return self._poison(watch, key, etag, tries, reason)
        data = self.store.get_version(key, etag)
        if data is None:
            # Changed (or deleted) since it was listed: this version starts nothing; a new one settles anew.
            log.info("The blob %r changed before %s read it (ETag %s); its next version will be passed.",
                     key, watch.function.name, etag)
            return {"etag": etag, "state": DONE, "tries": tries}
        stream = InputStream(
            data=data, name=watch.blob_name(key), uri=f"{self.store.url.rstrip('/')}/{key}", length=len(data),
            blob_properties={"ETag": etag, "Length": len(data), "ContentLength": len(data),
                             "BlobType": "BlockBlob", "Container": watch.container},
            metadata={})
        tries += 1
        try:
            self.invoke(watch.function, stream)
        except Exception as exc:
            log.exception("blob function %s failed on %s (try %d of %d)", watch.function.name, key, tries,
                          self.max_tries)
            if tries >= self.max_tries:
                return self._poison(watch, key, etag, tries, f"{type(exc).__name__}: {exc}"[:2000])
            return {"etag": etag, "state": RETRYING, "tries": tries}
        return {"etag": etag, "state": DONE, "tries": tries}

    def _poison(self, watch: BlobWatch, key: str, etag: str, tries: int, reason: str) -> dict[str, Any]:
        record = {"schema": 1, "function": watch.function.name, "blob": watch.blob_name(key), "key": key,
                  "etag": etag, "tries": tries, "reason": reason,
                  "time": datetime.now(timezone.utc).isoformat()}
        try:
            self.store.put(poison_key(key), json.dumps(record, indent=2).encode())
        except DurapipeError as exc:
            log.error("could not write the poison record of %s: %s", key, exc)
        log.error("blob %s is poisoned for %s after %d tries: %s", key, watch.function.name, tries, reason)
        return {"etag": etag, "state": POISONED, "tries": tries}

