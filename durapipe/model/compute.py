"""Where a step runs, parsed in one place: `local`, `ray:http://HOST:8265` or `azureml:CLUSTER`.

The spec checks a step's `compute` with `parse_compute`, the orchestrator asks `is_remote`, and
the executors pick their target from the parsed `Compute`: one reading of the same text everywhere.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from durapipe.core.errors import DefinitionError

LOCAL, RAY, AZUREML = "local", "ray", "azureml"
# A Ray cluster's job submission (dashboard) address.
RAY_ADDRESS = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[\w.\-/]*)?", re.ASCII)
# An Azure ML compute cluster's name: 2 to 16 letters, digits and hyphens, starting with a letter.
CLUSTER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9\-]{1,15}", re.ASCII)
_SHAPES = {RAY: RAY_ADDRESS, AZUREML: CLUSTER_NAME}


@dataclass(frozen=True)
class Compute:
    """A parsed compute target: its kind (local, ray, azureml) and, for a remote one, its address or cluster."""

    kind: str
    where: str = ""

    @property
    def remote(self) -> bool:
        return self.kind != LOCAL

    def __str__(self) -> str:
        return self.kind if self.kind == LOCAL else f"{self.kind}:{self.where}"


def parse_compute(text: object) -> Compute:
    """The target `text` names (None: local); raises DefinitionError naming the accepted forms otherwise."""
    if text is None or text == LOCAL:
        return Compute(LOCAL)
    if isinstance(text, str):
        kind, sep, where = text.partition(":")
        shape = _SHAPES.get(kind)
        if sep and shape is not None and shape.fullmatch(where):
            return Compute(kind, where)
    raise DefinitionError(f"compute must be \"local\", \"ray:http://HOST:8265\" (a Ray cluster's job "
                          f"submission address) or \"azureml:CLUSTER\" (an Azure ML compute cluster: 2 to 16 "
                          f"letters, digits and hyphens, starting with a letter), not {text!r}.")


def is_remote(compute: str | None) -> bool:
    """True when `compute` names a remote target rather than the local executor (a pure test: no validation)."""
    return bool(compute) and compute != LOCAL
