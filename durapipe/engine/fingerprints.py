"""From a step task to the step's identity: its callable, concrete parameters, inputs and fingerprint."""
from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from durapipe.fingerprint.fingerprint import compute_fingerprint, step_components
from durapipe.fingerprint.reads import declared_component
from durapipe.core.paths import find_project_root
from durapipe.load.targets import locate_step, resolve_step
from durapipe.engine.request import ANY_FOLDER, CodePolicy, check_task_code_root
from durapipe.model.spec import step_options, step_params


@dataclass(frozen=True)
class StepIdentity:
    """Everything that decides a step's result, and the fingerprint made of it."""

    ref: str
    code_root: str | None
    params: dict[str, Any]
    inputs: dict[str, Any]
    components: dict[str, Any]
    fingerprint: str
    resolved: Any = None
    project_root: Path | None = None  # the project the step's code is read in: where its read files are

    @property
    def func(self) -> Any:
        """The step's function, imported now if it was fingerprinted from its location alone."""
        return self.resolved if self.resolved is not None else resolve_step(self.ref, self.code_root).func


def task_inputs(task: dict[str, Any]) -> dict[str, Any]:
    """The artifact refs a step task reads; for a partition task, the mapped input is the partition."""
    inputs = dict(task["inputs"])
    mapped = task["step"].get("map")
    if mapped and task.get("partition") is not None:
        inputs[mapped] = task["partition"]["ref"]
    return inputs


@functools.lru_cache(maxsize=64)
def _project_of(folder: str) -> Path:
    # One lookup per folder of step files, not per step: a project's step files share a few folders.
    return find_project_root(Path(folder))


# While planning, each step's code as first looked up: recalling a remembered plan, fingerprinting
# the step and remembering the plan all ask for it, and a plan reads one moment's code.
_looked_up: contextvars.ContextVar[dict[tuple[str, str | None], tuple[Any, Any, Path]] | None] = \
    contextvars.ContextVar("durapipe_step_code", default=None)


@contextlib.contextmanager
def one_code_lookup() -> Iterator[None]:
    """Within the block (on this thread), step_code looks each step up once."""
    looked_up = _looked_up.get()
    token = _looked_up.set({} if looked_up is None else looked_up)
    try:
        yield
    finally:
        _looked_up.reset(token)


def step_code(ref: str, code_root: str | None) -> tuple[Any, Any, Path]:
    """(function or None, what step_components reads the code from, the project root it is read in) of step `ref`."""
    looked_up = _looked_up.get()
    if looked_up is None:
        return _step_code(ref, code_root)
    found = looked_up.get((ref, code_root))
    if found is None:
        found = looked_up[(ref, code_root)] = _step_code(ref, code_root)
    return found


def _step_code(ref: str, code_root: str | None) -> tuple[Any, Any, Path]:
    located = locate_step(ref, code_root)
    if located is not None:
        # A remembered definition: the step's file, name and line, as importing it would have told.
        func, code, source = None, located, located[0]
    else:
        func = resolve_step(ref, code_root).func
        code, source = func, inspect.getsourcefile(func)
    return func, code, _project_of(os.path.dirname(os.path.abspath(source)) if source else os.path.abspath("."))


def code_location(code: Any) -> tuple[str, str, int] | None:
    """(file, qualified name, first line) of a step's code as step_code gives it; None when it has no file."""
    if isinstance(code, tuple):
        return code
    func = inspect.unwrap(code)
    found = getattr(func, "__code__", None)
    return None if found is None else (found.co_filename, func.__qualname__, found.co_firstlineno)


def identify_step(task: dict[str, Any], *, code: CodePolicy = ANY_FOLDER) -> StepIdentity:
    """Resolve the step's code (only durapipe steps, never arbitrary callables, from a folder `code` allows
    unless the local CLI signed the run) and fingerprint it."""
    step = task["step"]
    # Step tasks reach activities from any orchestrator, and the durable endpoints can start those directly.
    check_task_code_root(task.get("code_root"), code=code)
    func, code, project_root = step_code(step["ref"], task.get("code_root"))
    params = step_params(step, task["params"])
    options = step_options(step)
    inputs = task_inputs(task)
    components = step_components(
        code, project_root, params, {name: ref["hash"] for name, ref in inputs.items()},
        options["version"], options["environment"],
        declared_component(options.get("reads"), options.get("env"), project_root))
    if step.get("map") and task.get("partition") is not None:
        # The step sees its partition's name (its input's file name, `durapipe.partition()`) and may write it
        # into its outputs: two files of equal content under other names are two results.
        components["partition"] = task["partition"]["name"]
    return StepIdentity(ref=step["ref"], code_root=task.get("code_root"), params=params, inputs=inputs,
                        components=components, fingerprint=compute_fingerprint(components), resolved=func,
                        project_root=project_root)
