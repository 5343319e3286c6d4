"""Activities run in a pool of warm worker processes, each of which loads the function app once."""
from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import os
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from durapipe.core.errors import LocalHostError

if TYPE_CHECKING:
    import pebble


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
    from durapipe.host.lifeline import die_with_parent

    # A worker's parent is the fork server, which exits when the host does (its pipe closes): a
    # host killed with SIGKILL takes its running steps with it, so a resume never runs them twice.
    die_with_parent()
    os.environ.update(env)
    from durapipe.host.app_loader import load_app
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


# What the fork server imports once for every worker: the SDKs and durapipe's engine, never the
# app (the library imports no app). The worker imports the app's entry itself, which is cheap once
# these are loaded. A module that fails to import here is skipped; the worker then imports it itself.
# fork_server comes first: it points the server's stdout and stderr away from the command's, and
# defers the SDK's unused imports before the next ones import the SDK.
_PRELOAD = ["durapipe.host.fork_server", "durapipe.host.workers", "azure.functions", "azure.durable_functions",
            "durapipe.engine.plan", "durapipe.engine.record_run", "durapipe.engine.scheduling", "durapipe.serving.service"]
WORKER_LOG = "workers.log"


def _worker_context() -> Any:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def start_fork_server(state_dir: Path | None) -> None:
    """Start the fork server, if not yet running, with its output going to state_dir's worker log.

    Called early (`durapipe run`), its imports overlap with the caller's own start-up.
    """
    if _worker_context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    from durapipe.host.fork_server import WORKER_LOG_ENV

    if state_dir is None:
        forkserver.ensure_running()
        return
    # The fork server reads the log's path from the environment it starts with; this process
    # keeps its own, so the path does not leak into later children (a `durapipe run` started
    # from here writes its own log).
    previous = os.environ.get(WORKER_LOG_ENV)
    os.environ[WORKER_LOG_ENV] = str(Path(state_dir) / WORKER_LOG)
    try:
        forkserver.ensure_running()
    finally:
        if previous is None:
            os.environ.pop(WORKER_LOG_ENV, None)
        else:
            os.environ[WORKER_LOG_ENV] = previous


class ActivityPool:
    """Runs activities in up to max_workers processes kept warm between tasks.

    The processes start with the first activity, not with the pool: a run that reuses every
    step never needs one, and each costs a fresh interpreter importing the whole app.
    """

    def __init__(self, script_root: Path, script_file: str, max_workers: int,
                 env: dict[str, str] | None = None, state_dir: Path | None = None) -> None:
        self._args = (str(script_root), script_file, dict(env or {}))
        self._max_workers = max_workers
        self._state_dir = state_dir
        self._lock = threading.Lock()
        self._pool: pebble.ProcessPool | None = None
        self._closed = False

    def _started(self) -> pebble.ProcessPool:
        with self._lock:
            if self._closed:
                raise LocalHostError("The activity pool is closed.")
            if self._pool is None:
                # pebble rather than concurrent.futures: a worker that dies (os._exit, segfault, OOM
                # kill) fails only its own task and is replaced, whereas ProcessPoolExecutor breaks the
                # whole pool. Not 'fork': the host process has threads (dispatcher, event loop), which
                # fork would copy half-way through whatever they were doing. 'forkserver' forks each
                # worker from a single-threaded server that has imported the app once, so N workers
                # cost one app import (~0.4 s) instead of N; if the preload fails, workers import it.
                import pebble  # here, not at the top: a run that reuses every step never needs it (~30 ms)

                start_fork_server(self._state_dir)
                self._pool = pebble.ProcessPool(
                    max_workers=self._max_workers, initializer=_init_worker, initargs=self._args,
                    context=_worker_context())
            return self._pool

    def submit(self, name: str, input_text: str | None, on_done: Callable[[Outcome], None]) -> None:
        """Run activity `name` and call on_done(outcome) from a pool thread when it ends."""
        future = self._started().schedule(_run_in_worker, args=(name, input_text))
        future.add_done_callback(lambda f: on_done(_outcome(f)))

    def close(self) -> None:
        """Stop the workers (running tasks are abandoned; the journal re-runs them on resume)."""
        with self._lock:
            self._closed, pool, self._pool = True, self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=10)


class InlineActivities:
    """Runs the named activities on threads of this process and hands every other one to `workers`.

    For the activities that run no step code (planning, recording, partition lists): in the
    CLI, which has already imported the pipeline and the app, they cost no process start-up,
    so a run that reuses every step never starts a worker. They see the environment the
    workers get.
    """

    def __init__(self, loaded: Any, names: set[str], workers: Any, env: dict[str, str] | None = None) -> None:
        os.environ.update(env or {})
        self._loaded = loaded
        self._names = set(names)
        self._workers = workers
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="durapipe-inline")

    def submit(self, name: str, input_text: str | None, on_done: Callable[[Outcome], None]) -> None:
        """Run activity `name` inline when it is one of ours, else in a worker; on_done(outcome) at the end."""
        if name not in self._names:
            self._workers.submit(name, input_text, on_done)
            return
        future = self._threads.submit(call_activity, self._loaded, name, input_text)
        future.add_done_callback(lambda f: on_done(_outcome(f)))

    def close(self) -> None:
        """Stop the workers, after inline activities still running have finished."""
        self._threads.shutdown(wait=True, cancel_futures=True)
        self._workers.close()


def _outcome(future: Future) -> Outcome:
    try:
        answer = future.result()
    except Exception as exc:
        import pebble

        if isinstance(exc, pebble.ProcessExpired):
            return Outcome(False, reason=f"the activity process died (exit code {exc.exitcode}).",
                           details=str(exc))
        # cancelled, or the pool could not run it at all
        return Outcome(False, reason=f"the activity could not run: {exc!r}.", details="")
    if answer[0] == "ok":
        return Outcome(True, result=answer[1])
    return Outcome(False, reason=answer[1], details=answer[2])


def check_activity(loaded: Any, name: str) -> None:
    """Raise LocalHostError unless the app has an activity called `name`."""
    if loaded.find(name, "activityTrigger") is None:
        raise LocalHostError(f"The app has no activity function named {name!r}.")
