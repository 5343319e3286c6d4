"""Which executor runs a step: chosen by its `compute` option."""
from __future__ import annotations

import os

from durapipe.core.errors import DurapipeError
from durapipe.executors.base import Executor
from durapipe.model.compute import parse_compute

MEMORY_SETTING = "DURAPIPE_STEP_MEMORY_MB"


def executor_for(compute: str | None) -> Executor:
    """The executor of compute target `compute` ("local" and None: a child process of this one)."""
    target = parse_compute(compute)
    if not target.remote:
        from durapipe.executors.local import local_executor
        return local_executor()
    raise DurapipeError(f"The compute target {compute!r} runs through the remote step activities, not here.")


def step_memory_mb() -> int | None:
    """The memory limit of each local step process in MB, from the DURAPIPE_STEP_MEMORY_MB setting (None: no limit)."""
    value = os.environ.get(MEMORY_SETTING, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise DurapipeError(f"The setting {MEMORY_SETTING} must be a whole number of megabytes above 0, not {value!r}.")
    return int(value)
