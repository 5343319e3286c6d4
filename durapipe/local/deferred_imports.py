"""Third-party modules the local host imports on first use instead of at start-up.

Hosting the app means importing azure.functions and the Durable SDK, and two of their imports
cost about a third of a `durapipe run` that reuses every step, for code that run never calls:

- The SDK's client HTTP helpers (`azure.durable_functions.models.utils.http_utils`) import
  aiohttp, about 0.15-0.2 s. Only starter functions call the durable client, and `durapipe
  run` has none. A stand-in takes that module's name; its three client calls import the
  unchanged SDK module on first call and hand over to it, as does any other attribute.
- azure.functions imports werkzeug submodules (datastructures, http, formparser), and
  werkzeug's package `__init__` imports its development server and test client first,
  about 0.02-0.04 s. The package is created from its spec without running that `__init__`;
  submodules import as usual, and any other name runs the real `__init__` first.

Nothing is changed, only imported later, and none of this runs on Azure: the worker imports
the SDK itself.
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any

CLIENT_HTTP_MODULE = "azure.durable_functions.models.utils.http_utils"
_CLIENT_HTTP_PARENT = "azure.durable_functions.models.utils"
_CLIENT_CALLS = ("get_async_request", "post_async_request", "delete_async_request")
DEFERRED_PACKAGES = ("werkzeug",)
_lock = threading.RLock()


def defer_host_imports() -> None:
    """Defer the imports above, unless they have already happened in this process."""
    defer_client_http()
    for name in DEFERRED_PACKAGES:
        defer_package_init(name)


def defer_client_http() -> None:
    """Until the durable client first sends a request, do not import the SDK's HTTP helpers (and aiohttp)."""
    with _lock:
        if CLIENT_HTTP_MODULE in sys.modules:
            return
        stand_in = types.ModuleType(CLIENT_HTTP_MODULE, "Stand-in until first use; see durapipe.local.deferred_imports.")
        stand_in.durapipe_deferred = True  # type: ignore[attr-defined]
        for name in _CLIENT_CALLS:
            setattr(stand_in, name, _forward(name))
        stand_in.__getattr__ = _client_http_attribute  # type: ignore[attr-defined]
        sys.modules[CLIENT_HTTP_MODULE] = stand_in


def load_client_http() -> types.ModuleType:
    """The SDK's own HTTP helper module, imported now if it was deferred."""
    with _lock:
        current = sys.modules.get(CLIENT_HTTP_MODULE)
        if current is not None and not getattr(current, "durapipe_deferred", False):
            return current
        parent = importlib.import_module(_CLIENT_HTTP_PARENT)
        spec = importlib.machinery.PathFinder.find_spec(CLIENT_HTTP_MODULE, parent.__path__)
        if spec is None or spec.loader is None:
            raise ImportError(f"The Durable SDK module {CLIENT_HTTP_MODULE} is not installed.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[CLIENT_HTTP_MODULE] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            _restore(CLIENT_HTTP_MODULE, current)
            raise
        setattr(parent, "http_utils", module)
        return module


def defer_package_init(name: str) -> None:
    """Make package `name` importable without running its `__init__` until a name it defines is used."""
    with _lock:
        if name in sys.modules:
            return
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return  # not installed, or not a package: nothing to defer
        package = importlib.util.module_from_spec(spec)
        package.durapipe_deferred = True  # type: ignore[attr-defined]
        package.__getattr__ = _package_attribute(package, spec)  # type: ignore[attr-defined]
        sys.modules[name] = package


def _package_attribute(package: types.ModuleType, spec: importlib.machinery.ModuleSpec) -> Any:
    def attribute(attr: str) -> Any:
        # `from package import submodule` asks for the submodule as an attribute first. It is
        # imported outside the lock, which guards only the package's own __init__.
        if not attr.startswith("__") and importlib.util.find_spec(f"{spec.name}.{attr}") is not None:
            return importlib.import_module(f"{spec.name}.{attr}")
        with _lock:
            if getattr(package, "durapipe_deferred", False):
                package.durapipe_deferred = False  # type: ignore[attr-defined]
                del package.__getattr__
                spec.loader.exec_module(package)  # type: ignore[union-attr]
        return getattr(package, attr)

    return attribute


def _client_http_attribute(attr: str) -> Any:
    # `from module import name` probes the module for __path__ first; a plain module has none,
    # and answering must not import the SDK module.
    if attr.startswith("__"):
        raise AttributeError(attr)
    return getattr(load_client_http(), attr)


def _restore(name: str, previous: types.ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _forward(name: str) -> Any:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return await getattr(load_client_http(), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call
