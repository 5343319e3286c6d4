"""Every use the local host makes of the Durable SDK's internals, and the SDK versions it was tested with.

- Wire numbers: `EventType` (history events) and `ActionType` (orchestrator actions) are the
  SDK's own enums, imported on first use; `df_dumps` is the SDK's JSON encoder of inputs.
- Timestamps (`use_fast_timestamps`): every episode hands the SDK the whole history, and the SDK
  parses each event's timestamp with `dateutil.parser.parse` (about 30 us each; most of the
  replay time in a profile). The host writes ISO 8601, which `datetime.fromisoformat` parses to
  the same instants about 250 times faster; anything else goes to dateutil as before, so the
  orchestrator sees the same `current_utc_datetime` values either way.
- Payload decoding (`use_fast_payload_decoding`): the SDK decodes every activity result and the
  orchestrator's input with `df_loads`, which runs `json.loads` with a Python hook called for
  every JSON object (looking for its custom-object envelope `{"__class__", "__module__",
  "__data__"}`): about 14,000 calls for the plan and record of a run of 1,000 steps. A text
  with no `__class__` in it and no `\\u` escape (which could spell one) has no envelope, so the
  hook would return every object unchanged: that text is decoded by `json.loads` alone. Any
  other text, and any call with an `expected_type`, goes to the SDK's `df_loads` as before.
- Deferred imports (`defer_host_imports`): hosting the app means importing azure.functions and
  the Durable SDK, and two of their imports cost about a third of a `durapipe run` that reuses
  every step, for code that run never calls:
  - The SDK's client HTTP helpers (`azure.durable_functions.models.utils.http_utils`) import
    aiohttp, about 0.15-0.2 s. Only starter functions call the durable client, and `durapipe
    run` has none. A stand-in takes that module's name; its three client calls import the
    unchanged SDK module on first call and hand over to it, as does any other attribute.
  - azure.functions imports werkzeug submodules (datastructures, http, formparser), and
    werkzeug's package `__init__` imports its development server and test client first,
    about 0.02-0.04 s. The package is created from its spec without running that `__init__`;
    submodules import as usual, and any other name runs the real `__init__` first.
  Nothing is changed, only imported later, and none of this runs on Azure: the worker imports
  the SDK itself. Deferring must come before the SDK's first import, so the processes that host
  the app call it first thing: the `durapipe` command (`entry`), `durapipe.run`, a LocalSession and
  the worker fork server (`fork_server`); importing durapipe.host does nothing.
- `install` is what a host calls when it starts (LocalHost, so every LocalSession and `durapipe
  serve`): the deferred imports (when the SDK is not imported yet), the version check and both
  patches above, once per process.
- `check_sdk_versions` logs one warning sentence when an installed SDK is not a version these
  were tested with (they reach into modules the SDK does not promise to keep).
"""
from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import threading
import types
from datetime import datetime
from typing import Any

# The versions the internals used here were tested with; another one works until it moves them.
TESTED_VERSIONS = {"azure-functions-durable": ("1.7.0",), "azure-functions": ("1.26.0",)}
_HISTORY_EVENT_MODULE = "azure.durable_functions.models.history.HistoryEvent"
# The SDK modules that imported `df_loads` by name (each keeps its own reference).
_DF_LOADS_USERS = ("azure.durable_functions.models.TaskOrchestrationExecutor",
                   "azure.durable_functions.models.DurableOrchestrationContext",
                   "azure.durable_functions.models.DurableEntityContext",
                   "azure.durable_functions.models.utils.df_serialization")
# Names this module hands out from the SDK, imported on first use (the SDK is not imported yet
# when an entry point defers the imports above).
_SDK_NAMES = {
    "EventType": ("azure.durable_functions.models.history", "HistoryEventType"),
    "ActionType": ("azure.durable_functions.models.actions", "ActionType"),
    "df_dumps": ("azure.functions._durable_functions", "df_dumps"),
}
_checked = False

CLIENT_HTTP_MODULE = "azure.durable_functions.models.utils.http_utils"
_CLIENT_HTTP_PARENT = "azure.durable_functions.models.utils"
_CLIENT_CALLS = ("get_async_request", "post_async_request", "delete_async_request")
DEFERRED_PACKAGES = ("werkzeug",)
_lock = threading.RLock()
_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Ready this process to drive orchestrations through the SDK; later calls do nothing.

    Defers the imports above (unless the SDK is imported already), checks the SDK's versions and
    makes it parse timestamps and decode payloads the fast way.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        defer_host_imports()
        check_sdk_versions()
        use_fast_timestamps()
        use_fast_payload_decoding()
        _installed = True


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
        stand_in = types.ModuleType(CLIENT_HTTP_MODULE, "Stand-in until first use; see durapipe.host.sdk_compat.")
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


def __getattr__(name: str) -> Any:
    # EventType, ActionType and df_dumps: imported from the SDK when first asked for.
    if name not in _SDK_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _SDK_NAMES[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def untested_versions() -> dict[str, str]:
    """The installed SDK packages (name -> version) whose version is not one this module was tested with."""
    # From durapipe's cache of the installed distributions: importing importlib.metadata alone
    # costs about 20 ms of every local run.
    from durapipe.cache.distributions import in_this_process

    versions = in_this_process()[1]
    return {package: versions[package] for package, tested in TESTED_VERSIONS.items()
            if package in versions and versions[package] not in tested}


def check_sdk_versions() -> None:
    """Log one warning sentence (once per process) when an installed SDK is a version not tested with."""
    global _checked
    if _checked:
        return
    _checked = True
    untested = untested_versions()
    if untested:
        import logging  # here: every `durapipe` command imports this module to defer the SDK's imports

        logging.getLogger(__name__).warning(untested_sentence(untested))


def untested_sentence(untested: dict[str, str]) -> str:
    """The one sentence saying which installed SDK versions the local host was not tested with."""
    found = ", ".join(f"{name} {version}" for name, version in sorted(untested.items()))
    tested = ", ".join(f"{name} {' or '.join(TESTED_VERSIONS[name])}" for name in sorted(untested))
    return (f"The local host was tested with {tested}, not the installed {found}, and uses SDK internals "
            "that may have changed; if runs misbehave, install a tested version.")


def use_fast_timestamps() -> None:
    """Make the SDK's history events parse ISO 8601 timestamps with `datetime.fromisoformat`."""
    module = importlib.import_module(_HISTORY_EVENT_MODULE)
    slow = module.dt_parse
    if getattr(slow, "durapipe_fast", False):
        return

    def parse(text: Any, *args: Any, **kwargs: Any) -> datetime:
        if not args and not kwargs and isinstance(text, str):
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                pass
        return slow(text, *args, **kwargs)

    parse.durapipe_fast = True  # type: ignore[attr-defined]
    module.dt_parse = parse


def use_fast_payload_decoding() -> None:
    """Make the SDK decode payloads that cannot hold a custom-object envelope with plain `json.loads`."""
    codec = importlib.import_module("azure.functions._durable_functions")
    notify = getattr(codec, "_notify_no_expected_type", lambda: None)  # the SDK's one-time advisory
    for name in _DF_LOADS_USERS:
        module = importlib.import_module(name)
        slow = getattr(module, "df_loads", None)
        if slow is not None and not getattr(slow, "durapipe_fast", False):
            module.df_loads = _fast_loads(slow, notify)


def _fast_loads(slow: Any, notify: Any) -> Any:
    import json

    def loads(s: Any, expected_type: Any = None) -> Any:
        if expected_type is None and type(s) is str and "__class__" not in s and "\\u" not in s:
            notify()
            return json.loads(s)
        return loads.durapipe_slow(s, expected_type)  # type: ignore[attr-defined]

    loads.durapipe_fast = True  # type: ignore[attr-defined]
    loads.durapipe_slow = slow  # type: ignore[attr-defined]
    return loads
