"""Registering a recorded run's model output as a model version, under the policy the project declares."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from durapipe.catalog import registry
from durapipe.engine.pipeline_request import declared_policy

if TYPE_CHECKING:
    from durapipe.store.base import Store


def register_run_model(store: Store, run: dict[str, Any], name: str) -> tuple[dict[str, Any], bool, bool]:
    """Add `run`'s model output as a version of `name`, promoted if its policy says so: (entry, created, promoted)."""
    policy = declared_policy(name, run.get("pipeline"))
    entry, created = registry.register_version(store, policy, run)
    promoted = registry.promote_if_better(store, policy, entry)
    return entry, created, promoted
