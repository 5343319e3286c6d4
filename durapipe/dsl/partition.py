"""Which partition a mapped step is running: `durapipe.partition()`.

The step execution that runs one partition of a mapped step names it in environment variables
(as DURAPIPE_METRICS_FILE names the metrics channel), so the step sees it whether it runs in the
executing process, a child process or a remote job. The partition's file reaches the step under
its own name, in a folder of the mapped input's name: `.../in/<input>/<file name>`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durapipe.core.errors import UsageError

PARTITION_NAME_ENV = "DURAPIPE_PARTITION_NAME"
PARTITION_KEY_ENV = "DURAPIPE_PARTITION_KEY"
PARTITION_INPUT_ENV = "DURAPIPE_PARTITION_INPUT"


@dataclass(frozen=True)
class Partition:
    """The partition a mapped step runs: `name`, its file's name (extension included); `key`, its path in the
    mapped folder, which is also its entry's name in each output folder."""

    name: str
    key: str


def partition() -> Partition:
    """The partition the running mapped step was given; a usage error anywhere else."""
    key = os.environ.get(PARTITION_KEY_ENV)
    if not key:
        raise UsageError("durapipe.partition() works only inside a mapped step (one run by step.map(...)).")
    return Partition(name=os.environ.get(PARTITION_NAME_ENV) or file_name(key), key=key)


def file_name(key: str) -> str:
    """The file name of the partition whose key (path in the mapped folder) is `key`."""
    return key.rsplit("/", 1)[-1]


def partition_variables(mapped: str | None, part: dict[str, Any] | None) -> dict[str, str]:
    """The environment variables that tell a step which partition of input `mapped` it runs; none when unmapped."""
    if not mapped or not part:
        return {}
    return {PARTITION_INPUT_ENV: mapped, PARTITION_KEY_ENV: part["name"], PARTITION_NAME_ENV: file_name(part["name"])}


def input_path(folder: Path, name: str, env_vars: dict[str, str]) -> Path:
    """Where input `name` is placed in `folder`: the mapped input under its partition's file name, in a folder
    of the input's name; any other input at `folder/name`."""
    leaf = file_name(env_vars.get(PARTITION_KEY_ENV) or "")
    if env_vars.get(PARTITION_INPUT_ENV) == name and leaf not in ("", ".", ".."):
        return folder / name / leaf
    return folder / name
