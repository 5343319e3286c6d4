"""Which project files a step opens while it runs: a Python audit hook on `open` in the step's process.

Why an audit hook: every open from Python code raises the "open" audit event (`open`,
`io.open`, `os.open`, `pathlib`, and the libraries built on them), in any thread of the process,
with no change to the user's code; patching `builtins.open` would miss `os.open` and code that
holds a reference to the original. A hook cannot be removed, so it is added once per runner
process and does nothing (one comparison) while no step is being traced; while one is, it keeps
the paths under the project root, opened for reading and for writing apart (a file the step
writes is its own doing, not an input). What it cannot see: files opened by child processes and
by native code that does not go through Python (`reads=` declares those). The engine asks for
tracing by naming, in the step's environment, the file that receives the list; the runner writes
it when the step returns, and the engine hashes what it lists (`fingerprint.reads.traced_reads`).
"""
from __future__ import annotations

import json
import os
import sys
from typing import Any

# Set by the engine in the step's environment: the file that receives the absolute paths the step read.
READS_FILE_ENV = "DURAPIPE_READS_FILE"
# Declared environment variables (`env=`) unset where the step was fingerprinted: its process unsets them too.
UNSET_ENV = "DURAPIPE_UNSET_ENV"
# "0" turns tracing off (what the benchmark compares with): steps then record no reads.
TRACE_ENV = "DURAPIPE_TRACE_READS"


def tracing_enabled() -> bool:
    """Whether steps are traced: unless DURAPIPE_TRACE_READS is "0"."""
    return os.environ.get(TRACE_ENV, "1").strip() != "0"


class _Trace:
    """The paths under one project root a step opened, for reading and for writing."""

    def __init__(self, root: str) -> None:
        self.prefix = os.path.join(os.path.abspath(root), "")
        self.read: set[str] = set()
        self.written: set[str] = set()

    def saw(self, args: tuple[Any, ...]) -> None:
        path, _, flags = args
        if isinstance(path, int):
            return  # an open file descriptor: opened (and seen) before
        if not isinstance(path, str):
            path = os.fsdecode(os.fspath(path))
        path = os.path.abspath(path)
        if path.startswith(self.prefix):
            # The access mode says it all for open() (mode "r+" is O_RDWR) and os.open alike.
            if isinstance(flags, int) and flags & os.O_ACCMODE != os.O_RDONLY:
                self.written.add(path)
            else:
                self.read.add(path)


_active: _Trace | None = None
_hooked = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _active is not None:
        try:
            _active.saw(args)
        except Exception:  # never the step's failure: an odd path is simply not recorded
            pass


def start(root: str) -> None:
    """Trace the files under `root` (the step's project, resolved, as its modules' paths are) opened from now until `stop`."""
    global _active, _hooked
    if not _hooked:
        sys.addaudithook(_hook)
        _hooked = True
    _active = _Trace(root)


def stop() -> list[str]:
    """Stop tracing; the absolute paths read and not written meanwhile, sorted."""
    global _active
    trace, _active = _active, None
    return [] if trace is None else sorted(trace.read - trace.written)


def write_reads(path: str, reads: list[str]) -> None:
    """Write the traced paths where the engine asked for them (a new file in the step's scratch folder)."""
    # One write on a raw descriptor: this is on every traced step's path, and a text file object costs more.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, json.dumps(reads).encode())
    finally:
        os.close(fd)


def read_reads(path: str | os.PathLike[str]) -> list[str] | None:
    """The paths a traced step read; None when it was not traced (tracing off, or the step's process died)."""
    try:
        with open(path) as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        return None
    return [p for p in found if isinstance(p, str)] if isinstance(found, list) else None
