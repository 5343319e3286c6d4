"""Finding pipelines and steps by name: `file.py:name` or `module:name`, and the step-reference gate."""
from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from durapipe.core.errors import DurapipeError, SpecError, UsageError
from durapipe.load.sys_path import make_current_root, remember_modules
from durapipe.model.spec import REF_PATTERN

# The DSL is imported inside the functions that need it: a pipeline remembered by
# durapipe.load.definition_cache is planned without building one (see durapipe/__init__.py).
if TYPE_CHECKING:
    from durapipe.dsl import Pipeline, Step

def load_target(target: str) -> Pipeline:
    """Import the pipeline named by "path/to/file.py:name" or "package.module:name"; raise UsageError."""
    from durapipe.dsl import Pipeline

    location, sep, attr = target.rpartition(":")
    if not sep or not location or not attr:
        raise UsageError(f"The target {target!r} must look like 'path/to/file.py:name' or 'package.module:name'.")
    if location.endswith(".py") or "/" in location or os.sep in location:
        module, shown = _import_file(Path(location)), location
    else:
        module, shown = _import_module(location), f"module {location}"
    found = _get_attr(module, attr, shown)
    if not isinstance(found, Pipeline):
        raise UsageError(f"{attr!r} in {shown} is {_kind(found)}, not a durapipe pipeline; decorate it with @pipeline.")
    return found


def code_root_of(pipeline: Pipeline) -> Path:
    """The folder that must be on sys.path for the pipeline's module (and its step refs) to import."""
    module_name = pipeline.func.__module__
    module = sys.modules.get(module_name)
    filename = getattr(module, "__file__", None)
    if not filename:
        raise UsageError(f"Pipeline {pipeline.name} is defined in module {module_name!r}, which has no file.")
    path = Path(filename).resolve()
    if module_name == "__main__":
        return path.parent
    depth = module_name.count(".") + (1 if path.name == "__init__.py" else 0)
    return path.parents[depth]


def resolve_step(ref: str, code_root: str | None) -> Step:
    """The durapipe Step named by "module:qualname"; refuse anything else, since specs come from outside."""
    from durapipe.dsl import Step

    refused = f"Step reference {ref!r} does not name a durapipe step."
    if not isinstance(ref, str) or not REF_PATTERN.fullmatch(ref):
        raise SpecError(refused)
    module_name, qualname = ref.split(":")
    # Never import a standard-library module on a spec's word: importing one can act (antigravity).
    if module_name.split(".")[0] in sys.stdlib_module_names:
        raise SpecError(refused)
    if "<locals>" in qualname:
        raise SpecError(f"Step reference {ref!r} names a step defined inside a function; "
                        "define steps at the top level of a module so they can be imported.")
    if code_root:
        root = resolved_folder(code_root)
        if root not in sys.path:
            sys.path.insert(0, root)
    try:
        module = importlib.import_module(module_name)
    except DurapipeError:
        raise
    except Exception as exc:
        raise SpecError(f"Step reference {ref!r} does not import: {type(exc).__name__}: {exc}.") from exc
    found: Any = module
    for part in qualname.split("."):
        # getattr_static: looking a name up must not run a property or __getattr__ hook.
        found = _static_attr(found, part)
    if not isinstance(found, Step):
        raise SpecError(refused)
    return found


# Steps this process knows the code of without importing it (a remembered definition, see
# durapipe.load.definition_cache): (code root, ref) -> (file, qualified name, first line).
_located: dict[tuple[str | None, str], tuple[str, str, int]] = {}


def step_location(ref: str, code_root: str | None) -> tuple[str, str, int] | None:
    """(file, qualified name, first line) of the function of the step `ref`, when it is imported and a plain function."""
    from durapipe.dsl import Step

    module_name, _, qualname = ref.partition(":")
    found: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = _static_attr(found, part) if found is not None else None
    func = inspect.unwrap(found.func) if isinstance(found, Step) else None
    code = getattr(func, "__code__", None)
    if code is None or not os.path.isfile(code.co_filename):
        return None
    return (code.co_filename, func.__qualname__, code.co_firstlineno)


def remember_locations(code_root: str | None, steps: dict[str, tuple[str, str, int]]) -> None:
    """Know these steps' code by location (each checked unchanged by whoever remembered them)."""
    for ref, where in steps.items():
        _located[(code_root, ref)] = where


def locate_step(ref: str, code_root: str | None) -> tuple[str, str, int] | None:
    """Where the step `ref` is defined, when this process knows it without importing it; else None."""
    return _located.get((code_root, ref))


@functools.lru_cache(maxsize=64)
def resolved_folder(folder: str) -> str:
    """`folder` as an absolute path with symlinks resolved (remembered: steps ask once per code root)."""
    # Once per code root, not once per step: resolving costs a system call per part of the path.
    return str(Path(folder).resolve())


def _static_attr(obj: Any, name: str) -> Any:
    try:
        return inspect.getattr_static(obj, name)
    except AttributeError:
        return None


def _import_file(path: Path) -> ModuleType:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise UsageError(f"The pipeline file {path} does not exist.")
    if path.suffix != ".py":
        raise UsageError(f"The pipeline file {path} is not a .py file.")
    name = path.stem
    if not name.isidentifier():
        raise UsageError(f"The pipeline file {path.name} cannot be imported as a module: "
                         "rename it to letters, digits and underscores.")
    make_current_root(path.parent)
    existing = sys.modules.get(name)
    if existing is not None and not _same_file(existing, path):
        raise UsageError(f"The pipeline file {path.name} has the same name as module {name!r} already imported "
                         f"from {getattr(existing, '__file__', None) or 'built-ins'}; rename the file.")
    before = set(sys.modules)
    try:
        module = _import_module(name, shown=str(path))
    finally:
        remember_modules(path.parent, before)
    if not _same_file(module, path):
        raise UsageError(f"The pipeline file {path.name} is shadowed by module {name!r} from "
                         f"{getattr(module, '__file__', None) or 'built-ins'}; rename the file.")
    return module


def _import_module(name: str, shown: str | None = None) -> ModuleType:
    by_name = shown is None
    shown = shown or f"module {name}"
    if by_name and os.getcwd() not in sys.path:
        # As `python -m` does: a package in the working folder is importable by name.
        sys.path.append(os.getcwd())
    try:
        return importlib.import_module(name)
    except DurapipeError:
        raise  # a definition mistake already names its file and line
    except SyntaxError as exc:
        raise UsageError(f"{Path(exc.filename or shown).name} has a syntax error at line {exc.lineno}: {exc.msg}.") from exc
    except ModuleNotFoundError as exc:
        if exc.name == name and by_name:
            raise UsageError(f"The module {name!r} is not importable from here (no module named {name!r}).") from exc
        raise UsageError(f"Importing {shown} raised ModuleNotFoundError: {exc}.") from exc
    except Exception as exc:
        raise UsageError(f"Importing {shown} raised {type(exc).__name__}: {exc}.") from exc


def _same_file(module: ModuleType, path: Path) -> bool:
    filename = getattr(module, "__file__", None)
    return bool(filename) and Path(filename).resolve() == path


def _get_attr(module: ModuleType, attr: str, shown: str) -> Any:
    from durapipe.dsl import Pipeline

    found: Any = module
    for part in attr.split("."):
        if not hasattr(found, part):
            pipelines = sorted(k for k, v in vars(module).items() if isinstance(v, Pipeline))
            hint = f"; its pipelines are: {', '.join(pipelines)}" if pipelines else "; it defines no pipelines"
            raise UsageError(f"{shown} has no attribute {attr!r}{hint}.")
        found = getattr(found, part)
    return found


def _kind(value: Any) -> str:
    from durapipe.dsl import Step

    if isinstance(value, Step):
        return f"step {value.name}"
    return f"a {type(value).__name__}"
