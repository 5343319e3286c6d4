"""Inside a step's own process (forked from a template): set up its log and limits, check its code, run it."""
from __future__ import annotations

import ctypes
import faulthandler
import inspect
import io
import json
import os
import resource
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

from durapipe.errors import DurapipeError
from durapipe.executors import source_record

# The process exits with this code when the template's code is older than the code on disk, so
# the executor starts a fresh template and runs the step again there.
STALE_EXIT = 75
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def run_child(call: dict[str, Any], func: Any, close_fds: list[int]) -> NoReturn:
    """Run the step function `func` for `call` in this process and leave; never returns."""
    code = 1
    try:
        _detach(close_fds)
        _redirect_output(call["log_path"])
        if call.get("memory_mb"):
            limit = int(call["memory_mb"]) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.environ.update(call.get("env_vars") or {})
        if source_record.changed_sources():
            os._exit(STALE_EXIT)
        result = _checked_code(call, func) or _call(func, call)
        _write_result(call["log_path"], result)
        code = 0
    except BaseException:  # anything left here is durapipe's own failure; the log shows it
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def result_path(log_path: str) -> str:
    """Where a step's process writes how its function ended, next to its log."""
    return f"{log_path}.result.json"


def _detach(close_fds: list[int]) -> None:
    # Its own process group, so a timeout or cancel kills the step with every child it started.
    os.setsid()
    libc = ctypes.CDLL(None, use_errno=True)
    # Orphaned descendants (a daemon that double-forked) stay below the step, so the template
    # finds them when it ends; and the step dies with its template.
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


def _redirect_output(log_path: str) -> None:
    # The child's own descriptors 1 and 2: C extensions and subprocesses write to the log too.
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(null)
    # The host may have replaced sys.stdout (a test runner, the Functions worker's logger): the step
    # writes to its own descriptors. Line-buffered, so a crash keeps every finished line.
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True, errors="backslashreplace")
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    # A segfault's Python traceback goes to the step's log, not to wherever the host's went.
    faulthandler.enable(file=sys.stderr)


def _checked_code(call: dict[str, Any], func: Any) -> dict[str, Any] | None:
    """An error result when the code about to run is not the code the step's fingerprint names."""
    from durapipe.fingerprint.code import code_components
    from durapipe.project import find_project_root

    root = find_project_root(Path(inspect.getsourcefile(func) or "."))
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


def _call(func: Any, call: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(call["params"])
    kwargs.update({name: Path(path) for name, path in call["inputs"].items()})
    kwargs.update({name: Path(path) for name, path in call["outputs"].items()})
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
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _write_result(log_path: str, result: dict[str, Any]) -> None:
    path = result_path(log_path)
    with open(f"{path}.tmp", "w") as handle:
        json.dump(result, handle)
    os.replace(f"{path}.tmp", path)
