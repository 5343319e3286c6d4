"""Invoking a triggered function (HTTP, blob, timer) as the worker does, with a durable client on this server."""
from __future__ import annotations

import inspect
import json
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from durapipe.host.app_loader import FunctionInfo
from durapipe.host.rpc import TASK_HUB, client_binding_json

RPC_USER = "durapipe"


def keyed_client_binding_json(base_url: str, key: str) -> str:
    """The durable client binding JSON for the serve server at base_url, every URL carrying `key`.

    The serve server hands it the durable extension's system key: the rpc endpoints take no other.

    Management URLs (handed to callers, e.g. statusQueryGetUri) carry `code=<key>` as Azure's do.
    The SDK's own rpc calls go to rpcBaseUrl with no query string of ours (the SDK 1.7 never reads
    requiredQueryStringParameters), so rpcBaseUrl carries the key as URL userinfo, which aiohttp
    sends as HTTP Basic credentials.
    """
    binding = json.loads(client_binding_json(base_url))
    code = f"code={quote(key, safe='')}"
    for group in ("creationUrls", "managementUrls"):
        for name, url in binding[group].items():
            if name != "id":
                binding[group][name] = f"{url}&{code}"
    binding["requiredQueryStringParameters"] = f"taskHub={TASK_HUB}&connection=Storage&{code}"
    parts = urlsplit(binding["rpcBaseUrl"])
    binding["rpcBaseUrl"] = urlunsplit(parts._replace(
        netloc=f"{RPC_USER}:{quote(key, safe='')}@{parts.netloc}"))
    return json.dumps(binding)


class FunctionInvoker:
    """Calls a function with its trigger value (and a durable client when it has that binding)."""

    def __init__(self, host: Any, base_url: str, system_key: str) -> None:
        self._host = host
        self._binding = keyed_client_binding_json(base_url, system_key)

    def invoke(self, fn: FunctionInfo, trigger_value: Any) -> Any:
        """Invoke fn and return its result; async code runs on the host's one client event loop."""
        kwargs = {fn.trigger["name"]: trigger_value}
        if fn.client_binding_name is not None:
            kwargs[fn.client_binding_name] = self._binding
        result = fn.user_function(**kwargs)
        if inspect.isawaitable(result):
            # The SDK keeps one aiohttp session per module, bound to the loop that made it, so
            # every durable client call in this process must run on the host's loop.
            result = self._host._async_runner().run(_await(result))
        return result


async def _await(awaitable: Any) -> Any:
    return await awaitable
