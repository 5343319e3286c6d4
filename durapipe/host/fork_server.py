"""Set-up of the worker fork server's own process: the first module its preload imports.

- Its stdout and stderr (and so every worker's, outside the steps, whose output each step
  captures itself) go to the host's worker log, not to the terminal or pipe the command was
  started with. A reader of that pipe (`durapipe run ... --json | jq`, a benchmark) waits
  until every process holding it has exited, and the fork server only notices that the
  command ended after its own imports and its teardown, about 0.1 s later.
- When the command has gone, it leaves with `os._exit` instead of tearing the interpreter
  down: nothing it holds needs flushing.
- It defers the SDK's imports its workers never use (`sdk_compat.defer_host_imports`) before
  the rest of the preload (durapipe.host.workers, azure.functions) imports the SDK; the workers
  it forks inherit that.

It acts only inside the fork server (started with the log's path in WORKER_LOG_ENV), so
importing it anywhere else changes nothing.
"""
from __future__ import annotations

import atexit
import os
import sys

from durapipe.host.sdk_compat import defer_host_imports

WORKER_LOG_ENV = "DURAPIPE_WORKER_LOG"


def _in_fork_server() -> bool:
    main = sys.modules.get("__main__")
    return "multiprocessing.forkserver" in sys.modules and getattr(main, "__file__", None) is None


def _set_up() -> None:
    if not _in_fork_server():
        return
    defer_host_imports()
    path = os.environ.get(WORKER_LOG_ENV)
    if not path:
        return
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return  # the workers keep the command's own stdout and stderr
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    atexit.register(os._exit, 0)


_set_up()
