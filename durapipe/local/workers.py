"""Activities run in a pool of warm worker processes, each of which loads the function app once."""
from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import os
import traceback
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pebble
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from durapipe.errors import LocalHostError


@dataclass(frozen=True)
class Outcome:
    """An activity's result: JSON text on success, else a reason (the message) and details (traceback)."""

    ok: bool
    result: str | None = None
    reason: str = ""
    details: str = ""


_worker_app: Any = None


def _init_worker(script_root: str, script_file: str, env: dict[str, str]) -> None:
    global _worker_app
    os.environ.update(env)
    from durapipe.local.app_loader import load_app
    _worker_app = load_app(Path(script_root), script_file)


def call_activity(loaded: Any, name: str, input_text: str | None) -> tuple[str, ...]:
    """Invoke activity `name` as the Functions worker does: decode the JSON input, call, encode the result."""
    info = loaded.find(name, "activityTrigger")
    if info is None:
        return ("error", f"The app has no activity function named {name!r}.", "")
    try:
        # The worker decodes the extension's JSON text with the activity trigger's converter and
        # encodes the return value with it, so inputs and results round-trip exactly as on Azure.
        value = ActivityTriggerConverter.decode(meta.Datum(type="json", value=input_text or "null"),
                                                trigger_metadata=None)
        result = info.user_function(**{info.trigger["name"]: value})
        if inspect.isawaitable(result):
            result = asyncio.run(_await(result))
        encoded = ActivityTriggerConverter.encode(result, expected_type=None)
        return ("ok", encoded.value)
    except Exception as exc:
        return ("error", str(exc) or type(exc).__name__, traceback.format_exc())


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _run_in_worker(name: str, input_text: str | None) -> tuple[str, ...]:
    return call_activity(_worker_app, name, input_text)


class ActivityPool:
    """Runs activities in up to max_workers processes kept warm between tasks."""

    def __init__(self, script_root: Path, script_file: str, max_workers: int,
                 env: dict[str, str] | None = None) -> None:
        # pebble rather than concurrent.futures: a worker that dies (os._exit, segfault, OOM kill)
        # fails only its own task and is replaced, whereas ProcessPoolExecutor breaks the whole pool.
        # 'spawn' because the host process has threads (dispatcher, event loop), which fork would copy
        # half-way through whatever they were doing.
        self._pool = pebble.ProcessPool(
            max_workers=max_workers, initializer=_init_worker,
            initargs=(str(script_root), script_file, dict(env or {})),
            context=multiprocessing.get_context("spawn"))

    def submit(self, name: str, input_text: str | None, on_done: Callable[[Outcome], None]) -> None:
        """Run activity `name` and call on_done(outcome) from a pool thread when it ends."""
        future = self._pool.schedule(_run_in_worker, args=(name, input_text))
        future.add_done_callback(lambda f: on_done(_outcome(f)))

    def close(self) -> None:
        """Stop the workers (running tasks are abandoned; the journal re-runs them on resume)."""
        self._pool.stop()
        self._pool.join(timeout=10)


def _outcome(future: Future) -> Outcome:
    try:
        answer = future.result()
    except pebble.ProcessExpired as exc:
        return Outcome(False, reason=f"the activity process died (exit code {exc.exitcode}).",
                       details=str(exc))
    except Exception as exc:  # cancelled, or the pool could not run it at all
        return Outcome(False, reason=f"the activity could not run: {exc!r}.", details="")
    if answer[0] == "ok":
        return Outcome(True, result=answer[1])
    return Outcome(False, reason=answer[1], details=answer[2])


def check_activity(loaded: Any, name: str) -> None:
    """Raise LocalHostError unless the app has an activity called `name`."""
    if loaded.find(name, "activityTrigger") is None:
        raise LocalHostError(f"The app has no activity function named {name!r}.")
