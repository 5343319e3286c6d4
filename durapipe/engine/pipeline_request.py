"""Run requests for pipelines named in code (a target or a Pipeline object), as the CLI and the Python API start them."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from durapipe.core.errors import UsageError
from durapipe.core.names import check_name
from durapipe.engine.request import build_run_request, new_run_id

if TYPE_CHECKING:
    from durapipe.store.base import Store


def pipeline_request(target: Any, params: dict[str, Any], inputs: dict[str, Any], force: list[str],
                      max_parallel: int | None, store: Store, run_id: str | None = None,
                      register_model: str | None = None, kind: str = "cli",
                      publish: dict[str, str] | None = None,
                      before_import: Callable[[], None] | None = None) -> dict[str, Any]:
    """The run request for TARGET ("file.py:name", "module:name" or a Pipeline) with CLI-style inputs.

    An input is a local path, an input reference (`data:`, `model:`, `newest:`), or an artifact
    ref dict (a rerun's recorded input). `before_import` goes to `load_definition`: it is called
    when a target name must be imported after all.
    """
    from durapipe.load.definition_cache import load_definition
    from durapipe.load.targets import code_root_of, load_target
    from durapipe.model.references import REFERENCE_PREFIXES
    from durapipe.catalog.references import resolve_reference
    from durapipe.model.spec import resolve_params

    if not isinstance(target, str):  # a Pipeline object (the Python API); a name needs no DSL until loaded
        from durapipe.dsl.pipeline import Pipeline

        if not isinstance(target, Pipeline):
            raise UsageError(f"A pipeline to run must be a durapipe pipeline or a 'file.py:name' target, not {target!r}.")
        pipeline, spec, code_root = target, target.spec, str(code_root_of(target))
        target, spec_json = f"{pipeline.func.__module__}:{pipeline.name}", spec.to_json()
    elif register_model:
        # The registration policy is the project's definitions' own: those import the pipeline anyway.
        pipeline = load_target(target)
        spec, code_root, spec_json = pipeline.spec, str(code_root_of(pipeline)), pipeline.spec.to_json()
    else:
        # Remembered while nothing the pipeline's definition read has changed (durapipe.load.definition_cache).
        definition = load_definition(target, before_import)
        pipeline, code_root, spec_json = definition.pipeline, definition.code_root, definition.spec_json()
        spec = definition.params_spec(spec_json)
    location, _, attr = target.rpartition(":")
    if location.endswith(".py"):
        # Absolute, so `durapipe rerun` finds the file from any folder.
        target = f"{Path(location).resolve()}:{attr}"
    sources: dict[str, Any] = {}
    notes: dict[str, Any] = {}
    for name, value in inputs.items():
        if isinstance(value, dict) and "hash" in value:
            sources[name] = {"artifact": value}
        elif isinstance(value, os.PathLike):
            sources[name] = {"path": _existing_path(name, value)}
        elif not isinstance(value, str):
            raise UsageError(f"The input {name!r} must be a path or a reference such as 'data:NAME', not {value!r}.")
        elif value.startswith(REFERENCE_PREFIXES):
            resolved = resolve_reference(store, value, f"input {name!r}")
            notes[name] = resolved.note
            if resolved.source is not None:
                sources[name] = resolved.source
        else:
            sources[name] = {"path": _existing_path(name, value)}
    return build_run_request(
        spec_json, resolve_params(spec, params), sources, run_id=run_id or new_run_id(spec_json["name"]),
        code_root=code_root, force=force, max_parallel=max_parallel,
        trigger={"kind": kind, "target": target, **({"inputs": notes} if notes else {})},
        register=registration(pipeline, register_model) if register_model else None,
        input_hint="; give it with --input {name}=PATH", publish=publish)


def _existing_path(name: str, value: str | os.PathLike[str]) -> str:
    """The input's local path, absolute; a usage error now, before any run starts, when nothing is there."""
    path = Path(value).resolve()
    if not path.exists():
        raise UsageError(f"The input {name!r} names {path}, which does not exist.")
    return str(path)


def registration(pipeline: Any, model: str) -> dict[str, Any]:
    """The registration policy of `model`: as the pipeline's project declares it, else the defaults."""
    import inspect

    from durapipe.core.paths import definitions_ref, find_project_root

    from durapipe.load.project import load_definitions
    from durapipe.catalog.registry import registration_policy

    check_name(model, "model name")
    root = find_project_root(Path(inspect.getsourcefile(pipeline.func) or "."))
    ref = definitions_ref(root)
    if ref is not None:
        declared = load_definitions(root, ref).models.get(model)
        if declared is not None:
            if declared.pipeline.name != pipeline.name:
                raise UsageError(f"Model {model} is registered from pipeline {declared.pipeline.name} in the "
                                 f"project's definitions, not from {pipeline.name}.")
            return declared.policy()
    return registration_policy(model)


def declared_policy(name: str, pipeline: str | None) -> dict[str, Any]:
    """The policy of model `name` as the current project's definitions declare it, else the defaults."""
    from durapipe.core.paths import definitions_ref, find_project_root
    from durapipe.load.project import load_definitions
    from durapipe.catalog.registry import registration_policy

    check_name(name, "model name")
    root = find_project_root()
    ref = definitions_ref(root)
    declared = load_definitions(root, ref).models.get(name) if ref is not None else None
    if declared is None:
        return registration_policy(name)
    if pipeline is not None and declared.pipeline.name != pipeline:
        raise UsageError(f"Model {name} is registered from pipeline {declared.pipeline.name} in the project's "
                         f"definitions, not from {pipeline}.")
    return declared.policy()
