"""A worker process dies with the process that started it, so no step runs on for a host that is gone."""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.5


def die_with_parent() -> None:
    """Make this process get SIGKILL when its parent exits (Linux prctl; elsewhere a thread polls the parent).

    A worker forked by the fork server also lets go of the server's "alive" pipe, which every child
    inherits: the server exits when the host has gone and no process holds that pipe, so as long as
    workers held it, a killed host's server (and so its workers) never ended.
    """
    _release_fork_server_pipe()
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the request was made
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    threading.Thread(target=_watch, args=(parent,), name="durapipe-lifeline", daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)


def _release_fork_server_pipe() -> None:
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is None:
        return
    try:
        os.close(fd)
    except OSError:
        pass
    # A step that uses multiprocessing's fork server itself starts one of its own.
    server._forkserver_alive_fd = None
    server._forkserver_address = None
    server._forkserver_pid = None
