"""`durapipe serve`: the function app on one machine, as `func start` runs it, over the embedded local host.

What it does, in order:

- Loads the app (`main.py` of durapipe's app, or `--script-root` with `PYTHON_SCRIPT_FILE_NAME`),
  checks every timer schedule and blob path (a missing `%SETTING%` stops it here), and starts a
  LocalHost on the store (`--store`, else `DURAPIPE_STORE`, else `.durapipe/`); the store URL is
  also set as `DURAPIPE_STORE` for the functions running in this process and in the workers.
  Unfinished runs in the journal resume, except those recorded on another store: they are named
  and left for `durapipe resume`, which resumes each on its own store.
- HTTP: one aiohttp server on 127.0.0.1 (`--port`, default 7071; 0 picks a free one; see http_server). Each
  httpTrigger function is served at `/<routePrefix>/<route>` (routePrefix from host.json, default
  `api`); templates take `{name}`, constraints (`{id:int}`, `:alpha`, `:guid`, ...), optional
  `{name?}` and catch-all `{*rest}`; the binding's methods are enforced (another method: 404, as
  on Azure). The durable client's rpc endpoints are mounted at `/runtime/webhooks/durabletask/`.
- The keys, as on Azure: the function key (`DURAPIPE_FUNCTION_KEY`, else `keys.json` in the host
  state folder, made at first start with `secrets.token_urlsafe`, mode 0600, printed at start) for
  the routes, and the durable extension's system key (`systemKeys.durabletask_extension` in
  `keys.json`, or `DURAPIPE_SYSTEM_KEY`) for the rpc endpoints, which refuse the function key.
  EVERY request needs its key, whatever the method and the function's authLevel, in the
  `x-functions-key` header, the `code` query parameter, or as the password of HTTP Basic
  credentials (how the SDK's own rpc calls carry it: rpcBaseUrl holds it as userinfo). Function
  code gets the system key only through its durable client binding. The key is checked before
  anything else, so without it every path, known or not, is 401; with it an unknown path is 404.
  Both are JSON `{"error": "..."}`. The status URLs the SDK builds (create_check_status_response)
  carry `code=<system key>` and are served here.
- A request body over 10 MiB is refused with 413 from its Content-Length, before it is read;
  chunked bodies get 411. The function gets a real `func.HttpRequest` (url as the caller sent it,
  lower-cased headers, query params, route params, body); its `HttpResponse` is written back
  (status, headers, mimetype). A function that raises gets a 500 with a generic message and an
  incident id; the traceback goes only to the log (stderr).
- Blob triggers: the binding path `<container>/<prefix>{name}` watches store keys under
  `<prefix>` (`DURAPIPE_INCOMING_PREFIX` overrides it; the container part is the store's own).
  Every `--poll-interval` seconds (default 2) the store is listed and each key stat'ed; a
  (key, ETag) not yet handled, once unchanged for the binding's `settleWindow` seconds (default 2),
  invokes the function once with a `func.InputStream` of that version, named `<container>/<key>`. A failure is tried again at the next polls, 5 tries in all; then
  `poison/<key>.json` is written to the store with the reason, and that version is never tried
  again. Handled versions are remembered in the state folder, so a restart invokes nothing twice.
- Timer triggers: the binding's schedule (with `%SETTING%` references resolved from the
  environment) is a six-field NCRONTAB, seconds first, in UTC. Each tick invokes the function once
  with a `func.TimerRequest`; the last tick is remembered in the state folder, and ticks missed
  while the server was down (or busy) fire once, with `past_due=True`, not once each.
  `runOnStartup` is honoured.
- SIGINT (Ctrl-C) and SIGTERM stop it cleanly: no new requests, pollers and timers stop, the host
  and its worker processes stop; unfinished runs stay in the journal; the exit code is 0.

All functions run in this process (async ones on the host's one client event loop), activities in
the host's worker processes. One server per state folder: it holds `serve.lock` there (flock), and
a second one refuses to start; each run it drives is locked too, so it never resumes a run that a
live `durapipe run` (or another host) is driving.
"""
from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from durapipe.core.errors import UsageError
from durapipe.host.app_loader import FunctionInfo, LoadedApp, load_app
from durapipe.host.blob_poller import BlobPoller, blob_watches
from durapipe.host.sdk_compat import load_client_http
from durapipe.host.http_server import HttpServer, app_routes, route_prefix
from durapipe.host.invoker import FunctionInvoker
from durapipe.host.function_key import function_key, system_key
from durapipe.host.locks import FileLock, lock_holder
from durapipe.host.rpc import RpcRouter
from durapipe.host.settings import SETTINGS_FILE, load_local_settings
from durapipe.host.timers import TimerScheduler, timer_schedules
from durapipe.host.session import (APP_SCRIPT_FILE, LocalSession, app_script_root, other_store_of_run,
                                   remember_serve_store, remember_store, serve_store)
from durapipe.store.url import STORE_ENV, open_store

log = logging.getLogger(__name__)

DEFAULT_PORT = 7071
DEFAULT_POLL_INTERVAL_S = 2.0
SERVE_LOCK = "serve.lock"


class Server:
    """The serve stack: a LocalHost plus the HTTP server, the blob poller and the timers over it."""

    def __init__(self, *, state_dir: Path, store_url: str | None = None, port: int = DEFAULT_PORT,
                 max_parallel: int | None = None, poll_interval: float = DEFAULT_POLL_INTERVAL_S,
                 script_root: Path | None = None, script_file: str | None = APP_SCRIPT_FILE,
                 env: Mapping[str, str] | None = None, echo: Callable[[str], None] = print,
                 notes: list[str] | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.store_url = store_url
        self.port = port
        self.max_parallel = max_parallel
        self.poll_interval = poll_interval
        self.script_root = Path(script_root) if script_root else None
        self.script_file = script_file
        self.env = os.environ if env is None else env
        self.echo = echo
        self.notes = list(notes or [])
        self.session: LocalSession | None = None
        self.http: HttpServer | None = None
        self.poller: BlobPoller | None = None
        self.timers: TimerScheduler | None = None
        self.invoker: FunctionInvoker | None = None
        self._router: RpcRouter | None = None
        self.key = ""
        self.system_key = ""
        self._serve_lock: FileLock | None = None

    @property
    def base_url(self) -> str:
        """The server's origin, e.g. http://127.0.0.1:7071."""
        assert self.http is not None, "start() the server first"
        return self.http.base_url

    def start(self) -> "Server":
        """Check the app's triggers, start the host and every listener, resume unfinished runs, print the banner."""
        self._serve_lock = FileLock(self.state_dir / SERVE_LOCK)
        if not self._serve_lock.acquire():
            holder = lock_holder(self.state_dir / SERVE_LOCK)
            raise UsageError(f"Another durapipe serve{f' (pid {holder})' if holder and holder > 0 else ''} "
                             f"is using the state folder {self.state_dir}; stop it, or set DURAPIPE_HOME "
                             "to give this one a folder of its own.")
        try:
            self._start()
        except BaseException:
            self._serve_lock.release()
            raise
        return self

    def _start(self) -> None:
        app = load_app(self.script_root or app_script_root(), self.script_file)
        # Everything that can be wrong in the configuration is reported before anything starts.
        schedules = timer_schedules(app, self.env)
        watches = blob_watches(app, self.env)
        routes = app_routes(app)
        self.key, key_source = function_key(self.state_dir, self.env)
        self.system_key = system_key(self.state_dir, self.env)
        store = open_store(self.store_url)
        # Functions run in this process too (HTTP, blob, timer): they must see the same store.
        os.environ[STORE_ENV] = store.url
        try:
            http = HttpServer(routes, route_prefix(app.script_root), self.key, self._invoke,
                              self._rpc_handle, self.port, system_key=self.system_key)
        except OSError as exc:
            raise UsageError(f"Cannot listen on 127.0.0.1:{self.port} ({exc.strerror or exc}); "
                             f"pick another port with --port (0 picks a free one).") from exc
        self.http = http
        try:
            self.session = LocalSession(store.url, self.state_dir, self.max_parallel,
                                        script_root=app.script_root, script_file=app.script_file)
            host = self.session.host
            host.on_finish(log_registration)
            self._router = RpcRouter(host)
            self.invoker = FunctionInvoker(host, http.base_url, self.system_key)
            # A run resumes against the store it recorded: one of another store is left for `durapipe resume`.
            # A run a serve started records no store of its own: it ran on the store the last serve served.
            left: dict[str, str] = {}
            last_served = serve_store(self.state_dir)

            def on_this_store(run_id: str) -> bool:
                other = other_store_of_run(self.state_dir, run_id, store.url, unrecorded=last_served)
                if other is not None:
                    left[run_id] = other
                    remember_store(self.state_dir, run_id, other)  # still known after this serve
                return other is None

            resumed = host.resume_unfinished(on_this_store)
            remember_serve_store(self.state_dir, store.url)
            self.poller = BlobPoller(store, watches, self._invoke, self.state_dir, self.poll_interval)
            self.timers = TimerScheduler(schedules, self._invoke, self.state_dir)
            http.start()
            self.poller.start()
            self.timers.start()
        except BaseException:
            self.stop()
            raise
        self._banner(app, store.describe(), key_source, resumed, left)

    def stop(self) -> None:
        """Stop accepting requests, stop pollers and timers, then the host and its workers."""
        if self.http is not None:
            self.http.close()
            self.http = None
        for part in (self.poller, self.timers):
            if part is not None:
                part.stop()
        self.poller = self.timers = None
        if self.session is not None:
            self.session.close()
            self.session = None
        if self._serve_lock is not None:
            self._serve_lock.release()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _invoke(self, fn: FunctionInfo, trigger_value: Any) -> Any:
        assert self.invoker is not None
        return self.invoker.invoke(fn, trigger_value)

    def _rpc_handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Any:
        assert self._router is not None
        return self._router.handle(method, path, query, body)

    def _web_view_lines(self) -> list[str]:
        """Where to open the app's pages in a browser, when it serves a page at its root."""
        assert self.http is not None
        root = [r for r in self.http.routes if not r.template.strip("/") and (r.methods is None or "GET" in r.methods)]
        if not root:
            return []
        return [f"web view: {self.http.route_url(root[0]).rstrip('/')}/?code={self.key} (sets a cookie; later pages "
                "need no key in the address)"]

    def _banner(self, app: LoadedApp, store: str, key_source: str, resumed: list[str], left: dict[str, str]) -> None:
        assert self.http is not None and self.poller is not None and self.timers is not None
        lines = [f"durapipe serve: listening on {self.http.base_url}",
                 f"store: {store}",
                 *self.notes,
                 f"function key ({key_source}): {self.key}",
                 "  send it as the x-functions-key header or the code query parameter",
                 *self._web_view_lines(),
                 "functions:"]
        for route in self.http.routes:
            methods = ",".join(sorted(route.methods)) if route.methods else "ANY"
            lines.append(f"  {route.function.name}: [{methods}] {self.http.route_url(route)}")
        for watch in self.poller.watches:
            lines.append(f"  {watch.function.name}: blobTrigger {watch.function.trigger.get('path')}, "
                         f"store keys under '{watch.prefix}' (every {self.poll_interval:g}s)")
        for schedule in self.timers.schedules:
            lines.append(f"  {schedule.function.name}: timerTrigger '{schedule.expression}' (UTC)")
        for kind in ("orchestrationTrigger", "activityTrigger"):
            names = sorted(f.name for f in app.by_trigger(kind))
            if names:
                lines.append(f"  {kind}: {', '.join(names)}")
        # The watches and timers are the app's functions, bound when it loads, as on the Functions host;
        # a pipeline edited on disk is served again without a restart (Catalog.refresh), a new function is not.
        lines.append("blob triggers and schedules are watched as they were at start-up: one added while "
                     "serving is watched after a restart.")
        if resumed:
            lines.append(f"resumed {len(resumed)} unfinished run(s): {', '.join(sorted(resumed))}")
        lines += [f"left run {run_id} for `durapipe resume`: it ran on store {other}"
                  for run_id, other in sorted(left.items())]
        lines.append("Press Ctrl+C to stop.")
        for line in lines:
            self.echo(line)


def log_registration(instance_id: str, status: str, output: Any) -> None:
    """One log line per run that asked to register a model: what the registry decided, and why."""
    registration = output.get("registration") if isinstance(output, dict) else None
    # A parent orchestration (a blob arrival) may return its run's summary too: log the run itself only.
    if isinstance(registration, dict) and output.get("run_id") == instance_id:
        log.info("run %s, model %s: %s", instance_id, registration.get("model"), registration.get("decision"))


def serve_forever(*, state_dir: Path, store_url: str | None = None, port: int = DEFAULT_PORT,
                  max_parallel: int | None = None, poll_interval: float = DEFAULT_POLL_INTERVAL_S,
                  script_root: Path | None = None, script_file: str | None = APP_SCRIPT_FILE,
                  project_root: Path | None = None, definitions: str | None = None,
                  echo: Callable[[str], None] = print) -> int:
    """Run a Server until SIGINT or SIGTERM, then stop it cleanly; returns the exit code (0).

    With `project_root`, durapipe's own app serves that project's definitions (`definitions`,
    else $DURAPIPE_DEFINITIONS, else its pyproject.toml's `[tool.durapipe] definitions`).
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stopping = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    # A project's settings live in the project, as local.settings.json does beside a function app.
    applied = load_local_settings(project_root or script_root or app_script_root())
    if applied:
        echo(f"app settings from {SETTINGS_FILE}: {', '.join(sorted(applied))}")
    if project_root is not None:
        from durapipe.core.paths import export_project

        notes = [f"project: {project_root} (definitions {export_project(project_root, definitions)})"]
    else:
        notes = []
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    # A server's starter functions call the durable client: import its HTTP helpers (and
    # aiohttp) now rather than inside the first request.
    load_client_http()
    try:
        server = Server(state_dir=state_dir, store_url=store_url, port=port, max_parallel=max_parallel,
                        poll_interval=poll_interval, script_root=script_root, script_file=script_file,
                        echo=echo, notes=notes)
        server.start()
        try:
            while not stopping.wait(0.5):
                pass
            echo("durapipe serve: stopping")
        finally:
            server.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    echo("durapipe serve: stopped")
    return 0
