"""The mapped-step activities' adapters: list a mapped input's partitions, gather their results."""
from __future__ import annotations

from typing import Any

from durapipe.model.contracts import Partition, StepResult, StepTask, decode
from durapipe.engine import partitions
from durapipe.store.url import open_store


def list_partitions(payload: Any) -> list[Partition]:
    """The files of the step task's mapped input folder, sorted by name."""
    task: StepTask = decode(payload)
    return partitions.list_partitions(open_store(), task)


def gather_partitions(payload: Any) -> StepResult:
    """Combine the per-partition results of the step task into one result with folder outputs."""
    task: StepTask = decode(payload)
    return partitions.gather_partitions(open_store(), task)
