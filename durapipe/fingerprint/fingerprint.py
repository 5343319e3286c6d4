"""A step's fingerprint: one hash of its code, parameters, input contents, environment and version override."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from durapipe.core.canonical import hash_value
from durapipe.core.errors import DefinitionError
from durapipe.fingerprint.code import code_components, code_components_at
from durapipe.fingerprint.environment import environment_components
from durapipe.fingerprint.params import canonical_params
from durapipe.fingerprint.reads import DECLARED, READS

# The step's name is not a component: the same function with the same parameters and inputs
# computes the same outputs whatever the pipeline calls it, and its code label names it anyway.
COMPONENT_KEYS = ("code", "params", "inputs", "env", "version", DECLARED)
# Kept beside the components, never hashed: how the step reached each code label (to explain a change),
# and the files it read (known once it ran, kept with its commit and checked when the next run plans).
DESCRIPTIVE_KEYS = ("code_via", READS)

StepCode = Callable[..., Any] | tuple[Path | str, str] | tuple[Path | str, str, int]


def compute_fingerprint(components: dict[str, Any]) -> str:
    """Hex sha256 of the canonical JSON of `components` (descriptive keys left out); equal components give the same fingerprint."""
    return hash_value({key: value for key, value in components.items() if key not in DESCRIPTIVE_KEYS})


def step_components(
    func: StepCode,
    project_root: Path,
    params: dict[str, Any],
    input_hashes: dict[str, str | None],
    version: str | None = None,
    environment: list[str] | tuple[str, ...] | None = None,
    declared: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The fingerprint components of a step: `func` is the raw step function or (file path, qualname[, first line]).

    `environment` is the step's own requirement lines, when it runs in an environment of its own;
    `declared`, the hashes of the files and variables it declares (`reads.declared_component`).
    """
    if isinstance(func, tuple):
        code = code_components_at(func[0], func[1], project_root, line=func[2] if len(func) > 2 else None)
    else:
        code = code_components(func, project_root)
    for name, content_hash in input_hashes.items():
        if not isinstance(name, str) or not (content_hash is None or isinstance(content_hash, str)):
            raise DefinitionError(f"The input {name!r} must have a content hash given as a string, not {content_hash!r}.")
    if version is not None and not isinstance(version, str):
        raise DefinitionError(f"The step version must be a string, not {version!r}.")
    components = {
        "code": code.sources,
        "params": canonical_params(params),
        "inputs": dict(sorted(input_hashes.items())),
        "env": environment_components(code.packages, environment),
        "version": version,
        "code_via": code.via,
    }
    if declared is not None:  # only then: the fingerprints of steps that declare nothing stay as they were
        components[DECLARED] = declared
    return components
