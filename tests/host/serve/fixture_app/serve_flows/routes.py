"""HTTP routes: a durable starter, an echo without a client, and one that raises."""
import json

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.route(route="greet/{name}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start_greet(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new("greet", client_input={"name": req.route_params["name"]})
    return client.create_check_status_response(req, instance_id)


@bp.route(route="runs/{id:int}", methods=["GET"])
@bp.durable_client_input(client_name="client")
async def run_status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    return func.HttpResponse(json.dumps({"id": req.route_params["id"]}), mimetype="application/json")


@bp.route(route="echo", methods=["GET", "POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    body = {"method": req.method, "params": dict(req.params), "body": req.get_body().decode(),
            "header": req.headers.get("x-echo"), "url": req.url}
    return func.HttpResponse(json.dumps(body), status_code=201, mimetype="application/json",
                             headers={"x-served-by": "fixture"})


@bp.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret internal detail")
