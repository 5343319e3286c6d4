"""The environment part of a fingerprint: the Python interpreter and the versions of the packages a step uses."""
from __future__ import annotations

import platform


def python_version() -> str:
    """The running interpreter as implementation and full version, e.g. "CPython 3.11.7"."""
    return f"{platform.python_implementation()} {platform.python_version()}"


def environment_components(packages: dict[str, str]) -> dict[str, object]:
    """{"python": interpreter, "packages": {distribution: version}} for a step using `packages`."""
    # The operating system and CPU are left out on purpose, so a result computed locally is
    # reused in Azure; a step whose output depends on them can force a new one with `version=`.
    return {"python": python_version(), "packages": dict(sorted(packages.items()))}
