"""A template process: imports a step's code once and forks warm step runners from that state.

One per (interpreter, code root) and per process that runs steps. Single-threaded, so forking
it is safe (the Functions worker that runs activities has threads; forking that is not). Each
runner is one connection on a Unix socket: the executor sends {"warm": step ref, "code_root"}
as a JSON line; the template imports that step, forks a runner that takes over the
connection, and answers {"pid": ...}; when the runner ends it sends {"exit": code} (negative:
the signal that killed it) and kills what the runner left behind.
"""
from __future__ import annotations

import ctypes
import json
import os
import selectors
import shutil
import signal
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

from durapipe.executors import source_record
from durapipe.executors.worker import children_of, serve_runner

_PR_SET_CHILD_SUBREAPER = 36
_POLL_S = 0.5
# The executor makes each template's socket in a fresh folder so named in the temp folder.
SOCKET_FOLDER_PREFIX = "durapipe-tpl-"


def send(conn: socket.socket, message: dict[str, Any]) -> None:
    """Write one JSON line to `conn`, ignoring a peer that has gone."""
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass


class Template:
    """The template's state: its listener, the steps running and the connections waiting for them."""

    def __init__(self, listener: socket.socket, parent_pid: int) -> None:
        self.listener = listener
        self.parent_pid = parent_pid
        self.running: dict[int, socket.socket] = {}  # runner pid -> its connection
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)

    def serve(self) -> NoReturn:
        """Answer step calls until the process that started the template has gone."""
        libc = ctypes.CDLL(None, use_errno=True)
        # Orphans of ended steps come back here rather than to init, so they can be killed.
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: self._leave())
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        while True:
            for key, _ in self.selector.select(_POLL_S):
                if key.data == "accept":
                    self._accept()
                else:
                    _drain(self.wake_r)
            self._reap()
            if os.getppid() != self.parent_pid:
                self._leave()

    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        try:
            conn.settimeout(10)
            request = json.loads(_read_line(conn))
            _warm(request)
        except Exception as exc:  # a bad request fails that step only
            send(conn, {"error": _sentence(exc)})
            conn.close()
            return
        conn.settimeout(None)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            keep_out = [self.listener.fileno(), self.wake_r, self.wake_w,
                        *(c.fileno() for c in self.running.values())]
            serve_runner(conn, keep_out)
        self.running[pid] = conn
        send(conn, {"pid": pid})

    def _reap(self) -> None:
        ended = False
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = self.running.pop(pid, None)
            if conn is None:
                continue  # an orphan killed below
            ended = True
            _kill_group(pid)
            send(conn, {"exit": os.waitstatus_to_exitcode(status)})
            conn.close()
        if ended:
            # A runner that died (killed on a timeout, crashed) leaves its step's daemons here.
            for pid in children_of(os.getpid()):
                if pid not in self.running:
                    _kill(pid)

    def _leave(self) -> NoReturn:
        for pid in list(self.running):
            _kill_group(pid)
        remove_socket_folder(self.listener)
        os._exit(0)


def remove_socket_folder(listener: socket.socket) -> None:
    """Remove the folder the executor made for this template's socket (`durapipe-tpl-*` in the temp folder)."""
    try:
        folder = os.path.dirname(listener.getsockname())
    except (OSError, TypeError):
        return
    if os.path.basename(folder).startswith(SOCKET_FOLDER_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def _warm(request: dict[str, Any]) -> None:
    """Import the step named by the request here, once, so every runner forked later has it loaded."""
    import inspect

    from durapipe.fingerprint.code import code_components
    from durapipe.load.targets import resolve_step
    from durapipe.core.paths import find_project_root

    func = resolve_step(request["warm"], request.get("code_root")).func
    try:
        # Warms the fingerprint's memo too, so each step's code check is a few stat calls.
        code_components(func, find_project_root(Path(inspect.getsourcefile(func) or ".")))
    except Exception:
        pass  # the step's own check reports it


def _sentence(exc: Exception) -> str:
    from durapipe.core.errors import DurapipeError

    return str(exc) if isinstance(exc, DurapipeError) else f"The step could not be started: {type(exc).__name__}: {exc}."


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def serve_forked(listener: socket.socket, parent_pid: int) -> NoReturn:
    """Body of a template forked from a single-threaded process: forget its user modules and serve."""
    try:
        source_record.record_user_sources()
        Template(listener, parent_pid).serve()
    finally:
        os._exit(1)


def main() -> NoReturn:
    """`python -m durapipe.executors.template SOCKET_PATH`: listen there, say "ready", serve."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sys.argv[1])
    listener.listen(64)
    source_record.record_user_sources()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    Template(listener, os.getppid()).serve()


if __name__ == "__main__":
    main()
