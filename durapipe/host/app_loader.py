"""Load a function app the way the Azure Functions Python worker does, and index its functions."""
from __future__ import annotations

import importlib
import json
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import azure.functions as func

from durapipe.core.errors import AppLoadError
from durapipe.load.sys_path import put_first

DEFAULT_SCRIPT_FILE = "function_app.py"
SCRIPT_FILE_SETTING = "PYTHON_SCRIPT_FILE_NAME"
# The worker's own pattern (azure-functions-python-worker, load_function_metadata).
SCRIPT_FILE_PATTERN = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9_-]*\.py$")


@dataclass(frozen=True)
class FunctionInfo:
    """One indexed function: its name, trigger type, raw binding dicts and the callable the worker invokes."""

    name: str
    python_name: str
    trigger_type: str
    bindings: list[dict[str, Any]]
    user_function: Callable[..., Any]

    @property
    def trigger(self) -> dict[str, Any]:
        """The trigger binding dict."""
        return next(b for b in self.bindings if b.get("type") == self.trigger_type)

    @property
    def orchestrator_function(self) -> Callable[..., Any] | None:
        """The raw orchestrator generator function, for orchestrators; else None."""
        return getattr(self.user_function, "orchestrator_function", None)

    @property
    def client_binding_name(self) -> str | None:
        """The parameter name of the durable client binding, when the function has one."""
        for binding in self.bindings:
            if binding.get("type") == "durableClient":
                return binding["name"]
        return None


@dataclass
class LoadedApp:
    """A loaded function app: where it came from and its functions keyed by function name."""

    script_root: Path
    script_file: str
    app: Any
    functions: dict[str, FunctionInfo]
    # Activities are called by python name when the orchestrator passes the function object.
    _aliases: dict[str, FunctionInfo] = field(default_factory=dict)

    def by_trigger(self, trigger_type: str) -> list[FunctionInfo]:
        """Every function whose trigger binding has this type (e.g. 'activityTrigger')."""
        return [f for f in self.functions.values() if f.trigger_type == trigger_type]

    def find(self, name: str, trigger_type: str) -> FunctionInfo | None:
        """The function of this trigger type named `name` (function name, or python name), or None."""
        info = self.functions.get(name)
        if info is None or info.trigger_type != trigger_type:
            info = self._aliases.get(f"{trigger_type}:{name}")
        return info


_cache: dict[Path, LoadedApp] = {}
_cache_lock = threading.Lock()


def resolve_script_file(script_file: str | None = None) -> str:
    """The entry file name: the argument, else PYTHON_SCRIPT_FILE_NAME, else function_app.py; validated."""
    name = script_file or os.environ.get(SCRIPT_FILE_SETTING) or DEFAULT_SCRIPT_FILE
    if not SCRIPT_FILE_PATTERN.match(name):
        raise AppLoadError(
            f"The script file name {name!r} is invalid; it must match {SCRIPT_FILE_PATTERN.pattern}.")
    return name


def load_app(script_root: Path, script_file: str | None = None) -> LoadedApp:
    """Import the app's entry file from script_root and index its one FunctionApp (cached per file)."""
    root = Path(script_root).resolve()
    name = resolve_script_file(script_file)
    path = root / name
    with _cache_lock:
        # get_functions() may be called only once per app, so a loaded app is reused.
        if path in _cache:
            return _cache[path]
        if not path.is_file():
            raise AppLoadError(f"The function app entry file {path} does not exist.")
        module = _import_entry(root, path)
        app = _single_app(module, path)
        loaded = _index(root, name, app)
        _cache[path] = loaded
        return loaded


def _import_entry(root: Path, path: Path) -> Any:
    put_first(root)
    stem = path.stem
    existing = sys.modules.get(stem)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() != path:
        raise AppLoadError(
            f"A different module named {stem!r} is already imported, so {path} cannot be loaded "
            f"in this process; rename the entry file.")
    try:
        return importlib.import_module(stem)
    except Exception as exc:
        raise AppLoadError(f"Importing the function app {path} failed: {exc!r}.") from exc


def _single_app(module: Any, path: Path) -> Any:
    apps = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if len(apps) != 1:
        raise AppLoadError(
            f"{path} must define exactly one top-level FunctionApp (or DFApp) instance, as the Functions worker requires; "
            f"found {len(apps)}.")
    return apps[0]


def _index(root: Path, name: str, app: Any) -> LoadedApp:
    try:
        functions = app.get_functions()
    except Exception as exc:
        raise AppLoadError(f"Indexing the functions of {root / name} failed: {exc}.") from exc
    by_name: dict[str, FunctionInfo] = {}
    aliases: dict[str, FunctionInfo] = {}
    for function in functions:
        user_function = function.get_user_function()
        trigger = function.get_trigger()
        info = FunctionInfo(
            name=function.get_function_name(),
            python_name=getattr(function, "_name", None) or user_function.__name__,
            trigger_type=trigger.get_binding_name() if trigger else "",
            bindings=[json.loads(raw) for raw in function.get_raw_bindings()],
            user_function=user_function,
        )
        by_name[info.name] = info
        aliases[f"{info.trigger_type}:{info.python_name}"] = info
    return LoadedApp(script_root=root, script_file=name, app=app, functions=by_name,
                     _aliases=aliases)
