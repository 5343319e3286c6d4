"""The remote target a compute text names: the one place that knows every kind of remote target."""
from __future__ import annotations

from durapipe.core.errors import DurapipeError
from durapipe.executors.remote.base import RemoteTarget
from durapipe.model.compute import AZUREML, RAY, parse_compute


def remote_target(compute: str) -> RemoteTarget:
    """The target `compute` names ("ray:http://HOST:8265", "azureml:CLUSTER")."""
    target = parse_compute(compute)
    if target.kind == RAY:
        from durapipe.executors.remote.ray import RayTarget
        return RayTarget(target.where)
    if target.kind == AZUREML:
        from durapipe.executors.remote.azureml import AzureMLTarget
        return AzureMLTarget(target.where)
    raise DurapipeError(f"The compute target {compute!r} is not remote.")
