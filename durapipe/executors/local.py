"""compute="local": each step in a warm runner process of its own, forked from a template, supervised here."""
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
from durapipe.store.leases import HEARTBEAT_THREAD_PREFIX


_CANCEL_POLL_S = 1.0
_START_TIMEOUT_S = 60.0


@dataclass
class _TemplateHandle:
    """A running template: where it listens and how to stop it."""

    socket_path: str
    pid: int
    process: subprocess.Popen | None  # None when forked from this process

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

@dataclass
class _Runner:
    """A warm runner process: its connection and id, and the key of the template it was forked from."""

    conn: socket.socket
    lines: "_Lines"
    pid: int
    key: tuple[str, str | None]
    reused: bool = False


class LocalExecutor:
    """Runs each step in a runner process that runs nothing else meanwhile: its own log descriptors, limits, timeout.

    Runners are kept warm between steps; one that crashed, timed out, was canceled or holds
    older code is discarded, never reused.
    """

    def __init__(self, start: str = "auto") -> None:
        # start: "fork" (a fork of this process), "spawn" (a fresh interpreter), or "auto": fork
        # when this process has one thread and the step uses this interpreter, else spawn.
        self._start = start
        self._lock = threading.Lock()
        self._templates: dict[tuple[str, str | None], _TemplateHandle] = {}
        self._idle: dict[tuple[str, str | None], list[_Runner]] = {}
        self._owner = os.getpid()
        atexit.register(self.close)

    def run(self, call: StepCall, canceled: Callable[[], bool] | None = None) -> StepOutcome:
        """Run `call` in a runner process to its end, its timeout, or a cancel; say how it ended."""
        for _ in range(3):
            try:
                runner = self._runner(call)
            except OSError as exc:
                return StepOutcome(False, error=f"the step's process could not be started: {exc}")
            outcome = self._supervise(runner, call, canceled)
            if outcome is not None:
                return outcome
            # The runner found the code on disk newer than what it had loaded (and so may its
            # template have), or an idle runner had died: start a fresh template and runner.
            self._restart(runner.key)
        return StepOutcome(False, error=f"The code of step {call.step_ref} keeps changing on disk, so it did not run; "
                           "run the pipeline again once the edit is saved.", stale_code=True)

    def close(self) -> None:
        """Stop every runner and template this executor started (steps still running are killed)."""
        if os.getpid() != self._owner:
            return  # a forked copy of this process does not own them
        with self._lock:
            handles, self._templates = list(self._templates.values()), {}
            runners = [r for idle in self._idle.values() for r in idle]
            self._idle = {}
        for runner in runners:
            runner.conn.close()
        for handle in handles:
            handle.stop()

    def _supervise(self, runner: _Runner, call: StepCall, canceled: Callable[[], bool] | None) -> StepOutcome | None:
        try:
            runner.conn.sendall(json.dumps(call.to_json()).encode() + b"\n")
        except OSError:
            return _died(runner, runner.lines.next(5.0))
        started = time.monotonic()
        deadline = started + call.timeout if call.timeout else None
        next_cancel_check = started + _CANCEL_POLL_S
        while True:
            waits = [next_cancel_check] if canceled is not None else []
            if deadline is not None:
                waits.append(deadline)
            wait = max(0.0, min(waits) - time.monotonic()) if waits else None
            message = runner.lines.next(wait)
            if message is not None:
                if "exit" in message:
                    return _died(runner, message)
                if message.get("stale"):
                    runner.conn.close()
                    return None
                self._give_back(runner)
                if message.get("error"):
                    return StepOutcome(False, error=message["error"], stale_code=bool(message.get("stale_code")))
                return StepOutcome(True)
            if runner.lines.closed:
                if runner.reused:
                    runner.conn.close()
                    return None  # an idle runner that died with its template: try a fresh one
                return _died(runner, None)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                _stop(runner)
                return StepOutcome(False, error=f"the step timed out after {call.timeout:g} seconds and was killed",
                                   timed_out=True)
            if canceled is not None and now >= next_cancel_check:
                next_cancel_check = now + _CANCEL_POLL_S
                if _asked(canceled):
                    _stop(runner)
                    return StepOutcome(False, error="the run was canceled, so the step was stopped", canceled=True)

    def _runner(self, call: StepCall) -> _Runner:
        key = (call.python or sys.executable, call.code_root)
        with self._lock:
            idle = self._idle.get(key) or []
            while idle:
                runner = idle.pop()
                # An idle runner has nothing to say: anything to read means it has ended.
                if not select.select([runner.conn], [], [], 0)[0]:
                    runner.reused = True
                    return runner
                runner.conn.close()
        for attempt in range(2):
            handle = self._template(key, call.python)
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            lines = _Lines(conn)
            try:
                conn.connect(handle.socket_path)
                conn.sendall(json.dumps({"warm": call.step_ref, "code_root": call.code_root}).encode() + b"\n")
                first = lines.next(_START_TIMEOUT_S)
            except OSError:
                first = None
            if first is not None and "pid" in first:
                return _Runner(conn, lines, first["pid"], key)
            conn.close()
            if first is not None:
                raise OSError(first.get("error") or "its template did not answer")
            if attempt == 0:
                self._restart(key)  # the template died (killed, or out of memory): start another
        raise OSError("its template did not answer")

    def _give_back(self, runner: _Runner) -> None:
        with self._lock:
            self._idle.setdefault(runner.key, []).append(runner)

    def _template(self, key: tuple[str, str | None], python: str | None) -> _TemplateHandle:
        with self._lock:
            handle = self._templates.get(key)
            if handle is None:
                handle = self._templates[key] = _start_template(python, self._start)
            return handle

    def _restart(self, key: tuple[str, str | None]) -> None:
        with self._lock:
            handle = self._templates.pop(key, None)
            runners = self._idle.pop(key, [])
        for runner in runners:
            runner.conn.close()
        if handle is not None:
            handle.stop()


def _asked(canceled: Callable[[], bool]) -> bool:
    # A store that cannot answer now must not stop a step that may be hours in.
    try:
        return bool(canceled())
    except Exception:
        return False


def _stop(runner: _Runner) -> None:
    """Kill the runner and everything its step started, and free its slot at once (its template reaps it)."""
    _kill_group(runner.pid)
    runner.conn.close()


def _died(runner: _Runner, message: dict[str, Any] | None) -> StepOutcome:
    """The outcome of a step whose runner ended with the exit code in `message` (negative: a signal)."""
    runner.conn.close()
    if message is None or "exit" not in message:
        return StepOutcome(False, error="the step's process ended without saying how (its template died)")
    exit_code = message["exit"]
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
            try:
                chunk = self._conn.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)


_TEMPLATE_FOLDER_PREFIX = "durapipe-tpl-"  # a template removes its folder as it ends (template.SOCKET_FOLDER_PREFIX)
_swept = False


def _start_template(python: str | None, start: str) -> _TemplateHandle:
    global _swept
    if not _swept:
        _swept = True
        _sweep_template_folders()
    folder = tempfile.mkdtemp(prefix=_TEMPLATE_FOLDER_PREFIX)
    path = os.path.join(folder, "s")
    same_python = python is None or python == sys.executable
    try:
        if start == "fork" or (start == "auto" and same_python and _only_thread()):
            handle = _fork_template(path)
        else:
            handle = _spawn_template(python or sys.executable, path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    with open(os.path.join(folder, "pid"), "w") as owner:
        owner.write(str(handle.pid))  # so a later process can tell the folder of a killed template
    return handle


def _sweep_template_folders(stale_s: float = 3600.0) -> None:
    """Remove this user's template folders whose template is gone (killed with SIGKILL, so it could not)."""
    root = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(root) if n.startswith(_TEMPLATE_FOLDER_PREFIX)]
    except OSError:
        return
    for name in names:
        folder = os.path.join(root, name)
        try:
            if os.lstat(folder).st_uid != os.getuid():
                continue
            with open(os.path.join(folder, "pid")) as owner:
                pid = int(owner.read())
        except FileNotFoundError:
            pid = None  # being started now, or by an older durapipe: swept once it is old
        except (OSError, ValueError):
            continue
        if pid is None:
            try:
                if time.time() - os.lstat(folder).st_mtime < stale_s:
                    continue
            except OSError:
                continue
        elif _alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _only_thread() -> bool:
    """Whether this process runs no thread but this one (a step's lease heartbeat aside), so a fork of it is sound."""
    return all(t is threading.current_thread() or t.name.startswith(HEARTBEAT_THREAD_PREFIX)
               for t in threading.enumerate())


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
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=_template_env(python, path))
    assert process.stdout is not None
    line = process.stdout.readline()
    process.stdout.close()
    if line.strip() != b"ready":
        process.kill()
        process.wait()
        raise OSError(f"the step template process ({python}) did not start")
    return _TemplateHandle(path, process.pid, process)


def _template_env(python: str, socket_path: str) -> dict[str, str]:
    """The template's environment: this one, with durapipe importable from this installation."""
    env = dict(os.environ)
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if python == sys.executable:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.dirname(package), env.get("PYTHONPATH")) if p)
        return env
    # Another environment (a step's own) sees durapipe alone, not the packages installed beside
    # it here: a folder holding only a link to the package. What a step needs of durapipe at run
    # time imports nothing from outside the standard library.
    only = os.path.join(os.path.dirname(socket_path), "lib")
    os.makedirs(only, exist_ok=True)
    os.symlink(package, os.path.join(only, "durapipe"))
    env["PYTHONPATH"] = only
    env.pop("PYTHONHOME", None)
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
