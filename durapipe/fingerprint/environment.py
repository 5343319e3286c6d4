"""The environment part of a fingerprint: the Python interpreter and the versions of the packages a step uses."""
from __future__ import annotations

import platform

from durapipe.core.canonical import hash_value


def python_version() -> str:
    """The running interpreter as implementation and full version, e.g. "CPython 3.11.7"."""
    return f"{platform.python_implementation()} {platform.python_version()}"


def environment_components(packages: dict[str, str], requirements: list[str] | tuple[str, ...] | None = None
                           ) -> dict[str, object]:
    """{"python": interpreter, "packages": {distribution: version}} for a step using `packages`.

    A step with an environment of its own (`requirements`) runs none of the app's packages: its
    part is {"python", "environment": {"hash", "requirements"}} instead.
    """
    # The operating system and CPU are left out on purpose, so a result computed locally is
    # reused in Azure; a step whose output depends on them can force a new one with `version=`.
    if requirements is not None:
        return {"python": python_version(), "environment": environment_identity(requirements)}
    return {"python": python_version(), "packages": dict(sorted(packages.items()))}


def environment_identity(requirements: list[str] | tuple[str, ...]) -> dict[str, object]:
    """{"hash", "requirements"} of a step environment: one hash per interpreter and set of requirement lines."""
    lines = sorted(dict.fromkeys(requirements))
    return {"hash": hash_value({"python": python_version(), "requirements": lines}), "requirements": lines}
