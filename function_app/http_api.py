"""The HTTP API: thin handlers that parse, call durapipe.serving.service, and shape the response."""
import functools
import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

import azure.durable_functions as df
import azure.functions as func

from activities import names
from durapipe.core.errors import DurapipeError
from durapipe.model.statuses import ACTIVE
from durapipe.serving.cross_site import refuse_cross_site
from durapipe.serving.downloads import download_response
from durapipe.serving.openapi import openapi_document
from durapipe.serving.run_api import artifact, partition_page, run_graph, spec_graph, step_log, step_view
from durapipe.engine.request import new_run_id
from durapipe.serving.service import (IDEMPOTENCY_HEADER, Catalog, RequestError, app_store, idempotent_run_id,
                              mark_canceled, model_view, models_view, page_of_runs, parse_json_body, read_run,
                              run_request_from_body, run_view)

AUTH = func.AuthLevel.FUNCTION
log = logging.getLogger("durapipe.http")


def _json(status: int, body: Any, headers: Optional[Dict[str, str]] = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, indent=1), status_code=status, mimetype="application/json",
                             headers=headers)


def _origin(req: func.HttpRequest) -> str:
    url = req.url
    return url[:url.index("/api/")] if "/api/" in url else url.rstrip("/")


def handles_errors(handler: Callable[..., Awaitable[func.HttpResponse]]) -> Callable[..., Awaitable[func.HttpResponse]]:
    """Refuse what a page of another origin may have forged (before the handler runs), and answer a refused
    request with its status and a one-sentence message, never a traceback."""
    @functools.wraps(handler)
    async def wrapper(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        try:
            refuse_cross_site(req.method, req.url, req.headers, req.get_body())
            return await handler(req, client)
        except RequestError as exc:
            return _json(exc.status, {"error": str(exc)})
        except DurapipeError as exc:
            return _json(400, {"error": str(exc)})
    return wrapper


def http_blueprint(catalog: Catalog) -> df.Blueprint:
    """The HTTP API over the pipelines `catalog` serves."""
    bp = df.Blueprint()

    @bp.function_name("list_pipelines")
    @bp.route(route="api/pipelines", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def list_pipelines(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/pipelines: the served pipelines with their version, parameters and inputs."""
        catalog.refresh()
        return _json(200, {"pipelines": [catalog.get(n).describe() for n in catalog.names()]})

    @bp.function_name("start_pipeline_run")
    @bp.route(route="api/pipelines/{name}/runs", methods=["POST"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def start_pipeline_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """POST /api/pipelines/{name}/runs: validate and start a run; 202 with its status URLs."""
        body = parse_json_body(req.get_body())
        served = catalog.refresh().get(req.route_params.get("name", ""))
        key = req.headers.get(IDEMPOTENCY_HEADER.lower())
        # With an Idempotency-Key the run id derives from it: a repeated request starts nothing new.
        run_id = new_run_id(served.name) if key is None else idempotent_run_id(served.name, key)
        if key is None or await _instance_status(client, run_id) is None:
            request = run_request_from_body(catalog, served, body, app_store(), run_id, {"kind": "http"})
            await client.start_new(names.PIPELINE_RUN, run_id, request)
        status_url = f"{_origin(req)}/api/runs/{run_id}"
        # No durable management URLs: they carry the durable extension's system key, which a
        # caller holding only the function key must never get.
        return _json(202, {"run_id": run_id, "status": "pending", "status_url": status_url,
                           "cancel_url": f"{status_url}/cancel"},
                     headers={"Location": status_url})

    @bp.function_name("list_runs")
    @bp.route(route="api/runs", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def list_runs(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/runs?pipeline=&status=&limit=&offset=: runs, newest first, paged."""
        try:
            limit = int(req.params.get("limit", "50"))
            offset = int(req.params.get("offset", "0"))
        except ValueError:
            raise RequestError(400, "'limit' and 'offset' must be whole numbers.") from None
        return _json(200, page_of_runs(app_store(), req.params.get("pipeline"), req.params.get("status"), limit, offset))

    @bp.function_name("get_run")
    @bp.route(route="api/runs/{id}", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def get_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/runs/{id}: status, per-step progress, outputs and error."""
        run_id = req.route_params.get("id", "")
        # The status first: a run's final record is written before its orchestration ends, so a record read
        # after an ended status is final (read the other way round, an ended run could show a running record).
        status = await _instance_status(client, run_id)
        record = read_run(app_store(), run_id)
        return _json(200, run_view(run_id, status, record))

    @bp.function_name("cancel_run")
    @bp.route(route="api/runs/{id}/cancel", methods=["POST"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def cancel_run(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """POST /api/runs/{id}/cancel: stop a running run; its committed steps stay reusable."""
        run_id = req.route_params.get("id", "")
        store = app_store()
        status = await _instance_status(client, run_id)
        if status is None:
            raise RequestError(404, f"There is no run {run_id!r}.")
        if status["runtimeStatus"] not in ACTIVE:
            raise RequestError(409, f"Run {run_id} has already ended ({status['runtimeStatus'].lower()}).")
        await client.terminate(run_id, "canceled over the HTTP API")
        # Read again once terminated: the steps as they stood when the run stopped, not before.
        ended = await _instance_status(client, run_id) or status
        board = ended.get("customStatus") or status.get("customStatus")
        progress = board.get("steps") if isinstance(board, dict) else None
        mark_canceled(store, run_id, "the run was canceled", pipeline=_pipeline_of(status), progress=progress)
        return _json(202, {"run_id": run_id, "status": "canceled"})

    @bp.function_name("list_models")
    @bp.route(route="api/models", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def list_models(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/models: every registered model with its champion."""
        return _json(200, {"models": models_view(app_store())})

    @bp.function_name("get_model")
    @bp.route(route="api/models/{name}", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def get_model(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/models/{name}: one model's versions, metrics and champion."""
        return _json(200, model_view(app_store(), req.route_params.get("name", "")))

    @bp.function_name("openapi")
    @bp.route(route="api/openapi.json", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def openapi(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/openapi.json: the OpenAPI document of these routes."""
        return _json(200, openapi_document(f"{_origin(req)}/api"))

    @bp.function_name("get_run_step")
    @bp.route(route="api/runs/{id}/steps/{step}", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def get_run_step(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/runs/{id}/steps/{step}: one step's entry with its fingerprint components."""
        return _json(200, step_view(app_store(), req.route_params.get("id", ""), req.route_params.get("step", "")))

    @bp.function_name("list_step_partitions")
    @bp.route(route="api/runs/{id}/steps/{step}/partitions", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def list_step_partitions(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/runs/{id}/steps/{step}/partitions?status=&limit=&offset=: a mapped step's partitions, paged."""
        try:
            limit = int(req.params.get("limit", "100"))
            offset = int(req.params.get("offset", "0"))
        except ValueError:
            raise RequestError(400, "'limit' and 'offset' must be whole numbers.") from None
        return _json(200, partition_page(app_store(), req.route_params.get("id", ""), req.route_params.get("step", ""),
                                         req.params.get("status"), limit, offset))

    @bp.function_name("get_step_log")
    @bp.route(route="api/runs/{id}/steps/{step}/log", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def get_step_log(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/runs/{id}/steps/{step}/log?partition=: what the step (or one partition) printed."""
        log_file = step_log(app_store(), req.route_params.get("id", ""), req.route_params.get("step", ""),
                            req.params.get("partition"))
        return download_response(log_file, req.headers.get("range"), mimetype="text/plain", charset="utf-8")

    @bp.function_name("get_run_artifact")
    @bp.route(route="api/runs/{id}/artifacts/{hash}", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def get_run_artifact(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/runs/{id}/artifacts/{hash}: download an input, output or log of the run (a folder as a zip),
        streamed, or the byte range a Range header asks for."""
        found = artifact(app_store(), req.route_params.get("id", ""), req.route_params.get("hash", ""))
        return download_response(found, req.headers.get("range"), mimetype="application/octet-stream",
                                 headers={"Content-Disposition": f'attachment; filename="{found.name}"'})

    @bp.function_name("get_run_graph")
    @bp.route(route="api/runs/{id}/graph", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def get_run_graph(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/runs/{id}/graph?format=svg|png|dot|mermaid: the run's DAG, steps coloured by state."""
        run_id = req.route_params.get("id", "")
        record = read_run(app_store(), run_id)
        live = None
        if record is not None and record.get("status") == "running":
            live = run_view(run_id, await _instance_status(client, run_id), record)["steps"]
        data, content_type = run_graph(app_store(), run_id, live, req.params.get("format"))
        return func.HttpResponse(data, status_code=200, headers={"Content-Type": content_type})

    @bp.function_name("get_pipeline_graph")
    @bp.route(route="api/pipelines/{name}/graph", methods=["GET"], auth_level=AUTH)
    @bp.durable_client_input(client_name="client")
    @handles_errors
    async def get_pipeline_graph(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
        """GET /api/pipelines/{name}/graph?format=svg|png|dot|mermaid: the pipeline's DAG."""
        served = catalog.refresh().get(req.route_params.get("name", ""))
        data, content_type = spec_graph(served.spec_json(), req.params.get("format"))
        return func.HttpResponse(data, status_code=200, headers={"Content-Type": content_type})

    return bp


async def _instance_status(client: df.DurableOrchestrationClient, run_id: str) -> Optional[Dict[str, Any]]:
    from durapipe.core.names import check_id

    try:
        check_id(run_id)
    except DurapipeError as exc:
        raise RequestError(400, str(exc)) from None
    status = await client.get_status(run_id)
    if status is None or not getattr(status, "runtime_status", None):
        return None
    data = status.to_json()
    data["runtimeStatus"] = status.runtime_status.value if hasattr(status.runtime_status, "value") else str(status.runtime_status)
    return data


def _pipeline_of(status: Dict[str, Any]) -> Optional[str]:
    request = status.get("input")
    if isinstance(request, str):
        try:
            request = json.loads(request)
        except ValueError:
            return None
    if not isinstance(request, dict):
        return None
    spec = request.get("spec")
    # A spec given as text (run_request.orchestration_input) has its name beside it.
    return request.get("pipeline") if isinstance(spec, str) else (spec or {}).get("name")
