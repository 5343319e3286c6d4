"""compute="local": each step in a child process of its own, forked from a warm template, supervised here."""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from durapipe.executors.base import StepCall, StepOutcome
from durapipe.executors.child import STALE_EXIT, result_path

_CANCEL_POLL_S = 1.0
_START_TIMEOUT_S = 60.0


@dataclass
class _TemplateHandle:
    """A running template: where it listens and how to stop it."""

    socket_path: str
    pid: int
    process: subprocess.Popen | None  # None when forked from this process

    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if self.process is not None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        else:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        shutil.rmtree(os.path.dirname(self.socket_path), ignore_errors=True)


class LocalExecutor:
    """Runs each step in its own process: its own log descriptors, process group, limits and timeout."""

    def __init__(self, start: str = "auto") -> None:
        # start: "fork" (a fork of this process), "spawn" (a fresh interpreter), or "auto": fork
        # when this process has one thread and the step uses this interpreter, else spawn.
        self._start = start
        self._lock = threading.Lock()
        self._templates: dict[tuple[str, str | None], _TemplateHandle] = {}
        self._owner = os.getpid()
        atexit.register(self.close)

    def run(self, call: StepCall, canceled: Callable[[], bool] | None = None) -> StepOutcome:
        """Run `call` in a child process to its end, its timeout, or a cancel; say how it ended."""
        outcome = self._run_once(call, canceled)
        if outcome.stale_code and outcome.exit_code == STALE_EXIT:
            # The template imported an older version of the code: start a fresh one, once.
            self._restart(call)
            outcome = self._run_once(call, canceled)
            if outcome.exit_code == STALE_EXIT:
                return StepOutcome(False, error=f"The code of step {call.step_ref} keeps changing on disk, "
                                   "so it did not run; run the pipeline again once the edit is saved.",
                                   stale_code=True)
        return outcome

    def close(self) -> None:
        """Stop every template this executor started (steps still running are killed)."""
        if os.getpid() != self._owner:
            return  # a forked copy of this process does not own them
        with self._lock:
            handles, self._templates = list(self._templates.values()), {}
        for handle in handles:
            handle.stop()

    def _run_once(self, call: StepCall, canceled: Callable[[], bool] | None) -> StepOutcome:
        for attempt in range(2):
            handle = self._template(call)
            try:
                conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                conn.connect(handle.socket_path)
                break
            except OSError:
                conn.close()
                if attempt:
                    raise
                self._restart(call)  # the template died (killed, or out of memory): start another
        try:
            conn.sendall(json.dumps(call.to_json()).encode() + b"\n")
            return self._supervise(conn, call, canceled)
        finally:
            conn.close()

    def _supervise(self, conn: socket.socket, call: StepCall, canceled: Callable[[], bool] | None) -> StepOutcome:
        reader = _Lines(conn)
        first = reader.next(_START_TIMEOUT_S)
        if first is None or "pid" not in first:
            error = (first or {}).get("error") or "the step's process could not be started."
            return StepOutcome(False, error=error)
        pid = first["pid"]
        started = time.monotonic()
        deadline = started + call.timeout if call.timeout else None
        next_cancel_check = started + _CANCEL_POLL_S
        while True:
            now = time.monotonic()
            waits = [next_cancel_check] if canceled is not None else []
            if deadline is not None:
                waits.append(deadline)
            wait = max(0.0, min(waits) - now) if waits else None
            message = reader.next(wait)
            if message is not None and "exit" in message:
                return _ended(call, message["exit"])
            if reader.closed:
                return StepOutcome(False, error="the step's supervisor process died while the step ran.")
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                _kill_group(pid)
                reader.next(5.0)
                return StepOutcome(False, error=f"the step timed out after {call.timeout:g} seconds and was killed",
                                   timed_out=True)
            if canceled is not None and now >= next_cancel_check:
                next_cancel_check = now + _CANCEL_POLL_S
                if _asked(canceled):
                    _kill_group(pid)
                    reader.next(5.0)
                    return StepOutcome(False, error="the run was canceled, so the step was stopped", canceled=True)

    def _template(self, call: StepCall) -> _TemplateHandle:
        key = (call.python or sys.executable, call.code_root)
        with self._lock:
            handle = self._templates.get(key)
            if handle is None:
                handle = self._templates[key] = _start_template(call.python, self._start)
            return handle

    def _restart(self, call: StepCall) -> None:
        key = (call.python or sys.executable, call.code_root)
        with self._lock:
            handle = self._templates.pop(key, None)
        if handle is not None:
            handle.stop()


def _asked(canceled: Callable[[], bool]) -> bool:
    # A store that cannot answer now must not stop a step that may be hours in.
    try:
        return bool(canceled())
    except Exception:
        return False


def _ended(call: StepCall, exit_code: int) -> StepOutcome:
    """The outcome of a step process that ended with `exit_code` (negative: killed by that signal)."""
    if exit_code == STALE_EXIT:
        return StepOutcome(False, error="the step's template process holds older code.", exit_code=exit_code,
                           stale_code=True)
    path = result_path(call.log_path)
    result = None
    if exit_code == 0:
        try:
            with open(path) as handle:
                result = json.load(handle)
        except (OSError, ValueError):
            result = None
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass
    if result is not None:
        if result.get("error"):
            return StepOutcome(False, error=result["error"], exit_code=0, stale_code=bool(result.get("stale_code")))
        return StepOutcome(True, exit_code=0)
    if exit_code < 0:
        name = _signal_name(-exit_code)
        hint = " (out of memory?)" if -exit_code == signal.SIGKILL else ""
        return StepOutcome(False, error=f"the step's process was killed by signal {name}{hint}",
                           exit_code=exit_code, signal=name)
    return StepOutcome(False, error=f"the step's process exited with exit code {exit_code} before the step returned",
                       exit_code=exit_code)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _Lines:
    """JSON lines read from a socket, waiting at most a given time for the next one."""

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._buffer = b""
        self.closed = False

    def next(self, timeout: float | None) -> dict[str, Any] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            if self.closed:
                return None
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._conn], [], [], left)
            if not ready:
                return None
            chunk = self._conn.recv(65536)
            if not chunk:
                self.closed = True
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)


def _start_template(python: str | None, start: str) -> _TemplateHandle:
    folder = tempfile.mkdtemp(prefix="durapipe-tpl-")
    path = os.path.join(folder, "s")
    same_python = python is None or python == sys.executable
    if start == "fork" or (start == "auto" and same_python and threading.active_count() == 1):
        return _fork_template(path)
    return _spawn_template(python or sys.executable, path)


def _fork_template(path: str) -> _TemplateHandle:
    # This process has one thread, so a fork of it is sound, and it has imported the app and
    # its libraries already: the template costs a fork rather than a fresh interpreter.
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        from durapipe.executors.template import serve_forked
        serve_forked(listener, parent)
    listener.close()
    return _TemplateHandle(path, pid, None)


def _spawn_template(python: str, path: str) -> _TemplateHandle:
    process = subprocess.Popen([python, "-m", "durapipe.executors.template", path],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=_template_env())
    assert process.stdout is not None
    line = process.stdout.readline()
    process.stdout.close()
    if line.strip() != b"ready":
        process.kill()
        process.wait()
        raise OSError(f"the step template process ({python}) did not start")
    return _TemplateHandle(path, process.pid, process)


def _template_env() -> dict[str, str]:
    # The template imports durapipe from this installation, whichever interpreter runs it.
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


_shared: LocalExecutor | None = None
_shared_lock = threading.Lock()


def local_executor() -> LocalExecutor:
    """This process's local executor (one set of templates per process)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared._owner != os.getpid():
            _shared = LocalExecutor()
        return _shared
