"""The durable client's rpc endpoints over a LocalHost, as a router the serve HTTP server mounts at RPC_PREFIX."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from durapipe.core.errors import InvalidNameError, LocalHostError
from durapipe.core.names import check_id
from durapipe.model.statuses import ALL, TERMINAL

RPC_PREFIX = "/runtime/webhooks/durabletask/"
TASK_HUB = "DurapipeLocal"
Response = tuple[int, dict[str, str], bytes]


def client_binding_json(base_url: str) -> str:
    """The durable client binding JSON whose URLs point at the rpc server at base_url (ending in '/')."""
    rpc = base_url.rstrip("/") + RPC_PREFIX
    query = f"taskHub={TASK_HUB}&connection=Storage"
    inst = f"{rpc}instances/INSTANCEID"
    return json.dumps({
        "taskHubName": TASK_HUB,
        "creationUrls": {
            "createNewInstancePostUri": f"{rpc}orchestrators/{{functionName}}[/{{instanceId}}]?{query}",
            "createAndWaitOnNewInstancePostUri": f"{rpc}orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{query}",
        },
        "managementUrls": {
            "id": "INSTANCEID",
            "statusQueryGetUri": f"{inst}?{query}",
            "sendEventPostUri": f"{inst}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{inst}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{inst}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{inst}?{query}",
            "restartPostUri": f"{inst}/restart?{query}",
            "suspendPostUri": f"{inst}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{inst}/resume?reason={{text}}&{query}",
        },
        "baseUrl": rpc,
        "requiredQueryStringParameters": "",
        "rpcBaseUrl": rpc,
    })


def payload_text(body: str) -> str | None:
    """The payload as JSON text: the SDK client sends JSON text wrapped in a JSON string, curl sends plain JSON."""
    if not body.strip():
        return None
    try:
        value = json.loads(body)
    except json.JSONDecodeError:
        return body
    if isinstance(value, str):
        try:
            json.loads(value)
            return value
        except json.JSONDecodeError:
            return body
    return body


class BadRequest(LocalHostError):
    """A malformed rpc request: answered 400 with the sentence."""


def check_instance_id(instance_id: str) -> str:
    """Return `instance_id` when it is a valid run id (`core.names.check_id`), else raise BadRequest.

    Stricter than Azure's rule (no '/', '\\', '#', '?' or control characters, 256 characters): a pipeline
    run's id is its instance id, and an id that names a run must be one a run id can be.
    """
    try:
        return check_id(instance_id, "instance id")
    except InvalidNameError as exc:
        raise BadRequest(str(exc)) from None


def checked_payload(text: str) -> str | None:
    """payload_text, refusing a body that is not JSON a worker can decode (e.g. nested too deep)."""
    try:
        payload = payload_text(text)
        if payload is None:
            return None
        json.loads(payload)
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.") from None
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    return payload


def _check_time(name: str, value: str) -> None:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"The {name} {value!r} is not an ISO 8601 time such as 2026-01-31T12:00:00Z.") from None


def _json(status: int, value: Any) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()


class RpcRouter:
    """Maps (method, path below RPC_PREFIX, query, body) to a response, calling the LocalHost."""

    def __init__(self, host: Any) -> None:
        self.host = host

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Response:
        """Answer one rpc request; path is relative to RPC_PREFIX (e.g. 'instances/abc')."""
        parts = [unquote(p) for p in path.strip("/").split("/") if p]
        try:
            text = body.decode("utf-8") if body else ""
        except UnicodeDecodeError:
            return _json(400, {"Message": "The request body is not UTF-8 text."})
        try:
            return self._route(method.upper(), parts, query, text)
        except BadRequest as exc:
            return _json(400, {"Message": str(exc)})
        except LocalHostError as exc:
            return _json(404, {"Message": str(exc)})

    def _route(self, method: str, parts: list[str], query: dict[str, str], text: str) -> Response:
        if method == "POST" and parts[:1] == ["orchestrators"] and len(parts) in (2, 3):
            if len(parts) == 3:
                check_instance_id(parts[2])
            try:
                instance_id = self.host.start_new_json(parts[1], parts[2] if len(parts) == 3 else None,
                                                       checked_payload(text))
            except LocalHostError as exc:
                return _json(400, {"ExceptionMessage": str(exc)})
            return _json(202, {"id": instance_id})
        if parts[:1] != ["instances"]:
            return _json(404, {"Message": "No such rpc endpoint."})
        if len(parts) == 1 and method == "GET":
            statuses = query.get("runtimeStatus")
            wanted = statuses.split(",") if statuses else None
            unknown = sorted(set(wanted or []) - ALL)
            if unknown:
                raise BadRequest(f"The runtimeStatus {unknown[0]!r} is not one of {', '.join(sorted(ALL))}.")
            for name in ("createdTimeFrom", "createdTimeTo"):
                if query.get(name):
                    _check_time(name, query[name])
            return _json(200, self.host.list_instances(
                statuses=wanted, prefix=query.get("instanceIdPrefix"),
                created_from=query.get("createdTimeFrom"), created_to=query.get("createdTimeTo")))
        instance_id = parts[1] if len(parts) > 1 else ""
        if len(parts) == 2 and method == "GET":
            show = query.get("showHistory", "").lower() == "true"
            show_input = query.get("showInput", "").lower() != "false"
            return _json(200, self.host.get_status(instance_id, show_history=show, show_input=show_input))
        if len(parts) == 2 and method == "DELETE":
            deleted = self.host.purge(instance_id)
            return _json(200, {"instancesDeleted": 1}) if deleted else _json(404, {"instancesDeleted": 0})
        if len(parts) == 4 and parts[2] == "raiseEvent" and method == "POST":
            return self._if_running(instance_id, lambda: self.host.raise_event_json(instance_id, parts[3], payload_text(text)))
        if len(parts) == 3 and parts[2] == "terminate" and method == "POST":
            return self._if_running(instance_id, lambda: self.host.terminate(instance_id, query.get("reason", "")))
        return _json(404, {"Message": "No such rpc endpoint."})

    def _if_running(self, instance_id: str, action: Any) -> Response:
        status = self.host.get_status(instance_id)  # raises (404) when unknown
        if status["runtimeStatus"] in TERMINAL:
            return _json(410, {"Message": f"The instance {instance_id!r} has already finished."})
        action()
        return 202, {}, b""
