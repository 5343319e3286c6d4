"""Where in the user's code a definition mistake was made, as `file.py:line`."""
from __future__ import annotations

import functools
import linecache
import os
import sys
from pathlib import Path

_DSL_DIR = str(Path(__file__).resolve().parent)


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


@functools.lru_cache(maxsize=256)
def _is_internal(filename: str) -> bool:
    if filename == "<string>":
        return True  # the __init__ that dataclasses generate for a declaration
    try:
        return str(Path(filename).resolve().parent) == _DSL_DIR
    except OSError:
        return False


def _short(filename: str) -> str:
    # Relative to the working folder when inside it: short, and still clickable in a terminal.
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative
