"""A template process: imports a step's code once and forks one child per step from that warm state.

One per (interpreter, code root) and per process that runs steps. Single-threaded, so forking
it is safe (the Functions worker that runs activities has threads; forking that is not). Each
step is one connection on a Unix socket: the executor sends the call as a JSON line; the
template answers {"pid": ...} once the step's process runs, then {"exit": code} when it has
ended (negative: the signal that killed it), and kills what the step left behind.
"""
from __future__ import annotations

import ctypes
import json
import os
import selectors
import signal
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

from durapipe.executors import source_record
from durapipe.executors.child import run_child

_PR_SET_CHILD_SUBREAPER = 36
_POLL_S = 0.5


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
        self.running: dict[int, socket.socket] = {}
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
                elif key.data == "wake":
                    _drain(self.wake_r)
                else:
                    self._peer_closed(key.fileobj)
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
            call = json.loads(_read_line(conn))
            func = _step_function(call)
        except Exception as exc:  # a bad call fails that step only
            send(conn, {"error": _sentence(exc)})
            conn.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            keep_out = [self.listener.fileno(), self.wake_r, self.wake_w, conn.fileno(),
                        *(c.fileno() for c in self.running.values())]
            run_child(call, func, keep_out)
        self.running[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)
        send(conn, {"pid": pid})

    def _peer_closed(self, conn: Any) -> None:
        # The executor went away (its activity ended or died): the step must not outlive it.
        pid = next((p for p, c in self.running.items() if c is conn), None)
        self.selector.unregister(conn)
        if pid is not None:
            _kill_group(pid)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                break
            conn = self.running.pop(pid, None)
            if conn is None:
                continue  # an orphan killed below
            _kill_group(pid)
            try:
                self.selector.unregister(conn)
            except (KeyError, ValueError):
                pass
            send(conn, {"exit": os.waitstatus_to_exitcode(status)})
            conn.close()
        if not self.running:
            _kill_orphans()

    def _leave(self) -> NoReturn:
        for pid in list(self.running):
            _kill_group(pid)
        os._exit(0)


def _step_function(call: dict[str, Any]) -> Any:
    from durapipe.fingerprint.code import code_components
    from durapipe.loading import resolve_step
    from durapipe.project import find_project_root

    func = resolve_step(call["step_ref"], call.get("code_root")).func
    try:
        # Warms the fingerprint's memo here, once, so each step's check is a few stat calls.
        import inspect
        code_components(func, find_project_root(Path(inspect.getsourcefile(func) or ".")))
    except Exception:
        pass  # the step's own check reports it
    return func


def _sentence(exc: Exception) -> str:
    from durapipe.errors import DurapipeError

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


def _kill_orphans() -> None:
    """Kill this process's children (no step runs now, so each is what an ended step left behind)."""
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return  # no children at all: the usual case, and costs one call
    me = str(os.getpid())
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[1].decode() == me:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
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
