"""What the CLI prints with --json: indented on a terminal, one line when a program reads it.

As `gh` does. With `indent`, the json module encodes in Python, several times slower than its C
encoder: a run's summary at 1,000 steps took about 35 ms to print indented.
"""
from __future__ import annotations

import json
import sys
from typing import Any


def json_text(value: Any) -> str:
    """`value` as the CLI prints it: indented when standard output is a terminal, else on one line."""
    return json.dumps(value, indent=2) if sys.stdout.isatty() else json.dumps(value)


def print_json(value: Any) -> None:
    """Print `value` as JSON (see `json_text`)."""
    print(json_text(value))
