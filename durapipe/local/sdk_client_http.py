"""The Durable SDK's client HTTP helpers, imported when the durable client first calls one.

`import azure.durable_functions` imports aiohttp (for `models/utils/http_utils.py`, the
durable client's calls to the host), which costs about 0.15-0.2 s: a third of a
`durapipe run` that reuses every step. Only starter functions call the client, and
`durapipe run` has none. So the local host puts a stand-in under that module's name whose
three functions import the unchanged SDK module on first call and hand over to it; any
other attribute does the same. Nothing else of the SDK changes, and on Azure none of this
runs: the worker imports the SDK as usual.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types
from typing import Any

_SDK_MODULE = "azure.durable_functions.models.utils.http_utils"
_PARENT = "azure.durable_functions.models.utils"
_CLIENT_CALLS = ("get_async_request", "post_async_request", "delete_async_request")
_lock = threading.Lock()


def defer_client_http() -> None:
    """Until the durable client first sends a request, do not import the SDK's HTTP helpers (and aiohttp)."""
    with _lock:
        if _SDK_MODULE in sys.modules:
            return
        stand_in = types.ModuleType(_SDK_MODULE, __doc__)
        stand_in.durapipe_deferred = True  # type: ignore[attr-defined]
        for name in _CLIENT_CALLS:
            setattr(stand_in, name, _forward(name))
        stand_in.__getattr__ = _load_for  # type: ignore[attr-defined]
        sys.modules[_SDK_MODULE] = stand_in


def load_client_http() -> types.ModuleType:
    """The SDK's own HTTP helper module, imported now if it was deferred."""
    with _lock:
        current = sys.modules.get(_SDK_MODULE)
        if current is not None and not getattr(current, "durapipe_deferred", False):
            return current
        parent = importlib.import_module(_PARENT)
        spec = importlib.machinery.PathFinder.find_spec(_SDK_MODULE, parent.__path__)
        if spec is None or spec.loader is None:
            raise ImportError(f"The Durable SDK module {_SDK_MODULE} is not installed.")
        module = importlib.util.module_from_spec(spec)
        sys.modules[_SDK_MODULE] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            if current is None:
                sys.modules.pop(_SDK_MODULE, None)
            else:
                sys.modules[_SDK_MODULE] = current
            raise
        setattr(parent, "http_utils", module)
        return module


def _forward(name: str) -> Any:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return await getattr(load_client_http(), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def _load_for(attr: str) -> Any:
    # The import system probes modules for dunder names (__path__ and the like); a plain
    # module has none of them, so answering here must not import the SDK module.
    if attr.startswith("__"):
        raise AttributeError(attr)
    return getattr(load_client_http(), attr)
