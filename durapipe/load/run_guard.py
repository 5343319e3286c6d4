"""Refuse a durapipe.run that would run again, or deadlock, wherever its module is imported.

A run started by a module's top-level code while that module is being imported (by `durapipe
run FILE:NAME`, by another module, or by a worker process re-importing the calling script as
`__mp_main__`) cannot finish: planning imports the module from another thread and waits on the
import lock the importing thread holds. A script whose steps live in it is imported again by
every worker process that runs one of them, so an unguarded call there would start a run in
each worker. Both are refused with a sentence before anything is stored.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from types import FrameType
from typing import Iterator

from durapipe.core.errors import UsageError


def refuse_run_during_import() -> None:
    """Raise UsageError if the calling code runs at the top level of a module that is being imported."""
    for frame in _module_frames():
        name = frame.f_globals.get("__name__")
        if name != "__main__" and _is_module(frame, name):
            shown = _shown(frame)
            raise UsageError(
                f"durapipe.run was called at the top level of {shown} (line {frame.f_lineno}) while {shown} "
                "was being imported, where the run can never finish; put the call under "
                "`if __name__ == \"__main__\":` so it runs only when the file is run as a script.")


def refuse_unguarded_script() -> None:
    """Raise UsageError if the calling script's top-level call to durapipe.run is not under a `__main__` guard."""
    main = sys.modules.get("__main__")
    if not getattr(main, "__file__", None):
        return  # `python -c`, standard input, a notebook: workers cannot import it again
    for frame in _module_frames():
        if frame.f_globals is vars(main):
            if not _under_main_guard(frame.f_code.co_filename, frame.f_lineno):
                shown = _shown(frame)
                raise UsageError(
                    f"{shown} calls durapipe.run at its top level (line {frame.f_lineno}) and defines the steps "
                    f"it runs, and every worker process imports {shown} again to find those steps, which would "
                    "start the run again in each; put the call under `if __name__ == \"__main__\":`.")
            return


def _module_frames() -> Iterator[FrameType]:
    """The calling stack's frames that run a module's top-level code (durapipe's own never do at a run)."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            yield frame
        frame = frame.f_back


def _is_module(frame: FrameType, name: object) -> bool:
    module = sys.modules.get(name) if isinstance(name, str) else None
    return module is not None and vars(module) is frame.f_globals


def _under_main_guard(filename: str, line: int) -> bool:
    """Whether `line` of `filename` lies in an `if __name__ == "__main__":` block of its top level (True if unreadable).

    The block may sit inside other top-level compound statements (`try:`, `with`, another `if`).
    """
    try:
        tree = ast.parse(Path(filename).read_text(encoding="utf-8"), filename)
    except (OSError, SyntaxError, ValueError):
        return True  # cannot tell; the worker-side check still refuses a run started by the re-import
    body: list[ast.stmt] = tree.body
    while True:
        statement = next((s for s in body if s.lineno <= line <= (s.end_lineno or s.lineno)), None)
        if statement is None or isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return False
        if isinstance(statement, ast.If) and _is_main_test(statement.test) and not _in_else(statement, line):
            return True
        body = [inner for block in _blocks(statement) for inner in block]


def _blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    blocks = [getattr(statement, name, None) for name in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(statement, "handlers", [])]
    blocks += [case.body for case in getattr(statement, "cases", [])]
    return [block for block in blocks if isinstance(block, list)]


def _is_main_test(test: ast.expr) -> bool:
    for node in ast.walk(test):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq):
            sides = [node.left, *node.comparators]
            names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
            mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
            if names and mains:
                return True
    return False


def _in_else(statement: ast.If, line: int) -> bool:
    return bool(statement.orelse) and statement.orelse[0].lineno <= line


def _shown(frame: FrameType) -> str:
    return Path(frame.f_code.co_filename).name
