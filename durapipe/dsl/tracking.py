"""Metrics and parameters a step logs while it runs: `durapipe.log_metric` and `durapipe.log_param`.

The channel is a JSON-lines file in the step's scratch folder, named by the environment
variable DURAPIPE_METRICS_FILE that step execution sets: it works the same whether the step
runs in the executing process, a thread of it, or a child process (which inherits the
variable). Each call appends one line with O_APPEND, so concurrent writers never interleave.
After the step, the engine reads the file and keeps the values with the step's commit record,
so a reused step carries the metrics of the run that made it.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any, Iterator

from durapipe.core.errors import UsageError

METRICS_FILE_ENV = "DURAPIPE_METRICS_FILE"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]{0,127}")
MAX_LINE_BYTES = 64 * 1024


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsageError(f"The {what} name {name!r} is not valid: use a letter or underscore, then up to 127 "
                         "letters, digits or '_', '.', '-', '/'.")
    return name


def _append(entry: dict[str, Any]) -> None:
    path = os.environ.get(METRICS_FILE_ENV)
    if not path:
        raise UsageError(f"durapipe.log_{entry['kind']} works only inside a running step.")
    line = (json.dumps(entry, allow_nan=False) + "\n").encode()
    if len(line) > MAX_LINE_BYTES:
        raise UsageError(f"The {entry['kind']} {entry['name']!r} is larger than {MAX_LINE_BYTES} bytes as JSON.")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def log_metric(name: str, value: float) -> None:
    """Record metric `name` = `value` (a finite number) for the running step; the last value logged counts."""
    _check_name(name, "metric")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"The metric {name!r} must be a finite number, not {value!r}.")
    _append({"kind": "metric", "name": name, "value": value})


def log_param(name: str, value: Any) -> None:
    """Record parameter `name` = `value` (any JSON value) for the running step; the last value logged counts."""
    _check_name(name, "parameter")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise UsageError(f"The parameter {name!r} must be a JSON value, not {value!r}.") from None
    _append({"kind": "param", "name": name, "value": value})


@contextlib.contextmanager
def channel(path: Path) -> Iterator[Path]:
    """Point log_metric/log_param at `path` while the block runs (restoring what was set before)."""
    previous = os.environ.get(METRICS_FILE_ENV)
    os.environ[METRICS_FILE_ENV] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(METRICS_FILE_ENV, None)
        else:
            os.environ[METRICS_FILE_ENV] = previous


def read_channel(path: Path) -> tuple[dict[str, float], dict[str, Any]]:
    """The metrics and parameters logged to `path` (the last value of each name), or empty when none were."""
    metrics: dict[str, float] = {}
    params: dict[str, Any] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return metrics, params
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a killed step: the others still count
        (metrics if entry.get("kind") == "metric" else params)[entry["name"]] = entry["value"]
    return metrics, params
