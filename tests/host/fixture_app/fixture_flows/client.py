"""An HTTP starter using the durable client, as a user's app would."""
import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()


@bp.route(route="start/{name}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    instance_id = await client.start_new(req.route_params["name"], client_input=req.get_json())
    return client.create_check_status_response(req, instance_id)
