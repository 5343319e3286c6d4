"""Where in the user's code a definition mistake was made, as `file.py:line`."""
from __future__ import annotations

import functools
import linecache
import os
import sys
from pathlib import Path
from typing import Callable

_DSL_DIR = str(Path(__file__).resolve().parent)
_DSL_FILES = frozenset(os.listdir(_DSL_DIR))


class Lazy:
    """Text made only when shown: a location is read from the source file only for an error message."""

    def __init__(self, make: Callable[[], str]) -> None:
        self._make: Callable[[], str] | None = make
        self._text = ""

    def __str__(self) -> str:
        if self._make is not None:
            self._text, self._make = self._make(), None
        return self._text

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def user_location() -> str:
    """`file:line` of the innermost frame outside durapipe's definition layer."""
    frame = sys._getframe(1)
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return "<unknown>:0"
    return f"{_short(frame.f_code.co_filename)}:{frame.f_lineno}"


def function_location(func: object) -> str:
    """`file:line` of a function's `def` line (not its first decorator's)."""
    code = getattr(func, "__code__", None)
    if code is None:
        return "<unknown>:0"
    return f"{_short(code.co_filename)}:{_def_line(code.co_filename, code.co_firstlineno)}"


def _def_line(filename: str, first: int) -> int:
    # co_firstlineno is the first decorator's line; the user wrote the mistake on the def.
    for line in range(first, first + 50):
        text = linecache.getline(filename, line).lstrip()
        if text.startswith(("def ", "async def ")):
            return line
        if not text:
            break
    return first


@functools.lru_cache(maxsize=4096)
def _is_internal(filename: str) -> bool:
    if filename == "<string>":
        return True  # the __init__ that dataclasses generate for a declaration
    if os.path.basename(filename) not in _DSL_FILES:
        return False  # no file of the definition layer has that name: no need to resolve the path
    try:
        return str(Path(filename).resolve().parent) == _DSL_DIR
    except OSError:
        return False


def _short(filename: str) -> str:
    return _short_from(filename, os.getcwd())


@functools.lru_cache(maxsize=4096)
def _short_from(filename: str, cwd: str) -> str:
    # Relative to the working folder when inside it: short, and still clickable in a terminal.
    try:
        relative = os.path.relpath(filename, cwd)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative
