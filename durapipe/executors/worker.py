"""A step runner: a warm process, forked from a template, that runs steps one at a time in itself.

Each step gets the runner's own descriptors 1 and 2 pointed at its log, its memory limit, and a
check that the code the runner has loaded is the code on disk and the code its fingerprint
names. Whatever a step leaves behind (a child process, a changed environment variable or
working folder) is removed before the next one. A runner that crashes, or is killed on a
timeout or cancel, takes only its own step with it; the executor asks for another.
"""
from __future__ import annotations

import ctypes
import faulthandler
import functools
import inspect
import io
import json
import os
import resource
import signal
import socket
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

from durapipe.core.errors import DurapipeError
from durapipe.executors import read_tracing, source_record

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def serve_runner(conn: socket.socket, close_fds: list[int]) -> NoReturn:
    """Run the step calls that arrive on `conn`, one JSON line each, answering one line each; never returns."""
    code = 1
    try:
        _detach(close_fds)
        _own_output()
        reader = conn.makefile("rb")
        while True:
            line = reader.readline()
            if not line:
                code = 0
                break
            call = json.loads(line)
            if source_record.changed_sources():
                _answer(conn, {"stale": True})
                code = 0
                break
            answer = _run_step(call)
            _answer(conn, answer)
            _clean_up()
    except BaseException:  # durapipe's own failure: the worker log shows it
        traceback.print_exc()
    finally:
        os._exit(code)


def _answer(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message).encode() + b"\n")


def _detach(close_fds: list[int]) -> None:
    # Its own process group, so a timeout or cancel kills the step with every child it started.
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    # Orphaned descendants (a daemon that double-forked) come back to the runner, which kills
    # them when the step ends; and the runner dies with its template.
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    for fd in close_fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _own_output() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    # The host may have replaced sys.stdout (a test runner, the Functions worker's logger): steps
    # write to the runner's own descriptors. Line-buffered, so a crash keeps every finished line.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, errors="backslashreplace")
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    # A segfault's Python traceback goes to the step's log, not to wherever the host's went.
    faulthandler.enable(file=sys.stderr)


def _run_step(call: dict[str, Any]) -> dict[str, Any]:
    environ, cwd = dict(os.environ), os.getcwd()
    log = os.open(call["log_path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    try:
        if call.get("memory_mb"):
            limit = int(call["memory_mb"]) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (min(limit, limits[1]) if limits[1] > 0 else limit, limits[1]))
        os.environ.update(call.get("env_vars") or {})
        for name in os.environ.pop(read_tracing.UNSET_ENV, "").split(","):
            os.environ.pop(name, None)  # a declared variable unset where the step was fingerprinted
        try:
            from durapipe.load.targets import resolve_step
            func = resolve_step(call["step_ref"], call.get("code_root")).func
        except DurapipeError as exc:
            print(str(exc), file=sys.stderr)
            return {"error": str(exc)}
        return _checked_code(call, func) or _traced_call(func, call)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        resource.setrlimit(resource.RLIMIT_AS, limits)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        if os.environ != environ:
            os.environ.clear()
            os.environ.update(environ)
        if os.getcwd() != cwd:
            os.chdir(cwd)


def _checked_code(call: dict[str, Any], func: Any) -> dict[str, Any] | None:
    """An error answer when the code about to run is not the code the step's fingerprint names."""
    from durapipe.fingerprint.code import code_components

    root = _project_of(inspect.getsourcefile(func) or ".")
    try:
        sources = code_components(func, root).sources
    except DurapipeError as exc:
        return {"error": str(exc)}
    if sources == call["code"]:
        return None
    message = (f"The code of step {call['step_ref']} changed after it was fingerprinted, so it did not run "
               "(its result would be recorded under the other version); run the pipeline again.")
    print(message, file=sys.stderr)
    return {"error": message, "stale_code": True}


@functools.lru_cache(maxsize=64)
def _project_of(source_file: str) -> Path:
    from durapipe.core.paths import find_project_root

    return find_project_root(Path(source_file))


def _traced_call(func: Any, call: dict[str, Any]) -> dict[str, Any]:
    """`_call`, with the project files the step opens written where the engine asked (when it asked)."""
    reads_file = (call.get("env_vars") or {}).get(read_tracing.READS_FILE_ENV)
    if not reads_file:
        return _call(func, call)
    read_tracing.start(str(_project_of(inspect.getsourcefile(func) or ".")))
    try:
        return _call(func, call)
    finally:
        read_tracing.write_reads(reads_file, read_tracing.stop())


def _call(func: Any, call: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(call["params"])
    kwargs.update({name: Path(path) for name, path in call["inputs"].items()})
    kwargs.update({name: Path(path) for name, path in call["outputs"].items()})
    from durapipe.executors.base import group_fan_in

    group_fan_in(kwargs, call.get("fan_in") or {})
    try:
        func(**kwargs)
        return {"error": None}
    except DurapipeError as exc:
        print(str(exc), file=sys.stderr)
        return {"error": str(exc)}
    except MemoryError:
        traceback.print_exc()
        limit = call.get("memory_mb")
        return {"error": "the step ran out of memory" + (f" (its limit is {limit} MB)" if limit else "")}
    except SystemExit as exc:
        return {"error": f"the step called sys.exit({exc.code!r})"}
    except BaseException as exc:  # the user's code: any exception fails the step, not the host
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}


def _clean_up() -> None:
    """Kill every process the step left behind (its children, and orphans that came back here)."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG) != (0, 0):
                continue  # reaped one that had ended
        except ChildProcessError:
            return  # no children: the usual case, and one call
        children = children_of(os.getpid())
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def children_of(parent: int) -> list[int]:
    """The process ids whose parent is `parent` (read from /proc)."""
    me, found = str(parent).encode(), []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            found.append(int(entry.name))
    return found
